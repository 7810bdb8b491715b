"""Regenerate tests/reference/poisson_fepois.{csv,json} with pyfixest fepois.

Run from the repository root with pyfixest installed (made with 0.60.0):

    .venv/bin/python tests/reference/make_poisson_reference.py

The panel is simulated here (seed 20260), written to CSV so the test needs
neither pyfixest nor this script; fepois is then fitted with the ETWFE cell
dummies built independently of analysis.did.poisson.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyfixest as pf

HERE = Path(__file__).parent


def simulate(seed: int = 20260, n_units: int = 150, n_periods: int = 7):
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(n_units), n_periods)
    period = np.tile(np.arange(2010, 2010 + n_periods), n_units)
    cohort = rng.choice([0, 2012, 2013, 2015], n_units)[unit]
    population = np.round(rng.uniform(2e3, 5e4, n_units))[unit]
    level = rng.normal(-7.5, 0.8, n_units)[unit]
    post = (cohort > 0) & (period >= cohort)
    effect = np.where(post, 0.3 - 0.1 * (cohort == 2013), 0)
    mean = population * np.exp(level + 0.04 * (period - 2010) + effect)
    frame = pd.DataFrame(
        {
            "county": unit,
            "year": period,
            "first_treat": cohort,
            "crimes": rng.poisson(mean),
            "population": population,
            "state": unit % 12,
        }
    )
    # Three units with no crimes at all: fepois drops them too.
    frame.loc[frame["county"].isin([3, 4, 5]), "crimes"] = 0
    return frame


def cell_columns(frame: pd.DataFrame, design: str) -> list[str]:
    first = frame["year"].min()
    names = []
    for g in sorted(frame.loc[frame["first_treat"] > 0, "first_treat"].unique()):
        for t in sorted(frame["year"].unique()):
            if (design == "notyet" and t >= g) or (design == "never" and t != first):
                name = f"c_{g}_{t}"
                frame[name] = ((frame["first_treat"] == g) & (frame["year"] == t)) * 1.0
                names.append(name)
    return names


def main() -> None:
    frame = simulate()
    frame.to_csv(HERE / "poisson_fepois.csv", index=False)
    frame["log_population"] = np.log(frame["population"])
    results = {"pyfixest": pf.__version__}
    for design, cluster in (("notyet", "state"), ("never", "county")):
        data = frame.copy()
        names = cell_columns(data, design)
        model = pf.fepois(
            f"crimes ~ {' + '.join(names)} | county + year",
            data=data,
            vcov={"CRV1": cluster},
            offset="log_population",
            ssc=pf.ssc(k_fixef="none"),
            fixef_tol=1e-13,
            iwls_tol=1e-13,
        )
        results[design] = {
            "cluster": cluster,
            "terms": names,
            "coefficient": model.coef()[names].tolist(),
            "se": model.se()[names].tolist(),
            "n_obs": int(model._N),
        }
    (HERE / "poisson_fepois.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
