"""Secure Communities county activation dates (Asad and Baer-Bositis 2025).

The original file, ``securecommunities.dta``, is a county-year Stata panel
(3,147 counties x 16 years). The activation date is stored twice: as a Stata
``%td`` day count (``date_secure``) and as components (``year_secure``,
``month_secure``, ``day_secure``). :func:`load_secure_communities` collapses the
panel to one row per county, checks that the dates are constant within a
county, and resolves counties whose two encodings disagree by one named rule.

Notes
-----
The date fields are missing in the years *before* a county's activation year
and filled from then on, so constancy is checked over the non-missing values
and the county's source row is the first (earliest-year) row carrying a date.
The panel's own ``secure`` indicator equals ``year >= year_secure``: it codes a
county as treated from its activation year.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pandera.pandas as pa

from analysis.errors import CodingConflictWarning, SchemaValidationError
from analysis.ledger import Ledger
from analysis.sources._common import require_columns, resolve_input, validate

SOURCE = "secure_communities_asad_vargasnunez"
FILE = "securecommunities.dta"

#: Rules for counties whose two date encodings disagree.
#: ``"date_secure"`` keeps the Stata date field; ``"components"`` rebuilds the
#: date from ``year_secure``/``month_secure``/``day_secure``.
CONFLICT_RULES = ("date_secure", "components")

RAW_COLUMNS = [
    "statefips",
    "county",
    "year",
    "date_secure",
    "year_secure",
    "month_secure",
    "day_secure",
    "borough_secure",
    "parish_secure",
    "city_secure",
    "date_statewide_secure",
]

# Columns that describe the county, not the year: they must not vary by year.
_COUNTY_CONSTANT = [
    "statefips",
    "date_secure",
    "year_secure",
    "month_secure",
    "day_secure",
    "borough_secure",
    "parish_secure",
    "city_secure",
    "date_statewide_secure",
]

_STATA_EPOCH = pd.Timestamp("1960-01-01")

_FLAG = pa.Column("Int8", pa.Check.isin([0, 1]), nullable=True)

SCHEMA = pa.DataFrameSchema(
    {
        "county_fips": pa.Column(str, pa.Check.str_matches(r"^\d{5}$"), unique=True),
        "state_fips": pa.Column(str, pa.Check.str_matches(r"^\d{2}$")),
        "activation_date": pa.Column("datetime64[s]", nullable=True),
        "date_secure": pa.Column("datetime64[s]", nullable=True),
        "component_date": pa.Column("datetime64[s]", nullable=True),
        "dates_disagree": pa.Column(bool),
        "statewide_date": pa.Column("datetime64[s]", nullable=True),
        "flag_borough": _FLAG,
        "flag_parish": _FLAG,
        "flag_city": _FLAG,
        "source_file": pa.Column(str),
        "source_row": pa.Column("int64", pa.Check.ge(0)),
        "n_source_rows": pa.Column("int64", pa.Check.ge(1)),
        "note": pa.Column(str),
    },
    checks=[
        pa.Check(
            lambda df: df["county_fips"].str[:2] == df["state_fips"],
            error="county_fips does not start with state_fips",
        )
    ],
    name="secure_communities_county",
    strict=True,
)


def load_secure_communities(
    path=None,
    *,
    conflict_rule: str = "date_secure",
    ledger: Ledger | None = None,
) -> pd.DataFrame:
    """Read ``securecommunities.dta`` and return one row per county.

    Parameters
    ----------
    path
        A copy of the file to read instead of the shipped, hash-checked one.
    conflict_rule
        How to date a county whose two encodings disagree; one of
        :data:`CONFLICT_RULES`. The default, ``"date_secure"``, keeps the Stata
        date field: it is the variable the authors stored as *the* date (the
        components are its breakdown), and the derived CSV shipped beside it
        uses it. No other county in the file shares either candidate date, so
        the file itself cannot arbitrate; both candidates fall in 2011, so
        yearly cohorts are the same under either rule and only monthly timing
        changes (June vs January 2011).
    ledger
        Ledger to record the collapse, the conflict recode and the counties
        without a date.

    Returns
    -------
    pandas.DataFrame
        Columns of :data:`SCHEMA`: ``county_fips`` (5 characters),
        ``state_fips``, ``activation_date`` (after the rule), ``date_secure``
        and ``component_date`` (the two encodings), ``dates_disagree``,
        ``statewide_date``, the borough/parish/city flags, ``source_file``,
        ``source_row`` (0-based row of the ``.dta``), ``n_source_rows`` and
        ``note``. Counties with no activation date are kept with a missing date.

    Raises
    ------
    SchemaValidationError
        If a column is absent, a (county, year) repeats, a county's date varies
        across years, or the result fails :data:`SCHEMA`.
    """
    if conflict_rule not in CONFLICT_RULES:
        raise ValueError(
            f"conflict_rule must be one of {CONFLICT_RULES}, got {conflict_rule!r}."
        )
    ledger = ledger if ledger is not None else Ledger("secure_communities")
    source = resolve_input(SOURCE, FILE, path)
    where = str(source)

    raw = pd.read_stata(source, convert_dates=False, convert_categoricals=False)
    require_columns(raw, RAW_COLUMNS, where)
    raw = raw[RAW_COLUMNS].reset_index(drop=True)
    raw["source_row"] = raw.index.astype("int64")
    _check_panel(raw, where)

    county = _collapse_to_county(raw, where, ledger)
    county = _resolve_conflicts(county, conflict_rule, ledger)
    county = _note_missing_dates(county, ledger)
    return validate(county[list(SCHEMA.columns)], SCHEMA, where=where)


def secure_communities_conflicts(county: pd.DataFrame) -> pd.DataFrame:
    """Return the counties whose two date encodings disagree, with both dates."""
    columns = ["county_fips", "date_secure", "component_date", "activation_date"]
    return county.loc[county["dates_disagree"], columns].reset_index(drop=True)


def _check_panel(raw: pd.DataFrame, where: str) -> None:
    """Raise naming rows if a (county, year) repeats or a county's date varies."""
    repeated = raw.duplicated(["county", "year"], keep=False)
    if repeated.any():
        rows = raw.loc[repeated, ["source_row", "county", "year"]].head(6)
        raise SchemaValidationError(
            f"{where}: {int(repeated.sum())} rows repeat a (county, year), e.g. "
            f"{rows.to_dict('records')}. Remove the duplicated rows from the file."
        )

    # nunique ignores missing values: pre-activation years carry no date.
    varying = raw.groupby("county")[_COUNTY_CONSTANT].nunique() > 1
    if varying.any().any():
        bad = varying[varying.any(axis=1)]
        examples = {
            int(c): list(bad.columns[bad.loc[c]]) for c in bad.index[:5]
        }
        rows = raw.loc[raw["county"].isin(bad.index[:5]), "source_row"].tolist()
        raise SchemaValidationError(
            f"{where}: {len(bad)} counties have a county-level value that changes "
            f"across years (county: columns) {examples}; rows {rows[:10]}. A "
            "county has one activation date; fix the file before loading."
        )


def _collapse_to_county(raw: pd.DataFrame, where: str, ledger: Ledger):
    """Keep each county's earliest row carrying a date (or earliest row)."""
    ordered = raw.assign(_no_date=raw["date_secure"].isna()).sort_values(
        ["county", "_no_date", "year"], kind="stable"
    )
    county = ordered.drop_duplicates("county").drop(columns="_no_date")
    county = county.sort_values("county").reset_index(drop=True)
    years = raw.groupby("county").size()
    county["n_source_rows"] = county["county"].map(years).astype("int64")
    ledger.record(
        "collapse county-years",
        len(raw),
        len(county),
        removed={"county-year rows of a county-level date": len(raw) - len(county)},
        action="collapse",
    )

    out = pd.DataFrame(
        {
            "county_fips": county["county"].astype("int64").astype(str).str.zfill(5),
            "state_fips": county["statefips"].astype("int64").astype(str).str.zfill(2),
            "date_secure": _stata_date(county["date_secure"]),
            "component_date": _component_date(county, where),
            "statewide_date": _stata_date(county["date_statewide_secure"]),
            "flag_borough": county["borough_secure"].astype("Int8"),
            "flag_parish": county["parish_secure"].astype("Int8"),
            "flag_city": county["city_secure"].astype("Int8"),
            "source_file": f"{SOURCE}/{FILE}",
            "source_row": county["source_row"].astype("int64"),
            "n_source_rows": county["n_source_rows"],
            "note": "",
        }
    )
    return out


def _resolve_conflicts(county: pd.DataFrame, rule: str, ledger: Ledger):
    """Flag disagreeing encodings, apply ``rule``, warn and ledger the counties."""
    both = county["date_secure"].notna() & county["component_date"].notna()
    disagree = both & (county["date_secure"] != county["component_date"])
    county["dates_disagree"] = disagree.astype(bool)

    encodings = ["date_secure", "component_date"]
    if rule == "components":
        encodings.reverse()
    # A county with only one encoding keeps the one it has.
    chosen, fallback = (county[column] for column in encodings)
    county["activation_date"] = chosen.fillna(fallback)

    conflicts = county.loc[disagree]
    labels = [
        f"{r.county_fips} (date_secure {r.date_secure:%Y-%m-%d}, components "
        f"{r.component_date:%Y-%m-%d})"
        for r in conflicts.itertuples()
    ]
    county.loc[disagree, "note"] = (
        f"date_secure and year/month/day_secure disagree; rule '{rule}' applied"
    )
    ledger.recode(
        "resolve date encodings",
        f"date_secure and year/month/day_secure disagree; kept {rule}",
        len(conflicts),
        len(county),
        examples=list(conflicts["county_fips"]),
        warn=False,
    )
    if len(conflicts):
        warnings.warn(
            f"secure_communities: {len(conflicts)} counties have two activation "
            f"dates; rule conflict_rule='{rule}' applied (choose the other with "
            f"conflict_rule={[r for r in CONFLICT_RULES if r != rule][0]!r}): "
            f"{'; '.join(labels)}.",
            CodingConflictWarning,
            stacklevel=3,
        )
    return county


def _note_missing_dates(county: pd.DataFrame, ledger: Ledger) -> pd.DataFrame:
    """Keep counties without an activation date, note them in the ledger."""
    missing = county["activation_date"].isna()
    county.loc[missing, "note"] = (
        "no activation date in the source; kept with a missing date"
    )
    ledger.recode(
        "counties without a date",
        "no activation date in the source; kept with a missing date (not never "
        "treated)",
        int(missing.sum()),
        len(county),
        examples=list(county.loc[missing, "county_fips"]),
        warn=False,
    )
    return county


def _stata_date(days: pd.Series) -> pd.Series:
    """Convert Stata ``%td`` day counts (days since 1960-01-01) to dates."""
    dates = _STATA_EPOCH + pd.to_timedelta(days, unit="D")
    return dates.astype("datetime64[s]")


def _component_date(county: pd.DataFrame, where: str) -> pd.Series:
    """Build the date from ``year/month/day_secure``; missing where any is."""
    parts = pd.DataFrame(
        {
            "year": county["year_secure"],
            "month": county["month_secure"],
            "day": county["day_secure"],
        }
    )
    dates = pd.to_datetime(parts, errors="coerce").astype("datetime64[s]")

    # Complete but impossible components (month 13) are an error, not a gap.
    invalid = parts.notna().all(axis=1) & dates.isna()
    if invalid.any():
        rows = county.loc[invalid, ["source_row", "county"]].head(5)
        raise SchemaValidationError(
            f"{where}: year/month/day_secure do not form a date in "
            f"{int(invalid.sum())} rows, e.g. {rows.to_dict('records')}. Fix the "
            "components in the file."
        )
    return dates
