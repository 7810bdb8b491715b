"""Robustness, placebo, sensitivity and multiplicity for one Secure
Communities plan.

Every choice comes from the plan's ``[robustness]`` table (read by
:func:`read_settings`); :func:`analysis.evaluate.run_sc` calls these
functions and saves what they return. The estimation sample of each
specification is built by the same
:func:`~analysis.evaluations.secure_communities.prepare_sample` as the main
estimate, with only the varied choice changed.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis.did import att_gt, honest_did, pretrend_test
from analysis.evaluations.secure_communities import SCDesign, prepare_sample
from analysis.robustness.diagnostics import bacon_shares, slope_for_power
from analysis.robustness.estimates import (
    SUPPORTED_CONTROLS,
    WEIGHTED,
    fit_overall,
)
from analysis.robustness.fast_att import SimpleATT
from analysis.robustness.placebo import placebo_tests
from analysis.robustness.multiplicity import multiplicity_table
from analysis.robustness.randomization import randomization_inference
from analysis.robustness.spec_curve import (
    specification_curve,
    specification_grid,
    summarise_curve,
)

__all__ = ["SCRobustness", "honest_bounds", "placebo", "randomization",
           "read_settings", "save_robustness", "spec_curve"]

TRANSFORMS = ("log_rate", "rate", "count")
WEIGHTINGS = ("none", "population")
COVERAGES = ("full_year", "all")
SPEC_AXES = ["estimator", "control_group", "transform", "weighting", "coverage",
             "first_year"]
WEIGHT_COLUMN = "population_weight"


@dataclass
class SCRobustness:
    """The robustness choices of one plan (its ``[robustness]`` table).

    Attributes
    ----------
    n_permutations
        Random re-assignments of the activation cohorts.
    strata
        Column within which cohorts are permuted (None: across all units).
    placebo_shifts
        Fake leads (years) of the placebo dates.
    honest_mbar, honest_event_window
        Relative-magnitude bounds and the event times used by HonestDiD.
    spec_axes
        Values of each specification-curve axis (see :data:`SPEC_AXES`).
    counts, exposure
        Count column of each outcome and the exposure (population) column,
        for the Poisson specifications and population weights.
    """

    n_permutations: int
    strata: str | None
    placebo_shifts: list[int]
    honest_mbar: list[float]
    honest_event_window: tuple[int, int]
    spec_axes: dict
    counts: dict[str, str]
    exposure: str
    spec_curve_outcomes: list[str] = field(default_factory=list)


def read_settings(plan: dict) -> SCRobustness:
    """Check and return the plan's ``[robustness]`` table."""
    section = plan.get("robustness")
    if section is None:
        raise ValueError(f"plan {plan.get('name')!r} has no [robustness] table; "
                         "add one (see plans/sc_large_agencies.toml).")
    curve = section["spec_curve"]
    axes = {
        "estimator": curve["estimators"], "control_group": curve["control_groups"],
        "transform": curve["transforms"], "weighting": curve["weighting"],
        "coverage": curve["coverage"], "first_year": curve["first_years"],
    }
    for name, allowed in (("transform", TRANSFORMS), ("weighting", WEIGHTINGS),
                          ("coverage", COVERAGES)):
        unknown = [v for v in axes[name] if v not in allowed]
        if unknown:
            raise ValueError(f"plan {plan['name']!r}: spec_curve {name} values "
                             f"{unknown} are not supported; use {allowed}.")
    if "all" in axes["coverage"] and not plan.get("full_year_column"):
        raise ValueError(f"plan {plan['name']!r}: coverage 'all' needs a "
                         "full_year_column to relax; remove it from the axis.")
    outcomes = curve.get("outcomes", list(plan["outcomes"]))
    counts = section["counts"]
    missing = [o for o in plan["outcomes"] if o not in counts]
    if missing:
        raise ValueError(f"plan {plan['name']!r}: [robustness.counts] lacks "
                         f"{missing}.")
    return SCRobustness(
        n_permutations=int(section["n_permutations"]),
        strata=section.get("strata") or None,
        placebo_shifts=[int(s) for s in section["placebo_shifts"]],
        honest_mbar=[float(m) for m in section["honest_mbar"]],
        honest_event_window=tuple(section["honest_event_window"]),
        spec_axes=axes, counts=counts, exposure=section["exposure"],
        spec_curve_outcomes=outcomes,
    )


def _valid(spec: dict) -> bool:
    estimator = spec["estimator"]
    if (estimator == "poisson_etwfe") != (spec["transform"] == "count"):
        return False
    if spec["control_group"] not in SUPPORTED_CONTROLS[estimator]:
        return False
    return spec["weighting"] == "none" or estimator in WEIGHTED


def _primary(spec: dict, design: SCDesign) -> bool:
    return (spec["estimator"] == "cs_dr" and spec["control_group"] == "notyettreated"
            and spec["transform"] == "log_rate" and spec["weighting"] == "none"
            and spec["coverage"] == "full_year"
            and spec["first_year"] == design.first_year)


def spec_curve(panel, regimes, design: SCDesign, outcome: str,
               settings: SCRobustness, **runner) -> pd.DataFrame:
    """Estimate every valid specification of one outcome.

    Returns one row per specification: the axes, ``primary`` (the plan's
    own choices), the estimator's overall effect (see
    :mod:`analysis.robustness.estimates`), ``scale``, and
    ``relative_estimate``/``relative_ci_lower``/``relative_ci_upper``: log
    and Poisson estimates as they are (log points), rate-level estimates
    divided by the treated units' mean pre-treatment rate, so every row is
    an approximate proportional change. ``runner`` goes to
    :func:`~analysis.robustness.parallel.run_tasks`.
    """
    grid = specification_grid(settings.spec_axes, valid=_valid)
    grid["primary"] = [_primary(spec, design) for spec in grid.to_dict("records")]
    samples, notes = {}, {}
    for coverage, first_year in grid[["coverage", "first_year"]].drop_duplicates(
            ).itertuples(index=False):
        variant = dataclasses.replace(
            design, first_year=int(first_year),
            full_year_column=design.full_year_column if coverage == "full_year"
            else None)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sample, _ = prepare_sample(panel, regimes, variant, outcome)
        samples[(coverage, int(first_year))] = _with_weights(sample, settings.exposure)
        notes[(coverage, int(first_year))] = sorted({str(w.message) for w in caught})

    count = settings.counts[outcome]
    run = _SpecRun(samples, outcome, count, settings.exposure, design.alpha)
    curve = specification_curve(grid.drop(columns="primary"), run, **runner,
                                description=f"spec curve {outcome}")
    curve.insert(len(SPEC_AXES) + 1, "primary", grid["primary"].to_numpy())
    keys = list(zip(curve["coverage"], curve["first_year"].astype(int)))
    # "nevertreated" compares with the last cohort only: say how many units.
    comparison = {key: int((sample.drop_duplicates("unit")["gname"] == 0).sum())
                  for key, sample in samples.items()}
    curve["comparison_units"] = [comparison[key] for key in keys]
    curve["sample_warnings"] = [" | ".join(notes[key]) for key in keys]
    return curve


class _SpecRun:
    """One specification on its sample (picklable for the parallel runner)."""

    def __init__(self, samples, outcome, count, exposure, alpha):
        self.samples, self.outcome, self.count = samples, outcome, count
        self.exposure, self.alpha = exposure, alpha

    def __call__(self, spec: dict) -> dict:
        sample = self.samples[(spec["coverage"], int(spec["first_year"]))]
        yname = {"log_rate": f"log_{self.outcome}", "rate": self.outcome,
                 "count": self.count}[spec["transform"]]
        weights = WEIGHT_COLUMN if spec["weighting"] == "population" else None
        row = fit_overall(
            sample, estimator=spec["estimator"], yname=yname, tname="year",
            idname="unit", gname="gname", control_group=spec["control_group"],
            weightsname=weights,
            exposure=self.exposure if spec["transform"] == "count" else None,
            alpha=self.alpha,
        )
        if spec["transform"] == "rate":
            baseline = _pre_treatment_mean(sample, self.outcome, weights)
            row["scale"] = "rate per 100,000"
        else:
            baseline = 1.0
            row["scale"] = "log points"
        row["baseline"] = baseline
        for name in ("estimate", "ci_lower", "ci_upper"):
            row[f"relative_{name}"] = row[name] / baseline
        return row


def _with_weights(sample: pd.DataFrame, exposure: str) -> pd.DataFrame:
    # Population in the unit's first window year: estimators need weights
    # that are constant within a unit.
    first = sample.sort_values("year").groupby("unit")[exposure].first()
    return sample.assign(**{WEIGHT_COLUMN: sample["unit"].map(first)})


def _pre_treatment_mean(sample, outcome, weights) -> float:
    rows = sample[(sample["gname"] > 0) & (sample["year"] < sample["gname"])]
    if weights is None:
        return float(rows[outcome].mean())
    return float(np.average(rows[outcome], weights=rows[weights]))


def randomization(samples: dict[str, pd.DataFrame], design: SCDesign,
                  settings: SCRobustness, **runner):
    """Randomisation inference for every outcome from the same re-assignments.

    The statistic is the plan's primary estimate (Callaway-Sant'Anna, doubly
    robust, not-yet-treated comparisons, simple aggregation) of each
    outcome, computed by :class:`~analysis.robustness.fast_att.SimpleATT`
    (equal to ``att_gt`` without covariates, tested), so the draws are joint
    across outcomes (for Romano-Wolf). Outcome samples may hold different
    units (each is balanced on its own outcome): the cohorts are permuted
    over the union of units, and each outcome is re-estimated on its own
    rows. Seeded from the plan's ``seed``.
    """
    frame = None
    for outcome, sample in samples.items():
        part = sample[["unit", "year", "gname", f"log_{outcome}"]]
        frame = part if frame is None else frame.merge(
            part, on=["unit", "year", "gname"], how="outer", validate="1:1")
    if settings.strata is not None:
        frame = frame.merge(
            pd.concat(samples.values())[["unit", settings.strata]].drop_duplicates(),
            on="unit", how="left", validate="m:1")
    statistic = SimpleATT(frame, [f"log_{outcome}" for outcome in samples],
                          tname="year", idname="unit", control_group="notyettreated")
    result = randomization_inference(
        frame, statistic, idname="unit", gname="gname", strata=settings.strata,
        n_permutations=settings.n_permutations, seed=design.seed, by_unit=True,
        names=list(samples), **runner)
    return result


def placebo(sample: pd.DataFrame, design: SCDesign, outcome: str,
            settings: SCRobustness) -> pd.DataFrame:
    """The primary estimator on fake activation dates, one row per shift
    (pre-treatment rows only, an unbalanced panel)."""
    def estimator(frame):
        return fit_overall(frame, estimator="cs_dr", yname=f"log_{outcome}",
                           tname="year", idname="unit", gname="gname",
                           alpha=design.alpha, allow_unbalanced_panel=True)

    columns = ["unit", "year", "gname", f"log_{outcome}"]
    return placebo_tests(sample[columns], estimator, idname="unit", tname="year",
                         gname="gname", shifts=settings.placebo_shifts)


def honest_bounds(sample: pd.DataFrame, design: SCDesign, outcome: str,
                  settings: SCRobustness) -> dict:
    """HonestDiD relative-magnitude bounds, the pre-trend test and its power.

    The event study is Callaway-Sant'Anna with a universal base period
    (every estimate relative to the year before activation), restricted to
    the plan's ``honest_event_window``; the target is the mean of its
    post-activation event times.

    Returns
    -------
    dict
        ``event_study`` (the aggregate result), ``honest`` (HonestResult),
        ``pretrend`` (PretrendTest), ``power`` (a table of the test's power
        against linear trends) and ``grid_edge`` (True where a bound hit the
        edge of HonestDiD's theta grid, so the interval is at least that
        wide).
    """
    low, high = settings.honest_event_window
    result = att_gt(sample, yname=f"log_{outcome}", tname="year", idname="unit",
                    gname="gname", control_group="notyettreated", est_method="dr",
                    base_period="universal", alpha=design.alpha)
    dynamic = result.aggregate("dynamic", min_e=low, max_e=high, na_rm=True)
    post = int((dynamic.tidy()["event_time"] >= 0).sum())
    honest = honest_did(dynamic, method="relative_magnitude",
                        mbar_grid=settings.honest_mbar,
                        l_vec=np.full(post, 1 / post), alpha=design.alpha,
                        seed=design.seed)
    pretrend = pretrend_test(dynamic)
    power = pd.DataFrame([
        {"power": p, "slope_per_year": slope_for_power(dynamic, p, alpha=design.alpha)}
        for p in (0.5, 0.8)])
    # HonestDiD inverts its test on thetas within +-20 standard errors of the
    # target (around zero); a bound there means "at least this wide".
    _, original_low, original_high = honest.original
    edge = 20 * (original_high - original_low) / 2 / stats.norm.ppf(
        1 - design.alpha / 2)
    tolerance = 1e-9 * edge
    grid_edge = ((honest.table["lb"] <= -edge + tolerance)
                 | (honest.table["ub"] >= edge - tolerance)).tolist()
    return {"event_study": dynamic, "honest": honest, "pretrend": pretrend,
            "power": power, "grid_edge": grid_edge}


def save_robustness(plan: dict, design: SCDesign, panel, regimes,
                    samples: dict[str, pd.DataFrame], estimates: dict,
                    provenance: dict, *, save, **runner) -> dict:
    """Run every robustness step of one plan and save the results.

    Saved names (``results/<plan name>/<name>.csv`` and ``.json``):

    - ``<outcome>__spec_curve``: one row per specification (axes,
      ``primary``, estimate, se, ci, p_value, n_units, n_obs,
      ``comparison_units``, scale, relative_* columns, error, warnings);
      the record holds ``summary`` (range and sign shares of
      ``relative_estimate``) and the axes.
    - ``<outcome>__randomization``: the outcome's permutation draws
      (column ``draw``); the record holds ``observed``, ``p_value``,
      ``method``, ``convention``, ``n_draws``, ``n_assignments``, ``seed``.
    - ``randomization``: one row per outcome (observed, p-value, draws'
      mean, sd and quantiles).
    - ``<outcome>__placebo``: one row per fake lead (shift, estimate, se,
      ci, p_value, rows, treated_units, warnings).
    - ``<outcome>__bacon_shares``: Goodman-Bacon weight by comparison type
      with ``forbidden``; the record holds ``forbidden_weight``.
    - ``<outcome>__cs_pretrend``: the Wald pre-trend test of the main
      (varying-base) Callaway-Sant'Anna event study.
    - ``<primary>__honest``: HonestDiD relative-magnitude bounds (Mbar, lb,
      ub, method, ``grid_edge``); the record holds ``breakdown``,
      ``original``, ``l_vec``, ``event_window`` and the pre-trend test of the
      universal-base event study with ``power`` (slopes detected with 50%
      and 80% probability).
    - ``<primary>__honest_event_study``: that universal-base event study.
    - ``multiplicity``: one row per outcome with ``p_analytic`` (the main
      estimate's bootstrap standard error, normal), ``p_analytic_holm``,
      ``p_randomization``, ``p_randomization_holm`` and ``p_romano_wolf``
      (step-down over the joint randomisation draws).

    Parameters
    ----------
    save
        ``save(name, table, record)``, e.g. a partial of
        :func:`analysis.store.save_result`.
    runner
        ``scheduler``, ``n_jobs``, ``progress`` for the parallel runner.

    Returns
    -------
    dict
        The randomisation result and the multiplicity table.
    """
    settings = read_settings(plan)
    common = {"plan": plan, "raw_sha256": provenance}

    for outcome in settings.spec_curve_outcomes:
        curve = spec_curve(panel, regimes, design, outcome, settings, **runner)
        save(f"{outcome}__spec_curve", curve, {
            "outcome": outcome, "axes": settings.spec_axes,
            "summary": summarise_curve(curve, estimate="relative_estimate",
                                       alpha=design.alpha), **common})

    result = randomization(samples, design, settings, **runner)
    for outcome in samples:
        save(f"{outcome}__randomization",
             pd.DataFrame({"draw": result.draws[outcome].to_numpy()}),
             {"outcome": outcome, "observed": result.observed[outcome],
              "p_value": result.p_values[outcome], "method": result.method,
              "convention": result.convention, "n_draws": len(result.draws),
              "n_assignments": str(result.n_assignments), "seed": result.seed,
              "strata": result.strata, "n_units": result.n_units,
              "statistic": "Callaway-Sant'Anna simple ATT (dr, not yet treated)",
              **common})
    save("randomization", result.tidy(),
         {"summary": result.summary(), "convention": result.convention, **common})

    for outcome, sample in samples.items():
        save(f"{outcome}__placebo", placebo(sample, design, outcome, settings),
             {"outcome": outcome, "shifts": settings.placebo_shifts, **common})
        bacon = estimates[outcome]["bacon"]
        save(f"{outcome}__bacon_shares", bacon_shares(bacon),
             {"outcome": outcome, "forbidden_weight": bacon.forbidden_weight,
              "twfe_estimate": bacon.twfe_estimate, **common})
        test = estimates[outcome]["cs_pretrend"]
        save(f"{outcome}__cs_pretrend", _pretrend_table(test),
             {"outcome": outcome, "summary": repr(test), **common})

    primary = plan["primary"]
    sensitivity = honest_bounds(samples[primary], design, primary, settings)
    honest = sensitivity["honest"]
    save(f"{primary}__honest", honest.tidy().assign(
        grid_edge=[False] + sensitivity["grid_edge"]),
        {"outcome": primary, "summary": repr(honest), "breakdown": honest.breakdown,
         "original": list(honest.original), "l_vec": honest.l_vec.tolist(),
         "event_window": list(settings.honest_event_window),
         "pretrend": {"statistic": sensitivity["pretrend"].statistic,
                      "df": sensitivity["pretrend"].df,
                      "p_value": sensitivity["pretrend"].pvalue},
         "power": sensitivity["power"].to_dict("records"), **common})
    event_study = sensitivity["event_study"]
    save(f"{primary}__honest_event_study", event_study.tidy(),
         {"outcome": primary, "label": event_study.label, "band": event_study.band,
          "reference_period": event_study.reference_period, **common})

    analytic = {o: 2 * stats.norm.sf(abs(e["cs_simple"].overall_att
                                         / e["cs_simple"].overall_se))
                for o, e in estimates.items()}
    table = multiplicity_table(result, analytic_p=analytic)
    save("multiplicity", table, {
        "method": ("Holm on the analytic and on the randomisation p-values; "
                   "Romano-Wolf step-down on the joint randomisation draws, "
                   "studentized by each outcome's draw standard deviation"),
        "family": list(samples), **common})
    return {"randomization": result, "multiplicity": table}


def _pretrend_table(test) -> pd.DataFrame:
    return pd.DataFrame([{"statistic": test.statistic, "df": test.df,
                          "p_value": test.pvalue,
                          "pre_periods": " ".join(map(str, test.pre_periods))}])
