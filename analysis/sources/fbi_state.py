"""FBI Crime Data Explorer estimated crimes by state and year, 1979-2023.

The file (``data/raw/fbi_cde_state_estimates/estimated_crimes_1979_2023.csv``)
holds one row per state-year plus a national row per year. Its quirks, all
handled here and recorded in the ledger:

- 2022 and 2023 write numbers with thousands separators inside quotes;
- 2023 leaves ``state_name`` empty and 2022 pads it with spaces: names are
  filled and stripped from the same file's other years;
- the national rows have an empty ``state_abbr`` (kept, ``national=True``);
- 2022 carries North Dakota under ``NC``: when a row's name belongs to another
  abbreviation in the other years and that abbreviation is absent from the
  row's year, the abbreviation is taken from the name (a coding conflict);
- ``rape_legacy`` and ``rape_revised`` overlap in 2013-2016 (see ``rape``);
- 2021 is the NIBRS transition year (``nibrs_transition_year``).

Counts are FBI estimates that impute non-reporting agencies, not sums of
reported counts.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pandera.pandas as pa

from analysis.errors import CodingConflictWarning
from analysis.ledger import Ledger
from analysis.sources._common import require_columns, resolve_input, validate

SOURCE = "fbi_cde_state_estimates"
FILE = "estimated_crimes_1979_2023.csv"

COUNT_COLUMNS = [
    "population",
    "violent_crime",
    "homicide",
    "rape_legacy",
    "rape_revised",
    "robbery",
    "aggravated_assault",
    "property_crime",
    "burglary",
    "larceny",
    "motor_vehicle_theft",
]
RAW_COLUMNS = ["year", "state_abbr", "state_name", *COUNT_COLUMNS]

# The FBI's first year of incident-based-only (NIBRS) collection; a design
# constant documented by the FBI, not a value read from this file.
NIBRS_TRANSITION_YEAR = 2021

_count = pa.Column("Int64", pa.Check.ge(0), nullable=True)
SCHEMA = pa.DataFrameSchema(
    {
        "year": pa.Column("int64", pa.Check.in_range(1900, 2100)),
        "state_abbr": pa.Column(
            "string", pa.Check.str_matches(r"^[A-Z]{2}$"), nullable=True
        ),
        "state_name": pa.Column("string", nullable=True),
        "national": pa.Column("bool"),
        **{c: _count for c in COUNT_COLUMNS},
        "rape": _count,
        "violent_crime_ex_rape": _count,
        "violent_crime_sum_mismatch": pa.Column("bool"),
        "nibrs_transition_year": pa.Column("bool"),
    },
    unique=["state_abbr", "year"],
    strict=True,
    name="fbi_state_estimates",
)


def load_fbi_state(path=None, *, ledger: Ledger | None = None) -> pd.DataFrame:
    """Load the FBI state-year estimates, national rows flagged, not dropped.

    Parameters
    ----------
    path
        A copy of the file to read instead of the shipped, hash-checked one.
    ledger
        Ledger receiving the parse and recode steps; a local one if None.

    Returns
    -------
    pandas.DataFrame
        One row per (``state_abbr``, ``year``); the national rows have
        ``state_abbr`` missing and ``national`` true. Counts are ``Int64``.
        ``rape`` is ``rape_revised`` where present (from 2013) and
        ``rape_legacy`` before, the definition the FBI's ``violent_crime``
        uses for states from 2013. ``violent_crime_ex_rape`` (homicide +
        robbery + aggravated assault) is comparable across the 2013 change.
        ``violent_crime_sum_mismatch`` flags rows whose published violent
        total differs from the sum of its parts; the total is kept as
        published, never recomputed.

    Raises
    ------
    SchemaValidationError
        A column is missing or a value breaks the schema.
    ValueError
        An abbreviation has no name in any year, or a (state, year) repeats
        and no name tells which state the row is.
    """
    ledger = ledger if ledger is not None else Ledger("fbi_state")
    path = resolve_input(SOURCE, FILE, path)
    where = str(path)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    require_columns(raw, RAW_COLUMNS, where)
    ledger.record("fbi_state: read file", len(raw), len(raw))

    # Thousands separators appear in 2022-2023 only; blanks mean not published.
    frame = pd.DataFrame({"year": pd.to_numeric(raw["year"], errors="coerce")})
    for column in COUNT_COLUMNS:
        text = raw[column].str.replace(",", "", regex=False).str.strip()
        frame[column] = _parse_counts(text, column, where)
    if frame["year"].isna().any():
        rows = raw.index[frame["year"].isna()].tolist()[:5]
        raise ValueError(f"{where}: column 'year' is not a number in rows {rows}.")
    frame["year"] = frame["year"].astype("int64")

    abbr = raw["state_abbr"].str.strip().replace("", pd.NA).astype("string")
    name = raw["state_name"].str.strip().replace("", pd.NA).astype("string")
    frame["national"] = abbr.isna().to_numpy()
    abbr = _fix_abbreviations(abbr, name, frame["year"], where, ledger)
    frame["state_abbr"] = abbr
    frame["state_name"] = _fill_names(abbr, name, raw["state_name"], ledger, where)

    frame["rape"] = frame["rape_revised"].fillna(frame["rape_legacy"])
    frame["violent_crime_ex_rape"] = (
        frame["homicide"] + frame["robbery"] + frame["aggravated_assault"]
    )
    parts = frame["violent_crime_ex_rape"] + frame["rape"]
    frame["violent_crime_sum_mismatch"] = (
        (parts != frame["violent_crime"]).fillna(False).astype(bool)
    )
    frame["nibrs_transition_year"] = frame["year"] == NIBRS_TRANSITION_YEAR

    frame = frame[list(SCHEMA.columns)]
    return validate(frame, SCHEMA, where=where)


def _parse_counts(text: pd.Series, column: str, where: str) -> pd.Series:
    """Parse digit strings to Int64; blanks become missing, anything else raises."""
    bad = text.ne("") & ~text.str.fullmatch(r"-?\d+")
    if bad.any():
        rows = text.index[bad].tolist()[:5]
        raise ValueError(
            f"{where}: column {column!r} holds non-numeric values "
            f"{text[bad].head(5).tolist()} in rows {rows}; expected whole "
            "numbers, optionally with thousands separators."
        )
    return pd.to_numeric(text.replace("", pd.NA)).astype("Int64")


def _fix_abbreviations(abbr, name, year, where, ledger) -> pd.Series:
    """Take the abbreviation from the name where the two conflict; see module doc."""
    pairs = pd.DataFrame({"abbr": abbr, "name": name, "year": year}).dropna()
    name_to_abbr = pairs.groupby("name")["abbr"].agg(lambda s: s.mode().iloc[0])
    expected = name.map(name_to_abbr)
    conflict = abbr.notna() & expected.notna() & (expected != abbr)

    fixed = abbr.copy()
    examples = []
    for row in conflict[conflict].index:
        same_year = abbr[year == year[row]]
        if (same_year == expected[row]).any():
            continue
        examples.append(f"{year[row]} {abbr[row]}->{expected[row]} ({name[row]})")
        fixed[row] = expected[row]
    ledger.recode(
        "fbi_state: abbreviation from name",
        "state_abbr contradicts state_name; abbreviation taken from the name",
        len(examples),
        len(abbr),
        examples=examples,
        warn=False,
    )
    if examples:
        warnings.warn(
            f"{where}: {len(examples)} row(s) carried the abbreviation of another "
            f"state; taken from state_name instead: {examples}.",
            CodingConflictWarning,
            stacklevel=3,
        )

    repeated = fixed.notna() & pd.DataFrame({"a": fixed, "y": year}).duplicated(
        keep=False
    )
    if repeated.any():
        rows = pd.DataFrame({"state_abbr": fixed, "year": year})[repeated]
        raise ValueError(
            f"{where}: (state_abbr, year) repeats in rows "
            f"{rows.index.tolist()[:6]} ({rows.head(6).to_dict('records')}) and "
            "state_name does not resolve it. Fix the abbreviations in the file."
        )
    return fixed


def _fill_names(abbr, name, raw_name, ledger, where) -> pd.Series:
    """Fill empty names from the same abbreviation in other years; strip padding."""
    known = pd.DataFrame({"abbr": abbr, "name": name}).dropna()
    lookup = known.groupby("abbr")["name"].agg(lambda s: s.mode().iloc[0])
    padded = raw_name.ne(raw_name.str.strip())
    ledger.recode(
        "fbi_state: strip names",
        "state_name padded with spaces; stripped",
        int(padded.sum()),
        len(abbr),
        warn=False,
    )

    fill = name.isna() & abbr.notna()
    unknown = fill & ~abbr.isin(lookup.index)
    if unknown.any():
        raise ValueError(
            f"{where}: state_abbr {sorted(set(abbr[unknown]))} has no state_name in "
            "any year of the file, so its name cannot be filled."
        )
    filled = name.where(~fill, abbr.map(lookup))
    ledger.recode(
        "fbi_state: fill names",
        "state_name empty; filled from the same abbreviation's other years",
        int(fill.sum()),
        len(abbr),
        examples=abbr[fill].head(5).tolist(),
        warn=False,
    )
    return filled.astype("string")
