"""State laws on cooperation with federal immigration enforcement, both directions.

The file (``data/raw/state_cooperation_laws/state_laws.csv``) is hand-built
from public pages, one row per law, directive or court ruling, each with its
sources and a confidence level (see its PROVENANCE.md). This loader only
reads and validates it: dates stay as published (blank where no source gave
the day), and no injunction is applied. Turning rows into state-year
treatment under a date rule is the job of :mod:`analysis.state_regimes`.

Quirks handled here:

- ``state_fips`` is 2-digit text; read as text so leading zeros survive;
- blank dates are missing, never a default day;
- ``effective_year`` is blank for one row (Maryland HB 16, enacted by veto
  override in December 2021 with no effective date seen);
- Missouri HB 1549 gives ``effective_year`` 2008 (the year enacted) beside
  an ``effective_date`` of 2009-01-01 (the date shown for one of its two
  sections): kept as published, flagged in ``effective_year_conflict`` and
  warned about (:class:`~analysis.errors.CodingConflictWarning`);
- ``law_id`` (``<state_abbr>-<row>``) is added: the file has no key of its
  own, and a state can have several rows.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pandera.pandas as pa

from analysis.errors import CodingConflictWarning
from analysis.ledger import Ledger
from analysis.sources._common import require_columns, resolve_input, validate

SOURCE = "state_cooperation_laws"
FILE = "state_laws.csv"

DIRECTIONS = ("limits_cooperation", "mandates_cooperation")
POLICY_TYPES = ("statute", "statute_amendment", "executive_directive", "court_ruling")
CONFIDENCE_LEVELS = ("high", "medium", "low")

RAW_COLUMNS = [
    "state_abbr",
    "state_fips",
    "direction",
    "policy_type",
    "short_name",
    "bill_or_citation",
    "signed_date",
    "effective_date",
    "effective_year",
    "scope_note",
    "injunction_note",
    "date_note",
    "source_title",
    "source_url_or_repo_path",
    "confidence",
]
DATE_COLUMNS = ["signed_date", "effective_date"]

_text = pa.Column("string")
_optional_text = pa.Column("string", nullable=True)
SCHEMA = pa.DataFrameSchema(
    {
        "law_id": pa.Column("string", unique=True),
        "source_row": pa.Column("int64", pa.Check.ge(0)),
        "state_abbr": pa.Column("string", pa.Check.str_matches(r"^[A-Z]{2}$")),
        "state_fips": pa.Column("string", pa.Check.str_matches(r"^\d{2}$")),
        "direction": pa.Column("string", pa.Check.isin(DIRECTIONS)),
        "policy_type": pa.Column("string", pa.Check.isin(POLICY_TYPES)),
        "short_name": _text,
        "bill_or_citation": _text,
        "signed_date": pa.Column("datetime64[s]", nullable=True),
        "effective_date": pa.Column("datetime64[s]", nullable=True),
        "effective_year": pa.Column(
            "Int64", pa.Check.in_range(1900, 2100), nullable=True
        ),
        "scope_note": _text,
        "injunction_note": _optional_text,
        "date_note": _text,
        "source_title": _text,
        "source_url_or_repo_path": pa.Column(
            "string", pa.Check.str_length(min_value=1)
        ),
        "confidence": pa.Column("string", pa.Check.isin(CONFIDENCE_LEVELS)),
        "effective_year_conflict": pa.Column("bool"),
    },
    checks=[
        # A law cannot take effect before it is signed.
        pa.Check(
            lambda df: df["signed_date"].isna()
            | df["effective_date"].isna()
            | (df["effective_date"] >= df["signed_date"]),
            error="effective_date before signed_date",
        ),
    ],
    strict=True,
    name="state_cooperation_laws",
)


def load_state_laws(path=None, *, ledger: Ledger | None = None) -> pd.DataFrame:
    """Load and validate the state cooperation-law table.

    Parameters
    ----------
    path
        A copy of the file to read instead of the shipped, hash-checked one
        (read with an :class:`~analysis.errors.UnverifiedDataWarning`).
    ledger
        Ledger receiving the read step; a local one if None.

    Returns
    -------
    pandas.DataFrame
        One row per law in file order, with ``law_id`` and ``source_row``
        (0-based data row; file line = ``source_row + 2``) added, dates as
        ``datetime64[s]`` (missing where blank) and ``effective_year`` as
        ``Int64``. ``injunction_note`` is missing where blank.

    Raises
    ------
    SchemaValidationError
        A column is missing, a value is outside its allowed set (direction,
        policy type, confidence), a date does not parse, ``effective_year``
        contradicts ``effective_date``, or a law takes effect before signing.
    """
    ledger = ledger if ledger is not None else Ledger("state_laws")
    path = resolve_input(SOURCE, FILE, path)
    where = str(path)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    require_columns(raw, RAW_COLUMNS, where)
    ledger.record("state_laws: read file", len(raw), len(raw))

    frame = raw[RAW_COLUMNS].apply(lambda s: s.str.strip()).astype("string")
    for column in DATE_COLUMNS:
        frame[column] = _parse_dates(frame[column], column, where)
    year = frame["effective_year"].replace("", pd.NA)
    bad_year = year.notna() & ~year.fillna("").str.fullmatch(r"\d{4}")
    if bad_year.any():
        rows = frame.index[bad_year].tolist()[:5]
        raise ValueError(
            f"{where}: column 'effective_year' is not a 4-digit year in rows {rows} "
            f"({year[bad_year].head(5).tolist()})."
        )
    frame["effective_year"] = pd.to_numeric(year).astype("Int64")
    frame["injunction_note"] = frame["injunction_note"].replace("", pd.NA)
    frame["effective_year_conflict"] = _year_conflicts(frame, where, ledger)

    frame.insert(0, "source_row", range(len(frame)))
    frame.insert(0, "law_id", (frame["state_abbr"] + "-" +
                               frame["source_row"].astype(str)).astype("string"))
    frame["source_row"] = frame["source_row"].astype("int64")
    return validate(frame, SCHEMA, where=where)


def _year_conflicts(frame: pd.DataFrame, where: str, ledger: Ledger) -> pd.Series:
    """Flag rows whose effective_year is not the year of their effective_date."""
    conflict = (
        frame["effective_date"].notna()
        & frame["effective_year"].notna()
        & (frame["effective_date"].dt.year != frame["effective_year"])
    ).fillna(False).astype(bool)
    examples = [
        f"row {i} {frame.at[i, 'state_abbr']} {frame.at[i, 'bill_or_citation'][:30]}: "
        f"effective_year {frame.at[i, 'effective_year']}, effective_date "
        f"{frame.at[i, 'effective_date'].date()}"
        for i in frame.index[conflict]
    ]
    ledger.recode(
        "state_laws: effective_year check",
        "effective_year differs from the year of effective_date; both kept, "
        "row flagged effective_year_conflict",
        len(examples), len(frame), examples=examples, warn=False,
    )
    if examples:
        warnings.warn(
            f"{where}: {len(examples)} row(s) give an effective_year other than the "
            f"year of effective_date (kept as published and flagged; the date rules "
            f"use the exact date where there is one): {examples}.",
            CodingConflictWarning,
            stacklevel=3,
        )
    return conflict


def _parse_dates(text: pd.Series, column: str, where: str) -> pd.Series:
    """Parse ISO dates; blanks are missing, anything else that fails raises."""
    blank = text.fillna("") == ""
    parsed = pd.to_datetime(text.where(~blank), format="%Y-%m-%d", errors="coerce")
    bad = ~blank & parsed.isna()
    if bad.any():
        rows = text.index[bad].tolist()[:5]
        raise ValueError(
            f"{where}: column {column!r} holds values that are not ISO dates "
            f"(YYYY-MM-DD) in rows {rows}: {text[bad].head(5).tolist()}. "
            "Leave the cell blank when the day is unknown."
        )
    return parsed.astype("datetime64[s]")


def confidence_report(laws: pd.DataFrame) -> pd.DataFrame:
    """Rows below high confidence, with the reason the file gives.

    Returns one row per medium- or low-confidence law: ``law_id``,
    ``state_abbr``, ``direction``, ``short_name``, ``confidence`` and
    ``date_note`` (where the dates came from), low first.
    """
    kept = laws[laws["confidence"] != "high"]
    order = kept["confidence"].map({"low": 0, "medium": 1})
    columns = ["law_id", "state_abbr", "direction", "short_name", "confidence",
               "date_note"]
    return (kept.assign(_order=order).sort_values(["_order", "law_id"])[columns]
            .reset_index(drop=True))
