"""Immigration-detainer panels: Texas county-month and Pennsylvania facility-month.

``tx_county_month`` sums the TCJS facility rows of each Texas county and
month onto a complete county x month grid; a county-month the reports do not
cover stays missing (``reported`` false), never zero. ``pa_facility_month``
counts ICE detainers issued to each Pennsylvania facility per month, by
harmonised outcome; the FOIA file lists every detainer issued, so a
facility-month without a detainer is a true zero.
"""

from __future__ import annotations

import pandas as pd

from analysis.io import Panel
from analysis.ledger import Ledger
from analysis.manifest import source_hashes
from analysis.sources import census as census_source
from analysis.sources import pennsylvania, texas

PER_RESIDENTS = 100_000
TX_MEASURES = ["inmates", "inmate_days", "cost_dollars"]


def _collapse(ledger: Ledger, step: str, rows_in: int, rows_out: int, reason: str):
    ledger.record(step, rows_in, rows_out, removed={reason: rows_in - rows_out},
                  action="collapse")


def _texas_county_months(facility_months: pd.DataFrame, ledger: Ledger):
    """Sum facilities within county-month; cost is NaN if any facility lacks it."""
    groups = facility_months.groupby(["county_fips", "period"])
    summed = groups[["inmates", "inmate_days", "cost_dollars"]].sum(min_count=1)
    cost_missing = groups["cost_dollars"].apply(lambda cost: cost.isna().any())
    summed.loc[cost_missing, "cost_dollars"] = float("nan")
    summed["facilities_reporting"] = groups.size()
    summed = summed.reset_index()
    _collapse(ledger, "tx panel: facilities to county-month", len(facility_months),
              len(summed), "facility rows of one county-month summed")
    return summed


def build_tx_county_month() -> Panel:
    """Texas county x month panel of inmates held on ICE detainers, Oct 2011-Nov 2017.

    Returns
    -------
    analysis.io.Panel
        Key ``[county_fips, period]`` (``period = year * 12 + month - 1``) on
        the grid of all 254 Texas counties and every month the reports cover.
        Columns: ``county_name``, ``year``, ``month``, ``reported``,
        ``facilities_reporting``, ``inmates``, ``inmate_days``,
        ``cost_dollars``, ``population`` (Census July-1 estimate of the
        calendar year), ``inmates_per_100k``, ``inmate_days_per_100k`` and
        ``counties_reporting_in_month``.
    """
    ledger = Ledger("tx_county_month")
    census_ledger = Ledger("census_county")
    census = census_source.load_census_counties(ledger=census_ledger)
    facility_months = texas.load_texas_detainers(ledger=ledger, census=census)
    county_months = _texas_county_months(facility_months, ledger)

    counties = census.loc[census["state_fips"] == texas.TEXAS_FIPS,
                          ["county_fips", "county_name"]].drop_duplicates()
    first, last = facility_months["period"].min(), facility_months["period"].max()
    periods = pd.DataFrame({"period": range(first, last + 1)})
    grid = counties.merge(periods, how="cross")
    frame = grid.merge(county_months, on=["county_fips", "period"], how="left",
                       validate="one_to_one")
    frame["reported"] = frame["facilities_reporting"].notna()
    frame["facilities_reporting"] = frame["facilities_reporting"].fillna(0).astype(
        "int64")
    ledger.add("tx panel: county x month grid", "county-month absent from the "
               "reports added with missing values (reported=False), not zeros",
               len(county_months), len(frame), (~frame["reported"]).sum())

    frame["year"] = frame["period"] // 12
    frame["month"] = frame["period"] % 12 + 1
    population = census[["county_fips", "year", "population"]]
    frame = frame.merge(population, on=["county_fips", "year"], how="left",
                        validate="many_to_one")
    for measure in ["inmates", "inmate_days"]:
        frame[f"{measure}_per_100k"] = (
            frame[measure] / frame["population"] * PER_RESIDENTS
        )
    frame["counties_reporting_in_month"] = frame.groupby("period")[
        "reported"].transform("sum").astype("int64")

    columns = ["county_fips", "period", "county_name", "year", "month", "reported",
               "facilities_reporting", *TX_MEASURES, "population",
               "inmates_per_100k", "inmate_days_per_100k",
               "counties_reporting_in_month"]
    frame = frame[columns].sort_values(["county_fips", "period"], ignore_index=True)
    never = sorted(frame.groupby("county_name")["reported"].any().loc[
        lambda s: ~s].index)
    per_month = frame.groupby("period")["counties_reporting_in_month"].first()
    thin = per_month[per_month < per_month.median()]
    thin_text = ", ".join(f"{p // 12}-{p % 12 + 1:02d} ({n})" for p, n in thin.items())
    repeats = "; ".join(ledger.to_frame().query("step == 'texas: repeated month'")[
        "reason"])
    old = sorted(facility_months.loc[facility_months["superseded_pdf"],
                                     "source_pdf"].unique())
    return Panel(
        name="tx_county_month",
        frame=frame,
        key=["county_fips", "period"],
        raw_sha256={**source_hashes(texas.SOURCE),
                    **source_hashes(census_source.SOURCE)},
        ledger=ledger.extend(census_ledger),
        notes={
            "unit": "Texas county x calendar month; period = year*12 + month - 1.",
            "names": "TCJS names matched to Census county names by name_key; the 10 "
                     "'(private facility)' names resolved by data/crosswalks/"
                     "tx_tcjs_county_names.csv; facilities of one county summed.",
            "missing": "A county-month with no TCJS row is missing (reported=False, "
                       "NaN measures), not zero. Cost is NaN when any facility of "
                       "the county-month lacks it (4 raw rows).",
            "never_reported": f"Counties with no report in any month: {never}.",
            "repeats": "Rule: a facility-month repeated with identical values keeps "
                       "one row; a conflicting repeat from a PDF labelled 'Old' is "
                       "dropped, other conflicts raise. A month whose table repeats "
                       f"an earlier month's (>= {texas.REPEAT_SHARE:.0%} of >= "
                       f"{texas.REPEAT_MIN_FACILITIES} active facilities identical) "
                       f"is dropped (reported=False): {repeats or 'none found'}. "
                       f"Months read from PDFs labelled 'Old' (superseded, no "
                       f"newer version in the file): {old or 'none'}.",
            "month_counts": "Counties reporting per month, months below the median: "
                            f"{thin_text or 'none'}.",
            "rates": "Per 100,000 residents: Census Vintage 2019 July-1 county "
                     "estimate of the calendar year (all of 2011-2017 covered).",
        },
    )


def build_pa_facility_month() -> Panel:
    """Pennsylvania facility x month counts of ICE detainers issued, by outcome.

    Returns
    -------
    analysis.io.Panel
        Key ``[facility, period]`` on the grid of every facility and every
        month from the first to the last detainer in the file. Columns:
        ``city`` (the facility's most frequent city), ``facility_kind``,
        ``year``, ``month``, ``partial_month``, ``detainers_issued`` and one
        ``outcome_<name>`` count per harmonised outcome (including
        ``outcome_declined_by_lea`` and ``outcome_pending_or_none``).
    """
    ledger = Ledger("pa_facility_month")
    detainers = pennsylvania.load_pa_detainers(ledger=ledger)

    counts = pd.crosstab([detainers["facility"], detainers["period"]],
                         detainers["outcome"]).add_prefix("outcome_")
    counts.columns.name = None
    counts.insert(0, "detainers_issued", counts.sum(axis=1))
    counts = counts.reset_index()
    _collapse(ledger, "pa panel: detainers to facility-month", len(detainers),
              len(counts), "detainers of one facility-month counted")

    facilities = (
        detainers.groupby("facility")
        .agg(city=("city", lambda c: c.mode().iloc[0]),
             facility_kind=("facility_kind", "first"))
        .reset_index()
    )
    periods = pd.DataFrame(
        {"period": range(detainers["period"].min(), detainers["period"].max() + 1)}
    )
    frame = facilities.merge(periods, how="cross").merge(
        counts, on=["facility", "period"], how="left", validate="one_to_one")
    filled = frame["detainers_issued"].isna()
    count_columns = [c for c in counts.columns if c not in ("facility", "period")]
    frame[count_columns] = frame[count_columns].fillna(0).astype("int64")
    ledger.add("pa panel: facility x month grid", "facility-month with no "
               "detainer in the FOIA file added with zero counts (true zero)",
               len(counts), len(frame), filled.sum())

    frame["year"] = frame["period"] // 12
    frame["month"] = frame["period"] % 12 + 1
    first, last = detainers["date"].min(), detainers["date"].max()
    frame["partial_month"] = frame["period"].isin(
        [p for p, covered in [
            (first.year * 12 + first.month - 1, first.day == 1),
            (last.year * 12 + last.month - 1, last.is_month_end),
        ] if not covered]
    )
    columns = ["facility", "period", "city", "facility_kind", "year", "month",
               "partial_month", *count_columns]
    frame = frame[columns].sort_values(["facility", "period"], ignore_index=True)
    return Panel(
        name="pa_facility_month",
        frame=frame,
        key=["facility", "period"],
        raw_sha256=source_hashes(pennsylvania.SOURCE),
        ledger=ledger,
        notes={
            "unit": "Facility (det_facility name) x calendar month; period = "
                    "year*12 + month - 1.",
            "zeros": "The ICE FOIA file lists every detainer issued Oct 2007-Jul "
                     "2015, so a facility-month without one is a true zero.",
            "outcomes": "lift_reason harmonised by data/crosswalks/"
                        "pa_lift_reason_outcomes.csv; empty = pending_or_none, kept.",
            "facility_kind": "Name rule in analysis.sources.pennsylvania.KIND_RULES "
                             "(SCI/SRCF -> state prison; FCI/FED/USP/U.S. PEN/FDC -> "
                             "federal; CNTY/COUNTY/CO -> county jail; juvenile, "
                             "shelter, police, Marshals, ICE office -> other), with "
                             "exceptions in data/crosswalks/pa_facility_kinds.csv.",
            "partial_month": "First and last months are partial when the file's "
                             f"dates ({first.date()} to {last.date()}) do not cover "
                             "them whole.",
            "city": "city is the facility's most frequent city (POTTER COUNTY "
                    "PRISON has 4 rows with city WELLSBORO).",
        },
    )
