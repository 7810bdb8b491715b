"""Closed-form staggered DiD statistics on a balanced unit x period matrix.

Randomization inference recomputes a statistic for thousands of reassigned
adoption dates, so the statistic must be cheap. These two are exact
re-expressions of estimators the toolkit already has, on balanced panels
without covariates:

- :func:`cs_simple_att`: Callaway and Sant'Anna's ATT(g, t) with
  never-treated controls and base period ``g - 1``, averaged over post
  cells with cohort-size weights (``att_gt(...).aggregate("simple")``);
- :func:`twfe_static`: the static two-way fixed effects coefficient.

Both are linear in the outcome matrix, which the randomization interval in
:mod:`analysis.synth.ri` relies on. ``tests/test_synth.py`` checks both
against ``analysis.did`` on the same data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["balanced_matrix", "cs_simple_att", "treatment_matrix", "twfe_static"]


def balanced_matrix(
    data: pd.DataFrame, unit: str, time: str, outcome: str, gname: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """Return ``(Y, g, periods, units)`` from a balanced long panel.

    Raises ValueError naming the units when the panel is unbalanced, an
    outcome is missing, or a unit's ``gname`` varies over time.
    """
    wide = data.pivot(index=unit, columns=time, values=outcome)
    if wide.isna().any().any():
        bad = wide.index[wide.isna().any(axis=1)].tolist()[:5]
        raise ValueError(f"panel is unbalanced or {outcome!r} is missing for {bad}.")
    g = data.groupby(unit)[gname].agg(["min", "max"])
    varying = g.index[g["min"] != g["max"]].tolist()
    if varying:
        raise ValueError(f"{gname!r} varies within units {varying[:5]}.")
    g = g.loc[wide.index, "min"].to_numpy(dtype=int)
    return wide.to_numpy(float), g, np.asarray(wide.columns), list(wide.index)


def treatment_matrix(g: np.ndarray, periods: np.ndarray) -> np.ndarray:
    """0/1 matrix: unit treated in period (``g > 0`` and period >= g)."""
    g = np.asarray(g)[:, None]
    return ((g > 0) & (np.asarray(periods)[None, :] >= g)).astype(float)


def cs_simple_att(Y: np.ndarray, g: np.ndarray, periods: np.ndarray) -> float:
    """Callaway-Sant'Anna simple ATT, never-treated controls, base ``g - 1``.

    Parameters
    ----------
    Y
        ``N x T`` outcomes.
    g
        First treated period of each unit (0 = never treated). Cohorts must
        have a period before treatment inside ``periods`` and start no later
        than the last period.
    periods
        The ``T`` period labels, consecutive integers.
    """
    periods = np.asarray(periods)
    never = g == 0
    if not never.any():
        raise ValueError("cs_simple_att needs never-treated units (g == 0).")
    total, weight = 0.0, 0.0
    for cohort in np.unique(g[~never]):
        if cohort - 1 < periods[0] or cohort > periods[-1]:
            raise ValueError(
                f"cohort {cohort} has no pre-period or starts after the last "
                f"period ({periods[0]}-{periods[-1]})."
            )
        base = int(np.searchsorted(periods, cohort - 1))
        first = base + 1
        members = g == cohort
        # Each post cell: change of the cohort mean minus change of controls.
        treated_change = Y[members, first:].mean(axis=0) - Y[members, base].mean()
        control_change = Y[never, first:].mean(axis=0) - Y[never, base].mean()
        cells = treated_change - control_change
        total += members.sum() * cells.sum()
        weight += members.sum() * len(cells)
    return float(total / weight)


def twfe_static(Y: np.ndarray, g: np.ndarray, periods: np.ndarray) -> float:
    """Static TWFE coefficient on the treatment dummy (balanced panel)."""
    D = treatment_matrix(g, periods)
    tilde = D - D.mean(axis=1, keepdims=True) - D.mean(axis=0, keepdims=True) + D.mean()
    denominator = float((tilde * D).sum())
    if denominator <= 0:
        raise ValueError("the treatment dummy has no two-way within variation.")
    return float((tilde * Y).sum() / denominator)
