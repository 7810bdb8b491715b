"""Large-agency-year violent-crime panel (Marshall Project), 1975-2015.

Build with :func:`build_large_agency_year`; registered as
``large_agency_year`` in :data:`analysis.build.PANELS`.
"""

from __future__ import annotations

import pandas as pd

from analysis.io import Panel
from analysis.ledger import Ledger
from analysis.manifest import source_hashes
from analysis.panels._rates import add_rates, flag_outliers
from analysis.sources import kaplan, marshall

NAME = "large_agency_year"
MATCH_EXACT = "kaplan crosswalk: exact 7-character ORI"
MATCH_NONE = "unmatched: ORI not in Kaplan crosswalk or its county missing"

RATE_COLUMNS = [
    "violent_crime",
    "violent_crime_ex_rape",
    "homicide",
    "rape",
    "robbery",
    "aggravated_assault",
]

NOTES = {
    "unit": "agency-year for the Marshall Project's 68 large agencies, "
    "1975-2015; key (ori, year).",
    "national_rows": "the file's national row per year (ORI 'NA') is dropped "
    "and ledgered.",
    "county_fips": "principal county from Kaplan's LEAIC-based crosswalk, "
    "exact match on the 7-character ORI (county_match_method). An agency "
    "policing several counties gets one county: New York City (NY03030) "
    "maps to 36061 (New York County) only. All 68 ORIs match; an ORI that "
    "did not would keep county_fips missing with a RecodedValuesWarning and "
    "a ledger row, never be dropped. No hand-built crosswalk is used.",
    "months_reported": "kept as published; full_year is true at 12, false "
    "below 12 (0 included: 18 rows with counts but 0 months, e.g. Chicago "
    "1984), missing when months are not given (all 2015 rows, taken from "
    "'Crime in the U.S. 2015', and Louisville 1975-2002).",
    "missing": "NA is missing, never zero; violent_crime is missing when a "
    "component is (never recomputed from blanks).",
    "rape": "the 2013 rape-definition change applies; violent_crime_ex_rape "
    "(homicide + robbery + aggravated assault) is comparable across it.",
    "rates": "<count>_per_100k = count / population * 100,000 with the "
    "file's FBI population (2015 uses the 2014 estimate); recomputed, the "
    "file's rounded rates are not carried.",
    "violent_crime_outlier": "true where violent_crime is over 3 times above "
    "or below the median of the agency's three years before and after; for "
    "review, nothing dropped.",
}


def build_large_agency_year() -> Panel:
    """Build the large-agency-year panel with county FIPS and rates.

    Returns
    -------
    analysis.io.Panel
        ``large_agency_year``: one row per (``ori``, ``year``) with
        ``county_fips`` (5-digit string) and ``county_match_method``,
        counts, ``months_reported``, ``full_year``, rates per 100,000 and
        ``violent_crime_outlier``. See ``NOTES`` for every rule.
    """
    ledger = Ledger(NAME)
    frame = marshall.load_marshall(ledger=ledger)
    crosswalk = kaplan.load_kaplan_crosswalk(ledger=ledger)
    frame = attach_county(frame, crosswalk, ledger)

    frame["violent_crime_ex_rape"] = (
        frame["homicide"] + frame["robbery"] + frame["aggravated_assault"]
    )
    frame = add_rates(frame, RATE_COLUMNS, "population")
    frame["violent_crime_outlier"] = flag_outliers(frame, ["ori"], "violent_crime")
    frame = frame.sort_values(["ori", "year"]).reset_index(drop=True)

    panel = Panel(
        name=NAME,
        frame=frame,
        key=["ori", "year"],
        raw_sha256={
            **source_hashes(marshall.SOURCE),
            **source_hashes(kaplan.SOURCE),
        },
        ledger=ledger,
        notes=NOTES,
    )
    panel.check_key()
    return panel


def attach_county(
    frame: pd.DataFrame, crosswalk: pd.DataFrame, ledger: Ledger
) -> pd.DataFrame:
    """Add ``county_fips`` and ``county_match_method`` by exact ORI match.

    Parameters
    ----------
    frame
        Agency-years with an ``ori`` column.
    crosswalk
        Output of :func:`analysis.sources.kaplan.load_kaplan_crosswalk`.
    ledger
        Receives a recode row listing every ORI left without a county.

    Returns
    -------
    pandas.DataFrame
        ``frame`` with the two columns added; no row is dropped.
    """
    lookup = crosswalk[["ori", "county_fips"]]
    merged = frame.merge(lookup, on="ori", how="left", validate="many_to_one")
    unmatched = merged["county_fips"].isna()
    merged["county_match_method"] = pd.Series(
        MATCH_EXACT, index=merged.index, dtype="string"
    ).mask(unmatched, MATCH_NONE)

    missing_oris = sorted(set(merged.loc[unmatched, "ori"]))
    ledger.recode(
        f"{NAME}: county from ORI",
        f"county_fips left missing ({MATCH_NONE})"
        + (f": {', '.join(missing_oris)}" if missing_oris else ""),
        int(unmatched.sum()),
        len(merged),
        examples=missing_oris,
    )
    ledger.record(f"{NAME}: merge crosswalk", len(frame), len(merged))
    return merged
