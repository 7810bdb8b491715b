"""ICE detainers issued to Pennsylvania facilities, Oct 2007 - Jul 2015 (NPR FOIA).

One row per detainer: date, outcome (``lift_reason``), holding facility,
city and ICE form. :func:`load_pa_detainers` harmonises the outcome with the
cited crosswalk ``data/crosswalks/pa_lift_reason_outcomes.csv`` (an empty
outcome is its own category, ``pending_or_none``) and classifies each facility
as county jail, state prison, federal prison or other by :data:`KIND_RULES`,
with the exceptions in ``data/crosswalks/pa_facility_kinds.csv``.
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

SOURCE = "ice_detainers_pa_npr"
FILE = "pa_detainers.csv"
OUTCOMES = "pa_lift_reason_outcomes.csv"
KINDS = "pa_facility_kinds.csv"

RAW_COLUMNS = ["date", "lift_reason", "det_facility", "city", "state", "detainer_type"]
FACILITY_KINDS = ["county_jail", "state_prison", "federal_prison", "other"]

# The name rule, first match wins; exceptions live in the crosswalk. Juvenile
# homes, shelters, police lockups, Marshals and ICE offices come first because
# several carry a county word ("BERKS CO. JUVENILE").
KIND_RULES = [
    ("other", r"JUV|CHILDREN|SHELTER|YOUTH|POLICE|MARSHAL|DISTRICT OFFICE"),
    ("state_prison", r"\bS\.?C\.?I\b|\bSRCF\b"),  # State Correctional Institution
    ("federal_prison", r"\bFCI\b|\bFED\b|\bU\.?S\.? ?PEN\b|\bUSP\b|\bFDC\b"),
    ("county_jail", r"\bCNTY\b|\bCOUNTY\b|\bCO\b"),
]
# ICE form numbers: "I247 - ... (as of March 2013)" and "(prior to ...)" are
# the same form I-247; I-247D and I-247N are its 2015 successors.
FORM_PATTERN = r"^\s*I-?\s?247([DN]?)\b"
NO_FORM = "not recorded"

SCHEMA = pa.DataFrameSchema(
    {
        "date": pa.Column("datetime64[ns]"),
        "year": pa.Column(int, pa.Check.in_range(2007, 2015)),
        "month": pa.Column(int, pa.Check.in_range(1, 12)),
        "period": pa.Column(int),
        "lift_reason": pa.Column(str),
        "outcome": pa.Column(str),
        "facility": pa.Column(str, pa.Check.str_length(min_value=1)),
        "city": pa.Column(str),
        "facility_kind": pa.Column(str, pa.Check.isin(FACILITY_KINDS)),
        "detainer_type": pa.Column(str),
    },
    strict=True,
    name="pa_detainer",
)


def classify_facility(names: pd.Series) -> pd.Series:
    """Return the facility kind of each name: crosswalk first, then the name rule.

    Raises
    ------
    ValueError
        If a name is neither in ``data/crosswalks/pa_facility_kinds.csv`` nor
        matched by a rule of :data:`KIND_RULES`.
    """
    exceptions = read_crosswalk(KINDS, ["det_facility", "facility_kind"])
    bad = sorted(set(exceptions["facility_kind"]) - set(FACILITY_KINDS))
    if bad:
        raise ValueError(
            f"data/crosswalks/{KINDS}: facility_kind {bad} not one of {FACILITY_KINDS}."
        )
    by_name = dict(zip(exceptions["det_facility"], exceptions["facility_kind"]))
    kinds = names.map(by_name)
    for kind, pattern in KIND_RULES:
        unset = kinds.isna() & names.str.upper().str.contains(pattern, regex=True)
        kinds = kinds.mask(unset, kind)
    if kinds.isna().any():
        unknown = sorted(names[kinds.isna()].unique())
        raise ValueError(
            f"facility name(s) {unknown[:10]} match no rule of KIND_RULES; add them "
            f"with a cited reason to data/crosswalks/{KINDS}."
        )
    return kinds.astype(str)


def _harmonise_outcomes(frame: pd.DataFrame, ledger: Ledger, path) -> pd.Series:
    crosswalk = read_crosswalk(OUTCOMES, ["lift_reason", "outcome"])
    mapping = dict(zip(crosswalk["lift_reason"], crosswalk["outcome"]))
    unknown = sorted(set(frame["lift_reason"]) - set(mapping))
    if unknown:
        raise ValueError(
            f"{path}: column 'lift_reason' has label(s) {unknown} absent from "
            f"data/crosswalks/{OUTCOMES}; add each with its harmonised outcome."
        )
    outcome = frame["lift_reason"].map(mapping).astype(str)

    empty = frame["lift_reason"] == ""
    ledger.recode("pa: outcome", f"empty lift_reason -> '{mapping.get('', '')}' "
                  "(pending or no outcome recorded; kept as a category)",
                  empty.sum(), len(frame), warn=False)
    merged = (outcome == "lifted") & (frame["lift_reason"] != "Lifted")
    ledger.recode("pa: outcome", "'Lifted - <reason>' labels merged into 'lifted'",
                  merged.sum(), len(frame),
                  examples=sorted(frame.loc[merged, "lift_reason"].unique()),
                  stacklevel=3)
    return outcome


def load_pa_detainers(
    path: Path | str | None = None, *, ledger: Ledger | None = None
) -> pd.DataFrame:
    """Load ICE detainers issued to Pennsylvania facilities, one row per detainer.

    Parameters
    ----------
    path
        A copy of ``pa_detainers.csv``; the shipped, hash-checked file by
        default.
    ledger
        Ledger for the steps; a new one named ``pa_detainers`` if None.

    Returns
    -------
    pandas.DataFrame
        Columns of :data:`SCHEMA`: ``date``, ``year``, ``month``, ``period``
        (``year * 12 + month - 1``), the raw ``lift_reason``, harmonised
        ``outcome`` (``pending_or_none`` where ``lift_reason`` is empty),
        ``facility`` (the ``det_facility`` name), ``city``, ``facility_kind``
        and ``detainer_type`` (ICE form I-247, I-247D or I-247N, or "not
        recorded").

    Notes
    -----
    No row is dropped: every detainer is kept, including those with no
    outcome. Rows whose ``state`` is not PENNSYLVANIA raise ValueError.
    """
    ledger = ledger if ledger is not None else Ledger("pa_detainers")
    path = resolve_input(SOURCE, FILE, path)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    require_columns(raw, RAW_COLUMNS, str(path))
    raw = raw[RAW_COLUMNS].apply(lambda column: column.str.strip())

    dates = pd.to_datetime(raw["date"], format="%Y-%m-%d %H:%M:%S", errors="coerce")
    wrong_state = raw["state"] != "PENNSYLVANIA"
    for column, bad in [("date", dates.isna()), ("state", wrong_state)]:
        if bad.any():
            lines = (raw.index[bad][:5] + 2).tolist()
            raise ValueError(
                f"{path}: column {column!r} has unexpected values "
                f"{raw.loc[bad, column].head(3).tolist()} at file lines {lines}; "
                "expected 'YYYY-MM-DD HH:MM:SS' dates and state PENNSYLVANIA."
            )

    forms = raw["detainer_type"].str.extract(FORM_PATTERN, expand=False)
    unreadable = forms.isna() & (raw["detainer_type"] != "")
    if unreadable.any():
        raise ValueError(
            f"{path}: column 'detainer_type' has values "
            f"{sorted(raw.loc[unreadable, 'detainer_type'].unique())[:3]} that are "
            "not an ICE I-247 form; extend FORM_PATTERN."
        )
    detainer_type = ("I-247" + forms.fillna("")).where(forms.notna(), NO_FORM)
    ledger.recode("pa: detainer type", "I-247 form labels reduced to the form "
                  "number; empty -> 'not recorded'", len(raw), len(raw), warn=False)

    frame = pd.DataFrame(
        {
            "date": dates.astype("datetime64[ns]"),
            "year": dates.dt.year.astype("int64"),
            "month": dates.dt.month.astype("int64"),
            "lift_reason": raw["lift_reason"],
            "facility": raw["det_facility"],
            "city": raw["city"],
            "facility_kind": classify_facility(raw["det_facility"]),
            "detainer_type": detainer_type.astype(str),
        }
    )
    frame.insert(3, "period", frame["year"] * 12 + frame["month"] - 1)
    frame.insert(5, "outcome", _harmonise_outcomes(frame, ledger, path))
    ledger.record("pa: load detainers", len(frame), len(frame))
    return validate(frame, SCHEMA, where=str(path))
