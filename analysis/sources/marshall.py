"""The Marshall Project's "Crime in Context" violent-crime panel, 1975-2015.

The file (``data/raw/marshall_city_crime/ucr_crime_1975_2015.csv``) has one
row per large agency and year, keyed by the 7-character ORI, plus a national
row per year whose ORI is "NA". Rules applied here:

- the national rows (missing ORI) are not agencies: dropped and ledgered;
- "NA" is missing, never zero; a count of 0 in a year with 0 months
  reported would be a non-report and is set missing (no such row ships);
- ``months_reported`` is kept; ``full_year`` is true at 12 months, false
  below 12 (0 included), missing when months are not given (the 2015 rows,
  taken from "Crime in the U.S. 2015", and Louisville's early years);
- the file's own rates are dropped: the panel recomputes them from counts
  and ``population`` so all panels share one rate rule.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from analysis.ledger import Ledger
from analysis.sources._common import require_columns, resolve_input, validate

SOURCE = "marshall_city_crime"
FILE = "ucr_crime_1975_2015.csv"

# Raw name -> tidy name; the raw rate columns are not carried.
RENAMES = {
    "ORI": "ori",
    "year": "year",
    "department_name": "department_name",
    "total_pop": "population",
    "homs_sum": "homicide",
    "rape_sum": "rape",
    "rob_sum": "robbery",
    "agg_ass_sum": "aggravated_assault",
    "violent_crime": "violent_crime",
    "months_reported": "months_reported",
    "source": "record_source",
    "url": "record_url",
}
COUNT_COLUMNS = [
    "population",
    "homicide",
    "rape",
    "robbery",
    "aggravated_assault",
    "violent_crime",
]
CRIME_COLUMNS = COUNT_COLUMNS[1:]

_count = pa.Column("Int64", pa.Check.ge(0), nullable=True)
SCHEMA = pa.DataFrameSchema(
    {
        "ori": pa.Column("string", pa.Check.str_matches(r"^[A-Z0-9]{7}$")),
        "year": pa.Column("int64", pa.Check.in_range(1900, 2100)),
        "department_name": pa.Column("string"),
        **{c: _count for c in COUNT_COLUMNS},
        "months_reported": pa.Column(
            "Int64", pa.Check.in_range(0, 12), nullable=True
        ),
        "full_year": pa.Column("boolean", nullable=True),
        "record_source": pa.Column("string", nullable=True),
        "record_url": pa.Column("string", nullable=True),
    },
    unique=["ori", "year"],
    strict=True,
    name="marshall_city_crime",
)


def load_marshall(path=None, *, ledger: Ledger | None = None) -> pd.DataFrame:
    """Load the Marshall Project agency-year panel without its national rows.

    Parameters
    ----------
    path
        A copy of the file to read instead of the shipped, hash-checked one.
    ledger
        Ledger receiving the drop and recode steps; a local one if None.

    Returns
    -------
    pandas.DataFrame
        One row per (``ori``, ``year``): counts as ``Int64`` with missing
        kept missing, ``months_reported`` and ``full_year`` (see module
        doc), and ``record_source``/``record_url`` where a value came from
        somewhere other than the ICPSR UCR file.

    Raises
    ------
    SchemaValidationError
        A column is missing, an (ori, year) repeats or a value is malformed.
    """
    ledger = ledger if ledger is not None else Ledger("marshall_city_crime")
    path = resolve_input(SOURCE, FILE, path)
    where = str(path)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    require_columns(raw, list(RENAMES), where)

    frame = raw[list(RENAMES)].rename(columns=RENAMES)
    frame = frame.apply(lambda s: s.str.strip().replace(["", "NA"], pd.NA))
    frame = frame.astype("string")
    frame = ledger.drop(
        frame,
        frame["ori"].isna(),
        "marshall: national rows",
        "national aggregate row (no ORI), not an agency",
        id_columns=["department_name", "year"],
    )

    scientific = frame[COUNT_COLUMNS].apply(lambda s: s.str.contains("e", False))
    ledger.recode(
        "marshall: scientific notation",
        "count written in scientific notation (e.g. 5e+05); parsed as a whole number",
        int(scientific.fillna(False).any(axis=1).sum()),
        len(frame),
        examples=frame.loc[scientific.fillna(False).any(axis=1), "ori"].tolist(),
        warn=False,
    )
    for column in [*COUNT_COLUMNS, "months_reported"]:
        frame[column] = _parse_whole(frame[column], column, where)
    frame["year"] = _parse_whole(frame["year"], "year", where).astype("int64")

    # A zero count with zero months reported is a non-report, not a zero.
    no_months = frame["months_reported"].eq(0).fillna(False)
    false_zero = frame[CRIME_COLUMNS].eq(0).fillna(False).mul(no_months, axis=0)
    ledger.recode(
        "marshall: zero months",
        "crime count 0 with 0 months reported; set missing",
        int(false_zero.any(axis=1).sum()),
        len(frame),
        examples=frame.loc[false_zero.any(axis=1), "ori"].tolist(),
    )
    frame[CRIME_COLUMNS] = frame[CRIME_COLUMNS].mask(false_zero)

    frame["full_year"] = frame["months_reported"].eq(12).astype("boolean")
    frame = frame[list(SCHEMA.columns)]
    return validate(frame.reset_index(drop=True), SCHEMA, where=where)


def _parse_whole(text: pd.Series, column: str, where: str) -> pd.Series:
    """Parse whole numbers to Int64; raise naming rows that are not numbers.

    R wrote some round numbers in scientific notation (Seattle 1977's
    population is "5e+05"); those parse when their value is whole.
    """
    number = pd.to_numeric(text, errors="coerce")
    bad = text.notna() & (number.isna() | (number % 1 != 0))
    if bad.any():
        raise ValueError(
            f"{where}: column {column!r} holds non-numeric values "
            f"{text[bad].head(5).tolist()} in rows {text.index[bad].tolist()[:5]}; "
            "expected whole numbers or NA."
        )
    return number.astype("Int64")
