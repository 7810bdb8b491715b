"""Iowa DOC 3-year recidivism of people released from prison, FY2010-2015.

One row per release, followed three years for a return to an Iowa prison.
Two vintages of the same table ship; they overlap in FY2010-2014 and must
never be stacked. :func:`load_iowa_recidivism` reads the FY2010-2015 vintage;
:func:`compare_iowa_vintages` uses the older FY2010-2014 vintage only to
cross-check district x release-year counts.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from analysis.ledger import Ledger
from analysis.sources._common import (
    read_crosswalk,
    require_columns,
    resolve_input,
    validate,
)

SOURCE = "iowa_doc_recidivism"
FILE = "iowa_3yr_recidivism_FY2010-2015_vshirvaikar.csv"
OLD_FILE = "iowa_3yr_recidivism_FY2010-2014_tallfornothing.csv"
RELEASE_TYPES = "iowa_release_types.csv"
DISTRICTS = "iowa_districts.csv"

INS_DETAINER = "Paroled to Detainer - INS"
FOLLOW_UP_YEARS = 3
YES_NO = {"Yes": True, "No": False}

# Raw header -> output name. "Sex" and "Recidivism Type" are left out: in the
# FY2010-2015 vintage the first is blank in every row and the second repeats
# "Release Type" (see PROVENANCE.md).
RENAME = {
    "Fiscal Year Released": "release_fy",
    "Recidivism Reporting Year": "reporting_year",
    "Race - Ethnicity": "race_ethnicity",
    "Age At Release ": "age_at_release",
    "Convicting Offense Classification": "offense_class",
    "Convicting Offense Type": "offense_type",
    "Convicting Offense Subtype": "offense_subtype",
    "Release Type": "release_type",
    "Main Supervising District": "supervising_district",
    "Recidivism - Return to Prison": "returned_to_prison",
    "Days to Recidivism": "days_to_recidivism",
    "Part of Target Population": "target_population",
}

SCHEMA = pa.DataFrameSchema(
    {
        "release_fy": pa.Column(int, pa.Check.in_range(2010, 2015)),
        "reporting_year": pa.Column(int),
        "race_ethnicity": pa.Column(str),
        "age_at_release": pa.Column(str),
        "offense_class": pa.Column(str),
        "offense_type": pa.Column(str),
        "offense_subtype": pa.Column(str),
        "release_type": pa.Column(str),
        "release_type_harmonised": pa.Column(str),
        "paroled_to_ins_detainer": pa.Column(bool),
        "supervising_district": pa.Column(str),
        "district": pa.Column(str),
        "returned_to_prison": pa.Column(bool),
        "days_to_recidivism": pa.Column(float, pa.Check.ge(0), nullable=True),
        "target_population": pa.Column(bool),
    },
    checks=pa.Check(
        lambda df: df["reporting_year"] == df["release_fy"] + FOLLOW_UP_YEARS,
        error="reporting_year = release_fy + 3",
    ),
    strict=True,
    name="iowa_release",
)


def _read(path) -> pd.DataFrame:
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    require_columns(raw, list(RENAME), str(path))
    frame = raw[list(RENAME)].rename(columns=RENAME)

    for column in ["release_fy", "reporting_year"]:
        number = pd.to_numeric(frame[column], errors="coerce")
        _raise_if(number.isna(), frame, column, path, "a year such as 2012")
        frame[column] = number.astype("int64")
    days = pd.to_numeric(frame["days_to_recidivism"], errors="coerce")
    _raise_if(days.isna() & (frame["days_to_recidivism"] != ""), frame,
              "days_to_recidivism", path, "a number of days or empty")
    frame["days_to_recidivism"] = days.astype("float64")
    for column in ["returned_to_prison", "target_population"]:
        _raise_if(~frame[column].isin(list(YES_NO)), frame, column, path, "Yes or No")
        frame[column] = frame[column].map(YES_NO).astype(bool)
    return frame


def _raise_if(bad: pd.Series, frame: pd.DataFrame, column: str, path, expected):
    if bad.any():
        lines = (frame.index[bad][:5] + 2).tolist()
        raise ValueError(
            f"{path}: column {column!r} has values "
            f"{frame.loc[bad, column].head(3).tolist()} at file lines {lines}; "
            f"expected {expected}."
        )


def _map(frame: pd.DataFrame, column: str, crosswalk: str, keys: list[str], path):
    """Map ``frame[column]`` by crosswalk columns ``keys = [raw, harmonised]``."""
    table = read_crosswalk(crosswalk, keys)
    mapping = dict(zip(table[keys[0]], table[keys[1]]))
    unknown = sorted(set(frame[column]) - set(mapping))
    if unknown:
        raise ValueError(
            f"{path}: column {column!r} has value(s) {unknown} absent from "
            f"data/crosswalks/{crosswalk}; add each with a cited harmonised value."
        )
    return frame[column].map(mapping).astype(str)


def load_iowa_recidivism(
    path: Path | str | None = None, *, ledger: Ledger | None = None
) -> pd.DataFrame:
    """Load the FY2010-2015 vintage, one row per release.

    Parameters
    ----------
    path
        A copy of the FY2010-2015 file; the shipped, hash-checked file by
        default. The FY2010-2014 vintage must not be passed here (the two
        overlap in years); use :func:`compare_iowa_vintages`.
    ledger
        Ledger for the steps; a new one named ``iowa_recidivism`` if None.

    Returns
    -------
    pandas.DataFrame
        Columns of :data:`SCHEMA`. ``district`` is 1JD-8JD,
        ``interstate_compact`` (raw ``ISC`` or ``Interstate Compact``) or
        ``unsupervised_or_blank`` (blank raw district: mostly discharged at
        end of sentence, kept as a category); ``release_type_harmonised``
        comes from ``data/crosswalks/iowa_release_types.csv``;
        ``paroled_to_ins_detainer`` marks "Paroled to Detainer - INS", a label
        the DOC used only for FY2013 and FY2015 releases;
        ``returned_to_prison`` is the Yes/No outcome as bool.
    """
    ledger = ledger if ledger is not None else Ledger("iowa_recidivism")
    path = resolve_input(SOURCE, FILE, path)
    frame = _read(path)

    frame["district"] = _map(frame, "supervising_district", DISTRICTS,
                             ["main_supervising_district", "district"], path)
    blank = frame["supervising_district"] == ""
    ledger.recode("iowa: district", "blank district kept as 'unsupervised_or_blank'",
                  blank.sum(), len(frame), warn=False)
    compact = frame["district"] == "interstate_compact"
    ledger.recode("iowa: district", "'ISC' and 'Interstate Compact' -> "
                  "'interstate_compact'", compact.sum(), len(frame),
                  examples=sorted(frame.loc[compact, "supervising_district"].unique()))

    frame["release_type_harmonised"] = _map(
        frame, "release_type", RELEASE_TYPES,
        ["release_type", "release_type_harmonised"], path,
    )
    # Count the rows whose category gathers several raw labels (the real merges).
    labels = frame.groupby("release_type_harmonised")["release_type"].transform(
        "nunique"
    )
    merged = labels > 1
    ledger.recode("iowa: release type", "release-type labels that differ across "
                  f"years merged by data/crosswalks/{RELEASE_TYPES}", merged.sum(),
                  len(frame),
                  examples=sorted(frame.loc[merged, "release_type"].unique()))
    frame["paroled_to_ins_detainer"] = frame["release_type"] == INS_DETAINER

    ledger.record("iowa: load releases", len(frame), len(frame))
    frame = frame[list(SCHEMA.columns)]
    return validate(frame, SCHEMA, where=str(path))


def district_year_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Releases and returns by ``supervising_district`` and ``release_fy``."""
    return (
        frame.groupby(["supervising_district", "release_fy"])["returned_to_prison"]
        .agg(releases="size", returned="sum")
        .reset_index()
    )


def compare_iowa_vintages() -> pd.DataFrame:
    """Cross-check the two shipped vintages by raw district x release year.

    Returns
    -------
    pandas.DataFrame
        One row per raw district and release year of FY2010-2014 with
        ``releases`` and ``returned`` in each vintage (suffixes ``_new`` and
        ``_old``) and ``match``, true where both counts agree. The older
        vintage is read only here; it is never stacked with the newer one.
    """
    new = _read(resolve_input(SOURCE, FILE))
    old = _read(resolve_input(SOURCE, OLD_FILE))
    overlap = sorted(set(old["release_fy"]))
    new = new[new["release_fy"].isin(overlap)]
    table = district_year_counts(new).merge(
        district_year_counts(old),
        on=["supervising_district", "release_fy"],
        how="outer",
        suffixes=("_new", "_old"),
    )
    table["match"] = (table["releases_new"] == table["releases_old"]) & (
        table["returned_new"] == table["returned_old"]
    )
    return table
