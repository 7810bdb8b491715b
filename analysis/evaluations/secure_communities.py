"""Secure Communities activation and reported crime: sample and estimates.

The design is a staggered difference-in-differences on a unit x year panel.
Every US county was activated between October 2008 and January 2013, so no
unit is never treated. Units activated in the last cohort are therefore used
as the comparison group throughout, and the window ends the year before that
cohort's activation (the rule of R ``did`` when no unit is never treated).
Within that window they are untreated, so they enter with ``gname = 0``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.did import att_gt, bacon, pretrend_test, twfe
from analysis.io import Panel
from analysis.ledger import Ledger
from analysis.regimes import assign_cohorts


@dataclass
class SCDesign:
    """The pre-specified choices of one Secure Communities evaluation.

    Attributes
    ----------
    name
        Results folder name.
    unit_col
        Unit id column of the panel (an agency ORI or a county FIPS).
    outcomes
        Rate columns (per 100,000) to analyse, mapped to a plain label; each
        is analysed in logs, so effects are approximately proportional.
    first_year, last_year
        Requested window; the last year is cut to the year before the last
        cohort when no unit is never treated.
    full_year_column
        Column flagging a full year of reporting; unit-years flagged false
        are treated as missing outcomes (partial years understate crime).
    twfe_leads, twfe_lags
        TWFE event window; event times beyond it are binned into the ends.
    seed, n_boot
        Multiplier bootstrap for uniform bands.
    balanced
        True (default): one balanced sample, units with any missing outcome
        year dropped. False: every unit-year with an outcome is kept (an
        unbalanced panel; the robust estimator then uses R ``did``'s
        unbalanced-panel estimators, and the Goodman-Bacon decomposition,
        which needs a balanced panel, is skipped).
    weights_col
        Panel column of unit weights (e.g. ``population``); each unit is
        weighted by its value in the unit's first year of the sample, so the
        weight does not move with the outcome. None (default): unweighted.
    cluster_col
        Panel column to cluster standard errors on (e.g. ``county_fips`` or
        ``state_fips``), constant within unit. None (default): the unit (TWFE)
        and no cluster variable (robust estimator), as before.
    min_population
        Drop units whose population (column ``population``) in their first
        sample year is below this. None (default): no restriction.
    comparison_cohort
        Activation year of the comparison group. Units activated later are
        dropped, so this cohort is the last one and the window ends the
        year before it. None (default): the last cohort in the data.
    """

    name: str
    unit_col: str
    outcomes: dict[str, str]
    first_year: int
    last_year: int
    full_year_column: str | None = None
    twfe_leads: int | None = None
    twfe_lags: int | None = None
    seed: int = 20081027
    n_boot: int = 999
    alpha: float = 0.05
    notes: dict[str, str] = field(default_factory=dict)
    balanced: bool = True
    weights_col: str | None = None
    cluster_col: str | None = None
    min_population: float | None = None
    comparison_cohort: int | None = None


def prepare_sample(
    panel: Panel, regimes: Panel, design: SCDesign, outcome: str
) -> tuple[pd.DataFrame, Ledger]:
    """Build the estimation sample for one outcome (balanced unless told not).

    Returns the sample (columns ``unit``, ``year``, ``gname``,
    ``log_<outcome>`` plus the panel's columns, and ``weight`` when the
    design is weighted) and a ledger of every row removed on the way.
    """
    ledger = Ledger(f"{design.name}:{outcome}")
    frame = panel.frame.copy()

    outside = (frame["year"] < design.first_year) | (frame["year"] > design.last_year)
    frame = ledger.drop(
        frame, outside, "window", f"outside {design.first_year}-{design.last_year}",
        id_columns=[design.unit_col, "year"], warn=False,
    )
    # Units without a county (cities not linked to one) cannot be given an
    # activation date; named here rather than as units without a regime row.
    no_county = frame["county_fips"].isna()
    if no_county.any():
        frame = ledger.drop(
            frame, no_county, "county", "no county FIPS: activation date unknown",
            id_columns=[design.unit_col],
        )
    frame = assign_cohorts(
        frame, regimes.frame, unit_col="county_fips", period_col="year",
        unmatched="drop", ledger=ledger,
    )
    # The activation year as coded, kept beside gname (which recodes the
    # comparison cohort to 0 below).
    frame["cohort"] = frame["gname"]
    if design.comparison_cohort is not None:
        frame = ledger.drop(
            frame, frame["gname"] > design.comparison_cohort, "comparison cohort",
            f"activated after {design.comparison_cohort}, the plan's comparison "
            "cohort", id_columns=[design.unit_col],
        )

    # No never-treated units: the last cohort becomes the comparison group.
    last_cohort = int(frame["gname"].max())
    if (frame["gname"] == 0).sum() == 0:
        after = frame["year"] >= last_cohort
        frame = ledger.drop(
            frame, after, "comparison window",
            f"year >= {last_cohort}, when the last cohort (the comparison group) "
            "is treated",
            id_columns=[design.unit_col, "year"], warn=False,
        )
        last = frame["gname"] == last_cohort
        ledger.recode(
            "comparison group", f"cohort {last_cohort} untreated in window: gname 0",
            int(last.sum()), len(frame), warn=False,
        )
        frame.loc[last, "gname"] = 0

    # Log rates: partial-year reports and zero or missing rates are missing.
    rate = frame[outcome].astype("float64")
    unusable = rate.isna() | (rate <= 0)
    if design.full_year_column is not None:
        unusable |= frame[design.full_year_column].eq(False).fillna(False).astype(bool)
    ledger.recode(
        "outcome", "partial year, zero or missing rate set to missing",
        int(unusable.sum()), len(frame),
        examples=[
            f"{unit}/{year}"
            for unit, year in frame.loc[unusable, [design.unit_col, "year"]]
            .itertuples(index=False)
        ],
        warn=False,
    )
    logged = np.log(rate.where(~unusable, 1.0))
    frame[f"log_{outcome}"] = np.where(unusable, np.nan, logged)

    if not design.balanced:
        return _unbalanced(frame, design, outcome, ledger)

    # One balanced sample for every estimator: drop units with a missing year.
    # (Vectorised: a per-unit Python function is slow with 10,000 cities.)
    incomplete = (
        frame[f"log_{outcome}"].isna().groupby(frame[design.unit_col]).transform("any")
    )
    frame = ledger.drop(
        frame, incomplete, "balance: outcome", "unit with a missing outcome year",
        id_columns=[design.unit_col],
    )
    counts = frame.groupby(design.unit_col)["year"].transform("size")
    short = counts < counts.max()
    frame = ledger.drop(
        frame, short, "balance: years", "unit not observed in every window year",
        id_columns=[design.unit_col],
    )
    frame["unit"] = frame[design.unit_col]
    frame = _restrict_and_weight(frame, design, ledger)
    return frame.reset_index(drop=True), ledger


def _unbalanced(
    frame: pd.DataFrame, design: SCDesign, outcome: str, ledger: Ledger
) -> tuple[pd.DataFrame, Ledger]:
    """Keep every unit-year with an outcome (the all-units, unbalanced sample)."""
    frame = ledger.drop(
        frame, frame[f"log_{outcome}"].isna(), "unbalanced: outcome",
        "unit-year with a missing outcome (the unit's other years stay)",
        id_columns=[design.unit_col, "year"], warn=False,
    )
    frame["unit"] = frame[design.unit_col]
    frame = _restrict_and_weight(frame, design, ledger)
    return frame.reset_index(drop=True), ledger


def _restrict_and_weight(
    frame: pd.DataFrame, design: SCDesign, ledger: Ledger
) -> pd.DataFrame:
    """Apply the population floor and the unit weights, if the design has them."""
    if design.min_population is None and design.weights_col is None:
        return frame
    first = frame.sort_values("year").groupby("unit")
    if design.min_population is not None:
        base = first["population"].transform("first")
        frame = ledger.drop(
            frame, ~(base >= design.min_population), "population floor",
            f"population below {design.min_population:,.0f} in the unit's first "
            "sample year", id_columns=[design.unit_col],
        )
        first = frame.sort_values("year").groupby("unit")
    if design.weights_col is not None:
        weight = first[design.weights_col].transform("first").astype("float64")
        frame = ledger.drop(
            frame, ~(weight > 0), "weights",
            f"{design.weights_col} missing or 0 in the unit's first sample year",
            id_columns=[design.unit_col],
        )
        frame["weight"] = weight[frame.index]
    return frame


def estimate(sample: pd.DataFrame, design: SCDesign, outcome: str) -> dict:
    """Run the robust estimator, TWFE and the diagnostics on one sample.

    Returns a dict of result objects keyed by short names.
    """
    common = dict(yname=f"log_{outcome}", tname="year", idname="unit", gname="gname")
    weights = "weight" if design.weights_col is not None else None
    # Defaults reproduce the earlier plans exactly: no cluster variable in
    # the robust estimator and unit clusters in TWFE.
    extra = {}
    if weights is not None:
        extra["weightsname"] = weights
    cs_extra = dict(extra)
    if design.cluster_col is not None:
        cs_extra["clustervars"] = design.cluster_col
    if not design.balanced:
        cs_extra["allow_unbalanced_panel"] = True
    twfe_cluster = design.cluster_col or "unit"
    cs = att_gt(
        sample, **common, control_group="notyettreated", est_method="dr",
        bootstrap=True, n_boot=design.n_boot, seed=design.seed, alpha=design.alpha,
        **cs_extra,
    )
    results = {
        "cs_attgt": cs,
        "cs_dynamic": cs.aggregate("dynamic", na_rm=True),
        "cs_simple": cs.aggregate("simple", na_rm=True),
        "cs_group": cs.aggregate("group", na_rm=True),
        "twfe_es": twfe(
            sample, **common, event_study=True, clustervars=twfe_cluster,
            leads=design.twfe_leads, lags=design.twfe_lags, bin_endpoints=True,
            alpha=design.alpha, **extra,
        ),
        "twfe_static": twfe(sample, **common, clustervars=twfe_cluster,
                            alpha=design.alpha, **extra),
    }
    results["twfe_pretrend"] = pretrend_test(results["twfe_es"])
    results["cs_pretrend"] = pretrend_test(results["cs_dynamic"])
    # The decomposition holds for the unweighted TWFE on a balanced panel only.
    if design.balanced and weights is None:
        results["bacon"] = bacon(sample, **common)
    return results
