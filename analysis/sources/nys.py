"""New York State DCJS index crimes by county and agency, and county population.

Two files under ``data/raw/nys_dcjs_index_crimes/``:

- the crime file: one row per county, agency and year, 1990-2022. Each
  county-year also has a "County Total" row that sums its agencies (state
  police included); for the five New York City counties it is the only row.
  ``months_reported`` is blank for every row through 2001 and for the total
  rows: blank means "not recorded", kept missing.
- the population file: one row per county (or the state), year and program
  type. Where a county-year has several program types one is kept by the
  priority intercensal > postcensal > census base (the intercensal series
  is revised to both censuses, the census base is an April-1 count); the
  others are ledgered.

Counties are named in the crime file ("St Lawrence", "Kings") and carry FIPS
codes only in the population file ("St. Lawrence County"), so
:func:`match_county_fips` joins them on :func:`analysis.sources._common.name_key`.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from analysis.ledger import Ledger
from analysis.sources._common import name_key, require_columns, resolve_input, validate

SOURCE = "nys_dcjs_index_crimes"
CRIME_FILE = "Index_Crimes_by_County_and_Agency__Beginning_1990.csv"
POPULATION_FILE = (
    "Annual_Population_Estimates_for_New_York_State_and_Counties__Beginning_1970.csv"
)

# The crime file's label for its county aggregate rows (a layout label).
COUNTY_TOTAL_LABEL = "County Total"
# Program types, most preferred first; matched on the label's first word.
PROGRAM_PRIORITY = ("intercensal", "postcensal", "census")

CRIME_RENAMES = {
    "County": "county_name",
    "Agency": "agency",
    "Year": "year",
    "Months Reported": "months_reported",
    "Index Total": "index_total",
    "Violent Total": "violent_total",
    "Murder": "murder",
    "Rape": "rape",
    "Robbery": "robbery",
    "Aggravated Assault": "aggravated_assault",
    "Property Total": "property_total",
    "Burglary": "burglary",
    "Larceny": "larceny",
    "Motor Vehicle Theft": "motor_vehicle_theft",
    "Region": "region",
}
COUNT_COLUMNS = list(CRIME_RENAMES.values())[4:14]
POPULATION_RENAMES = {
    "FIPS Code": "county_fips",
    "Geography": "geography",
    "Year": "year",
    "Program Type": "program_type",
    "Population": "population",
}

_count = pa.Column("Int64", pa.Check.ge(0), nullable=True)
CRIME_SCHEMA = pa.DataFrameSchema(
    {
        "county_name": pa.Column("string"),
        "agency": pa.Column("string"),
        "year": pa.Column("int64", pa.Check.in_range(1900, 2100)),
        "months_reported": pa.Column(
            "Int64", pa.Check.in_range(0, 12), nullable=True
        ),
        "full_year": pa.Column("boolean", nullable=True),
        **{c: _count for c in COUNT_COLUMNS},
        "region": pa.Column("string", nullable=True),
        "is_county_total": pa.Column("bool"),
    },
    unique=["county_name", "agency", "year"],
    strict=True,
    name="nys_index_crimes",
)
POPULATION_SCHEMA = pa.DataFrameSchema(
    {
        "county_fips": pa.Column("string", pa.Check.str_matches(r"^36\d{3}$")),
        "geography": pa.Column("string"),
        "year": pa.Column("int64", pa.Check.in_range(1900, 2100)),
        "program_type": pa.Column("string"),
        "population": pa.Column("Int64", pa.Check.gt(0)),
        "is_state_total": pa.Column("bool"),
    },
    unique=["county_fips", "year"],
    strict=True,
    name="nys_population",
)


def load_nys_crimes(path=None, *, ledger: Ledger | None = None) -> pd.DataFrame:
    """Load the DCJS agency-year index crimes, County Total rows flagged.

    Parameters
    ----------
    path
        A copy of the crime file to read instead of the shipped one.
    ledger
        Ledger receiving the read step; a local one if None.

    Returns
    -------
    pandas.DataFrame
        One row per (``county_name``, ``agency``, ``year``). Counts are
        ``Int64``; ``months_reported`` is missing where the file leaves it
        blank; ``full_year`` is true at 12 months, false below, missing when
        blank; ``is_county_total`` marks the county aggregate rows.

    Raises
    ------
    SchemaValidationError
        A column is missing, a key repeats or a value is malformed.
    """
    ledger = ledger if ledger is not None else Ledger("nys_crimes")
    path = resolve_input(SOURCE, CRIME_FILE, path)
    where = str(path)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    require_columns(raw, list(CRIME_RENAMES), where)

    frame = raw[list(CRIME_RENAMES)].rename(columns=CRIME_RENAMES)
    frame = frame.apply(lambda s: s.str.strip().replace("", pd.NA)).astype("string")
    for column in ["year", "months_reported", *COUNT_COLUMNS]:
        frame[column] = _parse_whole(frame[column], column, where)
    frame["year"] = frame["year"].astype("int64")
    frame["full_year"] = frame["months_reported"].eq(12).astype("boolean")
    frame["is_county_total"] = frame["agency"].eq(COUNTY_TOTAL_LABEL).astype(bool)
    ledger.record("nys_crimes: read file", len(raw), len(frame))

    frame = frame[list(CRIME_SCHEMA.columns)]
    return validate(frame, CRIME_SCHEMA, where=where)


def load_nys_population(path=None, *, ledger: Ledger | None = None) -> pd.DataFrame:
    """Load county (and state) population, one program type per place-year.

    Parameters
    ----------
    path
        A copy of the population file to read instead of the shipped one.
    ledger
        Ledger receiving the program-type choice; a local one if None.

    Returns
    -------
    pandas.DataFrame
        One row per (``county_fips``, ``year``) with the chosen
        ``program_type`` and ``population``; ``is_state_total`` marks the
        state row (county code 000).

    Raises
    ------
    SchemaValidationError
        A column is missing or a value is malformed.
    ValueError
        A program type outside :data:`PROGRAM_PRIORITY`.
    """
    ledger = ledger if ledger is not None else Ledger("nys_population")
    path = resolve_input(SOURCE, POPULATION_FILE, path)
    where = str(path)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    require_columns(raw, list(POPULATION_RENAMES), where)

    frame = raw[list(POPULATION_RENAMES)].rename(columns=POPULATION_RENAMES)
    frame = frame.apply(lambda s: s.str.strip().replace("", pd.NA)).astype("string")
    frame["year"] = _parse_whole(frame["year"], "year", where).astype("int64")
    frame["population"] = _parse_whole(frame["population"], "population", where)

    first_word = frame["program_type"].str.lower().str.split().str[0]
    rank = first_word.map({p: i for i, p in enumerate(PROGRAM_PRIORITY)})
    if rank.isna().any():
        unknown = sorted(set(frame.loc[rank.isna(), "program_type"].dropna()))
        raise ValueError(
            f"{where}: column 'program_type' has unknown value(s) {unknown}; "
            f"add them to PROGRAM_PRIORITY {PROGRAM_PRIORITY} in analysis/sources/"
            "nys.py with a stated preference."
        )
    frame = frame.assign(_rank=rank).sort_values(["county_fips", "year", "_rank"])
    frame = ledger.drop(
        frame,
        frame.duplicated(["county_fips", "year"]),
        "nys_population: one program type",
        "less preferred program type for the same county-year "
        "(intercensal > postcensal > census base)",
        id_columns=["county_fips", "year", "program_type"],
        warn=False,
    )
    frame["is_state_total"] = frame["county_fips"].str.endswith("000").astype(bool)

    frame = frame[list(POPULATION_SCHEMA.columns)].reset_index(drop=True)
    return validate(frame, POPULATION_SCHEMA, where=where)


def match_county_fips(
    county_names: pd.Series, population: pd.DataFrame, *, where: str = "nys"
) -> pd.Series:
    """Return the 5-digit FIPS of each crime-file county name.

    Names are matched to the population file's ``geography`` with
    :func:`~analysis.sources._common.name_key`, so "St Lawrence" matches
    "St. Lawrence County" and "New York" matches "New York County" (not
    "New York State", whose key keeps "state").

    Raises
    ------
    ValueError
        A county name matches no geography, or two geographies share a key.
    """
    places = population.loc[~population["is_state_total"], ["county_fips", "geography"]]
    places = places.drop_duplicates()
    places = places.assign(key=places["geography"].map(name_key))
    clash = places.drop_duplicates(["key", "county_fips"]).duplicated("key")
    if clash.any():
        raise ValueError(
            f"{where}: geographies {places.loc[clash, 'geography'].tolist()} share a "
            "name key with another FIPS; the county match would be ambiguous."
        )
    lookup = places.drop_duplicates("key").set_index("key")["county_fips"]
    fips = county_names.map(name_key).map(lookup).astype("string")
    if fips.isna().any():
        missing = sorted(set(county_names[fips.isna()]))
        raise ValueError(
            f"{where}: county name(s) {missing} match no county in the population "
            "file's Geography column; add the spelling variant to name_key or "
            "fix the crime file."
        )
    return fips


def _parse_whole(text: pd.Series, column: str, where: str) -> pd.Series:
    """Parse whole numbers (thousands separators allowed) to Int64, or raise."""
    text = text.str.replace(",", "", regex=False)
    bad = text.notna() & ~text.str.fullmatch(r"-?\d+").fillna(False)
    if bad.any():
        raise ValueError(
            f"{where}: column {column!r} holds non-numeric values "
            f"{text[bad].head(5).tolist()} in rows {text.index[bad].tolist()[:5]}; "
            "expected whole numbers or blank."
        )
    return pd.to_numeric(text).astype("Int64")
