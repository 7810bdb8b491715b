"""287(g) agreements before 2018 (Deportation Data Project "best guess" file).

One row per law-enforcement agency as printed by a source, with the best
estimate of its first 287(g) signing date. Three steps lead to county
treatment dates:

1. :func:`load_287g_agreements` reads the 229 agency rows and types them.
2. :func:`agreement_counties` splits multi-county FIPS lists into one row per
   (agreement, county), accounting for every row without a county.
3. :func:`county_287g_dates` applies the jurisdiction and confidence filters
   and keeps the earliest signing per county, which also merges the same
   agency printed under several spellings.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from analysis.errors import SchemaValidationError
from analysis.ledger import Ledger
from analysis.sources._common import (
    read_crosswalk,
    require_columns,
    resolve_input,
    validate,
)

SOURCE = "deportationdata_287g_pre2018"
FILE = "pre2018-agreements-best-guess.csv"
STATE_CROSSWALK = "us_state_fips.csv"

RAW_COLUMNS = [
    "state",
    "agency",
    "jurisdiction_level",
    "county_fips",
    "county_name",
    "first_signed_best",
    "first_signed_source",
    "models",
    "active_to",
    "terminated",
    "confidence",
]
DATE_COLUMNS = ["first_signed_best", "active_to"]

AGREEMENT_SCHEMA = pa.DataFrameSchema(
    {
        "source_row": pa.Column("int64", pa.Check.ge(0), unique=True),
        "state": pa.Column(str),
        "state_fips": pa.Column(str, pa.Check.str_matches(r"^\d{2}$"), nullable=True),
        "agency": pa.Column(str, pa.Check.str_length(min_value=1)),
        "jurisdiction_level": pa.Column(str, pa.Check.isin(["local", "statewide", ""])),
        "county_fips": pa.Column(str, pa.Check.str_matches(r"^[\d; ]*$")),
        "county_name": pa.Column(str),
        "first_signed_best": pa.Column("datetime64[s]", nullable=True),
        "first_signed_source": pa.Column(str),
        "models": pa.Column(str),
        "active_to": pa.Column("datetime64[s]", nullable=True),
        "terminated": pa.Column(bool),
        "confidence": pa.Column(str, pa.Check.isin(["high", "medium", "low"])),
    },
    name="agreements_287g",
    strict=True,
)


def load_287g_agreements(path=None, *, ledger: Ledger | None = None) -> pd.DataFrame:
    """Read the agreements CSV and return one typed row per agency row.

    Parameters
    ----------
    path
        A copy of the file to read instead of the shipped, hash-checked one.
    ledger
        Ledger to record the state-name clean-up.

    Returns
    -------
    pandas.DataFrame
        Columns of :data:`AGREEMENT_SCHEMA`. ``source_row`` is the 0-based data
        row of the CSV (file line ``source_row + 2``); ``county_fips`` is kept
        as printed (possibly several, unpadded) until
        :func:`agreement_counties`; ``state_fips`` is looked up from the state
        name and missing when the row names no state.
    """
    ledger = ledger if ledger is not None else Ledger("agreements_287g")
    source = resolve_input(SOURCE, FILE, path)
    where = str(source)

    raw = pd.read_csv(source, dtype=str, keep_default_na=False)
    require_columns(raw, RAW_COLUMNS, where)
    frame = raw[RAW_COLUMNS].copy()
    frame.insert(0, "source_row", pd.RangeIndex(len(frame), dtype="int64"))

    # Footnote marks glued to the state ("DELAWARE**") would defeat the lookup.
    cleaned = frame["state"].str.replace(r"[^A-Za-z ]", "", regex=True).str.strip()
    changed = cleaned != frame["state"]
    ledger.recode(
        "clean state names",
        "footnote marks removed from state name",
        int(changed.sum()),
        len(frame),
        examples=list(frame.loc[changed, "state"]),
        warn=False,
    )
    frame["state"] = cleaned
    frame.insert(2, "state_fips", _state_fips(frame["state"], where))

    for column in DATE_COLUMNS:
        frame[column] = _parse_dates(frame, column, where)
    frame["terminated"] = _parse_bool(frame, "terminated", where)
    return validate(frame, AGREEMENT_SCHEMA, where=where)


def agreement_counties(
    agreements: pd.DataFrame, *, ledger: Ledger | None = None
) -> pd.DataFrame:
    """Return one row per (agreement, county), zero-padded, with every loss ledgered.

    Rows without a FIPS code (statewide agencies, unresolved agencies) are
    dropped with their reason; a FIPS repeated within one row, or outside the
    agency's own state (a mis-resolved county of the same name), is dropped
    too. The remaining columns of ``agreements`` are carried along.
    """
    ledger = ledger if ledger is not None else Ledger("agreements_287g")

    for level, reason in [
        ("statewide", "statewide agency, no county"),
        ("", "agency not resolved to a jurisdiction, no county"),
        ("local", "local agency without a county FIPS"),
    ]:
        # One ledger step per reason: the ledger balances each step on its own.
        blank = agreements["county_fips"].str.strip() == ""
        mask = blank & (agreements["jurisdiction_level"] == level)
        agreements = ledger.drop(
            agreements, mask, f"no county: {level or 'unresolved'}", reason,
            id_columns=["source_row", "agency"], warn=False,
        )

    pairs = agreements.assign(
        county_fips=agreements["county_fips"].str.split(";")
    ).explode("county_fips")
    pairs["county_fips"] = pairs["county_fips"].str.strip().str.zfill(5)
    pairs = pairs.reset_index(drop=True)
    several = int((agreements["county_fips"].str.count(";") > 0).sum())
    ledger.recode(
        "split county lists",
        f"{several} agreements naming several counties split into one row per "
        f"county ({len(agreements)} agreements -> {len(pairs)} rows)",
        several,
        len(agreements),
        examples=list(agreements.loc[agreements["county_fips"].str.contains(";"),
                                     "source_row"]),
        warn=False,
    )

    repeated = pairs.duplicated(["source_row", "county_fips"])
    pairs = ledger.drop(
        pairs, repeated, "repeated counties", "county repeated within one agreement",
        id_columns=["source_row", "county_fips"], warn=False,
    )
    outside = pairs["state_fips"].notna() & (
        pairs["county_fips"].str[:2] != pairs["state_fips"]
    )
    pairs = ledger.drop(
        pairs, outside, "counties outside state",
        "county outside the agency's state (mis-resolved name)",
        id_columns=["source_row", "agency", "county_fips"],
    )
    return pairs.reset_index(drop=True)


def county_287g_dates(
    pairs: pd.DataFrame,
    *,
    confidence: tuple[str, ...] = ("high",),
    levels: tuple[str, ...] = ("local",),
    ledger: Ledger | None = None,
) -> pd.DataFrame:
    """Return one row per county: earliest signing, exit date and source row.

    Parameters
    ----------
    pairs
        Output of :func:`agreement_counties`.
    confidence
        Maintainers' confidence ratings to keep (``high``, ``medium``, ``low``).
    levels
        Jurisdiction levels to keep.
    ledger
        Ledger for the filters and the per-county collapse.

    Returns
    -------
    pandas.DataFrame
        ``county_fips``, ``start_date`` (earliest ``first_signed_best``),
        ``end_date``, ``source_row`` (agreement giving the start),
        ``n_agreements``, ``agencies`` and ``note``. The exit is missing when
        any kept agreement of the county was still listed at the file's last
        roster capture (``terminated`` false: ``active_to`` then marks the end
        of observation, not an exit); otherwise it is the latest ``active_to``.
        Counties whose every agreement fails the filters are kept with a
        missing start date, so they are not mistaken for never treated.
    """
    ledger = ledger if ledger is not None else Ledger("agreements_287g")
    all_counties = pairs[["county_fips"]].drop_duplicates()

    kept = ledger.drop(
        pairs, ~pairs["jurisdiction_level"].isin(levels), "filter agreements",
        f"jurisdiction level not in {list(levels)}", id_columns=["source_row"],
        warn=False,
    )
    kept = ledger.drop(
        kept, ~kept["confidence"].isin(confidence), "filter confidence",
        f"confidence not in {list(confidence)}",
        id_columns=["source_row", "agency"], warn=False,
    )
    kept = ledger.drop(
        kept, kept["first_signed_best"].isna(), "filter dates", "no signing date",
        id_columns=["source_row", "agency"],
    )

    ordered = kept.sort_values(["county_fips", "first_signed_best", "source_row"])
    grouped = ordered.groupby("county_fips", sort=True)
    county = grouped.first()[["first_signed_best", "source_row"]]
    county = county.rename(columns={"first_signed_best": "start_date"})
    county["n_agreements"] = grouped.size().astype("int64")
    county["agencies"] = grouped["agency"].agg("; ".join)
    still_active = grouped["terminated"].agg(lambda t: not t.all())
    county["end_date"] = grouped["active_to"].max().where(~still_active)
    county = county.reset_index()
    county["note"] = "earliest of several agreements in the county"
    county.loc[county["n_agreements"] == 1, "note"] = ""
    ledger.record(
        "one row per county",
        len(kept),
        len(county),
        removed={
            "later agreement in a county already signed (other agency or "
            "spelling)": len(kept) - len(county)
        },
        action="collapse",
        examples={
            "later agreement in a county already signed (other agency or "
            "spelling)": list(county.loc[county["n_agreements"] > 1, "county_fips"])
        },
    )

    excluded = all_counties[~all_counties["county_fips"].isin(county["county_fips"])]
    if len(excluded):
        filler = excluded.assign(
            n_agreements=0,
            agencies="",
            source_row=pd.NA,
            note="every agreement failed the filters: treatment unknown",
        )
        county = pd.concat([county, filler], ignore_index=True)
    ledger.recode(
        "counties failing filters",
        "county kept with unknown treatment: every agreement failed the filters",
        len(excluded),
        len(county),
        examples=list(excluded["county_fips"]),
    )
    county["source_row"] = county["source_row"].astype("Int64")
    return county.sort_values("county_fips").reset_index(drop=True)


def _state_fips(states: pd.Series, where: str) -> pd.Series:
    """Map upper-case state names to 2-digit FIPS; an unknown name is an error."""
    crosswalk = read_crosswalk(STATE_CROSSWALK, ["state_fips", "state_name"])
    lookup = dict(zip(crosswalk["state_name"].str.upper(), crosswalk["state_fips"]))
    fips = states.map(lookup)
    unknown = (states != "") & fips.isna()
    if unknown.any():
        raise SchemaValidationError(
            f"{where}: column 'state' has names not in {STATE_CROSSWALK}: "
            f"{sorted(states[unknown].unique())} (rows "
            f"{list(states.index[unknown][:5])}). Add them to the crosswalk with "
            "a source, or fix the spelling."
        )
    return fips


def _parse_dates(frame: pd.DataFrame, column: str, where: str) -> pd.Series:
    """Parse ISO dates; empty is missing, anything else unparseable is an error."""
    text = frame[column].str.strip()
    dates = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    bad = (text != "") & dates.isna()
    if bad.any():
        raise SchemaValidationError(
            f"{where}: column {column!r} has values that are not YYYY-MM-DD dates "
            f"in rows {list(frame.loc[bad, 'source_row'][:5])}: "
            f"{list(text[bad][:5])}. Fix the file or the date format."
        )
    return dates.astype("datetime64[s]")


def _parse_bool(frame: pd.DataFrame, column: str, where: str) -> pd.Series:
    """Map TRUE/FALSE text to booleans; any other value is an error."""
    text = frame[column].str.strip().str.upper()
    bad = ~text.isin(["TRUE", "FALSE"])
    if bad.any():
        raise SchemaValidationError(
            f"{where}: column {column!r} must be TRUE or FALSE; rows "
            f"{list(frame.loc[bad, 'source_row'][:5])} hold "
            f"{list(frame.loc[bad, column][:5])}."
        )
    return text == "TRUE"
