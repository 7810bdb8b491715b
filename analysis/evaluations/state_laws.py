"""State laws that limit or mandate cooperation, and crime: samples and estimates.

One design, run once per direction with the same plan structure
(``plans/state_laws_limits.toml``, ``plans/state_laws_mandates.toml``):

- states first treated by a law in the plan's direction, under a date rule
  (:mod:`analysis.state_regimes`), against comparison states;
- comparison states (``controls``): ``"clean"`` = no law in either direction
  in force within the window; ``"all"`` = every state without a law in this
  direction (states with a law in the other direction included);
- staggered estimates: Callaway-Sant'Anna with never-treated controls, TWFE
  with the wild cluster restricted bootstrap, and randomization inference
  over adoption dates (the two inferences built for few treated states);
- one named state's law by synthetic control and synthetic DiD with
  placebo-in-space inference.

Outcomes are logs of FBI state-estimate rates per 100,000.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import stats

from analysis.did import att_gt, pretrend_test, wild_bootstrap_twfe
from analysis.ledger import Ledger
from analysis.robustness.power import minimum_detectable_effect
from analysis.state_regimes import (
    first_treated_year,
    law_dates,
    state_first_treated,
    state_year_treatment,
)
from analysis.synth.placebo import placebo_in_space
from analysis.synth.ri import pretrend_randomization, staggered_randomization
from analysis.synth.sc import synthetic_control
from analysis.synth.sdid import synthdid_estimate

DIRECTIONS = {"limits": "limits_cooperation", "mandates": "mandates_cooperation"}
CONTROLS = ("clean", "all")


@dataclass
class LawsDesign:
    """The pre-specified choices of one direction's evaluation (see the plans)."""

    name: str
    direction: str
    first_year: int
    last_year: int
    outcomes: dict[str, str]
    primary: str
    rules: tuple[str, ...] = ("signed", "effective", "in_force")
    primary_rule: str = "effective"
    timing: str = "activation"
    confidence: tuple[str, ...] = ("high", "medium")
    policy_types: tuple[str, ...] = (
        "statute", "statute_amendment", "executive_directive", "court_ruling")
    exclude_states: tuple[str, ...] = ("DC",)
    controls: str = "clean"
    seed: int = 2017
    n_boot: int = 999
    n_wild: int = 9999
    n_ri: int = 1999
    alpha: float = 0.05
    single_state: dict = field(default_factory=dict)
    pretrend_window: int = 5

    def __post_init__(self):
        if self.direction not in DIRECTIONS.values():
            raise ValueError(f"direction must be one of {list(DIRECTIONS.values())}, "
                             f"got {self.direction!r}.")
        if self.controls not in CONTROLS:
            raise ValueError(f"controls must be one of {CONTROLS}, got "
                             f"{self.controls!r}.")

    @property
    def other_direction(self) -> str:
        return next(d for d in DIRECTIONS.values() if d != self.direction)


def design_from_plan(plan: dict) -> LawsDesign:
    """Build the design from a parsed plan (TOML)."""
    keys = ["name", "direction", "first_year", "last_year", "outcomes", "primary",
            "primary_rule", "timing", "controls", "seed", "n_boot", "n_wild", "n_ri",
            "alpha", "single_state"]
    missing = [k for k in keys if k not in plan]
    if missing:
        raise ValueError(f"plan {plan.get('name', '?')} lacks key(s) {missing}.")
    tuples = {k: tuple(plan[k]) for k in
              ["rules", "confidence", "policy_types", "exclude_states"] if k in plan}
    optional = {k: plan[k] for k in ["pretrend_window"] if k in plan}
    return LawsDesign(**{k: plan[k] for k in keys}, **tuples, **optional)


def coded_states(
    laws: pd.DataFrame, in_force: pd.DataFrame, design: LawsDesign, rule: str,
    direction: str, ledger: Ledger | None = None,
) -> pd.DataFrame:
    """First treated year of each state with a law in ``direction``."""
    table = law_dates(laws, rule, in_force)
    return state_first_treated(
        table, direction, timing=design.timing, confidence=design.confidence,
        policy_types=design.policy_types, ledger=ledger,
    )


def treatment_frame(
    state_year: pd.DataFrame, laws: pd.DataFrame, in_force: pd.DataFrame,
    design: LawsDesign, rule: str,
) -> tuple[pd.DataFrame, Ledger, pd.DataFrame]:
    """State-years of the window with ``gname`` and ``treated`` under one rule.

    Returns the frame, its ledger and the coded states of the plan's
    direction. With ``controls="clean"``, comparison states with a law in the
    other direction in force within the window (or of unknown timing) are
    dropped.
    """
    ledger = Ledger(f"{design.name}:{rule}")
    states = coded_states(laws, in_force, design, rule, design.direction, ledger)
    frame = state_year_treatment(
        state_year, states, first_year=design.first_year,
        last_year=design.last_year, exclude_states=design.exclude_states,
        ledger=ledger,
    )
    other = coded_states(laws, in_force, design, rule, design.other_direction)
    inside = other["status"].eq("treated") & other["first_treated_year"].le(
        design.last_year).fillna(False)
    other_states = set(other.loc[inside | other["status"].isin(
        ["unknown_date", "excluded_laws_only"]), "state_abbr"])
    if design.controls == "clean":
        mask = frame["state_abbr"].isin(other_states) & frame["gname"].eq(0)
        frame = ledger.drop(
            frame, mask, "controls: clean",
            "comparison state with a law in the other direction in the window",
            id_columns=["state_abbr"], warn=False,
        )
    return frame.reset_index(drop=True), ledger, states


def outcome_sample(frame: pd.DataFrame, outcome: str, ledger: Ledger) -> pd.DataFrame:
    """Add ``log_<outcome>`` and keep states observed in every window year."""
    frame = frame.copy()
    rate = frame[outcome].astype("float64")
    unusable = rate.isna() | (rate <= 0)
    ledger.recode("outcome", "zero or missing rate set to missing",
                  int(unusable.sum()), len(frame),
                  examples=frame.loc[unusable, "state_abbr"].tolist(), warn=False)
    frame[f"log_{outcome}"] = np.log(rate.where(~unusable))
    incomplete = frame.groupby("state_abbr")[f"log_{outcome}"].transform(
        lambda s: s.isna().any())
    frame = ledger.drop(frame, incomplete, "balance: outcome",
                        "state with a missing outcome year", id_columns=["state_abbr"])
    frame["unit"] = frame["state_abbr"]
    return frame.reset_index(drop=True)


def prepare_sample(
    state_year: pd.DataFrame, laws: pd.DataFrame, in_force: pd.DataFrame,
    design: LawsDesign, rule: str, outcome: str,
) -> tuple[pd.DataFrame, Ledger, pd.DataFrame]:
    """Balanced state-year sample for one outcome under one rule.

    Returns the sample (``unit`` = state postal code, ``year``, ``gname``,
    ``treated``, ``log_<outcome>``), its ledger, and the coded states of the
    plan's direction.
    """
    frame, ledger, states = treatment_frame(state_year, laws, in_force, design, rule)
    return outcome_sample(frame, outcome, ledger), ledger, states


def estimate_staggered(sample: pd.DataFrame, design: LawsDesign, outcome: str,
                       *, inference: bool = True, n_jobs: int | None = 1) -> dict:
    """Callaway-Sant'Anna, TWFE with the wild bootstrap, randomization inference.

    With ``inference=False`` only the analytic Callaway-Sant'Anna simple ATT
    is computed (used by the sensitivity checks). ``n_jobs``: worker
    processes for the randomization draws (:func:`analysis.robustness.run_tasks`).
    """
    y = f"log_{outcome}"
    common = dict(yname=y, tname="year", idname="unit", gname="gname")
    cs = att_gt(sample, **common, control_group="nevertreated", est_method="reg",
                bootstrap=inference, n_boot=design.n_boot, seed=design.seed,
                alpha=design.alpha)
    results = {"cs_simple": cs.aggregate("simple", na_rm=True)}
    if not inference:
        return results
    results["cs_dynamic"] = cs.aggregate("dynamic", na_rm=True)
    # The joint test over every pre-period has about 20 parameters and a
    # covariance estimated from 35-40 states (ill-conditioned); the test over
    # the last pretrend_window years is the one to read. Both are saved.
    results["pretrend_all"] = pretrend_test(results["cs_dynamic"])
    results["pretrend"] = pretrend_test(
        results["cs_dynamic"], pre_periods=list(range(-design.pretrend_window, 0)))
    # The same window by randomization inference, valid with few treated states.
    results["pretrend_ri"] = pretrend_randomization(
        sample, y, window=design.pretrend_window, n_permutations=design.n_ri,
        seed=design.seed, n_jobs=n_jobs)
    results["wild"] = wild_bootstrap_twfe(
        sample, **common, clustervars="unit", weights="webb", n_boot=design.n_wild,
        seed=design.seed, alpha=design.alpha,
    )
    # The equivalence bounds of the TWFE row invert the same bootstrap at 90%:
    # its CR1 standard error is too small with a few treated states.
    results["wild90"] = wild_bootstrap_twfe(
        sample, **common, clustervars="unit", weights="webb", n_boot=design.n_wild,
        seed=design.seed, alpha=0.10,
    )
    results["ri"], intervals = staggered_randomization(
        sample, y, n_permutations=design.n_ri, seed=design.seed,
        alpha=design.alpha, levels=(0.10,), n_jobs=n_jobs,
    )
    results["ri90"] = intervals[0.10]
    return results


def ruled_out(att: float, se: float, alpha: float = 0.05) -> dict:
    """Minimum detectable effect and the 90% equivalence bounds.

    ``mde_80``: the effect a two-sided test of size ``alpha`` detects with
    80% power (:func:`analysis.robustness.power.minimum_detectable_effect`).
    ``equiv_lower``/``equiv_upper``: the 90% interval; effects outside it are
    rejected by two one-sided 5% tests, i.e. the data rule them out.
    """
    z90 = stats.norm.ppf(0.95)
    return {"mde_80": minimum_detectable_effect(se, alpha=alpha),
            "equiv_lower": att - z90 * se, "equiv_upper": att + z90 * se}


def summary_rows(results: dict, outcome: str, label: str, sample: pd.DataFrame,
                 rule: str) -> list[dict]:
    """One row per estimator: estimate, interval, p-value, MDE and bounds."""
    treated = sample.loc[sample["gname"] > 0, "unit"].nunique()
    base = {"outcome": outcome, "label": label, "rule": rule,
            "states": sample["unit"].nunique(), "treated_states": treated,
            "years": f"{sample['year'].min()}-{sample['year'].max()}",
            # Joint Wald tests that the Callaway-Sant'Anna pre-period
            # estimates are zero: the last years, and all (same in each row).
            "pretrend_p": results["pretrend"].pvalue,
            "pretrend_p_all": results["pretrend_all"].pvalue,
            "pretrend_p_ri": float(results["pretrend_ri"].p_values.iloc[0])}
    simple, wild, ri = (results[k] for k in ["cs_simple", "wild", "ri"])
    ri90 = results["ri90"]
    z = stats.norm.ppf(0.975)
    p_cs = 2 * stats.norm.sf(abs(simple.overall_att / simple.overall_se))
    return [
        {**base, "estimator": "Callaway-Sant'Anna (bootstrap se)",
         "att": simple.overall_att, "se": simple.overall_se,
         "ci_lower": simple.overall_att - z * simple.overall_se,
         "ci_upper": simple.overall_att + z * simple.overall_se, "p_value": p_cs,
         **ruled_out(simple.overall_att, simple.overall_se)},
        {**base, "estimator": "Callaway-Sant'Anna, randomization inference",
         "att": ri.statistic, "se": np.nan, "ci_lower": ri.ci_lower,
         "ci_upper": ri.ci_upper, "p_value": ri.p_value, "mde_80": np.nan,
         "equiv_lower": ri90[0], "equiv_upper": ri90[1]},
        {**base, "estimator": "TWFE, wild cluster bootstrap (Webb)",
         "att": wild.estimate, "se": wild.se, "ci_lower": wild.ci_lower,
         "ci_upper": wild.ci_upper, "p_value": wild.p_value,
         # No MDE: the bootstrap gives no standard error to base it on (the
         # CR1 se in `se` understates the spread with few treated states).
         "mde_80": np.nan, "equiv_lower": results["wild90"].ci_lower,
         "equiv_upper": results["wild90"].ci_upper},
    ]


def sensitivity(state_year, laws, in_force, design: LawsDesign) -> pd.DataFrame:
    """Simple ATT under each variation of the plan, every outcome.

    Variations: each date rule, first-full-year timing, high confidence only,
    statutes only, comparison states ``"all"``, and, for the primary outcome
    and rule, leaving out each treated state in turn.
    """
    variants = [(f"rule: {rule}", rule, design) for rule in design.rules]
    variants += [
        ("timing: first_full", design.primary_rule,
         replace(design, timing="first_full")),
        ("confidence: high only", design.primary_rule,
         replace(design, confidence=("high",))),
        ("statutes only", design.primary_rule,
         replace(design, policy_types=("statute", "statute_amendment"))),
        ("controls: all", design.primary_rule, replace(design, controls="all")),
    ]
    frames = [(check, variant, treatment_frame(state_year, laws, in_force, variant,
                                                rule)[0])
              for check, rule, variant in variants]
    base, _, _ = treatment_frame(state_year, laws, in_force, design,
                                 design.primary_rule)
    rows = []
    for outcome in design.outcomes:
        for check, variant, frame in frames:
            sample = outcome_sample(frame, outcome, Ledger("sensitivity"))
            rows.append(_sensitivity_row(check, outcome, sample, variant))
        if outcome != design.primary:
            continue
        sample = outcome_sample(base, outcome, Ledger("sensitivity"))
        for state in sorted(sample.loc[sample["gname"] > 0, "unit"].unique()):
            kept = sample[sample["unit"] != state]
            rows.append(_sensitivity_row(f"leave out {state}", outcome, kept, design))
    return pd.DataFrame(rows)


def _sensitivity_row(check, outcome, sample, design) -> dict:
    treated = sample.loc[sample["gname"] > 0, "unit"].nunique()
    row = {"check": check, "outcome": outcome, "states": sample["unit"].nunique(),
           "treated_states": treated}
    if treated == 0:
        return {**row, "att": np.nan, "se": np.nan, "ci_lower": np.nan,
                "ci_upper": np.nan}
    simple = estimate_staggered(sample, design, outcome, inference=False)["cs_simple"]
    lower, upper = simple.overall_ci
    return {**row, "att": simple.overall_att, "se": simple.overall_se,
            "ci_lower": lower, "ci_upper": upper}


def single_state_matrix(state_year, laws, in_force, design: LawsDesign, rule: str,
                        outcome: str, coded=None):
    """``(Y, N0, T0, units, periods, ledger, start)`` for the plan's single state.

    Donors: states with no law in either direction in force within the
    window (never-treated in the clean sample). The treated state's first
    year is the named law's year under ``rule``; its earlier laws stay in
    its pre-period (stated in the report). ``coded``: the clean-control
    :func:`treatment_frame` output for ``rule``, when already computed.
    """
    spec = design.single_state
    if coded is None:
        coded = treatment_frame(state_year, laws, in_force,
                                replace(design, controls="clean"), rule)
    frame, coding_ledger, _ = coded
    ledger = Ledger(coding_ledger.dataset).extend(coding_ledger)
    sample = outcome_sample(frame, outcome, ledger)
    table = law_dates(laws, rule, in_force)
    law = table[table["law_id"] == spec["law_id"]]
    if law.empty or law["state_abbr"].iloc[0] != spec["state"]:
        raise ValueError(
            f"plan {design.name}: single_state law_id {spec['law_id']!r} is not a "
            f"law of {spec['state']!r} in the law table."
        )
    start = int(first_treated_year(law, design.timing).iloc[0])
    donors = sample[sample["gname"] == 0]
    treated_rows = state_year[(state_year["state_abbr"] == spec["state"])
                              & state_year["year"].between(design.first_year,
                                                           design.last_year)]
    y = f"log_{outcome}"
    wide = donors.pivot(index="unit", columns="year", values=y)
    treated_path = np.log(treated_rows.set_index("year")[outcome].astype(float))
    wide.loc[spec["state"]] = treated_path.reindex(wide.columns).to_numpy()
    if wide.isna().any().any():
        raise ValueError(f"single state {spec['state']}: missing {outcome} years.")
    T0 = int((wide.columns < start).sum())
    return (wide.to_numpy(float), len(wide) - 1, T0, list(wide.index),
            list(wide.columns), ledger, start)


def estimate_single_state(Y, N0, T0, units, periods, *, placebo: tuple[str, ...],
                          alpha: float, n_jobs: int | None = 1) -> dict:
    """SC (exact weights), SDID and DiD; placebo-in-space for the named methods.

    Placebo runs refit the estimator once per donor: cheap for SC and DiD,
    about a second for SDID (Frank-Wolfe to 10,000 steps), so the plans'
    runner asks for SDID placebos on the primary outcome only.
    """
    estimators = {
        "sc": lambda Y_, n0, t0: synthetic_control(Y_, n0, t0),
        "sdid": lambda Y_, n0, t0: synthdid_estimate(Y_, n0, t0, method="sdid"),
        "did": lambda Y_, n0, t0: synthdid_estimate(Y_, n0, t0, method="did"),
    }
    out = {}
    for method, estimator in estimators.items():
        fit = (synthetic_control(Y, N0, T0, units=units, periods=periods)
               if method == "sc" else
               synthdid_estimate(Y, N0, T0, method=method, units=units,
                                 periods=periods))
        out[method] = {"fit": fit}
        if method in placebo:
            out[method]["placebo"] = placebo_in_space(
                Y, N0, T0, estimator, units=units, alpha=alpha, n_jobs=n_jobs)
    return out
