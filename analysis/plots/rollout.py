"""Treatment rollout heat map: which units are treated in which period.

Units run down the rows, sorted by first treated period (never-treated last),
periods across the columns. Each cohort is a block labelled with its first
treated period and its size, so staggered adoption and the size of the
comparison group are visible at a glance.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

_COLOURS = ["#d9d9d9", "#2166ac"]  # not yet / never treated, treated
_MISSING = "white"


def plot_rollout(
    cohorts_df: pd.DataFrame,
    unit_col: str = "county_fips",
    period_col: str = "year",
    gname_col: str = "gname",
    ax: plt.Axes | None = None,
    title: str = "Treatment rollout",
    period_format=None,
) -> plt.Axes:
    """Draw units x periods, treated or not, units sorted by adoption period.

    Parameters
    ----------
    cohorts_df
        Unit x period table with a ``gname`` column (first treated period,
        0 = never), e.g. the output of :func:`analysis.regimes.assign_cohorts`.
    unit_col, period_col, gname_col
        Column names. A unit must have one ``gname``.
    ax
        Axes to draw on; a new figure is made when omitted.
    title
        Axes title.
    period_format
        Callable turning a period value into its tick label, e.g.
        ``lambda p: f"{p // 12}-{p % 12 + 1:02d}"`` for month indices.

    Returns
    -------
    matplotlib.axes.Axes
        The axes; the image's array holds 1 (treated), 0 (not treated) and
        masked cells for unit-periods absent from ``cohorts_df``.
    """
    missing = [c for c in (unit_col, period_col, gname_col) if c not in cohorts_df]
    if missing:
        raise ValueError(f"cohorts_df lacks column(s) {missing}.")
    if cohorts_df[gname_col].isna().any():
        raise ValueError(
            f"cohorts_df[{gname_col!r}] has missing values; drop units with an "
            "unknown first treated period (assign_cohorts does) before plotting."
        )
    gname = cohorts_df.groupby(unit_col)[gname_col].agg(["min", "max"])
    varying = gname.index[gname["min"] != gname["max"]]
    if len(varying):
        raise ValueError(
            f"{len(varying)} units have several values of {gname_col!r}, e.g. "
            f"{list(varying[:5])}; a unit has one first treated period."
        )
    period_format = period_format or str

    # Never-treated (0) sort after every cohort; ties by unit id, so the
    # picture does not depend on the input row order.
    units = gname["min"].rename("g").reset_index()
    units["order"] = units["g"].where(units["g"] > 0, np.iinfo("int64").max)
    units = units.sort_values(["order", unit_col], kind="stable").reset_index(drop=True)
    periods = np.sort(cohorts_df[period_col].unique())

    observed = cohorts_df.pivot_table(
        index=unit_col, columns=period_col, values=gname_col, aggfunc="size"
    ).reindex(index=units[unit_col], columns=periods)
    g = units["g"].to_numpy()[:, None]
    treated = ((g > 0) & (periods[None, :] >= g)).astype(float)
    matrix = np.ma.masked_array(treated, mask=observed.isna().to_numpy())

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 5))
    cmap = ListedColormap(_COLOURS).with_extremes(bad=_MISSING)
    ax.imshow(matrix, aspect="auto", interpolation="nearest", cmap=cmap, vmin=0,
              vmax=1)

    _label_cohorts(ax, units, period_format)
    _label_periods(ax, periods, period_format)
    ax.set_xlabel(period_col)
    ax.set_ylabel(f"units ({len(units):,}), by first treated period")
    ax.set_title(title)
    ax.legend(
        handles=[Patch(color=_COLOURS[1], label="treated"),
                 Patch(color=_COLOURS[0], label="not (yet) treated")],
        loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
    )
    return ax


def _label_cohorts(ax: plt.Axes, units: pd.DataFrame, period_format) -> None:
    """Label cohorts at their block's middle with their size; draw block edges.

    Labels closer than 1/40 of the height to the previous one are skipped so
    small neighbouring cohorts do not print over each other.
    """
    sizes = units.groupby("order", sort=True).size()
    starts = sizes.cumsum() - sizes
    min_gap = len(units) / 40
    ticks, labels = [], []
    for (order, size), start in zip(sizes.items(), starts):
        if start > 0:
            ax.axhline(start - 0.5, color="black", linewidth=0.5)
        middle = start + (size - 1) / 2
        if ticks and middle - ticks[-1] < min_gap:
            continue
        g = units.loc[units["order"] == order, "g"].iloc[0]
        name = "never" if g == 0 else period_format(g)
        ticks.append(middle)
        labels.append(f"{name} (n={size:,})")
    ax.set_yticks(ticks, labels, fontsize="small")


def _label_periods(ax: plt.Axes, periods: np.ndarray, period_format) -> None:
    """Label at most about 12 periods, evenly spaced, so ticks stay legible."""
    step = max(1, int(np.ceil(len(periods) / 12)))
    positions = np.arange(0, len(periods), step)
    ax.set_xticks(positions, [period_format(periods[i]) for i in positions],
                  rotation=45, ha="right", fontsize="small")
