"""State cooperation laws -> the first treated year of each state, by direction.

Three date rules say when a law starts to count (``rule=``):

- ``"signed"``: the day the governor signed it (or the directive was issued,
  or the court ruled). Fallbacks, in order: ``effective_date`` (signing
  precedes it, so this codes the law later than it was signed), then
  ``effective_year``, then the year transcribed in
  ``data/crosswalks/state_law_in_force.csv``.
- ``"effective"``: the scheduled effective day (``effective_date``);
  fallbacks ``effective_year`` then the transcribed year. Injunctions are
  ignored, as in the source file.
- ``"in_force"``: the day the law's cooperation provisions could first be
  enforced after injunctions, read from ``state_law_in_force.csv`` (one row
  per law whose injunction note matters, each with the note it transcribes
  and its source). A law marked ``never_in_force`` there gives no
  treatment. Laws without a row there take their ``"effective"`` date.

Every coded date keeps its origin (``date_source``: which column, file and
fallback) and its precision (``"day"`` or ``"year"``). A state's first
treated year in a direction is the earliest year among its kept laws in that
direction; the law that gives it is recorded.

Timing (``timing=``) follows :mod:`analysis.regimes`: ``"activation"``
treats the year containing the date; ``"first_full"`` the first year that
starts on or after it. A date known only to the year is, under
``"first_full"``, coded to the next year (the first year certainly fully
exposed).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pandera.pandas as pa

from analysis import paths
from analysis.errors import DroppedRowsWarning
from analysis.io import Panel
from analysis.ledger import Ledger
from analysis.manifest import sha256_of, source_hashes
from analysis.regimes import TIMING_RULES, first_treated_period
from analysis.sources import state_laws as sl
from analysis.sources._common import read_crosswalk, validate

DATE_RULES = ("signed", "effective", "in_force")
IN_FORCE_FILE = "state_law_in_force.csv"
IN_FORCE_STATUS = ("in_force", "never_in_force")

IN_FORCE_SCHEMA = pa.DataFrameSchema(
    {
        "law_id": pa.Column("string", unique=True),
        "status": pa.Column("string", pa.Check.isin(IN_FORCE_STATUS)),
        "in_force_date": pa.Column("datetime64[s]", nullable=True),
        "in_force_year": pa.Column("Int64", nullable=True),
        "end_date": pa.Column("datetime64[s]", nullable=True),
        "provision": pa.Column("string"),
        "note_quote": pa.Column("string"),
        "reason": pa.Column("string"),
        "source": pa.Column("string"),
    },
    checks=[
        pa.Check(
            lambda df: df["in_force_date"].isna()
            | (df["in_force_date"].dt.year == df["in_force_year"]),
            error="in_force_year differs from the year of in_force_date",
        ),
        pa.Check(
            lambda df: (df["status"] == "never_in_force")
            | df["in_force_year"].notna(),
            error="status in_force needs an in_force_year",
        ),
    ],
    strict=True,
    name="state_law_in_force",
)

LAW_DATE_COLUMNS = [
    "law_id", "state_abbr", "state_fips", "direction", "policy_type",
    "bill_or_citation", "confidence", "rule", "date", "year", "precision",
    "date_source", "in_force_status", "end_date",
]


def load_in_force(laws: pd.DataFrame) -> pd.DataFrame:
    """Read ``data/crosswalks/state_law_in_force.csv`` and attach ``law_id``.

    Rows are matched to the law table on ``state_abbr`` and the exact
    ``bill_or_citation``; a row that matches no law (or several) raises,
    naming the row.
    """
    table = read_crosswalk(
        IN_FORCE_FILE,
        ["state_abbr", "bill_or_citation", "status", "in_force_date",
         "in_force_year", "end_date", "provision", "note_quote", "reason"],
    )
    keys = laws[["state_abbr", "bill_or_citation", "law_id"]]
    merged = table.merge(keys, on=["state_abbr", "bill_or_citation"], how="left",
                         indicator=True)
    if len(merged) != len(table):
        raise ValueError(
            f"data/crosswalks/{IN_FORCE_FILE}: a row matches several laws; make "
            "bill_or_citation unique within the state."
        )
    missing = merged["_merge"] != "both"
    if missing.any():
        rows = merged.loc[missing, ["state_abbr", "bill_or_citation"]]
        raise ValueError(
            f"data/crosswalks/{IN_FORCE_FILE}: rows {rows.index.tolist()} "
            f"({rows.to_dict('records')}) match no law in {sl.FILE} on state_abbr "
            "and bill_or_citation; copy bill_or_citation exactly from the law table."
        )
    frame = pd.DataFrame({
        "law_id": merged["law_id"].astype("string"),
        "status": merged["status"].astype("string"),
        "in_force_date": _dates(merged["in_force_date"], "in_force_date"),
        "in_force_year": pd.to_numeric(merged["in_force_year"].replace("", pd.NA))
        .astype("Int64"),
        "end_date": _dates(merged["end_date"], "end_date"),
        **{c: merged[c].astype("string")
           for c in ["provision", "note_quote", "reason", "source"]},
    })
    return validate(frame, IN_FORCE_SCHEMA, where=f"data/crosswalks/{IN_FORCE_FILE}")


def _dates(text: pd.Series, column: str) -> pd.Series:
    parsed = pd.to_datetime(text.replace("", pd.NA), format="%Y-%m-%d",
                            errors="coerce")
    bad = text.ne("") & parsed.isna()
    if bad.any():
        raise ValueError(
            f"data/crosswalks/{IN_FORCE_FILE}: column {column!r} rows "
            f"{text.index[bad].tolist()} are not ISO dates: {text[bad].tolist()}."
        )
    return parsed.astype("datetime64[s]")


def law_dates(
    laws: pd.DataFrame, rule: str, in_force: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Code each law's start date under one date rule, with its origin.

    Parameters
    ----------
    laws
        The table from :func:`analysis.sources.state_laws.load_state_laws`.
    rule
        One of :data:`DATE_RULES`.
    in_force
        The table from :func:`load_in_force` (read when None).

    Returns
    -------
    pandas.DataFrame
        One row per law (columns :data:`LAW_DATE_COLUMNS`): ``date`` (missing
        when only a year is known), ``year``, ``precision`` (``"day"``,
        ``"year"`` or ``"none"`` when nothing is known), ``date_source`` and
        ``in_force_status``.
    """
    _check_option("rule", rule, DATE_RULES)
    in_force = load_in_force(laws) if in_force is None else in_force
    notes = laws[["law_id"]].merge(in_force, on="law_id", how="left")
    notes.index = laws.index

    date = pd.Series(pd.NaT, index=laws.index, dtype="datetime64[s]")
    year = pd.Series(pd.NA, index=laws.index, dtype="Int64")
    source = pd.Series("", index=laws.index, dtype="string")

    def fill(candidate_date, candidate_year, label):
        # Fill only laws with nothing coded yet, so the first source wins.
        empty = year.isna()
        if candidate_date is not None:
            use = empty & candidate_date.notna()
            date[use] = candidate_date[use]
            year[use] = candidate_date[use].dt.year
            source[use] = label
            empty = year.isna()
        if candidate_year is not None:
            use = empty & candidate_year.notna()
            year[use] = candidate_year[use]
            source[use] = label
    transcribed = f"in_force_year of data/crosswalks/{IN_FORCE_FILE}"
    if rule == "in_force":
        fill(notes["in_force_date"], None,
             f"in_force_date of data/crosswalks/{IN_FORCE_FILE}")
        fill(None, notes["in_force_year"], transcribed)
        # Laws the injunction notes do not affect: their scheduled date.
        no_row = notes["status"].isna()
        fill(laws["effective_date"].where(no_row), None,
             "effective_date (no injunction row)")
        fill(None, laws["effective_year"].where(no_row),
             "effective_year (no injunction row; year only)")
    else:
        if rule == "signed":
            fill(laws["signed_date"], None, "signed_date")
            fill(laws["effective_date"], None, "effective_date (no signed_date)")
        else:
            fill(laws["effective_date"], None, "effective_date")
        fill(None, laws["effective_year"], "effective_year (year only)")
        fill(None, notes["in_force_year"], transcribed + " (year only)")

    never = notes["status"].eq("never_in_force").fillna(False).astype(bool)
    if rule == "in_force":
        date[never], year[never] = pd.NaT, pd.NA
        source[never] = f"never in force per data/crosswalks/{IN_FORCE_FILE}"
    precision = pd.Series("none", index=laws.index, dtype="string")
    precision[year.notna()] = "year"
    precision[date.notna()] = "day"
    out = laws[["law_id", "state_abbr", "state_fips", "direction", "policy_type",
                "bill_or_citation", "confidence"]].copy()
    out["rule"] = rule
    out["date"] = date
    out["year"] = year
    out["precision"] = precision
    out["date_source"] = source.replace("", "no date in any source")
    out["in_force_status"] = notes["status"].fillna("in_force").astype("string")
    out["end_date"] = notes["end_date"]
    return out[LAW_DATE_COLUMNS].reset_index(drop=True)


def first_treated_year(law_table: pd.DataFrame, timing: str = "activation"):
    """The first treated year of each law (Int64; missing if never or unknown)."""
    _check_option("timing", timing, TIMING_RULES)
    coded = first_treated_period(law_table["date"], "year", timing)
    year_only = law_table["precision"].eq("year")
    bump = 1 if timing == "first_full" else 0
    coded = coded.where(~year_only, law_table["year"] + bump)
    return coded.astype("Int64")


def state_first_treated(
    law_table: pd.DataFrame,
    direction: str,
    *,
    timing: str = "activation",
    confidence: tuple[str, ...] = sl.CONFIDENCE_LEVELS,
    policy_types: tuple[str, ...] = sl.POLICY_TYPES,
    ledger: Ledger | None = None,
) -> pd.DataFrame:
    """The first treated year of each state with a law in one direction.

    Parameters
    ----------
    law_table
        Output of :func:`law_dates` (one rule).
    direction
        ``"limits_cooperation"`` or ``"mandates_cooperation"``.
    timing
        See the module notes.
    confidence, policy_types
        Laws kept; the others are reported in the ledger. A state all of
        whose laws in the direction are excluded gets status
        ``"excluded_laws_only"`` (its treatment is unknown to the analysis).

    Returns
    -------
    pandas.DataFrame
        One row per state with any law in the direction: ``state_fips``,
        ``state_abbr``, ``first_treated_year`` (missing unless ``status`` is
        ``"treated"``), ``status`` (``treated``, ``never_in_force``,
        ``unknown_date``, ``excluded_laws_only``), ``law_id``, ``date``,
        ``precision``, ``date_source``, ``confidence`` of the law that gives
        the year, and ``laws`` (every law id of the state in the direction).
    """
    _check_option("direction", direction, sl.DIRECTIONS)
    ledger = ledger if ledger is not None else Ledger("state_first_treated")
    laws = law_table[law_table["direction"] == direction].copy()
    laws["first_year"] = first_treated_year(laws, timing)

    excluded = ~laws["confidence"].isin(confidence) | ~laws["policy_type"].isin(
        policy_types
    )
    ledger.record(
        f"{direction}: laws kept by confidence and policy type", len(laws),
        int((~excluded).sum()),
        removed={"confidence or policy type not in the plan": int(excluded.sum())},
    )
    if excluded.any():
        examples = (laws.loc[excluded, "law_id"] + " ("
                    + laws.loc[excluded, "confidence"] + ", "
                    + laws.loc[excluded, "policy_type"] + ")").tolist()
        ledger.entries[-1].examples = "; ".join(examples)

    # Vectorised: the earliest dated kept law of each state, then statuses.
    laws["kept"] = ~excluded
    states = laws.groupby(["state_fips", "state_abbr"], sort=True).agg(
        laws=("law_id", " ".join), any_kept=("kept", "any"))
    kept = laws[laws["kept"]]
    never = kept.groupby(["state_fips", "state_abbr"])["in_force_status"].agg(
        lambda s: s.eq("never_in_force").all())
    dated = kept[kept["first_year"].notna()].sort_values(
        ["state_fips", "first_year", "date"], na_position="last")
    first = dated.drop_duplicates(["state_fips", "state_abbr"]).set_index(
        ["state_fips", "state_abbr"])
    out = states.join(first[["first_year", "law_id", "date", "precision",
                             "date_source", "confidence"]])
    out["status"] = np.select(
        [~out["any_kept"], out["first_year"].notna(),
         never.reindex(out.index).fillna(False).astype(bool)],
        ["excluded_laws_only", "treated", "never_in_force"], default="unknown_date")
    out = out.reset_index().rename(columns={"first_year": "first_treated_year"})
    columns = ["state_fips", "state_abbr", "first_treated_year", "status", "law_id",
               "date", "precision", "date_source", "confidence", "laws"]
    out = out[columns]
    out["first_treated_year"] = out["first_treated_year"].astype("Int64")
    out["date"] = pd.to_datetime(out["date"]).astype("datetime64[s]")
    return out


def state_year_treatment(
    frame: pd.DataFrame,
    states: pd.DataFrame,
    *,
    first_year: int,
    last_year: int,
    exclude_states: tuple[str, ...] = (),
    ledger: Ledger | None = None,
) -> pd.DataFrame:
    """Attach ``gname`` (first treated year, 0 = not treated in the window).

    Parameters
    ----------
    frame
        State-year rows with ``state_fips``, ``state_abbr`` and ``year``.
    states
        Output of :func:`state_first_treated` for one direction and rule.
    first_year, last_year
        Analysis window; rows outside it are dropped (ledgered).
    exclude_states
        Postal codes dropped by the plan (e.g. DC, which the law file does
        not cover).

    Notes
    -----
    States without a law are never treated (``gname`` 0), as are states
    whose only law never came into force and states first treated after
    ``last_year`` (untreated inside the window). States treated in or
    before ``first_year`` have no untreated year and are dropped (Oregon's
    1987 statute makes it always treated for limits). States whose treatment
    is unknown (``unknown_date``, ``excluded_laws_only``) are dropped. Every
    drop and recode is ledgered and warned about.
    """
    ledger = ledger if ledger is not None else Ledger("state_year_treatment")
    out = frame.copy()
    outside = ~out["year"].between(first_year, last_year)
    out = ledger.drop(out, outside, "treatment: window",
                      f"year outside {first_year}-{last_year}",
                      id_columns=["state_abbr", "year"], warn=False)
    out = ledger.drop(out, out["state_abbr"].isin(exclude_states),
                      "treatment: excluded states", "state excluded by the plan",
                      id_columns=["state_abbr"])

    lookup = states.set_index("state_fips")
    status = out["state_fips"].map(lookup["status"]).fillna("no_law")
    first = out["state_fips"].map(lookup["first_treated_year"]).astype("Int64")
    unknown = status.isin(["unknown_date", "excluded_laws_only"])
    out = ledger.drop(out, unknown, "treatment: unknown timing",
                      "state with a law whose date is unknown or excluded by the plan",
                      id_columns=["state_abbr"])
    status, first = status[out.index], first[out.index]
    always = (status == "treated") & (first <= first_year)
    out = ledger.drop(out, always.fillna(False).astype(bool),
                      "treatment: always treated",
                      f"first treated in or before {first_year}: no untreated year",
                      id_columns=["state_abbr"])
    status, first = status[out.index], first[out.index]

    gname = first.where(status == "treated", 0).fillna(0).astype("int64")
    late = gname > last_year
    ledger.recode("treatment: treated after window",
                  f"first treated after {last_year}: untreated in the window (gname 0)",
                  int(late.sum()), len(out),
                  examples=sorted(set(out.loc[late, "state_abbr"])), warn=False)
    gname[late] = 0
    never = status == "never_in_force"
    ledger.recode("treatment: never in force",
                  "only law never came into force: untreated (gname 0)",
                  int(never.sum()), len(out),
                  examples=sorted(set(out.loc[never, "state_abbr"])), warn=False)
    if never.any():
        warnings.warn(
            f"{sorted(set(out.loc[never, 'state_abbr']))}: the only law never came "
            "into force under this rule; coded untreated.",
            DroppedRowsWarning, stacklevel=2,
        )
    out["gname"] = gname
    out["treated"] = ((out["gname"] > 0) & (out["year"] >= out["gname"])).astype(int)
    return out.reset_index(drop=True)


def build_state_law_regimes() -> Panel:
    """Panel ``regime_state_laws``: every law's date under each rule, with origin.

    One row per (``law_id``, ``rule``): the coded date, its year, precision
    and ``date_source``, the in-force status, confidence and the first
    treated year under both timings. The evaluations apply the plans'
    confidence and policy-type filters on top of this table.
    """
    ledger = Ledger("regime_state_laws")
    laws = sl.load_state_laws(ledger=ledger)
    in_force = load_in_force(laws)
    tables = []
    for rule in DATE_RULES:
        table = law_dates(laws, rule, in_force)
        for timing in TIMING_RULES:
            table[f"first_year_{timing}"] = first_treated_year(table, timing)
        tables.append(table)
    frame = pd.concat(tables, ignore_index=True)
    for rule in DATE_RULES:
        # One copy of the law table per rule: rows are repeated, not lost.
        ledger.record(f"regime_state_laws: dates under rule '{rule}'", len(laws),
                      len(laws))
    notes = {
        "rules": "signed / effective / in_force; see analysis.state_regimes",
        "in_force": f"dates transcribed from the law file's injunction notes into "
        f"data/crosswalks/{IN_FORCE_FILE}, one source per row",
        "precision": "day = exact date; year = only the year is known; none = no "
        "date in any source (Maryland HB 16 under signed/effective has the "
        "transcribed year)",
        "confidence": "as in the law file (high / medium / low); plans choose "
        "which levels to keep",
    }
    hashes = dict(source_hashes(sl.SOURCE))
    hashes[f"crosswalks/{IN_FORCE_FILE}"] = sha256_of(
        paths.project_root() / "data" / "crosswalks" / IN_FORCE_FILE
    )
    panel = Panel(name="regime_state_laws", frame=frame, key=["law_id", "rule"],
                  raw_sha256=hashes, ledger=ledger, notes=notes)
    panel.check_key()
    return panel


def _check_option(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}.")
