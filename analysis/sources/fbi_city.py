"""FBI "Crime in the United States" city tables, 2005-2019, in one tidy shape.

The FBI publishes "Offenses Known to Law Enforcement by State by City" every
year as Table 8 (Table 6 in 2016). The shipped copies come in two forms:

- the FBI's own spreadsheets (``.xls``): 2006 (``fbi_cius_table8_2006_xls``)
  and 2008-2019 (``fbi_cius_table8_datacommons_2008_2019``);
- one CSV per state scraped from the FBI's HTML pages, 2005 and 2007
  (``fbi_cius_table8_odde_2005_2014``; the 2006 files check the 2006
  spreadsheet in the tests).

Every year is read by the same rules, so the layout changes are handled here
and nowhere else:

- the header row is found by its text (a ``City`` cell), not by position,
  and columns are matched by their header text with footnote digits, line
  breaks, spaces and hyphens removed; an unknown header raises;
- the state is named only on the first row of its block and is carried down;
  runs of spaces inside names collapse to one (``city_raw`` keeps the cell);
  footnote digits glued to state and city names (``ALABAMA3``, ``Mobile3``,
  ``ILLINOIS6, 7``) are split off and kept in ``state_footnote`` and
  ``city_footnote``;
- until 2012 the one rape column is the legacy definition (``rape_legacy``);
  2013-2016 have both ``rape_revised`` and ``rape_legacy`` (each agency fills
  one); from 2017 the single column is the revised definition;
- blank cells (``""``, ``" "``, a non-breaking space) are missing, never zero;
  thousands separators (``"3,004"``) are removed; any other text in a count
  cell raises naming the file, row and column;
- footnote text below the table, blank rows and empty trailing columns are
  not data: they are counted in the ledger, and a trailing column holding a
  value raises.

Every row keeps ``source_file`` (``<source>/<file>``) and ``source_row``: the
spreadsheet row as Excel numbers it, or the CSV record number (the header
record is 1).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

import pandas as pd
import pandera.pandas as pa
import xlrd

from analysis.ledger import Ledger
from analysis.sources._common import read_crosswalk, validate

YEARS = range(2005, 2020)
SOURCE_XLS = "fbi_cius_table8_datacommons_2008_2019"
SOURCE_2006 = "fbi_cius_table8_2006_xls"
SOURCE_ODDE = "fbi_cius_table8_odde_2005_2014"
FILE_2006 = "06tbl08.xls"
ODDE_YEARS = (2005, 2006, 2007)

COUNT_COLUMNS = [
    "population",
    "violent_crime",
    "murder",
    "rape_revised",
    "rape_legacy",
    "robbery",
    "aggravated_assault",
    "property_crime",
    "burglary",
    "larceny_theft",
    "motor_vehicle_theft",
    "arson",
]

# Header text with everything but letters removed -> tidy column. "rape" alone
# (2017 on) is the revised definition; "forcible rape" (to 2012) the legacy one.
HEADERS = {
    "state": "state",
    "city": "city",
    "population": "population",
    "violentcrime": "violent_crime",
    "murderandnonnegligentmanslaughter": "murder",
    "forciblerape": "rape_legacy",
    "rapereviseddefinition": "rape_revised",
    "rapelegacydefinition": "rape_legacy",
    "rape": "rape_revised",
    "robbery": "robbery",
    "aggravatedassault": "aggravated_assault",
    "propertycrime": "property_crime",
    "burglary": "burglary",
    "larcenytheft": "larceny_theft",
    "motorvehicletheft": "motor_vehicle_theft",
    "arson": "arson",
}

_FOOTNOTE = re.compile(r"^(?P<name>.*?[^\d,\s])(?P<marks>[\d,\s]*)$")
_BLANK = {"", "nan"}

_count = pa.Column("Int64", pa.Check.ge(0), nullable=True)
SCHEMA = pa.DataFrameSchema(
    {
        "year": pa.Column("int64", pa.Check.isin(list(YEARS))),
        "state_fips": pa.Column("string", pa.Check.str_matches(r"^\d{2}$")),
        "state_postal": pa.Column("string", pa.Check.str_matches(r"^[A-Z]{2}$")),
        "state_name": pa.Column("string"),
        "city": pa.Column("string", pa.Check.str_length(min_value=1)),
        "city_raw": pa.Column("string"),
        "state_raw": pa.Column("string"),
        "city_footnote": pa.Column("string"),
        "state_footnote": pa.Column("string"),
        **{column: _count for column in COUNT_COLUMNS},
        "fbi_table": pa.Column("string"),
        "source_file": pa.Column("string"),
        "source_row": pa.Column("int64", pa.Check.ge(1)),
    },
    strict=True,
    name="fbi_cius_city",
)


@dataclass
class CityTable:
    """One year's table: its city rows and what the file said about states.

    Attributes
    ----------
    frame
        City rows in the tidy shape of :data:`SCHEMA`.
    states_without_rows
        States named in the file with no city row under them (``IOWA7`` in
        2018) or whose scraped file is empty (Connecticut 2007).
    """

    frame: pd.DataFrame
    states_without_rows: list[str] = field(default_factory=list)


def year_files(year: int) -> list[tuple[str, str]]:
    """Return the ``(source, file)`` pairs read for one year, from the manifest."""
    from analysis.manifest import read_manifest

    if year not in YEARS:
        raise ValueError(f"year {year} is outside the shipped tables ({YEARS}).")
    if year == 2006:
        return [(SOURCE_2006, FILE_2006)]
    if year in ODDE_YEARS:
        manifest = read_manifest()
        files = manifest.loc[
            (manifest["source"] == SOURCE_ODDE)
            & manifest["file"].str.startswith(f"output/{year}/"),
            "file",
        ]
        return [(SOURCE_ODDE, f) for f in sorted(files)]
    return [(SOURCE_XLS, f"table8_city_{year}.xls")]


def read_city_table(year: int, *, ledger: Ledger | None = None) -> CityTable:
    """Read one year's shipped table(s) into the tidy shape.

    Parameters
    ----------
    year
        2005-2019.
    ledger
        Receives one step per file kind (rows below the header -> city rows,
        footnote, blank and state-heading rows removed) and the recodes.

    Returns
    -------
    CityTable
    """
    from analysis.manifest import raw_file

    ledger = ledger if ledger is not None else Ledger("fbi_cius_city")
    pieces, without_rows = [], []
    for source, file in year_files(year):
        path = raw_file(source, file)
        where = f"{source}/{file}"
        if file.endswith(".xls"):
            raw = _read_xls(path, year, where)
        else:
            raw = _read_odde(path, where)
            raw["state_raw"] = path.stem.replace("_", " ").upper()
            if raw.empty:
                without_rows.append(path.stem.replace("_", " ").upper())
        raw["source_file"] = where
        pieces.append(raw)
    raw = pd.concat(pieces, ignore_index=True)

    table, headings = _tidy(raw, year, ledger)
    return CityTable(table, sorted(set(without_rows + headings)))


def load_city_tables(
    years=YEARS, *, ledger: Ledger | None = None
) -> tuple[pd.DataFrame, dict[int, list[str]]]:
    """Read several years; return the stacked rows and the states without rows."""
    ledger = ledger if ledger is not None else Ledger("fbi_cius_city")
    frames, without = [], {}
    for year in years:
        table = read_city_table(year, ledger=ledger)
        frames.append(table.frame)
        without[year] = table.states_without_rows
    return pd.concat(frames, ignore_index=True), without


def split_footnote(text: str) -> tuple[str, str]:
    """Split trailing footnote marks off a name: ``"ILLINOIS6, 7"`` -> name, marks.

    Examples
    --------
    >>> split_footnote("Mobile3")
    ('Mobile', '3')
    >>> split_footnote("MONTANA2 ")
    ('MONTANA', '2')
    """
    text = str(text).replace("\xa0", " ").strip()
    match = _FOOTNOTE.match(text)
    if match is None:
        return text, ""
    marks = re.sub(r"\s", "", match["marks"]).strip(",")
    return match["name"].strip(), marks


def _split_footnotes(names: pd.Series) -> pd.DataFrame:
    """Vectorised :func:`split_footnote`: columns name and marks."""
    text = names.astype(str).str.replace("\xa0", " ").str.strip()
    parts = text.str.extract(_FOOTNOTE.pattern)
    # Internal runs of spaces collapse ("Attica  Village" in 2006).
    name = parts["name"].fillna(text).str.replace(r"\s+", " ", regex=True).str.strip()
    marks = parts["marks"].fillna("").str.replace(r"\s", "", regex=True)
    return pd.DataFrame({"name": name, "marks": marks.str.strip(",")})


def header_key(text) -> str:
    """Header text reduced to letters: ``"Rape\\n(revised\\ndefinition)1"`` -> key."""
    return re.sub(r"[^a-z]", "", str(text).lower())


def _columns(header: list, where: str, row: int) -> dict[int, str]:
    """Map column positions to tidy names; raise on an unknown header."""
    mapping = {}
    for position, text in enumerate(header):
        key = header_key(text)
        if not key:
            continue
        if key not in HEADERS:
            raise ValueError(
                f"{where}: row {row} column {position + 1} has header {text!r}, "
                f"which the loader does not know; known headers: {sorted(HEADERS)}. "
                "Add it to analysis.sources.fbi_city.HEADERS if it is a new name "
                "for a known column."
            )
        mapping[position] = HEADERS[key]
    names = list(mapping.values())
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(
            f"{where}: header row {row} has several columns read as {repeated}; "
            "the loader cannot tell which one to use."
        )
    missing = {"city", "population", "violent_crime"} - set(mapping.values())
    if missing:
        raise ValueError(f"{where}: header row {row} lacks {sorted(missing)}.")
    return mapping


def _frame_from_rows(rows: list[list], numbers: list[int], where: str):
    """Find the header among ``rows`` and return the data rows as a DataFrame."""
    for index, row in enumerate(rows[:30]):
        if any(header_key(cell) == "city" for cell in row):
            break
    else:
        raise ValueError(f"{where}: no header row with a 'City' cell in the first 30.")
    mapping = _columns(rows[index], where, numbers[index])
    body = rows[index + 1:]
    width = max((len(r) for r in body), default=0)
    unnamed = [p for p in range(width) if p not in mapping]
    city_cell = next(p for p, n in mapping.items() if n == "city")
    for offset, row in enumerate(body):
        # Footnote text may run into unnamed columns; a city row may not.
        stray = [row[p] for p in unnamed if p < len(row) and _text(row[p])]
        if stray and _text(row[city_cell]):
            raise ValueError(
                f"{where}: row {numbers[index + 1 + offset]} has values {stray} in "
                "columns without a header; the layout differs from the one read."
            )
    frame = pd.DataFrame(
        {name: [r[p] if p < len(r) else "" for r in body] for p, name in
         mapping.items()}
    )
    frame["source_row"] = numbers[index + 1:]
    return frame


def _read_xls(path, year: int, where: str) -> pd.DataFrame:
    """Read the first sheet of an FBI spreadsheet; check the year in its title."""
    book = xlrd.open_workbook(str(path), on_demand=True)
    sheet = book.sheet_by_index(0)
    rows = [sheet.row_values(r) for r in range(sheet.nrows)]
    book.release_resources()

    title = " ".join(_text(r[0]) for r in rows[:5] if r)
    stated = re.findall(r"\b(?:19|20)\d\d\b", title)
    if str(year) not in stated:
        raise ValueError(
            f"{where}: title {title!r} does not name {year}; the file is not "
            f"that year's table."
        )
    table = re.search(r"Table\s+(\d+)", title)
    frame = _frame_from_rows(rows, list(range(1, len(rows) + 1)), where)
    frame["fbi_table"] = f"Table {table[1]}" if table else ""
    return frame


def _read_odde(path, where: str) -> pd.DataFrame:
    """Read one scraped state CSV; an empty file gives an empty frame."""
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        return pd.DataFrame(columns=["city", "source_row", "fbi_table"])
    rows = list(csv.reader(io.StringIO(text)))
    frame = _frame_from_rows(rows, list(range(1, len(rows) + 1)), where)
    frame["fbi_table"] = "Table 8"
    return frame


def _text(value) -> str:
    """Cell as stripped text; floats from xlrd lose a trailing ``.0``."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).replace("\xa0", " ").strip()
    return "" if text in _BLANK else text


def _texts(values: pd.Series) -> pd.Series:
    """Vectorised :func:`_text`: whole numbers lose ``.0``, blanks become ``""``."""
    values = pd.Series(values.to_numpy(dtype=object), index=values.index)
    number = pd.to_numeric(values, errors="coerce")
    whole = number.notna() & (number % 1 == 0)
    text = values.astype(str).str.replace("\xa0", " ").str.strip()
    text = text.mask(whole, number[whole].astype("int64").astype(str))
    return text.mask(text.isin(_BLANK), "")


def _tidy(
    raw: pd.DataFrame, year: int, ledger: Ledger
) -> tuple[pd.DataFrame, list[str]]:
    """Classify rows, carry states down, split footnotes and parse counts.

    Returns the city rows and the states named with no city row under them.
    """
    for column in ["state", "city", *COUNT_COLUMNS]:
        if column not in raw.columns:
            raw[column] = ""
    raw = raw.reset_index(drop=True)
    city = _texts(raw["city"])
    sheet_state = _texts(raw["state"])
    # Only rows without a city can be footnotes, headings or blank rows.
    nameless = city == ""
    others_blank = pd.Series(False, index=raw.index)
    others_blank[nameless] = (
        raw.loc[nameless, COUNT_COLUMNS].apply(_texts).eq("").all(axis=1)
    )

    footnote = nameless & sheet_state.str.match(r"^\d")
    heading = nameless & (sheet_state != "") & ~footnote
    blank = nameless & (sheet_state == "") & others_blank
    orphan = (city == "") & ~footnote & ~heading & ~blank
    if orphan.any():
        rows = raw.loc[orphan, ["source_file", "source_row"]].head(3).values.tolist()
        raise ValueError(
            f"year {year}: rows with counts but no city name, e.g. {rows}; the "
            "layout differs from the one read."
        )
    kept = ~(footnote | heading | blank)
    ledger.record(
        f"fbi_cius_city {year}: rows below the header",
        len(raw),
        int(kept.sum()),
        removed={
            "footnote text below the table": int(footnote.sum()),
            "blank row": int(blank.sum()),
            "state named with no city rows under it": int(heading.sum()),
        },
        examples={
            "footnote text below the table": sheet_state[footnote].str[:40].tolist(),
            "state named with no city rows under it": sheet_state[heading].tolist(),
        },
    )
    headings = [split_footnote(s)[0].upper() for s in sheet_state[heading]]

    # The state is named on the first row of its block only; the scraped
    # files name it in the file name instead.
    state = sheet_state.where(sheet_state != "")
    if "state_raw" in raw.columns:
        state = state.fillna(raw["state_raw"])
    state = state.ffill()
    frame = pd.DataFrame(
        {
            "year": year,
            "state_raw": state[kept],
            "city_raw": raw.loc[kept, "city"].map(
                lambda v: str(v).replace("\xa0", " ")
            ),
            "fbi_table": raw.loc[kept, "fbi_table"],
            "source_file": raw.loc[kept, "source_file"],
            "source_row": raw.loc[kept, "source_row"].astype("int64"),
        }
    )
    if frame["state_raw"].isna().any():
        first = frame.loc[frame["state_raw"].isna(), "source_row"].iloc[0]
        raise ValueError(f"year {year}: city row {first} comes before any state name.")
    frame[["state_name", "state_footnote"]] = _split_footnotes(frame["state_raw"])
    frame[["city", "city_footnote"]] = _split_footnotes(frame["city_raw"])
    frame = _attach_state_codes(frame, year)
    separators = pd.Series(False, index=frame.index)
    for column in COUNT_COLUMNS:
        frame[column], commas = _parse_counts(raw.loc[kept, column], frame, column)
        separators |= commas
    ledger.recode(
        f"fbi_cius_city {year}: thousands separators",
        "count written with thousands separators (e.g. 3,004); commas removed",
        int(separators.sum()), len(frame), warn=False,
    )
    text_columns = ["state_fips", "state_postal", "state_name", "city", "city_raw",
                    "state_raw", "city_footnote", "state_footnote", "fbi_table",
                    "source_file"]
    frame = frame[list(SCHEMA.columns)].reset_index(drop=True)
    frame = frame.astype({c: "string" for c in text_columns})
    return validate(frame, SCHEMA, where=f"FBI city table {year}"), headings


def _attach_state_codes(frame: pd.DataFrame, year: int) -> pd.DataFrame:
    """Add state FIPS and postal code from the state name; raise on an unknown one."""
    states = read_crosswalk("us_state_fips.csv", ["state_fips", "state_postal",
                                                  "state_name"])
    lookup = states.assign(key=states["state_name"].str.upper()).set_index("key")
    key = frame["state_name"].str.upper()
    unknown = sorted(set(key) - set(lookup.index))
    if unknown:
        raise ValueError(
            f"year {year}: state name(s) {unknown} are not in "
            "data/crosswalks/us_state_fips.csv after removing footnote marks."
        )
    frame["state_fips"] = key.map(lookup["state_fips"])
    frame["state_postal"] = key.map(lookup["state_postal"])
    frame["state_name"] = key.map(lookup["state_name"])
    return frame


def _parse_counts(
    values: pd.Series, frame: pd.DataFrame, column: str
) -> tuple[pd.Series, pd.Series]:
    """Whole non-negative numbers; blank is missing; other text raises.

    Returns the counts (Int64, aligned with ``frame``) and a flag of the
    cells written with thousands separators.
    """
    values = pd.Series(values.to_numpy(dtype=object), index=frame.index)
    number = pd.to_numeric(values, errors="coerce")
    text = values[number.isna()].astype(str).str.replace("\xa0", " ").str.strip()
    text = text[~text.isin(_BLANK)]
    commas = text.str.contains(r"\d,\d{3}", regex=True)
    retry = pd.to_numeric(
        text.str.replace(r"(?<=\d),(?=\d{3}\b)", "", regex=True), errors="coerce"
    )
    number = number.astype("float64")
    number[retry.index] = retry
    bad = number.notna() & ((number % 1 != 0) | (number < 0))
    bad[retry.index[retry.isna()]] = True
    if bad.any():
        where = frame.loc[bad, ["source_file", "source_row"]].head(3).values.tolist()
        raise ValueError(
            f"column {column!r} holds values that are not whole counts "
            f"{values[bad].head(3).tolist()} at (file, row) {where}; expected a "
            "number, a number with thousands separators, or a blank."
        )
    flagged = pd.Series(False, index=frame.index)
    flagged[commas.index[commas]] = True
    return number.astype("Int64"), flagged
