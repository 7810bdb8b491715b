"""Descriptive summaries for the compliance and recidivism reports.

Each function takes a panel frame and returns small tables; nothing here reads
files or estimates a causal effect.
"""

from __future__ import annotations

import pandas as pd


def texas_statewide_month(frame: pd.DataFrame) -> pd.DataFrame:
    """Statewide detainer holds per month, over the counties that reported.

    A county-month that was not reported is missing, so the totals are sums
    over reporting counties, shown beside how many counties reported.
    """
    table = frame[frame["reported"]].groupby(
        ["period", "year", "month"], as_index=False
    ).agg(
        inmates=("inmates", "sum"),
        inmate_days=("inmate_days", "sum"),
        cost_dollars=("cost_dollars", "sum"),
        counties_reporting=("county_fips", "nunique"),
    )
    # Months in which no county reported stay in the table as missing, so a
    # plot breaks there instead of drawing across the gap.
    grid = frame[["period", "year", "month"]].drop_duplicates()
    table = grid.merge(table, on=["period", "year", "month"], how="left")
    table["counties_reporting"] = table["counties_reporting"].fillna(0).astype(int)
    table["date"] = pd.to_datetime(
        {"year": table["year"], "month": table["month"], "day": 1}
    )
    return table.sort_values("period").reset_index(drop=True)


def texas_top_counties(frame: pd.DataFrame, n: int = 15) -> pd.DataFrame:
    """Counties with the most inmate-months held on detainers, with their rates.

    ``inmate_months_total`` sums the monthly counts of inmates held: a person
    held for three months counts three times. It is not a count of people.
    """
    reported = frame[frame["reported"]]
    table = reported.groupby(["county_fips", "county_name"], as_index=False).agg(
        months_reported=("period", "size"),
        inmate_months_total=("inmates", "sum"),
        inmates_mean_per_month=("inmates", "mean"),
        inmates_per_100k_mean=("inmates_per_100k", "mean"),
        cost_dollars_total=("cost_dollars", "sum"),
    )
    return table.sort_values("inmate_months_total", ascending=False).head(n)


def pennsylvania_outcomes_by_year(frame: pd.DataFrame) -> pd.DataFrame:
    """Detainers issued and their outcomes per calendar year, by facility kind."""
    outcomes = [c for c in frame.columns if c.startswith("outcome_")]
    table = frame.groupby(["year", "facility_kind"], as_index=False)[
        ["detainers_issued", *outcomes]
    ].sum()
    table["share_declined_by_lea"] = (
        table["outcome_declined_by_lea"] / table["detainers_issued"]
    )
    return table


def pennsylvania_top_facilities(frame: pd.DataFrame, n: int = 15) -> pd.DataFrame:
    """Facilities with the most detainers, with declines and pending shares."""
    outcomes = [c for c in frame.columns if c.startswith("outcome_")]
    table = frame.groupby(["facility", "facility_kind"], as_index=False)[
        ["detainers_issued", *outcomes]
    ].sum()
    table["share_pending_or_none"] = (
        table["outcome_pending_or_none"] / table["detainers_issued"]
    )
    return table.sort_values("detainers_issued", ascending=False).head(n)
