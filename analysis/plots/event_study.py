"""Event-study figure: estimates by event time with their intervals.

One or several results on one axes, dodged horizontally so their intervals do
not overlap. The figure carries what a reader needs to read it: a zero line,
the omitted reference period (hollow marker and dotted line), the
post-treatment region shaded, pre-period estimates drawn with a different
marker, and the interval type (pointwise or uniform) in the legend and the
caption.
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

__all__ = ["plot_event_study"]

_COLOURS = ["#1b4f8a", "#c0392b", "#2e7d32", "#7b3294", "#e08214", "#525252"]
_PRE_MARKER, _POST_MARKER = "s", "o"
_NEEDED = ("event_time", "att", "ci_lower", "ci_upper")


def plot_event_study(
    results,
    ax: plt.Axes | None = None,
    labels: list[str] | None = None,
    colors: list[str] | None = None,
    offset: float = 0.1,
    title: str | None = None,
) -> plt.Axes:
    """Plot one or several event studies on one axes.

    Parameters
    ----------
    results
        A result or a list of results. Each needs ``tidy()`` returning
        ``event_time``, ``att``, ``ci_lower`` and ``ci_upper`` (and optionally
        ``band_lower``/``band_upper``, drawn instead of the pointwise interval
        when present), and the attributes ``band`` ("pointwise" or
        "uniform"), ``reference_period`` (None if the estimator has none, as
        with a varying base period) and ``label``.
    ax
        Axes to draw on; a new figure is made when omitted.
    labels, colors
        One per result; default the results' ``label`` and a fixed palette.
    offset
        Horizontal distance between dodged results, in event-time units.
    title
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        The axes. Its legend names each result with its confidence level and
        band type; a caption below the axes repeats the band type, the
        reference period and, where the result has ``n_clusters``, the
        number of clusters. A figure made here uses constrained layout, so
        the legend and caption are inside the saved image; with your own
        ``ax``, make its figure with ``layout="constrained"`` or save it with
        ``bbox_inches="tight"`` (as :func:`analysis.plots.save_figure` does).
    """
    results = list(results) if isinstance(results, (list, tuple)) else [results]
    if not results:
        raise ValueError("results is empty; pass at least one event-study result.")
    labels = _one_per_result(labels, [getattr(r, "label", "") for r in results],
                             "labels", len(results))
    default_colours = [_COLOURS[i % len(_COLOURS)] for i in range(len(results))]
    colors = _one_per_result(colors, default_colours, "colors", len(results))
    if ax is None:
        # The legend and caption sit below the axes; constrained layout keeps
        # them inside the figure when it is saved without bbox_inches="tight".
        _, ax = plt.subplots(figsize=(7, 5), layout="constrained")
        ax.figure.get_layout_engine().set(h_pad=0.1)

    tables = [_checked_table(result, label) for result, label in zip(results, labels)]
    # A reference row (estimate 0 by construction) is drawn as the hollow
    # marker, not as an estimate.
    tables = [
        table[table["event_time"] != result.reference_period]
        if getattr(result, "reference_period", None) is not None
        else table
        for result, table in zip(results, tables)
    ]
    all_times = np.concatenate([t["event_time"].to_numpy(float) for t in tables])
    references = [getattr(r, "reference_period", None) for r in results]
    known_references = sorted({int(r) for r in references if r is not None})

    # Treatment starts at event time 0: shade from halfway between -1 and 0.
    right_edge = max(all_times.max(), 0) + 0.5
    ax.axvspan(-0.5, right_edge, color="0.93", zorder=0, label="_post region")
    ax.axhline(0.0, color="0.3", linewidth=0.8, zorder=1)
    for reference in known_references:
        ax.axvline(reference, color="0.45", linestyle=":", linewidth=1.0, zorder=1)

    shift = (np.arange(len(results)) - (len(results) - 1) / 2) * offset
    for i, (result, table) in enumerate(zip(results, tables)):
        _draw_one(ax, result, table, labels[i], colors[i], shift[i], references[i])

    ax.set_xlabel("Event time (periods since first treatment)")
    ax.set_ylabel("Estimate")
    if title:
        ax.set_title(title)
    # Legend and caption sit below the axes so they never cover an estimate.
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.14), fontsize="small",
              frameon=False)
    caption = _caption(results, labels, tables)
    ax.text(
        0.0, -0.16 - 0.075 * len(results), caption, transform=ax.transAxes,
        fontsize="x-small", va="top", ha="left", color="0.3",
    )
    return ax


def _draw_one(ax, result, table, label, colour, shift, reference):
    band = getattr(result, "band", "pointwise")
    level = f"{1 - getattr(result, 'alpha', 0.05):.0%}"
    use_band = {"band_lower", "band_upper"} <= set(table) and table[
        ["band_lower", "band_upper"]
    ].notna().all(axis=None)
    lower = table["band_lower"] if use_band else table["ci_lower"]
    upper = table["band_upper"] if use_band else table["ci_upper"]
    band_name = band if use_band else "pointwise"
    x = table["event_time"].to_numpy(float) + shift
    estimate = table["att"].to_numpy(float)
    pre = x - shift < 0

    ax.errorbar(
        x, estimate,
        yerr=[estimate - lower.to_numpy(float), upper.to_numpy(float) - estimate],
        fmt="none", ecolor=colour, elinewidth=1.2, capsize=2, zorder=2,
    )
    ax.plot(x[pre], estimate[pre], linestyle="none", marker=_PRE_MARKER,
            color=colour, markersize=5, zorder=3, label="_pre")
    ax.plot(x[~pre], estimate[~pre], linestyle="none", marker=_POST_MARKER,
            color=colour, markersize=5, zorder=3,
            label=f"{label} ({level} {band_name} {_interval_word(band_name)})")
    if reference is not None:
        ax.plot([reference + shift], [0.0], linestyle="none", marker="o",
                markerfacecolor="white", markeredgecolor=colour, markersize=6,
                zorder=4, label="_reference")


def _interval_word(band: str) -> str:
    return "intervals" if band == "pointwise" else "band"


_BAND_WORDS = {
    "pointwise": "pointwise confidence intervals",
    "uniform": "uniform (sup-t) confidence bands, which cover every event time "
               "at once",
}


def _caption(results, labels, tables) -> str:
    """One sentence per result (band, reference period, bins, clusters)."""
    parts = []
    for result, label, table in zip(results, labels, tables):
        band = getattr(result, "band", "pointwise")
        level = f"{1 - getattr(result, 'alpha', 0.05):.0%}"
        pieces = [f"{level} {_BAND_WORDS.get(band, band)}"]
        reference = getattr(result, "reference_period", None)
        if reference is not None:
            pieces.append(f"reference period {int(reference)} (hollow marker, "
                          "dotted line) normalised to 0")
        else:
            pieces.append("no normalised period (each estimate has its own base "
                          "period)")
        binned = table["binned"].fillna(False).astype(bool) if "binned" in table \
            else pd.Series(False, index=table.index)
        if binned.any():
            shown = ", ".join(str(int(e)) for e in sorted(table.loc[binned,
                                                                    "event_time"]))
            pieces.append(f"event times {shown} pool all more distant ones")
        clusters = getattr(result, "n_clusters", None)
        if clusters is not None:
            pieces.append(f"errors clustered, {clusters} clusters")
        parts.append(f"{label}: {'; '.join(pieces)}.")
    parts.append("Shaded: post-treatment; squares: pre-periods.")
    return textwrap.fill(" ".join(parts), width=100)


def _checked_table(result, label) -> pd.DataFrame:
    if not hasattr(result, "tidy"):
        raise ValueError(
            f"result {label!r} ({type(result).__name__}) has no tidy(); pass an "
            "event-study result."
        )
    table = result.tidy()
    missing = [c for c in _NEEDED if c not in table]
    if missing:
        raise ValueError(
            f"result {label!r}: tidy() lacks column(s) {missing}; is it an event "
            "study (e.g. twfe(..., event_study=True))?"
        )
    table = table.dropna(subset=["event_time"])
    if table.empty:
        raise ValueError(f"result {label!r} has no event-time estimates to plot.")
    repeated = table["event_time"].duplicated()
    if repeated.any():
        raise ValueError(
            f"result {label!r} has {int(repeated.sum())} event time(s) with more "
            "than one estimate (e.g. a group-time att_gt result); aggregate it "
            "first: result.aggregate('dynamic')."
        )
    return table.sort_values("event_time").reset_index(drop=True)


def _one_per_result(given, default, name, count):
    if given is None:
        return default
    given = list(given)
    if len(given) != count:
        raise ValueError(f"{name} has {len(given)} entries for {count} result(s).")
    return given
