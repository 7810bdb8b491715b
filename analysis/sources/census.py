"""Census Bureau county population estimates, Vintage 2019 (co-est2019-alldata).

The file is wide (one row per county or state, one column per year and
measure), latin-1 encoded, with a UTF-8 byte-order mark glued to its first
header ``SUMLEV``. :func:`load_census_counties` returns counties long by year;
:func:`load_census_states` returns the state rows the county loader removes.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from analysis.ledger import Ledger
from analysis.sources._common import require_columns, resolve_input, validate

SOURCE = "census_popest_county"
FILE = "co-est2019-alldata.csv"
YEARS = range(2010, 2020)
COUNTY_SUMLEV = 50
STATE_SUMLEV = 40

_ID_COLUMNS = ["SUMLEV", "STATE", "COUNTY", "STNAME", "CTYNAME"]
_WIDE_COLUMNS = [f"{stem}{year}" for stem in ("POPESTIMATE", "INTERNATIONALMIG")
                 for year in YEARS]

SCHEMA = pa.DataFrameSchema(
    {
        "county_fips": pa.Column(str, pa.Check.str_matches(r"^\d{5}$")),
        "state_fips": pa.Column(str, pa.Check.str_matches(r"^\d{2}$")),
        "state_name": pa.Column(str),
        "county_name": pa.Column(str),
        "year": pa.Column(int, pa.Check.isin(list(YEARS))),
        "population": pa.Column(int, pa.Check.gt(0)),
        "international_migration": pa.Column(int),
    },
    unique=["county_fips", "year"],
    strict=True,
    name="census_county_year",
)


def _read_wide(path) -> pd.DataFrame:
    # latin-1 turns the UTF-8 BOM into three characters; strip them from SUMLEV.
    frame = pd.read_csv(path, encoding="latin1", dtype=str, keep_default_na=False)
    frame.columns = [c.replace("\u00ef\u00bb\u00bf", "").lstrip("\ufeff")
                     for c in frame.columns]
    require_columns(frame, _ID_COLUMNS + _WIDE_COLUMNS, str(path))
    frame = frame[_ID_COLUMNS + _WIDE_COLUMNS].copy()
    frame["SUMLEV"] = pd.to_numeric(frame["SUMLEV"], errors="coerce")
    return frame


def _long(frame: pd.DataFrame, name_column: str) -> pd.DataFrame:
    """Reshape wide year columns to one row per unit and year."""
    pieces = []
    for year in YEARS:
        piece = pd.DataFrame(
            {
                "county_fips": frame["STATE"].str.zfill(2)
                + frame["COUNTY"].str.zfill(3),
                "state_fips": frame["STATE"].str.zfill(2),
                "state_name": frame["STNAME"],
                "county_name": frame[name_column],
                "year": year,
                "population": pd.to_numeric(frame[f"POPESTIMATE{year}"]),
                "international_migration": pd.to_numeric(
                    frame[f"INTERNATIONALMIG{year}"]
                ),
            }
        )
        pieces.append(piece)
    long = pd.concat(pieces, ignore_index=True)
    return long.sort_values(["county_fips", "year"], ignore_index=True)


def load_census_counties(
    path: Path | str | None = None, *, ledger: Ledger | None = None
) -> pd.DataFrame:
    """Load county population and net international migration, 2010-2019.

    Parameters
    ----------
    path
        A copy of ``co-est2019-alldata.csv``; the shipped, hash-checked file
        by default.
    ledger
        Ledger to record the steps in; a new one named ``census_county`` if
        None.

    Returns
    -------
    pandas.DataFrame
        One row per county (SUMLEV 50) and year: ``county_fips`` (5-character
        string), ``state_fips``, ``state_name``, ``county_name``, ``year``,
        ``population`` (July-1 estimate) and ``international_migration`` (net
        international migration in the year to July 1; 2010 covers only
        April-July 2010).

    Notes
    -----
    State rows (SUMLEV 40) are dropped and ledgered; get them from
    :func:`load_census_states`. Any other summary level raises.
    """
    ledger = ledger if ledger is not None else Ledger("census_county")
    path = resolve_input(SOURCE, FILE, path)
    wide = _read_wide(path)

    unknown = ~wide["SUMLEV"].isin([COUNTY_SUMLEV, STATE_SUMLEV])
    if unknown.any():
        rows = wide.index[unknown][:5].tolist()
        raise ValueError(
            f"{path}: column 'SUMLEV' has values other than 40 (state) and 50 "
            f"(county) in rows {rows}; this loader reads the county file only."
        )
    wide = ledger.drop(
        wide,
        wide["SUMLEV"] == STATE_SUMLEV,
        "census: keep counties",
        "state total row (SUMLEV 40), not a county; see load_census_states",
        id_columns=["STNAME"],
        warn=False,
    )

    long = _long(wide, "CTYNAME")
    # Reshaping multiplies rows by the number of years; record it as a kept step.
    ledger.record("census: wide to long by year", len(long), len(long))
    return validate(long, SCHEMA, where=str(path))


def load_census_states(path: Path | str | None = None) -> pd.DataFrame:
    """Return the state rows (SUMLEV 40) long by year, same columns as counties.

    ``county_fips`` is the state FIPS followed by ``000`` and ``county_name``
    is the state's name.
    """
    path = resolve_input(SOURCE, FILE, path)
    wide = _read_wide(path)
    states = wide[wide["SUMLEV"] == STATE_SUMLEV]
    return validate(_long(states, "STNAME"), SCHEMA, where=str(path))
