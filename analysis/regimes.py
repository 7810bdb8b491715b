"""Regime tables: the first treated period of every county under a program.

A regime table has one row per (``county_fips``, ``regime``) with the sourced
start date, the first treated year and month (``0`` = never treated, missing =
treated at an unknown date), the end, the source file and row, and a note.
:func:`assign_cohorts` attaches the first treated period as ``gname`` to a unit
x period panel.

Notes
-----
Periods. Years are calendar years. Months are the integer index
``year * 12 + month - 1`` (so ``index // 12`` is the year and ``index % 12 + 1``
the month); :func:`month_label` gives the ``"YYYY-MM"`` label to keep beside it.

Timing (``timing=``):

- ``"activation"`` (default): treated from the period containing the start date.
  Every period before ``gname``, including the usual base period ``gname - 1``,
  is then fully untreated; the first treated period is only partly exposed,
  which attenuates the on-impact effect but contaminates no comparison. For
  Secure Communities it reproduces the original panel's own ``secure``
  indicator (``year >= year_secure``).
- ``"first_full"``: treated from the first period that starts on or after the
  start date. The activation period then counts as untreated although partly
  exposed, and is the base period of an estimator comparing with ``g - 1``.

The end period is the period containing the end date: the last period in
which the program was seen in force.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from analysis import paths
from analysis.io import Panel
from analysis.ledger import Ledger
from analysis.manifest import sha256_of, source_hashes
from analysis.sources import g287
from analysis.sources import secure_communities as sc
from analysis.sources._common import validate

TIMING_RULES = ("activation", "first_full")
PERIOD_UNITS = ("year", "month")
UNMATCHED_RULES = ("drop", "never", "error")

REGIME_SCHEMA = pa.DataFrameSchema(
    {
        "county_fips": pa.Column(str, pa.Check.str_matches(r"^\d{5}$")),
        "regime": pa.Column(str),
        "first_treated_year": pa.Column("Int64", pa.Check.ge(0), nullable=True),
        "first_treated_month": pa.Column("Int64", pa.Check.ge(0), nullable=True),
        "start_date": pa.Column("datetime64[s]", nullable=True),
        "end_year": pa.Column("Int64", nullable=True),
        "end_month": pa.Column("Int64", nullable=True),
        "end_date": pa.Column("datetime64[s]", nullable=True),
        "timing": pa.Column(str, pa.Check.isin(TIMING_RULES)),
        "source_file": pa.Column(str),
        "source_row": pa.Column("Int64", nullable=True),
        "note": pa.Column(str),
    },
    unique=["county_fips", "regime"],
    name="regime_table",
    strict=True,
)


def month_index(dates: pd.Series) -> pd.Series:
    """Return the month index ``year * 12 + month - 1`` (missing stays missing)."""
    return (dates.dt.year * 12 + dates.dt.month - 1).astype("Int64")


def month_label(index: pd.Series) -> pd.Series:
    """Return the ``"YYYY-MM"`` label of a month index."""
    index = index.astype("Int64")
    year = (index // 12).astype(str)
    month = (index % 12 + 1).astype(str).str.zfill(2)
    return (year + "-" + month).where(index.notna())


def first_treated_period(
    dates: pd.Series, periods: str = "year", timing: str = "activation"
) -> pd.Series:
    """Return the first treated period of each start date (Int64, missing kept).

    Parameters
    ----------
    dates
        Start dates (datetime64); missing dates give a missing period.
    periods
        ``"year"`` (calendar year) or ``"month"`` (see :func:`month_index`).
    timing
        ``"activation"``: the period containing the date. ``"first_full"``: the
        first period starting on or after the date (the same period when the
        date is its first day). See the module notes for the consequences.

    Examples
    --------
    >>> d = pd.Series(pd.to_datetime(["2008-10-27", "2010-01-01"]))
    >>> first_treated_period(d, "year", "first_full").tolist()
    [2009, 2010]
    >>> first_treated_period(d, "month").tolist()
    [24105, 24120]
    """
    _check_option("periods", periods, PERIOD_UNITS)
    _check_option("timing", timing, TIMING_RULES)
    dates = pd.to_datetime(dates)

    if periods == "year":
        period = dates.dt.year.astype("Int64")
        starts_period = (dates.dt.month == 1) & (dates.dt.day == 1)
    else:
        period = month_index(dates)
        starts_period = dates.dt.day == 1
    if timing == "first_full":
        period = period + (~starts_period.fillna(True)).astype("int64")
    return period


def build_sc_regime_table(
    path=None, *, timing: str = "activation", conflict_rule: str = "date_secure"
) -> Panel:
    """Return the Secure Communities regime table (panel ``regime_sc_county``).

    Every county in the file was activated by January 2013, so no county is
    never treated; the 4 counties without a date keep a missing first treated
    period. The file does not encode the November 2014 end of the program nor
    its 2017 reactivation, so the end is left missing.
    """
    ledger = Ledger("regime_sc_county")
    county = sc.load_secure_communities(
        path, conflict_rule=conflict_rule, ledger=ledger
    )
    frame = _regime_frame(
        county.rename(columns={"activation_date": "start_date"}).assign(
            end_date=pd.Series(pd.NaT, index=county.index, dtype="datetime64[s]")
        ),
        regime="secure_communities",
        timing=timing,
    )
    notes = {
        "timing": f"timing='{timing}' (see analysis.regimes module notes)",
        "conflict_rule": f"conflict_rule='{conflict_rule}' for counties whose "
        "date_secure and year/month/day_secure disagree",
        "never_treated": "none: every county with a date was activated 2008-2013; "
        "counties without a date have a missing first treated period, not 0",
        "end": "missing: the source does not encode the 2014 end of the program",
        "periods": "first_treated_month = year * 12 + month - 1",
    }
    return Panel(
        name="regime_sc_county",
        frame=frame,
        key=["county_fips", "regime"],
        raw_sha256=_hashes(sc.SOURCE, sc.FILE, path),
        ledger=ledger,
        notes=notes,
    )


def build_287g_regime_table(
    path=None,
    *,
    timing: str = "activation",
    confidence: tuple[str, ...] = ("high",),
) -> Panel:
    """Return the 287(g) regime table (panel ``regime_287g_county``).

    Follows the source's advice: local agencies only, the maintainers' own
    confidence rating (``high`` by default), the earliest ``first_signed_best``
    per county and the exit from ``terminated``/``active_to``. Only counties
    named in an agreement appear: a county absent from the table had no
    agreement in this file, which :func:`assign_cohorts` codes as never treated
    only when asked (``unmatched="never"``).
    """
    ledger = Ledger("regime_287g_county")
    agreements = g287.load_287g_agreements(path, ledger=ledger)
    pairs = g287.agreement_counties(agreements, ledger=ledger)
    county = g287.county_287g_dates(pairs, confidence=confidence, ledger=ledger)
    county["source_file"] = f"{g287.SOURCE}/{g287.FILE}"
    frame = _regime_frame(county, regime="287g", timing=timing)

    hashes = _hashes(g287.SOURCE, g287.FILE, path)
    crosswalk = paths.project_root() / "data" / "crosswalks" / g287.STATE_CROSSWALK
    hashes[f"crosswalks/{g287.STATE_CROSSWALK}"] = sha256_of(crosswalk)
    notes = {
        "timing": f"timing='{timing}' (see analysis.regimes module notes)",
        "filter": f"jurisdiction_level == 'local' and confidence in {list(confidence)}",
        "dedup": "earliest first_signed_best per county across agencies and "
        "spellings; source_row is the agreement giving that date",
        "end": "missing while any kept agreement is still listed at the last "
        "roster capture (Aug 2017); else the latest active_to",
        "never_treated": "not listed: counties absent from the file",
        "window": "rosters run to Aug 2017; agreements signed later are mostly "
        "unresolved (no FIPS) and absent, so later periods under-count treatment",
        "source_row": "0-based data row of the CSV (file line = source_row + 2)",
    }
    return Panel(
        name="regime_287g_county",
        frame=frame,
        key=["county_fips", "regime"],
        raw_sha256=hashes,
        ledger=ledger,
        notes=notes,
    )


def assign_cohorts(
    panel_df: pd.DataFrame,
    regime_df: pd.DataFrame,
    unit_col: str = "county_fips",
    period_col: str = "year",
    *,
    periods: str = "year",
    gname_col: str = "gname",
    unmatched: str = "drop",
    ledger: Ledger | None = None,
) -> pd.DataFrame:
    """Attach the first treated period (``gname``, 0 = never) to a unit x period panel.

    Parameters
    ----------
    panel_df
        Unit x period table; ``unit_col`` holds 5-character county FIPS strings.
    regime_df
        One regime's table (e.g. ``build_sc_regime_table().frame``), one row
        per county.
    unit_col, period_col
        Columns of ``panel_df``; ``period_col`` is only carried along.
    periods
        ``"year"`` reads ``first_treated_year``, ``"month"``
        ``first_treated_month``; it must match the panel's period index.
    gname_col
        Name of the new column.
    unmatched
        Units with no regime row: ``"drop"`` them (ledgered, warned),
        code them ``"never"`` treated (``gname`` 0; ledgered, warned), or
        raise (``"error"``). Units whose regime row has an unknown date are
        always dropped and ledgered. Units treated at or before the panel's
        first period are kept: whether to drop them is the estimator's choice.
    ledger
        Ledger for the drops and recodes.
    """
    _check_option("periods", periods, PERIOD_UNITS)
    _check_option("unmatched", unmatched, UNMATCHED_RULES)
    ledger = ledger if ledger is not None else Ledger("cohorts")
    source = f"first_treated_{periods}"
    for frame, name, columns in [
        (panel_df, "panel_df", [unit_col, period_col]),
        (regime_df, "regime_df", ["county_fips", source]),
    ]:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} lacks column(s) {missing}.")
    if pd.api.types.is_numeric_dtype(panel_df[unit_col]):
        raise ValueError(
            f"panel_df[{unit_col!r}] is numeric; county FIPS must be 5-character "
            f"strings. Use df[{unit_col!r}].astype(str).str.zfill(5)."
        )
    repeated = regime_df["county_fips"].duplicated(keep=False)
    if repeated.any():
        units = sorted(regime_df.loc[repeated, "county_fips"].unique())
        raise ValueError(
            f"regime_df has {len(units)} counties on several rows, e.g. {units[:5]}; "
            "pass one regime's table with one row per county."
        )

    lookup = regime_df.set_index("county_fips")[source]
    out = panel_df.copy()
    known = out[unit_col].isin(lookup.index)
    out[gname_col] = out[unit_col].map(lookup).astype("Int64")

    if not known.all():
        units = sorted(out.loc[~known, unit_col].unique())
        if unmatched == "error":
            raise ValueError(
                f"{len(units)} units of panel_df have no regime row, e.g. "
                f"{units[:5]}; use unmatched='drop' or 'never'."
            )
        if unmatched == "never":
            out.loc[~known, gname_col] = 0
            ledger.recode(
                "assign cohorts", "unit with no regime row coded never treated",
                int((~known).sum()), len(out), examples=units,
            )
        else:
            out = ledger.drop(
                out, ~known, "drop units without a regime row",
                "unit with no regime row", id_columns=[unit_col],
            )
    unknown = out[gname_col].isna()
    out = ledger.drop(
        out, unknown, "drop units with unknown dates",
        "regime row without a treatment date", id_columns=[unit_col],
    )
    out[gname_col] = out[gname_col].astype("int64")
    return out


def _regime_frame(county: pd.DataFrame, *, regime: str, timing: str):
    """Code periods from ``start_date``/``end_date`` and validate the table."""
    frame = pd.DataFrame(
        {
            "county_fips": county["county_fips"],
            "regime": regime,
            "first_treated_year": first_treated_period(
                county["start_date"], "year", timing
            ),
            "first_treated_month": first_treated_period(
                county["start_date"], "month", timing
            ),
            "start_date": county["start_date"].astype("datetime64[s]"),
            "end_year": county["end_date"].dt.year.astype("Int64"),
            "end_month": month_index(county["end_date"]),
            "end_date": county["end_date"].astype("datetime64[s]"),
            "timing": timing,
            "source_file": county["source_file"],
            "source_row": county["source_row"].astype("Int64"),
            "note": county["note"],
        }
    ).reset_index(drop=True)
    return validate(frame, REGIME_SCHEMA, where=f"regime table {regime!r}")


def _hashes(source: str, file: str, path) -> dict[str, str]:
    """Return the sha256 of the file read: the manifest's, or the given copy's."""
    key = f"{source}/{file}"
    if path is None:
        return {key: source_hashes(source)[key]}
    return {key: sha256_of(path)}


def _check_option(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}.")
