"""National city-year crime panel from the FBI city tables, 2005-2019.

Three panels, registered in :data:`analysis.build.PANELS`, come from one
assembly (done once per process):

- ``city_year``: one row per (``city_id``, ``year``) a city appears in the
  FBI's table, with counts, rates per 100,000, its principal county and how
  that county was found, and the file and row it came from;
- ``city_county_link``: one row per city id: spellings, geocode, county,
  match method and status (matched, ambiguous, unmatched);
- ``city_coverage``: one row per state and year: cities listed, population
  covered, and whether the state-year is reported, thin or missing.

A city absent from a year's table has no row: it is a missing observation,
never a zero. A state-year with no cities is marked missing in
``city_coverage``, never filled.
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from analysis.io import Panel
from analysis.ledger import Ledger
from analysis.manifest import source_hashes
from analysis.panels._rates import add_rates, flag_outliers
from analysis.panels.city_county import link_cities
from analysis.panels.city_names import city_id
from analysis.sources import census, city_geocodes, fbi_city, kaplan
from analysis.sources._common import read_crosswalk

RATE_COLUMNS = [
    "violent_crime",
    "violent_crime_ex_rape",
    "murder",
    "robbery",
    "aggravated_assault",
    "property_crime",
    "burglary",
    "larceny_theft",
    "motor_vehicle_theft",
]
# A state-year listing fewer cities than this share of the state's median
# over 2005-2019 is flagged thin (coverage, not crime, changed). At 0.6 every
# 2019 drop-out named in the source's PROVENANCE.md (Alabama, Georgia,
# Pennsylvania, Missouri at 58%) is flagged; share_of_median lets a reader
# apply another cut.
THIN_SHARE = 0.6

NOTES = {
    "unit": "a city police agency as listed in the FBI's 'Offenses Known to Law "
    "Enforcement by State by City' (CIUS Table 8; Table 6 in 2016), 2005-2019; "
    "key (city_id, year). The table lists agencies with 12 months of data, so "
    "there is no partial-year flag.",
    "city_id": "state postal code + normalised name (case, accents, punctuation, "
    "St./Saint, Mt./Mount, Ft./Fort, Twp./Township, footnote marks; every word "
    "kept, so a township and a borough of one name stay apart); see "
    "analysis.panels.city_names. Spellings per id are in city_county_link.",
    "sources": "2005 and 2007: the OpenDataDE scrape of the FBI's state pages; "
    "2006 and 2008-2019: the FBI's own spreadsheets. source_file and source_row "
    "(Excel row number, or CSV record number with the header as 1) locate "
    "every row.",
    "county_fips": "principal county from the route in county_match_method "
    "(analysis.panels.city_county): Data Commons geocode -> county subdivision "
    "code, or Census place -> Kaplan/LEAIC county of its police department; "
    "then Kaplan agency or place names; then a county named in the city name. "
    "Ambiguous and unmatched cities keep their rows with county_fips missing.",
    "missing": "blank cells are missing, never zero; violent_crime is as "
    "published (blank for North Carolina 2017-2018 and agencies on the legacy "
    "rape definition) and is never recomputed from blanks.",
    "rape": "rape_legacy is the legacy definition (the only one to 2012), "
    "rape_revised the 2013 definition (2013-2016 both columns, each agency "
    "fills one; from 2017 the revised one only). violent_crime_ex_rape = "
    "murder + robbery + aggravated_assault is comparable across 2013.",
    "rates": "<count>_per_100k = count / population * 100,000 with the FBI's "
    "population; missing where the population is blank or 0 (agencies whose "
    "residents are counted under another agency, e.g. Baltimore City Sheriff).",
    "outliers": "violent_crime_ex_rape_outlier and property_crime_outlier flag "
    "a count over 3 times above or below the median of the city's three years "
    "before and after; for review, nothing dropped.",
}


@lru_cache(maxsize=1)
def _assemble() -> tuple[pd.DataFrame, pd.DataFrame, dict, Ledger]:
    """Read the fifteen tables and the crosswalks once; link cities to counties."""
    ledger = Ledger("city_year")
    rows, without_rows = fbi_city.load_city_tables(ledger=ledger)
    rows["city_id"] = [city_id(s, c) for s, c in zip(rows["state_postal"],
                                                      rows["city"])]
    geocodes = city_geocodes.load_city_geocodes(ledger=ledger)
    places = kaplan.load_kaplan_places(ledger=ledger)
    counties = census.load_census_counties(ledger=Ledger("census_county"))
    counties = counties.loc[counties["year"] == counties["year"].min(),
                            ["state_fips", "county_fips", "county_name"]]
    link = link_cities(rows, geocodes, places, counties)
    return rows, link, without_rows, ledger


def build_city_year() -> Panel:
    """Build ``city_year``: counts, rates, county and provenance per city-year.

    Returns
    -------
    analysis.io.Panel
        One row per (``city_id``, ``year``); see :data:`NOTES`.
    """
    rows, link, _, source_ledger = _assemble()
    ledger = Ledger("city_year").extend(source_ledger)
    frame = rows.merge(
        link[["city_id", "county_fips", "county_match_method", "link_status"]],
        on="city_id", how="left", validate="many_to_one",
    )
    ledger.record("city_year: attach county link", len(rows), len(frame))
    for status in ["unmatched", "ambiguous"]:
        flagged = frame["link_status"] == status
        ledger.recode(
            "city_year: county link",
            f"county_fips left missing: city {status} (see city_county_link)",
            int(flagged.sum()), len(frame),
            examples=frame.loc[flagged, "city_id"].drop_duplicates().tolist(),
        )

    parts = frame[["murder", "robbery", "aggravated_assault"]]
    frame["violent_crime_ex_rape"] = parts.sum(axis=1, min_count=3).where(
        parts.notna().all(axis=1)
    ).astype("Int64")
    frame = add_rates(frame, RATE_COLUMNS, "population")
    frame = frame.sort_values(["city_id", "year"]).reset_index(drop=True)
    for column in ["violent_crime_ex_rape", "property_crime"]:
        frame[f"{column}_outlier"] = flag_outliers(frame, ["city_id"], column)

    first = ["city_id", "year", "state_postal", "state_fips", "state_name", "city",
             "county_fips", "county_match_method", "link_status"]
    last = ["city_raw", "state_raw", "city_footnote", "state_footnote", "fbi_table",
            "source_file", "source_row"]
    frame = frame[first + [c for c in frame.columns if c not in first + last]
                  + last]
    panel = Panel("city_year", frame, ["city_id", "year"], _hashes(), ledger, NOTES)
    panel.check_key()
    return panel


def build_city_county_link() -> Panel:
    """Build ``city_county_link``: one row per city id with its county route."""
    rows, link, _, _ = _assemble()
    ledger = Ledger("city_county_link")
    spellings = rows[["city_id", "city"]].drop_duplicates()
    ledger.record(
        "city_county_link: one row per city id", len(spellings), len(link),
        removed={"other spellings of the same city id": len(spellings) - len(link)},
        action="collapse",
    )
    for status in ["unmatched", "ambiguous"]:
        flagged = link["link_status"] == status
        ledger.recode(
            "city_county_link: status", f"city {status}: no county",
            int(flagged.sum()), len(link),
            examples=link.loc[flagged, "city_id"].tolist(), warn=False,
        )
    notes = {
        "unit": "one row per city id of city_year; key city_id",
        "link_status": "matched (county_fips set), ambiguous (several counties "
        "and no rule to pick one) or unmatched (no route found)",
        "county_match_method": "route that gave the county; see "
        "analysis.panels.city_county",
        "county_candidates": "distinct counties the route saw (more than 1: "
        "the most frequent was used, or the city is ambiguous on a tie)",
        "county_conflict": "spellings of one id linked to different counties",
    }
    panel = Panel("city_county_link", link, ["city_id"], _hashes(), ledger, notes)
    panel.check_key()
    return panel


def build_city_coverage() -> Panel:
    """Build ``city_coverage``: which states and years are reported, thin or missing."""
    rows, link, without_rows, _ = _assemble()
    ledger = Ledger("city_coverage")
    states = read_crosswalk("us_state_fips.csv", ["state_fips", "state_postal",
                                                  "state_name"])
    grid = pd.MultiIndex.from_product(
        [states["state_postal"], list(fbi_city.YEARS)], names=["state_postal", "year"]
    ).to_frame(index=False)
    grid = grid.merge(states[["state_postal", "state_fips", "state_name"]],
                      on="state_postal")
    matched = rows["city_id"].isin(link.loc[link["link_status"] == "matched",
                                            "city_id"])
    counts = rows.assign(matched=matched).groupby(["state_postal", "year"]).agg(
        cities=("city_id", "size"),
        cities_with_county=("matched", "sum"),
        population_covered=("population", "sum"),
    ).reset_index()
    frame = grid.merge(counts, on=["state_postal", "year"], how="left")
    ledger.record("city_coverage: state x year grid", len(grid), len(frame))

    frame["cities"] = frame["cities"].astype("Int64")
    frame["cities_with_county"] = frame["cities_with_county"].astype("Int64")
    frame["population_covered"] = frame["population_covered"].astype("Int64")
    median = frame.groupby("state_postal")["cities"].transform("median")
    named = [
        (state, year) for year, names in without_rows.items() for state in names
    ]
    is_named = pd.Series(
        [(n.upper(), y) in set(named) for n, y in zip(frame["state_name"],
                                                      frame["year"])],
        index=frame.index,
    )
    frame["status"] = "reported"
    frame.loc[frame["cities"] < THIN_SHARE * median, "status"] = "thin"
    frame.loc[frame["cities"].isna(), "status"] = "missing: not in the table"
    frame.loc[frame["cities"].isna() & is_named, "status"] = (
        "missing: state listed without city rows, or its file empty"
    )
    frame["median_cities"] = median
    frame["share_of_median"] = frame["cities"].astype("Float64") / median
    notes = {
        "unit": "state x year, 51 x 15; key (state_postal, year)",
        "share_of_median": "cities / the state's median cities per year",
        "status": f"'thin' when cities < {THIN_SHARE} x the state's median over "
        "2005-2019; 'missing' when the state has no city row that year (never a "
        "zero). Cities are only agencies the FBI listed in its city table.",
    }
    panel = Panel("city_coverage", frame, ["state_postal", "year"], _hashes(),
                  ledger, notes)
    panel.check_key()
    return panel


def _hashes() -> dict[str, str]:
    hashes = {}
    for source in [fbi_city.SOURCE_XLS, fbi_city.SOURCE_2006, fbi_city.SOURCE_ODDE,
                   city_geocodes.SOURCE, kaplan.SOURCE, census.SOURCE]:
        hashes.update(source_hashes(source))
    return hashes
