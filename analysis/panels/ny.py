"""New York State agency-year and county-year index-crime panels, 1990-2022.

Build with :func:`build_ny_agency_year` and :func:`build_ny_county_year`;
registered as ``ny_agency_year`` and ``ny_county_year`` in
:data:`analysis.build.PANELS`.
"""

from __future__ import annotations

import pandas as pd

from analysis.io import Panel
from analysis.ledger import Ledger
from analysis.manifest import source_hashes
from analysis.panels._rates import add_rates, flag_outliers
from analysis.sources import nys

AGENCY_NAME = "ny_agency_year"
COUNTY_NAME = "ny_county_year"

NOTES = {
    "county_fips": "crime-file county names matched to the population "
    "file's Geography on name_key ('St Lawrence' = 'St. Lawrence County'; "
    "the NYC boroughs are the counties Bronx, Kings, New York, Queens, "
    "Richmond). An unmatched name raises.",
    "county_total_rows": "each county-year has a 'County Total' row equal to "
    "the sum of its agency rows (state police rows included: they are "
    "separate reports, not double counts). It is dropped and ledgered, "
    "except where it is the county-year's only row (the five NYC boroughs, "
    "which DCJS publishes by borough only); there it stands for all the "
    "borough's agencies and is_county_total is true. Exceptions in the "
    "file: Albany 1990-1997 and Nassau 1990 totals exceed their agency sums "
    "(see dcjs_county_total_index in ny_county_year).",
    "months_reported": "blank in the file for every row through 2001 and for "
    "the NYC borough rows through 2009: kept missing ('not recorded'). "
    "full_year is true at 12 months, false at 1-11, missing when blank.",
    "coverage_rule": "an agency-year enters the county sums (in_county_sum) "
    "when full_year is true or its months are not recorded (blank); "
    "agency-years with 1-11 months are left out, never scaled up.",
    "absent_agencies": "the file has no agency-year with an index total of "
    "0: an agency absent from a year may be a true zero or a non-report. "
    "County sums treat absent agencies as contributing nothing; n_agencies "
    "counts only those present.",
    "agency_identity": "DCJS gives names, not ids; a renamed agency (e.g. "
    "'SUNY College At' / 'SUNY College at') appears as two agencies. Agency "
    "names repeat across counties, so the key includes county_fips.",
    "population": "county population from the NYS/Census file, one program "
    "type per county-year: intercensal > postcensal > census base; the "
    "others are ledgered.",
    "coverage_share": "share_agencies_in_sum = n_agencies_in_sum / "
    "n_agencies. A population share cannot be computed: the DCJS file has "
    "no agency populations.",
    "rates": "<count>_per_100k = county sum / county population * 100,000; "
    "missing where no agency meets the coverage rule.",
    "index_total_outlier": "true where the county's index_total is over 3 "
    "times above or below the median of its three years before and after.",
}
AGENCY_NOTES = {k: v for k, v in NOTES.items() if k != "index_total_outlier"}


def build_ny_agency_year() -> Panel:
    """Build the NY agency-year panel with county FIPS and the coverage flag.

    Returns
    -------
    analysis.io.Panel
        ``ny_agency_year``: one row per (``county_fips``, ``agency``,
        ``year``) with counts, ``months_reported``, ``full_year``,
        ``is_county_total`` and ``in_county_sum``. See ``NOTES``.
    """
    ledger = Ledger(AGENCY_NAME)
    agencies, _, _ = _agency_frame(ledger)
    panel = Panel(
        name=AGENCY_NAME,
        frame=agencies,
        key=["county_fips", "agency", "year"],
        raw_sha256=source_hashes(nys.SOURCE),
        ledger=ledger,
        notes=AGENCY_NOTES,
    )
    panel.check_key()
    return panel


def build_ny_county_year() -> Panel:
    """Build the NY county-year panel: sums over covered agencies, rates.

    Returns
    -------
    analysis.io.Panel
        ``ny_county_year``: one row per (``county_fips``, ``year``) with
        ``population``, counts summed over agencies meeting the coverage
        rule, rates per 100,000, ``n_agencies``, ``n_agencies_full_year``,
        ``n_agencies_months_unrecorded``, ``n_agencies_in_sum``,
        ``share_agencies_in_sum``, ``dcjs_county_total_index`` and
        ``index_total_outlier``. See ``NOTES``.

    Raises
    ------
    ValueError
        A county-year has no population in the population file.
    """
    ledger = Ledger(COUNTY_NAME)
    agencies, county_totals, population = _agency_frame(ledger)
    counts = nys.COUNT_COLUMNS

    keys = ["county_fips", "year"]
    flags = agencies[keys].assign(
        n_agencies=1,
        n_agencies_full_year=agencies["full_year"].fillna(False).astype("int64"),
        n_agencies_months_unrecorded=agencies["months_reported"].isna().astype("int64"),
        n_agencies_in_sum=agencies["in_county_sum"].astype("int64"),
    )
    tallies = flags.groupby(keys).sum()
    names = agencies.groupby(keys)["county_name"].first()
    # Only covered agency-years enter the sums; none covered -> missing, not 0.
    covered = agencies[counts].where(agencies["in_county_sum"])
    sums = covered.groupby([agencies[k] for k in keys]).sum(min_count=1)
    county = pd.concat([names, tallies, sums.astype("Int64")], axis=1).reset_index()
    county["share_agencies_in_sum"] = (
        county["n_agencies_in_sum"] / county["n_agencies"]
    )
    ledger.record(
        f"{COUNTY_NAME}: sum agencies",
        len(agencies),
        len(county),
        removed={"agency rows summed into county-years": len(agencies) - len(county)},
        action="collapse",
    )

    county = county.merge(
        population[["county_fips", "year", "population", "program_type"]].rename(
            columns={"program_type": "population_program_type"}
        ),
        on=keys,
        how="left",
        validate="one_to_one",
    )
    if county["population"].isna().any():
        rows = county.loc[county["population"].isna(), keys].head(5)
        raise ValueError(
            f"{COUNTY_NAME}: no population in {nys.POPULATION_FILE} for county-years "
            f"{rows.to_dict('records')}."
        )
    county = county.merge(county_totals, on=keys, how="left", validate="one_to_one")
    ledger.record(f"{COUNTY_NAME}: attach population", len(county), len(county))

    county = add_rates(county, counts, "population")
    county["index_total_outlier"] = flag_outliers(
        county, ["county_fips"], "index_total"
    )
    leading = ["county_fips", "county_name", "year", "population"]
    county = county[leading + [c for c in county.columns if c not in leading]]
    panel = Panel(
        name=COUNTY_NAME,
        frame=county,
        key=keys,
        raw_sha256=source_hashes(nys.SOURCE),
        ledger=ledger,
        notes=NOTES,
    )
    panel.check_key()
    return panel


def _agency_frame(ledger: Ledger) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Load both files, attach FIPS, resolve County Total rows, flag coverage.

    Returns the agency-year table, the DCJS County Total index totals
    (``county_fips``, ``year``, ``dcjs_county_total_index``) and the
    one-program-type population table without the state row.
    """
    crimes = nys.load_nys_crimes(ledger=ledger)
    population = nys.load_nys_population(ledger=ledger)
    population = ledger.drop(
        population,
        population["is_state_total"],
        "nys_population: state rows",
        "New York State total, not a county",
        id_columns=["county_fips", "year"],
        warn=False,
    )

    crimes.insert(
        0,
        "county_fips",
        nys.match_county_fips(crimes["county_name"], population, where=nys.CRIME_FILE),
    )
    ledger.record("nys_crimes: attach county_fips", len(crimes), len(crimes))

    totals = crimes.loc[crimes["is_county_total"], ["county_fips", "year"]]
    totals = totals.assign(
        dcjs_county_total_index=crimes.loc[crimes["is_county_total"], "index_total"]
    )
    rows_in_county_year = crimes.groupby(["county_fips", "year"])["agency"].transform(
        "size"
    )
    double_count = crimes["is_county_total"] & (rows_in_county_year > 1)
    crimes = ledger.drop(
        crimes,
        double_count,
        "nys_crimes: County Total rows",
        "County Total row sums the county's agency rows (double count)",
        id_columns=["county_name", "year"],
    )

    unrecorded = crimes["months_reported"].isna()
    crimes["in_county_sum"] = (crimes["full_year"].fillna(False) | unrecorded).astype(
        bool
    )
    crimes = crimes.sort_values(["county_fips", "agency", "year"])
    return crimes.reset_index(drop=True), totals.reset_index(drop=True), population
