"""Goodman-Bacon decomposition of the static two-way fixed-effects estimate.

With staggered adoption the TWFE coefficient is a weighted average of every
2x2 difference-in-differences between timing groups, including "forbidden"
comparisons that use already-treated units as controls. Their weight shows
how much the TWFE number leans on comparisons that are biased when effects
change over time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.did._demean import demean_two_way
from analysis.did._within import prepare_panel

__all__ = ["BaconResult", "bacon"]

TREATED_VS_NEVER = "treated vs never treated"
EARLIER_VS_LATER = "earlier vs later treated"
LATER_VS_EARLIER = "later vs earlier treated"
LATER_VS_ALWAYS = "later vs always treated"
FORBIDDEN = (LATER_VS_EARLIER, LATER_VS_ALWAYS)


@dataclass
class BaconResult:
    """The 2x2 comparisons behind a static TWFE coefficient.

    Attributes
    ----------
    comparisons : pandas.DataFrame
        One row per 2x2 comparison: ``treated_cohort``, ``control_cohort``
        (0 = never treated; the first period for the always-treated group),
        ``type``, ``estimate`` and ``weight``. Weights sum to one.
    twfe_estimate : float
        The static TWFE coefficient, :math:`\\sum_j s_j \\hat\\beta_j`.
    forbidden_weight : float
        Share of weight on comparisons that use already-treated units as the
        control group (later vs earlier treated, later vs always treated).
    """

    comparisons: pd.DataFrame
    twfe_estimate: float
    yname: str
    n_units: int
    n_periods: int
    forbidden_weight: float = field(init=False)

    def __post_init__(self):
        forbidden = self.comparisons["type"].isin(FORBIDDEN)
        self.forbidden_weight = float(self.comparisons.loc[forbidden, "weight"].sum())

    @property
    def weighted_sum(self) -> float:
        """:math:`\\sum_j s_j \\hat\\beta_j`; equals ``twfe_estimate``."""
        table = self.comparisons
        return float((table["weight"] * table["estimate"]).sum())

    def by_type(self) -> pd.DataFrame:
        """Total weight and weighted mean estimate of each comparison type."""
        table = self.comparisons.assign(
            weighted=self.comparisons["weight"] * self.comparisons["estimate"]
        )
        summary = table.groupby("type", sort=False).agg(
            weight=("weight", "sum"), weighted=("weighted", "sum"),
            comparisons=("weight", "size"),
        )
        summary["estimate"] = summary["weighted"] / summary["weight"]
        return summary[["comparisons", "weight", "estimate"]].reset_index()

    def summary(self) -> str:
        lines = [
            f"Goodman-Bacon decomposition: {self.yname}",
            f"  TWFE estimate           {self.twfe_estimate:.6f}",
            f"  units x periods         {self.n_units:,} x {self.n_periods}",
            f"  weight on already-treated controls  {self.forbidden_weight:.4f}",
            self.by_type().to_string(index=False, float_format="%.5f"),
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return (
            f"<div><b>Goodman-Bacon decomposition</b>: {self.yname}<br>"
            f"TWFE estimate {self.twfe_estimate:.6f}; weight on already-treated "
            f"controls {self.forbidden_weight:.4f}"
            f"{self.by_type().to_html(index=False, float_format='%.5f')}</div>"
        )


def bacon(data: pd.DataFrame, yname: str, tname: str, idname: str,
          gname: str) -> BaconResult:
    """Decompose the static TWFE coefficient into 2x2 DiD comparisons.

    Parameters
    ----------
    data
        Balanced long panel, one row per unit and period.
    yname, tname, idname, gname
        Outcome, integer period, unit id and first treated period (0 = never).

    Returns
    -------
    BaconResult

    Raises
    ------
    ValueError
        If the panel is unbalanced (the message names units with missing
        periods): the decomposition's weights hold for balanced panels only.

    Notes
    -----
    Timing groups are defined by the first treated period; units first
    treated after the last period join the never-treated group U, and units
    treated in or before the first period form one always-treated group.
    With :math:`n_k` a group's share of units and :math:`\\bar D_k` its share
    of treated periods, Goodman-Bacon (2021, Theorem 1) gives
    :math:`\\hat\\beta^{TWFE} = \\sum_k s_{kU}\\hat\\beta_{kU} + \\sum_{k<\\ell}
    (s^k_{k\\ell}\\hat\\beta^k_{k\\ell} + s^\\ell_{k\\ell}\\hat\\beta^\\ell_{k\\ell})`
    with, for :math:`n_{ab} = n_a/(n_a+n_b)`,

    .. math::

       s_{kU} \\propto (n_k+n_U)^2 n_{kU}(1-n_{kU})\\bar D_k(1-\\bar D_k),

       s^k_{k\\ell} \\propto ((n_k+n_\\ell)(1-\\bar D_\\ell))^2 n_{k\\ell}
       (1-n_{k\\ell})\\frac{\\bar D_k-\\bar D_\\ell}{1-\\bar D_\\ell}
       \\frac{1-\\bar D_k}{1-\\bar D_\\ell},

       s^\\ell_{k\\ell} \\propto ((n_k+n_\\ell)\\bar D_k)^2 n_{k\\ell}(1-n_{k\\ell})
       \\frac{\\bar D_\\ell}{\\bar D_k}\\frac{\\bar D_k-\\bar D_\\ell}{\\bar D_k},

    each divided by the variance of the two-way demeaned treatment dummy.
    :math:`\\hat\\beta^k_{k\\ell}` compares the earlier group k with the
    not-yet-treated later group before :math:`\\ell` is treated;
    :math:`\\hat\\beta^\\ell_{k\\ell}` compares :math:`\\ell` with the
    already-treated k after k's treatment, the comparison that is biased when
    k's effect changes over time. Comparisons with zero weight are omitted.
    """
    panel = prepare_panel(data, yname, tname, idname, gname)
    frame = panel.frame
    periods = np.sort(frame[tname].unique())
    n_units = frame[idname].nunique()
    _require_balanced(frame, idname, tname, len(periods))

    # Timing groups: first treated period, with the never-in-sample and the
    # always-treated units pooled, since their dummies do not vary in time.
    first, last = periods[0], periods[-1]
    group = np.where(
        (panel.cohort == 0) | (panel.cohort > last),
        0,
        np.maximum(panel.cohort, first),
    )
    frame = frame.assign(_group=group)
    means = frame.pivot_table(index="_group", columns=tname, values=yname,
                              aggfunc="mean")
    shares = frame.groupby("_group")[idname].nunique() / n_units
    treated_share = {
        g: float(np.mean(periods >= g)) if g else 0.0 for g in shares.index
    }

    def window_mean(g, start, stop):
        columns = periods[(periods >= start) & (periods < stop)]
        return means.loc[g, columns].mean()

    rows = []
    timing = sorted(g for g in shares.index if g != 0)
    if 0 in shares.index:
        n_u = shares[0]
        for k in timing:
            n_k, d_k = shares[k], treated_share[k]
            weight = (n_k + n_u) ** 2 * _pair(n_k, n_u) * d_k * (1 - d_k)
            if weight > 0:
                estimate = (window_mean(k, k, last + 1) - window_mean(k, first, k)) - (
                    window_mean(0, k, last + 1) - window_mean(0, first, k)
                )
                rows.append((k, 0, TREATED_VS_NEVER, estimate, weight))
    for position, k in enumerate(timing):
        for ell in timing[position + 1:]:
            n_k, n_l = shares[k], shares[ell]
            d_k, d_l = treated_share[k], treated_share[ell]
            pair = _pair(n_k, n_l)
            early = ((n_k + n_l) * (1 - d_l)) ** 2 * pair * (d_k - d_l) / (
                1 - d_l) * (1 - d_k) / (1 - d_l)
            if early > 0:
                estimate = (window_mean(k, k, ell) - window_mean(k, first, k)) - (
                    window_mean(ell, k, ell) - window_mean(ell, first, k)
                )
                rows.append((k, ell, EARLIER_VS_LATER, estimate, early))
            late = ((n_k + n_l) * d_k) ** 2 * pair * (d_l / d_k) * (d_k - d_l) / d_k
            if late > 0:
                treated_change = window_mean(ell, ell, last + 1) - window_mean(
                    ell, k, ell
                )
                control_change = window_mean(k, ell, last + 1) - window_mean(k, k, ell)
                estimate = treated_change - control_change
                kind = LATER_VS_ALWAYS if k == first else LATER_VS_EARLIER
                rows.append((ell, k, kind, estimate, late))

    comparisons = pd.DataFrame(
        rows, columns=["treated_cohort", "control_cohort", "type", "estimate", "weight"]
    )
    if comparisons.empty:
        raise ValueError(
            f"no 2x2 comparison has positive weight: {gname!r} needs at least one "
            "cohort treated inside the sample period and a group to compare it with."
        )
    treatment = ((group > 0) & (panel.period >= group)).astype(float)
    demeaned = demean_two_way(
        np.column_stack([treatment, panel.y]), panel.unit_code, panel.time_code
    )
    variance = float(np.mean(demeaned[:, 0] ** 2))
    comparisons["weight"] = comparisons["weight"] / variance
    twfe_estimate = float(demeaned[:, 0] @ demeaned[:, 1] / (demeaned[:, 0] @
                                                           demeaned[:, 0]))
    return BaconResult(comparisons, twfe_estimate, yname, n_units, len(periods))


def _pair(n_a: float, n_b: float) -> float:
    share = n_a / (n_a + n_b)
    return share * (1 - share)


def _require_balanced(frame, idname, tname, n_periods) -> None:
    counts = frame.groupby(idname, sort=True)[tname].size()
    short = counts[counts < n_periods]
    if len(short):
        raise ValueError(
            f"the Goodman-Bacon decomposition needs a balanced panel; {len(short)} "
            f"unit(s) lack some of the {n_periods} periods, e.g. "
            f"{short.index[:5].tolist()}. Keep units observed in every period "
            "(or use sun_abraham / Callaway-Sant'Anna, which allow gaps)."
        )
