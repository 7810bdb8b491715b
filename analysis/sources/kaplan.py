"""Jacob Kaplan's agency crosswalk: 7-character ORI -> county FIPS.

The file (``data/raw/kaplan_ori_crosswalk/kaplan_crosswalk.csv``) is built
from the BJS/ICPSR Law Enforcement Agency Identifiers Crosswalk. Only the
identifying columns are read; codes stay zero-padded strings. One agency's
county is the county of its headquarters (LEAIC's "principal" county), so an
agency that polices several counties (New York City) maps to one of them.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from analysis.ledger import Ledger
from analysis.sources._common import require_columns, resolve_input, validate

SOURCE = "kaplan_ori_crosswalk"
FILE = "kaplan_crosswalk.csv"

RAW_COLUMNS = [
    "ori",
    "ori9",
    "fips_state_county_code",
    "agency_type",
    "crosswalk_agency_name",
]

SCHEMA = pa.DataFrameSchema(
    {
        "ori": pa.Column("string", pa.Check.str_matches(r"^[A-Z0-9]{6,7}$")),
        "ori9": pa.Column("string", nullable=True),
        "county_fips": pa.Column(
            "string", pa.Check.str_matches(r"^\d{5}$"), nullable=True
        ),
        "agency_type": pa.Column("string", nullable=True),
        "crosswalk_agency_name": pa.Column("string", nullable=True),
    },
    unique=["ori"],
    strict=True,
    name="kaplan_crosswalk",
)


def load_kaplan_crosswalk(path=None, *, ledger: Ledger | None = None) -> pd.DataFrame:
    """Load the ORI crosswalk, one row per 7-character ORI.

    Parameters
    ----------
    path
        A copy of the file to read instead of the shipped, hash-checked one.
    ledger
        Ledger receiving the read step; a local one if None.

    Returns
    -------
    pandas.DataFrame
        Columns ``ori``, ``ori9``, ``county_fips`` (5-digit string, missing
        where the file has no county code), ``agency_type`` and
        ``crosswalk_agency_name``; all strings.

    Raises
    ------
    SchemaValidationError
        A column is missing, an ORI repeats or a code is malformed.
    """
    ledger = ledger if ledger is not None else Ledger("kaplan_crosswalk")
    path = resolve_input(SOURCE, FILE, path)
    where = str(path)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    require_columns(raw, RAW_COLUMNS, where)

    frame = raw[RAW_COLUMNS].rename(columns={"fips_state_county_code": "county_fips"})
    frame = frame.apply(lambda s: s.str.strip().replace("", pd.NA)).astype("string")
    ledger.record("kaplan_crosswalk: read file", len(raw), len(frame))

    # A missing county code is written as state code + "na" (e.g. "20na").
    malformed = frame["county_fips"].notna() & ~frame["county_fips"].str.fullmatch(
        r"\d{5}"
    )
    ledger.recode(
        "kaplan_crosswalk: malformed county code",
        "fips_state_county_code is not 5 digits; set missing",
        int(malformed.sum()),
        len(frame),
        examples=frame.loc[malformed, "ori"].tolist(),
    )
    frame["county_fips"] = frame["county_fips"].mask(malformed)
    return validate(frame, SCHEMA, where=where)


PLACE_COLUMNS = [
    "ori",
    "fips_state_code",
    "fips_state_county_code",
    "fips_place_code",
    "agency_type",
    "crosswalk_agency_name",
    "census_name",
]


def load_kaplan_places(path=None, *, ledger: Ledger | None = None) -> pd.DataFrame:
    """Load the crosswalk's place codes and names, one row per 7-character ORI.

    The place code is what links a Census place (a city) to the county of its
    police agency's headquarters. LEAIC writes ``99xxx`` for agencies that are
    not a Census place (sheriffs, state and special agencies): those codes
    are set missing here, counted in the ledger.

    Parameters
    ----------
    path
        A copy of the file to read instead of the shipped, hash-checked one.
    ledger
        Ledger receiving the read step and the recodes; a local one if None.

    Returns
    -------
    pandas.DataFrame
        ``ori``, ``state_fips`` (2 digits), ``county_fips`` (5 digits or
        missing), ``place_fips`` (7 digits = state + place, or missing),
        ``agency_type``, ``crosswalk_agency_name`` and ``census_name``; all
        strings.
    """
    ledger = ledger if ledger is not None else Ledger("kaplan_places")
    path = resolve_input(SOURCE, FILE, path)
    where = str(path)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    require_columns(raw, PLACE_COLUMNS, where)

    frame = raw[PLACE_COLUMNS].apply(lambda s: s.str.strip().replace("", pd.NA))
    frame = frame.astype("string")
    ledger.record("kaplan_places: read file", len(raw), len(frame))

    county = frame["fips_state_county_code"]
    bad_county = county.notna() & ~county.str.fullmatch(r"\d{5}")
    place = frame["fips_place_code"]
    not_place = place.isna() | place.str.startswith("99") | ~place.str.fullmatch(
        r"\d{5}"
    ).fillna(False)
    ledger.recode(
        "kaplan_places: codes",
        "county code not 5 digits, or place code missing or 99xxx (not a "
        "Census place); set missing",
        int((bad_county | not_place).sum()),
        len(frame),
        examples=frame.loc[bad_county, "ori"].tolist(),
        warn=False,
    )
    return pd.DataFrame(
        {
            "ori": frame["ori"],
            "state_fips": frame["fips_state_code"],
            "county_fips": county.mask(bad_county),
            "place_fips": (frame["fips_state_code"] + place).mask(not_place),
            "agency_type": frame["agency_type"],
            "crosswalk_agency_name": frame["crosswalk_agency_name"],
            "census_name": frame["census_name"],
        }
    ).astype("string")
