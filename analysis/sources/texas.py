"""Texas Commission on Jail Standards monthly Immigration Detainer Reports.

One row per reporting facility and month (Oct 2011 - Nov 2017), parsed by
Jacob Kaplan from the TCJS PDFs. Facilities are named by lower-case county
name, sometimes with a "(private facility)" suffix; there is no FIPS code.
:func:`load_texas_detainers` attaches the Census county FIPS of Texas (state
48) by name, resolves the suffixed names with the cited crosswalk
``data/crosswalks/tx_tcjs_county_names.csv`` and removes, with a ledger entry,
rows that repeat another report.
"""

from __future__ import annotations

import re
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from analysis.ledger import Ledger
from analysis.sources._common import (
    name_key,
    read_crosswalk,
    require_columns,
    resolve_input,
    validate,
)

SOURCE = "texas_tcjs_immigration_detainers"
FILE = "texas_jails_immigrant_detainer_2011_2017.csv"
TEXAS_FIPS = "48"
CROSSWALK = "tx_tcjs_county_names.csv"
COUNTY_JAIL = "county jail"

RAW_COLUMNS = [
    "county",
    "year",
    "month",
    "num_of_inmates",
    "num_of_inmate_days",
    "cost_in_dollars",
    "link",
]
VALUES = ["inmates", "inmate_days", "cost_dollars"]
MISSING_COST = ["", "NA"]

# A month whose table matches an earlier month's in at least this share of the
# facilities with any non-zero value is a re-issued copy, not a new report.
REPEAT_SHARE = 0.9
REPEAT_MIN_FACILITIES = 20

SCHEMA = pa.DataFrameSchema(
    {
        "tcjs_name": pa.Column(str),
        "facility": pa.Column(str),
        "county_fips": pa.Column(str, pa.Check.str_startswith(TEXAS_FIPS)),
        "county_name": pa.Column(str),
        "year": pa.Column(int, pa.Check.in_range(2011, 2017)),
        "month": pa.Column(int, pa.Check.in_range(1, 12)),
        "period": pa.Column(int),
        "inmates": pa.Column(int, pa.Check.ge(0)),
        "inmate_days": pa.Column(int, pa.Check.ge(0)),
        "cost_dollars": pa.Column(float, pa.Check.ge(0), nullable=True),
        "source_pdf": pa.Column(str),
        "superseded_pdf": pa.Column(bool),
    },
    unique=["tcjs_name", "period"],
    strict=True,
    name="tx_detainer_facility_month",
)


def month_index(year: pd.Series, month: pd.Series) -> pd.Series:
    """Integer month index ``year * 12 + month - 1`` used as ``period``."""
    return year.astype("int64") * 12 + month.astype("int64") - 1


def match_texas_names(names, census: pd.DataFrame) -> pd.DataFrame:
    """Match TCJS facility names to Texas census counties.

    Parameters
    ----------
    names
        TCJS names (lower-case county names, possibly with a suffix).
    census
        Output of :func:`analysis.sources.census.load_census_counties`.

    Returns
    -------
    pandas.DataFrame
        One row per distinct name: ``tcjs_name``, ``county_fips``,
        ``county_name``, ``facility`` and ``matched_by`` ("name" when
        :func:`name_key` equals a census county's, "crosswalk" when the cited
        crosswalk resolves it, "unmatched" otherwise, with empty FIPS).
    """
    texas = census.loc[census["state_fips"] == TEXAS_FIPS,
                       ["county_fips", "county_name"]].drop_duplicates()
    by_key = dict(zip(texas["county_name"].map(name_key),
                      zip(texas["county_fips"], texas["county_name"])))
    by_name = dict(zip(texas["county_name"], texas["county_fips"]))

    crosswalk = read_crosswalk(CROSSWALK, ["tcjs_name", "census_name", "facility"])
    unknown = sorted(set(crosswalk["census_name"]) - set(by_name))
    if unknown:
        raise ValueError(
            f"data/crosswalks/{CROSSWALK}: census_name {unknown} is not a Texas "
            "county in the census file; correct the crosswalk."
        )
    variants = crosswalk.set_index("tcjs_name")

    rows = []
    for name in sorted(set(names)):
        if name in variants.index:
            census_name = variants.at[name, "census_name"]
            rows.append((name, by_name[census_name], census_name,
                         variants.at[name, "facility"], "crosswalk"))
        elif name_key(name) in by_key:
            fips, census_name = by_key[name_key(name)]
            rows.append((name, fips, census_name, COUNTY_JAIL, "name"))
        else:
            rows.append((name, "", "", "", "unmatched"))
    return pd.DataFrame(
        rows,
        columns=["tcjs_name", "county_fips", "county_name", "facility", "matched_by"],
    )


def _read(path) -> pd.DataFrame:
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    require_columns(raw, RAW_COLUMNS, str(path))

    months = pd.to_datetime(raw["month"].str.strip(), format="%B", errors="coerce")
    numeric = ["year", "num_of_inmates", "num_of_inmate_days", "cost_in_dollars"]
    numbers = {c: pd.to_numeric(raw[c], errors="coerce") for c in numeric}
    checks = [("month", months.isna())]
    checks += [(c, numbers[c].isna()) for c in numeric[:3]]
    # Cost may be missing (R's "NA" or empty; kept as NaN) but not other text.
    cost_missing = raw["cost_in_dollars"].str.strip().isin(MISSING_COST)
    cost_bad = numbers["cost_in_dollars"].isna() & ~cost_missing
    checks.append(("cost_in_dollars", cost_bad))
    for column, bad in checks:
        if bad.any():
            rows = (raw.index[bad][:5] + 2).tolist()
            raise ValueError(
                f"{path}: column {column!r} has unreadable values "
                f"{raw.loc[bad, column].head(3).tolist()} at file lines {rows}; "
                "expected English month names and numbers."
            )

    frame = pd.DataFrame(
        {
            "tcjs_name": raw["county"].str.strip(),
            "year": numbers["year"].astype("int64"),
            "month": months.dt.month.astype("int64"),
            "inmates": numbers["num_of_inmates"].astype("int64"),
            "inmate_days": numbers["num_of_inmate_days"].astype("int64"),
            "cost_dollars": numbers["cost_in_dollars"].astype("float64"),
            "source_pdf": raw["link"].str.rsplit("/", n=1).str[-1].astype(str),
        }
    )
    frame["period"] = month_index(frame["year"], frame["month"])
    # TCJS re-posted some months and kept the older PDF as "Old ..."; see notes.
    frame["superseded_pdf"] = frame["source_pdf"].str.contains(
        r"\bold\b", flags=re.IGNORECASE
    )
    return frame


def _drop_duplicates(frame: pd.DataFrame, ledger: Ledger, path) -> pd.DataFrame:
    """Apply the rule for a facility-month reported more than once."""
    key = ["tcjs_name", "period"]
    exact = frame.duplicated(key + VALUES)
    frame = ledger.drop(frame, exact, "texas: repeated facility-month",
                        "exact repeat of a facility-month (same values)",
                        id_columns=key)

    repeated = frame.duplicated(key, keep=False)
    superseded = repeated & frame["superseded_pdf"]
    has_current = (~frame["superseded_pdf"]).groupby(
        [frame[k] for k in key]).transform("any")
    frame = ledger.drop(frame, superseded & has_current,
                        "texas: superseded facility-month",
                        "facility-month also in a current PDF; superseded 'Old' "
                        "version removed", id_columns=key)

    conflict = frame.duplicated(key, keep=False)
    if conflict.any():
        rows = frame.loc[conflict, key + VALUES + ["source_pdf"]].head(6)
        raise ValueError(
            f"{path}: facility-month reported twice with different values and no "
            f"superseded version to discard:\n{rows.to_string()}\nResolve the "
            "duplicate in the input (keep the current PDF's row)."
        )
    return frame


def repeated_months(frame: pd.DataFrame) -> dict[int, int]:
    """Return ``{later_period: earlier_period}`` for months whose table repeats.

    Two months are compared on the facilities present in both with a non-zero
    value in either; the later month is a repeat when at least
    ``REPEAT_SHARE`` of at least ``REPEAT_MIN_FACILITIES`` such facilities
    carry identical inmates, inmate days and cost.
    """
    periods = sorted(frame["period"].unique())
    wide = frame.pivot(index="tcjs_name", columns="period", values=VALUES)
    # values[facility, period, measure]; NaN where the facility did not report.
    values = wide.to_numpy(dtype="float64").reshape(len(wide), len(VALUES), -1)
    values = values.transpose(0, 2, 1)
    present = ~np.isnan(values).any(axis=2)
    nonzero = (np.nan_to_num(values) > 0).any(axis=2)
    repeats: dict[int, int] = {}
    for i, j in combinations(range(len(periods)), 2):
        active = present[:, i] & present[:, j] & (nonzero[:, i] | nonzero[:, j])
        if active.sum() < REPEAT_MIN_FACILITIES:
            continue
        same = (values[active, i] == values[active, j]).all(axis=1).mean()
        if same >= REPEAT_SHARE and periods[j] not in repeats:
            repeats[int(periods[j])] = int(periods[i])
    return repeats


def load_texas_detainers(
    path: Path | str | None = None,
    *,
    ledger: Ledger | None = None,
    census: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Load TCJS immigration detainer reports, one row per facility and month.

    Parameters
    ----------
    path
        A copy of the TCJS CSV; the shipped, hash-checked file by default.
    ledger
        Ledger for the steps; a new one named ``tx_detainers`` if None.
    census
        County table from :func:`analysis.sources.census.load_census_counties`
        used to match names; loaded from the shipped file if None.

    Returns
    -------
    pandas.DataFrame
        Columns of :data:`SCHEMA`: the TCJS name, ``facility`` ("county jail"
        or the crosswalk's private-facility label), Census ``county_fips`` and
        ``county_name``, ``year``, ``month`` (1-12), ``period``, ``inmates``
        held on an ICE detainer, ``inmate_days``, ``cost_dollars`` (NaN where
        the report gives none: missing, not zero), ``source_pdf`` and
        ``superseded_pdf`` (the month comes from a PDF TCJS later labelled
        "Old").

    Notes
    -----
    Rules, each recorded in the ledger:

    - names that match no Texas county, directly or by the crosswalk, are
      dropped and listed (see :func:`match_texas_names`);
    - a facility-month repeated with identical values keeps one row; when the
      values differ, the row from a superseded ("Old") PDF is dropped and any
      other conflict raises ValueError;
    - a whole month that repeats an earlier month's table (see
      :func:`repeated_months`) is dropped as not reported.
    """
    ledger = ledger if ledger is not None else Ledger("tx_detainers")
    path = resolve_input(SOURCE, FILE, path)
    if census is None:
        from analysis.sources.census import load_census_counties

        census = load_census_counties()
    frame = _read(path)

    names = match_texas_names(frame["tcjs_name"], census)
    frame = frame.merge(names.drop(columns="matched_by"), on="tcjs_name",
                        how="left", validate="many_to_one")
    frame = ledger.drop(frame, frame["county_fips"] == "", "texas: match counties",
                        "name matches no Texas county, even via the crosswalk",
                        id_columns=["tcjs_name"])

    frame = _drop_duplicates(frame, ledger, path)

    repeats = repeated_months(frame)
    for later, earlier in repeats.items():
        frame = ledger.drop(
            frame,
            frame["period"] == later,
            "texas: repeated month",
            f"table of {later // 12}-{later % 12 + 1:02d} repeats "
            f"{earlier // 12}-{earlier % 12 + 1:02d} exactly; not a report of "
            "its own month",
            id_columns=["tcjs_name", "year", "month"],
        )

    columns = list(SCHEMA.columns)
    frame = frame[columns].sort_values(["county_fips", "period", "tcjs_name"],
                                       ignore_index=True)
    return validate(frame, SCHEMA, where=str(path))
