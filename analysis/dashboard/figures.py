"""Figures of the compliance dashboard, drawn with matplotlib as inline SVG.

Every figure is returned as SVG markup to place in the page as is: text stays
text (``svg.fonttype = none``), the element ids come from a salt fixed per
figure and the file carries no date, so the same data give the same bytes.
Months with no report are gaps in the lines, never zeros.
"""

from __future__ import annotations

import io

import matplotlib
import numpy as np
import pandas as pd
from markupsafe import Markup
from matplotlib.colors import ListedColormap, PowerNorm
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FormatStrFormatter, MultipleLocator

MISSING_COLOUR = "#e66101"  # not reported: stands apart from the blue scale
FLAG_COLOUR = "#7b3294"  # fails the days check (as the tables' purple cells)
OUTCOME_ORDER = [
    "booked_into_detention", "transferred", "case_closed", "lifted",
    "declined_by_lea", "prosecutorial_discretion", "early_release",
    "not_removable", "us_citizen", "died", "pending_or_none",
]


def to_svg(figure: Figure, name: str, description: str) -> Markup:
    """Render ``figure`` as an inline ``<svg>`` element with byte-stable output.

    Parameters
    ----------
    figure
        The figure; it is not used afterwards.
    name
        Unique per page: salts the element ids so two figures never share one.
    description
        Accessible label of the figure (``aria-label``).
    """
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": f"dashboard-{name}",
                                "svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg", bbox_inches="tight",
                       metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    # Drop the XML prolog and doctype: the element goes inside HTML.
    svg = text[text.index("<svg"):]
    label = description.replace("&", "&amp;").replace('"', "&quot;")
    svg = svg.replace(
        "<svg ", f'<svg class="figure" role="img" aria-label="{label}" '
        f'data-figure="{name}" ', 1)
    return Markup(svg)


def _dates(periods) -> np.ndarray:
    """Decimal years of month periods (January 2012 = 2012.0): fast to tick."""
    return np.asarray(periods, dtype=float) / 12


def _year_axis(ax, step: int = 1) -> None:
    ax.xaxis.set_major_locator(MultipleLocator(step))
    ax.xaxis.set_major_formatter(FormatStrFormatter("%d"))


def texas_statewide(monthly: pd.DataFrame, flagged: pd.Series,
                    flag_min: int = 10) -> Markup:
    """Inmates held per month (reporting counties), over the counties reporting.

    ``flagged`` counts, per period, the county-months failing the days check;
    months with at least ``flag_min`` of them are marked, since their totals
    include counts that cannot be right.
    """
    figure = Figure(figsize=(10, 5))
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    dates = _dates(monthly["period"])
    # NaN where no county reported, so the line breaks instead of dropping to 0.
    inmates = monthly["inmates"].where(monthly["counties_reporting"] > 0)
    top.plot(dates, inmates, marker=".", color="#2166ac")
    marked = monthly["period"].map(flagged).fillna(0).to_numpy() >= flag_min
    if marked.any():
        top.plot(dates[marked], inmates.to_numpy()[marked], "o", mfc="none",
                 mec=FLAG_COLOUR, ms=10, mew=1.5,
                 label=f"{flag_min} or more county-months fail the days check")
        top.legend(loc="lower left", fontsize=8, frameon=False)
    top.set_ylabel("inmates held on detainers\n(sum over reporting counties)")
    top.set_title("Texas county jails: inmates held on ICE detainers per month")
    top.set_ylim(bottom=0)
    bottom.plot(dates, monthly["counties_reporting"], marker=".", color="0.4")
    bottom.set_ylim(0, 260)
    bottom.set_ylabel("counties\nreporting")
    bottom.set_xlabel("month of report")
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    _year_axis(bottom)
    figure.tight_layout()
    return to_svg(figure, "tx-statewide",
                  "Line chart of inmates held on ICE detainers per month in Texas, "
                  "with the number of counties reporting each month below it.")


def texas_top_counties(frame: pd.DataFrame, counties: list[str],
                       flagged: pd.Series) -> Markup:
    """Small multiples: monthly inmates held in each named county, gaps kept.

    ``flagged`` (boolean, aligned with ``frame``) marks county-months failing
    the days check; they are circled.
    """
    figure = Figure(figsize=(10, 6.5))
    axes = figure.subplots(3, 4, sharex=True).ravel()
    for ax, county in zip(axes, counties):
        rows = frame[frame["county_name"] == county].sort_values("period")
        ax.plot(_dates(rows["period"]), rows["inmates"], color="#2166ac", lw=1)
        bad = rows[flagged.loc[rows.index]]
        ax.plot(_dates(bad["period"]), bad["inmates"], "o", mfc="none",
                mec=FLAG_COLOUR, ms=5)
        ax.set_title(county.removesuffix(" County"), fontsize=9)
        ax.set_ylim(bottom=0)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        _year_axis(ax, 2)
    for ax in axes[len(counties):]:
        ax.set_visible(False)
    figure.suptitle("Inmates held on detainers per month, the 12 counties with the "
                    "most inmate-months (own scales; circled: fails the days "
                    "check)", fontsize=10)
    # Fixed spacing: tight_layout over 12 axes is slow and gains little here.
    figure.subplots_adjust(left=0.05, right=0.99, bottom=0.05, top=0.91,
                           hspace=0.35, wspace=0.3)
    return to_svg(figure, "tx-top-counties",
                  "Twelve small line charts, one per Texas county with the most "
                  "inmate-months held on detainers.")


def texas_coverage(frame: pd.DataFrame, order: list[str]) -> Markup:
    """Heat map of every county x month: holds per 100,000, not reported in orange."""
    wide = frame.pivot(index="county_name", columns="period",
                       values="inmates_per_100k").loc[order]
    values = np.ma.masked_invalid(wide.to_numpy(dtype=float))
    cmap = matplotlib.colormaps["Blues"].with_extremes(bad=MISSING_COLOUR)
    figure = Figure(figsize=(10, 8))
    ax = figure.subplots()
    periods = wide.columns.to_numpy()
    image = ax.imshow(values, aspect="auto", interpolation="none", cmap=cmap,
                      norm=PowerNorm(0.4, vmin=0, vmax=float(np.nanmax(wide))))
    ticks = [i for i, p in enumerate(periods) if p % 12 == 0]
    ax.set_xticks(ticks, [str(periods[i] // 12) for i in ticks])
    ax.set_yticks(range(0, len(order), 25), [order[i].removesuffix(" County")
                                            for i in range(0, len(order), 25)],
                  fontsize=7)
    ax.set_ylabel(f"{len(order)} Texas counties, most inmate-months at the top")
    ax.set_xlabel("month of report")
    ax.set_title("Inmates held on detainers per 100,000 residents, by county and "
                 "month")
    figure.colorbar(image, ax=ax, label="inmates per 100,000 residents",
                    fraction=0.04, pad=0.02)
    ax.legend(handles=[Patch(color=MISSING_COLOUR, label="not reported (missing)"),
                       Patch(facecolor="white", edgecolor="0.6",
                             label="reported zero")],
              loc="lower left", bbox_to_anchor=(0.0, 1.04), ncol=2, fontsize=8,
              frameon=False)
    figure.tight_layout()
    return to_svg(figure, "tx-coverage",
                  "Heat map of every Texas county by month: colour is inmates held "
                  "on detainers per 100,000 residents; orange cells were not "
                  "reported.")


def _outcome_colours(outcomes: list[str]) -> list:
    palette = ListedColormap(matplotlib.colormaps["tab20"].colors)
    return [palette(i) for i in range(len(outcomes))]


def pennsylvania_monthly(monthly: pd.DataFrame, outcomes: list[str]) -> Markup:
    """Detainers issued per month, stacked by their recorded outcome."""
    figure = Figure(figsize=(10, 5))
    ax = figure.subplots()
    dates = _dates(monthly["period"])
    counts = monthly[[f"outcome_{o}" for o in outcomes]].to_numpy(dtype=float).T
    ax.stackplot(dates, counts, labels=[o.replace("_", " ") for o in outcomes],
                 colors=_outcome_colours(outcomes), step="mid")
    ax.set_ylabel("detainers issued in the month")
    ax.set_xlabel("month the detainer was issued")
    ax.set_title("Pennsylvania: ICE detainers issued per month, by recorded outcome")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8,
              frameon=False, reverse=True)
    ax.grid(alpha=0.3)
    _year_axis(ax)
    figure.tight_layout()
    return to_svg(figure, "pa-monthly",
                  "Stacked area chart of ICE detainers issued to Pennsylvania "
                  "facilities per month, coloured by recorded outcome.")


def pennsylvania_shares(by_year: pd.DataFrame, outcomes: list[str]) -> Markup:
    """Share of each outcome among detainers issued in each calendar year."""
    figure = Figure(figsize=(10, 4.5))
    ax = figure.subplots()
    bottom = np.zeros(len(by_year))
    years = by_year["year"].astype(str).to_numpy()
    for outcome, colour in zip(outcomes, _outcome_colours(outcomes)):
        share = (by_year[f"outcome_{outcome}"] / by_year["detainers_issued"]).to_numpy()
        ax.bar(years, share, bottom=bottom, color=colour, width=0.8,
               label=outcome.replace("_", " "))
        bottom += share
    ax.set_ylabel("share of detainers issued")
    ax.set_xlabel("year issued (2007 and 2015 are partial)")
    ax.set_title("Pennsylvania: outcome of ICE detainers by year issued")
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], labels[::-1], loc="center left",
              bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
    figure.tight_layout()
    return to_svg(figure, "pa-shares",
                  "Stacked bar chart of the share of each recorded outcome among "
                  "Pennsylvania detainers, by year issued.")
