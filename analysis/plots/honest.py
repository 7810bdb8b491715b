"""Sensitivity figure: robust confidence intervals by the size of the allowed
violation of parallel trends (Rambachan and Roth 2023).

The original interval (parallel trends exact) is drawn first, in its own
colour, to the left of the robust ones; a zero line shows where each
interval stops excluding a null effect, and a dotted line marks the
breakdown value.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["plot_honest"]

_ORIGINAL, _ROBUST, _BREAKDOWN = "#c0392b", "#1b4f8a", "0.35"


def plot_honest(result, ax: plt.Axes | None = None,
                title: str | None = None) -> plt.Axes:
    """Plot the intervals of :func:`analysis.did.honest_did` against M.

    Parameters
    ----------
    result
        A :class:`~analysis.did.honest.HonestResult`.
    ax
        Axes to draw on; a new figure is made when omitted.
    title
        Axes title; default the restriction's name.

    Returns
    -------
    matplotlib.axes.Axes
        The axes, with a legend naming the original and the robust
        intervals (with their method) and, when there is one, the breakdown
        value.
    """
    if not hasattr(result, "tidy") or not hasattr(result, "parameter"):
        raise ValueError(
            f"result ({type(result).__name__}) is not a honest_did result; pass "
            "the output of analysis.did.honest_did."
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    parameter = result.parameter
    table = result.table.sort_values(parameter)
    values = table[parameter].to_numpy(float)

    # The original interval sits one grid gap left of the smallest value.
    gaps = np.diff(values)
    gap = gaps[gaps > 0].min() if (gaps > 0).any() else max(values[0], 1.0) / 2
    original_x = values[0] - gap
    width = gap / 4
    level = f"{1 - result.alpha:.0%}"
    _, low, high = result.original
    ax.errorbar([original_x], [(low + high) / 2], yerr=[[(high - low) / 2]],
                fmt="none", ecolor=_ORIGINAL, elinewidth=1.6, capsize=4,
                label=f"Original {level} CI (parallel trends)")
    centre = (table["lb"] + table["ub"]).to_numpy() / 2
    half = (table["ub"] - table["lb"]).to_numpy() / 2
    method = table["method"].iloc[0]
    ax.errorbar(values, centre, yerr=half, fmt="none", ecolor=_ROBUST,
                elinewidth=1.6, capsize=4,
                label=f"Robust {level} CI ({method})")
    ax.axhline(0.0, color="0.3", linewidth=0.8, zorder=1)
    if result.breakdown is not None:
        ax.axvline(result.breakdown, color=_BREAKDOWN, linestyle=":",
                   linewidth=1.2,
                   label=f"Breakdown {parameter} = {result.breakdown:g}")

    # The original interval is not an M: its tick says so.
    ax.set_xticks([original_x, *values],
                  ["Original", *(f"{value:g}" for value in values)])
    ax.set_xlim(original_x - width * 2, values[-1] + width * 2)
    ax.set_xlabel("M" if parameter == "M" else r"$\bar{M}$")
    ax.set_ylabel(r"Confidence interval for $l'\tau_{post}$")
    default = {"M": r"Smoothness, $\Delta^{SD}(M)$",
               "Mbar": r"Relative magnitudes, $\Delta^{RM}(\bar{M})$"}[parameter]
    ax.set_title(title if title is not None else default)
    ax.legend(loc="best", fontsize="small", frameon=False)
    return ax
