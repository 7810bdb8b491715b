"""Texas part of the dashboard: county x month detainer holds from TCJS reports.

Reads the ``tx_county_month`` panel only. A county-month the reports do not
cover is missing (``reported`` false): it is shown as "n/r", left out of sums
and means, and drawn as a gap, never as zero.
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
from analysis.evaluations import descriptive
from analysis.io import Panel

TOP_COUNTIES = 12
# No month has more days: more inmate-days than 31 per inmate held means at
# least one of the two reported numbers is wrong.
MAX_DAYS = 31
# The statewide figure circles months with at least this many such counties.
FLAG_MONTH = 10


def county_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per county: months reported and missing, holds, yearly means, trend.

    Sums and means run over reported months only; a county that never
    reported gets missing totals, not zeros.
    """
    groups = frame.groupby(["county_fips", "county_name"])
    table = groups.agg(
        months_reported=("reported", "sum"),
        months_missing=("reported", lambda r: int((~r).sum())),
        inmate_months=("inmates", lambda s: s.sum(min_count=1)),
        mean_per_month=("inmates", "mean"),
        per_100k_mean=("inmates_per_100k", "mean"),
        inmate_days=("inmate_days", lambda s: s.sum(min_count=1)),
        cost_dollars=("cost_dollars", lambda s: s.sum(min_count=1)),
    )
    reported = frame[frame["reported"]]
    span = reported.groupby(["county_fips", "county_name"])["period"].agg(
        ["min", "max"])
    table["first_month"] = span["min"].map(month_label)
    table["last_month"] = span["max"].map(month_label)
    yearly = frame.pivot_table(index=["county_fips", "county_name"], columns="year",
                               values="inmates", aggfunc="mean")
    table = table.join(yearly.add_prefix("mean_"))
    table = table.reset_index()
    trend = {
        fips: sparkline(rows.sort_values("period")["inmates"].tolist(),
                        f"{rows['county_name'].iloc[0]}: inmates held per month")
        for fips, rows in frame.groupby("county_fips")
    }
    table["trend"] = table["county_fips"].map(trend)
    return table.sort_values(["inmate_months", "county_name"], ascending=[False, True],
                             na_position="last", ignore_index=True)


def _county_table(summary: pd.DataFrame, years: list[int], months_in_year) -> Table:
    columns = [
        Column("county_name", "County", "text", row_header=True),
        Column("county_fips", "FIPS", "text"),
        Column("months_reported", "Months reported"),
        Column("months_missing", "Months not reported",
               note="county-months with no TCJS report: missing, not zero"),
        Column("inmate_months", "Inmate-months held",
               note="sum of monthly counts of inmates held on a detainer over "
                    "reported months; a person held three months counts three "
                    "times"),
        Column("mean_per_month", "Mean held per reported month", "float1"),
        Column("per_100k_mean", "Mean held per 100,000 residents", "float2"),
        Column("inmate_days", "Inmate-days"),
        Column("cost_dollars", "Reported cost", "money",
               note="cost the county reported for housing these inmates, summed "
                    "over reported months that state a cost"),
        Column("first_month", "First month reported", "text"),
        Column("last_month", "Last month reported", "text"),
    ]
    columns += [
        Column(f"mean_{y}", f"{y} mean per month"
               + ("" if months_in_year[y] == 12 else f" ({months_in_year[y]} mo.)"),
               "float1", note=f"inmates held, mean over the reported months of {y}")
        for y in years
    ]
    columns.append(Column("trend", "Trend (monthly, own scale; gaps = not "
                          "reported)", "spark"))
    return table_from_frame(
        summary, columns, id="tx-counties",
        caption="Texas counties: inmates held on ICE detainers, October 2011 to "
                "November 2017",
        note="Sums and means are over the months a county reported; 'n/r' = no "
             "report in any month of that span.")


def implausible(frame: pd.DataFrame) -> pd.Series:
    """Reported county-months with more inmate-days than 31 per inmate held.

    The values are shown as reported and flagged, not changed: the panel
    does not say which of the two numbers is wrong.
    """
    return frame["reported"] & (frame["inmate_days"] > MAX_DAYS * frame["inmates"])


def _matrix(frame: pd.DataFrame) -> Table:
    wide = frame.pivot(index="county_name", columns="period", values="inmates")
    wide.columns = [month_label(p) for p in wide.columns]
    flagged = frame.assign(flag=implausible(frame))
    flags = flagged.pivot(index="county_name", columns="period", values="flag")
    flags.columns = wide.columns
    titles = pd.DataFrame("", index=wide.index, columns=wide.columns)
    for record in flagged[flagged["flag"]].to_dict("records"):
        titles.at[record["county_name"], month_label(record["period"])] = (
            f"{record['inmates']:.0f} inmates but {record['inmate_days']:.0f} "
            f"inmate-days (more than {MAX_DAYS} per inmate): at least one number "
            "is wrong")
    return matrix_table(
        wide, "County", id="tx-matrix", titles=titles, flags=flags,
        caption="Inmates held on ICE detainers, every Texas county and month",
        note="Counts as reported to TCJS; 'n/r' (orange) = the county did not "
             "report that month, which is missing, not zero. Purple = fails the "
             f"days check (more than {MAX_DAYS} inmate-days per inmate held); "
             "hover for the numbers.")


def _implausible_table(frame: pd.DataFrame) -> Table:
    rows = frame[implausible(frame)].assign(
        month=lambda f: f["period"].map(month_label),
        days_per_inmate=lambda f: (f["inmate_days"] / f["inmates"]).where(
            f["inmates"] > 0),
    ).sort_values(["period", "county_name"])
    columns = [
        Column("county_name", "County", "text", row_header=True),
        Column("month", "Month", "text"),
        Column("inmates", "Inmates held (as reported)"),
        Column("inmate_days", "Inmate-days (as reported)"),
        Column("days_per_inmate", "Inmate-days per inmate", "float1",
               note="'n/r' here: zero inmates reported, so no ratio"),
    ]
    return table_from_frame(
        rows, columns, id="tx-days-check",
        caption=f"Texas county-months failing the days check: more than {MAX_DAYS} "
                "inmate-days per inmate held",
        missing_label="n/a", missing_title="zero inmates: no ratio",
        note="Shown as reported and included in the sums above: the files do not "
             "say which number is wrong.")


def _statewide_table(monthly: pd.DataFrame, n_counties: int) -> Table:
    table = monthly.assign(
        month=monthly["period"].map(month_label),
        counties_missing=n_counties - monthly["counties_reporting"],
    )
    # A month no county reported has no statewide total: missing, not zero.
    none = table["counties_reporting"] == 0
    for column in ["inmates", "inmate_days", "cost_dollars"]:
        table.loc[none, column] = float("nan")
    columns = [
        Column("month", "Month", "text", row_header=True),
        Column("counties_reporting", "Counties reporting"),
        Column("counties_missing", "Counties not reporting"),
        Column("inmates", "Inmates held (reporting counties)"),
        Column("inmate_days", "Inmate-days"),
        Column("cost_dollars", "Reported cost", "money"),
    ]
    return table_from_frame(
        table, columns, id="tx-months",
        caption="Texas statewide by month (sums over the counties that reported)",
        note="A month's total covers only the counties that reported it; compare "
             "months with the 'Counties reporting' column beside it.")


def _worst(failing: pd.DataFrame) -> dict | None:
    """The failing county-month with the most inmate-days, to quote on the page."""
    if failing.empty:
        return None
    row = failing.sort_values(["inmate_days", "county_fips"],
                              ascending=[False, True]).iloc[0]
    return {"county": row["county_name"], "month": month_label(row["period"]),
            "inmates": int(row["inmates"]), "days": int(row["inmate_days"])}


def texas_section(panel: Panel) -> Section:
    """Tables, figures and headline numbers of the Texas part of the page."""
    frame = panel.frame
    monthly = descriptive.texas_statewide_month(frame)
    summary = county_summary(frame)
    years = sorted(frame["year"].unique())
    months_in_year = frame.groupby("year")["period"].nunique().to_dict()
    reported = frame[frame["reported"]]

    missing_months = monthly.loc[monthly["counties_reporting"] == 0, "period"]
    median = monthly["counties_reporting"].median()
    thin = monthly[(monthly["counties_reporting"] > 0)
                   & (monthly["counties_reporting"] < median)]
    no_cost = int((frame["reported"] & frame["cost_dollars"].isna()).sum())
    failing = frame[implausible(frame)]
    failing_months = failing.groupby("period").size().sort_values(
        ascending=False, kind="stable")
    stats = [
        Stat("tx-counties", "Texas counties", frame["county_fips"].nunique(),
             f"{frame['county_fips'].nunique():,}"),
        Stat("tx-months", "Months covered", frame["period"].nunique(),
             f"{frame['period'].nunique()}",
             f"{month_label(frame['period'].min())} to "
             f"{month_label(frame['period'].max())}"),
        Stat("tx-reported", "County-months reported", len(reported),
             f"{len(reported):,}"),
        Stat("tx-missing", "County-months not reported", int((~frame["reported"])
                                                             .sum()),
             f"{int((~frame['reported']).sum()):,}", "missing, not zero"),
        Stat("tx-inmate-months", "Inmate-months held on detainers",
             float(reported["inmates"].sum()), f"{reported['inmates'].sum():,.0f}",
             "sum of monthly counts; not a count of people"),
        Stat("tx-inmate-days", "Inmate-days", float(reported["inmate_days"].sum()),
             f"{reported['inmate_days'].sum():,.0f}"),
        Stat("tx-cost", "Reported cost", float(reported["cost_dollars"].sum()),
             f"${reported['cost_dollars'].sum():,.0f}",
             f"{no_cost} reported county-months state no cost"),
        Stat("tx-days-check", "County-months failing the days check", len(failing),
             f"{len(failing):,}",
             f"more than {MAX_DAYS} inmate-days per inmate held"),
    ]
    top = summary["county_name"].head(TOP_COUNTIES).tolist()
    order = summary["county_name"].tolist()
    return Section(
        stats=stats,
        tables={
            "counties": _county_table(summary, years, months_in_year),
            "months": _statewide_table(monthly, frame["county_fips"].nunique()),
            "matrix": _matrix(frame),
            "days_check": _implausible_table(frame),
        },
        figures={
            "statewide": figures.texas_statewide(
                monthly, failing.groupby("period").size(), FLAG_MONTH),
            "top": figures.texas_top_counties(frame, top, implausible(frame)),
            "coverage": figures.texas_coverage(frame, order),
        },
        facts={
            "never_reported": summary.loc[summary["months_reported"] == 0,
                                          "county_name"].tolist(),
            "months_none": [month_label(p) for p in missing_months],
            "months_thin": [(month_label(p), int(n)) for p, n in
                            zip(thin["period"], thin["counties_reporting"])],
            "median_reporting": int(median),
            # Gaps beyond the months no county reported at all.
            "counties_with_gaps": int((summary["months_missing"]
                                       > len(missing_months)).sum()),
            "no_cost": no_cost,
            "max_days": MAX_DAYS,
            "flag_month": FLAG_MONTH,
            "days_example": _worst(failing),
            "days_check_months": [(month_label(p), int(n)) for p, n in
                                  failing_months.head(3).items()],
        },
    )
