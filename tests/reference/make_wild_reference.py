"""Regenerate tests/reference/wild_bootstrap.{csv,json} with wildboottest.

Run from the repository root with wildboottest installed (made with 0.3.2):

    .venv/bin/python tests/reference/make_wild_reference.py

A state-clustered panel (10 states, so all 2**10 Rademacher sign vectors are
enumerated and no seed matters) is simulated and written to CSV. The static
TWFE regression is given to ``WildboottestCL`` with explicit unit and year
dummies (WCR, CR1 "11" type). Its null is fixed at 0, so beta = r is tested on
y - r D. The p-value counts |t*| > |t| with near-ties (relative 1e-9; the all
+1 and all -1 sign vectors reproduce |t| up to rounding) not exceeding, the
exact-arithmetic rule; wildboottest's own p-value, which lets rounding decide
those two draws, is stored too. The interval is found by bisection on that
p-value, independently of analysis.did.wild.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from wildboottest.wildboottest import WildboottestCL

HERE = Path(__file__).parent
TIE = 1e-9


def simulate(seed=11, n_states=10, per_state=3, n_periods=6) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_units = n_states * per_state
    unit = np.repeat(np.arange(n_units), n_periods)
    period = np.tile(np.arange(2000, 2000 + n_periods), n_units)
    state = unit // per_state
    cohort = rng.choice([0, 0, 2002, 2003, 2004], n_states)[state]
    treated = ((cohort > 0) & (period >= cohort)).astype(float)
    shock = rng.normal(size=(n_states, n_periods))[state, period - 2000]
    outcome = (
        rng.normal(size=n_units)[unit] + 0.1 * (period - 2000) + shock
        + rng.normal(size=len(unit)) + 0.5 * treated
    )
    return pd.DataFrame(
        {"unit": unit, "year": period, "first_treat": cohort, "y": outcome,
         "state": state, "treated": treated}
    )


def wcr_p_value(frame: pd.DataFrame, null: float) -> tuple[float, float]:
    dummies = pd.concat(
        [
            frame[["treated"]],
            pd.get_dummies(frame["unit"], prefix="u", dtype=float),
            pd.get_dummies(frame["year"], prefix="t", dtype=float).iloc[:, 1:],
        ],
        axis=1,
    ).to_numpy()
    shifted = frame["y"].to_numpy() - null * frame["treated"].to_numpy()
    restriction = np.eye(dummies.shape[1])[0]
    boot = WildboottestCL(X=dummies, Y=shifted, cluster=frame["state"].to_numpy(),
                          R=restriction, B=9999, seed=1, parallel=False)
    boot.get_scores(bootstrap_type="11", impose_null=True)
    boot.get_weights(weights_type="rademacher")
    boot.get_numer()
    boot.get_denom()
    boot.get_tboot()
    boot.get_vcov()
    boot.get_tstat()
    boot.get_pvalue()
    exact = np.mean(np.abs(boot.t_boot) > abs(boot.t_stat) * (1 + TIE))
    return float(exact), float(boot.pvalue)


def invert(frame, inside, outside, alpha=0.05, tol=1e-9) -> float:
    while abs(outside - inside) > tol:
        middle = (inside + outside) / 2
        if wcr_p_value(frame, middle)[0] > alpha:
            inside = middle
        else:
            outside = middle
    return (inside + outside) / 2


def main() -> None:
    frame = simulate()
    frame.to_csv(HERE / "wild_bootstrap.csv", index=False)
    nulls = [0.0, 0.25, 0.5, 1.0]
    p_values = [wcr_p_value(frame, r) for r in nulls]
    estimate = float(np.linalg.lstsq(
        np.column_stack([frame["treated"],
                         pd.get_dummies(frame["unit"], dtype=float),
                         pd.get_dummies(frame["year"], dtype=float).iloc[:, 1:]]),
        frame["y"], rcond=None)[0][0])
    lower = invert(frame, estimate, estimate - 3.0)
    upper = invert(frame, estimate, estimate + 3.0)
    result = {
        "wildboottest": "0.3.2",
        "draws": 2**10,
        "estimate": estimate,
        "nulls": nulls,
        "p_value": [p for p, _ in p_values],
        "p_value_wildboottest_raw": [p for _, p in p_values],
        "ci_95": [lower, upper],
    }
    (HERE / "wild_bootstrap.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
