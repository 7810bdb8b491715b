"""Pennsylvania part of the dashboard: ICE detainers by facility, month and outcome.

Reads the ``pa_facility_month`` panel only. The FOIA file lists every
detainer ICE issued to a Pennsylvania facility, so a facility-month without
one is a true zero (shown as 0). Outcomes are as ICE recorded them when the
data were extracted in 2015; recent detainers are often still pending.
"""

from __future__ import annotations

import pandas as pd

from analysis.dashboard import figures
from analysis.dashboard.model import (
    Column,
    Section,
    Stat,
    Table,
    matrix_table,
    month_label,
    sparkline,
    table_from_frame,
)
from analysis.io import Panel


def outcome_names(frame: pd.DataFrame) -> list[str]:
    """Outcome names of the panel's ``outcome_*`` columns, in display order.

    Outcomes the figures know come first in their fixed order; any other
    outcome a future crosswalk adds follows alphabetically, so none is hidden.
    """
    present = [c.removeprefix("outcome_") for c in frame.columns
               if c.startswith("outcome_")]
    known = [o for o in figures.OUTCOME_ORDER if o in present]
    return known + sorted(set(present) - set(known))


def label(outcome: str, capital: bool = False) -> str:
    """Readable outcome label, e.g. ``declined by LEA``; ``capital``: first upper."""
    words = ["LEA" if w == "lea" else "US" if w == "us" else w
             for w in outcome.split("_")]
    text = " ".join(words)
    return text[0].upper() + text[1:] if capital else text


def facility_summary(frame: pd.DataFrame, outcomes: list[str]) -> pd.DataFrame:
    """One row per facility: detainers, outcome counts and shares, span, trend."""
    counts = [f"outcome_{o}" for o in outcomes]
    groups = frame.groupby(["facility", "city", "facility_kind"])
    table = groups[["detainers_issued", *counts]].sum()
    table["months_with_detainers"] = groups["detainers_issued"].apply(
        lambda s: int((s > 0).sum()))
    for outcome in ["declined_by_lea", "lifted", "pending_or_none"]:
        table[f"share_{outcome}"] = (table[f"outcome_{outcome}"]
                                     / table["detainers_issued"])
    active = frame[frame["detainers_issued"] > 0]
    span = active.groupby(["facility", "city", "facility_kind"])["period"].agg(
        ["min", "max"])
    table["first_month"] = span["min"].map(month_label)
    table["last_month"] = span["max"].map(month_label)
    table = table.reset_index()
    trend = {
        name: sparkline(rows.sort_values("period")["detainers_issued"].tolist(),
                        f"{name}: detainers issued per month")
        for name, rows in frame.groupby("facility")
    }
    table["trend"] = table["facility"].map(trend)
    return table.sort_values(["detainers_issued", "facility"], ascending=[False, True],
                             ignore_index=True)


def _facility_table(summary: pd.DataFrame, outcomes: list[str]) -> Table:
    columns = [
        Column("facility", "Facility", "text", row_header=True),
        Column("city", "City", "text"),
        Column("facility_kind", "Kind", "text"),
        Column("detainers_issued", "Detainers issued"),
        Column("months_with_detainers", "Months with a detainer"),
    ]
    columns += [Column(f"outcome_{o}", label(o, capital=True)) for o in outcomes]
    columns += [
        Column("share_declined_by_lea", "Share declined by LEA", "pct"),
        Column("share_lifted", "Share lifted", "pct"),
        Column("share_pending_or_none", "Share pending or none", "pct",
               note="no outcome recorded when ICE extracted the data (2015)"),
        Column("first_month", "First detainer", "text"),
        Column("last_month", "Last detainer", "text"),
        Column("trend", "Trend (detainers per month, own scale)", "spark"),
    ]
    return table_from_frame(
        summary, columns, id="pa-facilities",
        caption="Pennsylvania facilities: ICE detainers issued October 2007 to "
                "July 2015, by recorded outcome")


def _cell_titles(frame: pd.DataFrame, outcomes: list[str]) -> dict:
    """Tooltip per (facility, month) with a detainer: its outcomes, largest first."""
    active = frame[frame["detainers_issued"] > 0]
    texts = {}
    for record in active.to_dict("records"):
        parts = sorted(((record[f"outcome_{o}"], label(o)) for o in outcomes
                        if record[f"outcome_{o}"] > 0), key=lambda p: -p[0])
        texts[(record["facility"], month_label(record["period"]))] = (
            f"{record['detainers_issued']} issued: "
            + ", ".join(f"{name} {n}" for n, name in parts))
    return texts


def _matrix(frame: pd.DataFrame, outcomes: list[str]) -> Table:
    wide = frame.pivot(index="facility", columns="period", values="detainers_issued")
    wide.columns = [month_label(p) for p in wide.columns]
    texts = _cell_titles(frame, outcomes)
    titles = pd.DataFrame("", index=wide.index, columns=wide.columns)
    for (facility, month), text in texts.items():
        titles.at[facility, month] = text
    return matrix_table(
        wide, "Facility", id="pa-matrix", titles=titles,
        caption="Detainers issued, every Pennsylvania facility and month",
        note="0 is a true zero (the file lists every detainer issued). Hover a "
             "cell for its outcomes.")


def _declined_lifted_table(frame: pd.DataFrame) -> Table:
    rows = frame[(frame["outcome_declined_by_lea"] > 0)
                 | (frame["outcome_lifted"] > 0)].copy()
    rows["month"] = rows["period"].map(month_label)
    rows = rows.sort_values(["facility", "period"])
    columns = [
        Column("facility", "Facility", "text", row_header=True),
        Column("facility_kind", "Kind", "text"),
        Column("month", "Month issued", "text"),
        Column("detainers_issued", "Detainers issued"),
        Column("outcome_declined_by_lea", "Declined by LEA"),
        Column("outcome_lifted", "Lifted"),
        Column("outcome_booked_into_detention", "Booked into detention"),
        Column("outcome_pending_or_none", "Pending or none"),
    ]
    return table_from_frame(
        rows, columns, id="pa-declined",
        caption="Facility-months with a detainer declined by the local agency or "
                "lifted by ICE")


def _monthly(frame: pd.DataFrame, outcomes: list[str]) -> pd.DataFrame:
    counts = ["detainers_issued", *[f"outcome_{o}" for o in outcomes]]
    monthly = frame.groupby(["period", "partial_month"], as_index=False)[counts].sum()
    active = frame.groupby("period")["detainers_issued"].apply(
        lambda s: int((s > 0).sum()))
    monthly["facilities_with_detainers"] = monthly["period"].map(active)
    return monthly.sort_values("period", ignore_index=True)


def _monthly_table(monthly: pd.DataFrame, outcomes: list[str]) -> Table:
    table = monthly.assign(
        month=monthly["period"].map(month_label)
        + monthly["partial_month"].map({True: " (partial)", False: ""}))
    columns = [
        Column("month", "Month issued", "text", row_header=True),
        Column("facilities_with_detainers", "Facilities with a detainer"),
        Column("detainers_issued", "Detainers issued"),
    ]
    columns += [Column(f"outcome_{o}", label(o, capital=True)) for o in outcomes]
    return table_from_frame(
        table, columns, id="pa-months",
        caption="Pennsylvania statewide by month issued, by recorded outcome")


def pennsylvania_section(panel: Panel) -> Section:
    """Tables, figures and headline numbers of the Pennsylvania part of the page."""
    frame = panel.frame
    outcomes = outcome_names(frame)
    summary = facility_summary(frame, outcomes)
    monthly = _monthly(frame, outcomes)
    by_year = monthly.assign(year=monthly["period"] // 12).groupby(
        "year", as_index=False).sum(numeric_only=True)

    total = int(frame["detainers_issued"].sum())
    stats = [
        Stat("pa-detainers", "Detainers issued", total, f"{total:,}"),
        Stat("pa-facilities", "Facilities", frame["facility"].nunique(),
             f"{frame['facility'].nunique()}"),
        Stat("pa-months", "Months covered", frame["period"].nunique(),
             f"{frame['period'].nunique()}",
             f"{month_label(frame['period'].min())} to "
             f"{month_label(frame['period'].max())}; first and last partial"),
    ]
    for outcome in ["booked_into_detention", "lifted", "declined_by_lea",
                    "pending_or_none"]:
        count = int(frame[f"outcome_{outcome}"].sum())
        stats.append(Stat(f"pa-{outcome.replace('_', '-')}",
                          label(outcome, capital=True), count, f"{count:,}",
                          f"{count / total:.1%} of detainers issued"))
    return Section(
        stats=stats,
        tables={
            "facilities": _facility_table(summary, outcomes),
            "months": _monthly_table(monthly, outcomes),
            "declined": _declined_lifted_table(frame),
            "matrix": _matrix(frame, outcomes),
        },
        figures={
            "monthly": figures.pennsylvania_monthly(monthly, outcomes),
            "shares": figures.pennsylvania_shares(by_year, outcomes),
        },
        facts={
            "outcomes": outcomes,
            "partial_months": [month_label(p) for p in
                               monthly.loc[monthly["partial_month"], "period"]],
            "kinds": frame.groupby("facility_kind")["facility"].nunique().to_dict(),
        },
    )
