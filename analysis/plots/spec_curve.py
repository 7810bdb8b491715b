"""Specification-curve figure: every estimate sorted, its choices below.

The top panel shows the estimates in increasing order with their intervals,
a zero line, and the pre-specified (primary) specification highlighted; the
bottom panel has one row per choice (axis = value) with a mark under each
specification that made it, so a reader sees which choices move the
estimate.
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

__all__ = ["plot_specification_curve"]

_ESTIMATE, _PRIMARY, _INTERVAL = "#1b4f8a", "#c0392b", "#9ab3d5"


def plot_specification_curve(
    curve: pd.DataFrame,
    axes: list[str],
    *,
    estimate: str = "estimate",
    lower: str = "ci_lower",
    upper: str = "ci_upper",
    primary: str | None = "primary",
    ylabel: str = "Estimate",
    title: str | None = None,
    caption: str | None = None,
) -> plt.Figure:
    """Draw a specification curve.

    Parameters
    ----------
    curve
        One row per specification (:func:`analysis.robustness.spec_curve.
        specification_curve` or its saved table); rows without an estimate
        are left out and counted in the caption.
    axes
        Columns of ``curve`` holding the choices, drawn top to bottom.
    estimate, lower, upper
        Columns of the estimate and its interval.
    primary
        Boolean column marking the pre-specified specification (drawn in
        red); None for none.
    ylabel, title
        Labels of the top panel.
    caption
        Text under the figure (e.g. the interval type and the scale).

    Returns
    -------
    matplotlib.figure.Figure
    """
    missing = [c for c in [estimate, lower, upper, *axes] if c not in curve]
    if missing:
        raise ValueError(f"curve lacks column(s) {missing}.")
    shown = curve[curve[estimate].notna()].sort_values(estimate, kind="stable")
    if shown.empty:
        raise ValueError("no specification has an estimate to plot.")
    shown = shown.reset_index(drop=True)
    x = np.arange(len(shown))
    is_primary = (shown[primary].fillna(False).astype(bool).to_numpy()
                  if primary is not None and primary in shown
                  else np.zeros(len(shown), bool))

    choices = [(axis, value) for axis in axes
               for value in pd.unique(curve[axis].astype(str))]
    height = 3.2 + 0.22 * len(choices)
    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(8, height), sharex=True,
        gridspec_kw={"height_ratios": [3.2, 0.22 * len(choices) + 0.3]})

    low, high = shown[lower].to_numpy(float), shown[upper].to_numpy(float)
    top.vlines(x, low, high, color=_INTERVAL, linewidth=1.0, zorder=1)
    values = shown[estimate].to_numpy(float)
    top.plot(x[~is_primary], values[~is_primary], "o", color=_ESTIMATE,
             markersize=3, zorder=2, label="specification")
    if is_primary.any():
        top.vlines(x[is_primary], low[is_primary], high[is_primary],
                   color=_PRIMARY, linewidth=1.6, zorder=3)
        top.plot(x[is_primary], values[is_primary], "D", color=_PRIMARY,
                 markersize=5, zorder=4, label="pre-specified (primary)")
    top.axhline(0.0, color="0.3", linewidth=0.8, zorder=0)
    top.set_ylabel(ylabel)
    top.legend(loc="upper left", fontsize="small", frameon=False)
    if title:
        top.set_title(title)

    for row, (axis, value) in enumerate(choices):
        used = shown[axis].astype(str).to_numpy() == value
        colour = np.where(is_primary[used], _PRIMARY, "0.2")
        bottom.scatter(x[used], np.full(used.sum(), row), s=6, c=colour,
                       marker="s", linewidths=0)
    bottom.set_yticks(range(len(choices)))
    bottom.set_yticklabels([f"{axis} = {value}" for axis, value in choices],
                           fontsize="x-small")
    bottom.set_ylim(len(choices) - 0.5, -0.5)
    bottom.set_xlabel("Specifications, sorted by estimate")
    bottom.set_xlim(-1, len(shown))
    _separate_axes(bottom, [axis for axis, _ in choices])

    dropped = len(curve) - len(shown)
    text = caption or ""
    if dropped:
        text += f" {dropped} specification(s) could not be estimated and are not shown."
    if text:
        figure.text(0.01, 0.0, textwrap.fill(text.strip(), width=110),
                    fontsize="x-small", color="0.3", va="top", ha="left")
    figure.tight_layout()
    return figure


def _separate_axes(ax, axis_of_row: list[str]) -> None:
    """Thin lines between the rows of different axes."""
    for row in range(1, len(axis_of_row)):
        if axis_of_row[row] != axis_of_row[row - 1]:
            ax.axhline(row - 0.5, color="0.8", linewidth=0.6)
