"""Run every evaluation and save its results: ``python -m analysis.evaluate``.

Reads the panels in ``data/processed/`` and the plans in ``plans/``, runs the
estimators, and writes tidy tables and JSON records under ``results/``. The
report notebooks read only these files: they never re-estimate.
"""

from __future__ import annotations

import argparse
import functools
import platform
import time
import warnings
from importlib import metadata

import pandas as pd
from scipy import stats

from analysis.errors import AnalysisWarning
from analysis.evaluations import city_tables, descriptive, first_stage, g287
from analysis.evaluations.sc_robustness import save_robustness
from analysis.evaluations.secure_communities import (
    SCDesign,
    estimate,
    prepare_sample,
)
from analysis.evaluations.state_laws_run import run_state_laws
from analysis.io import read_panel
from analysis.manifest import source_hashes
from analysis.plans import load_plan
from analysis.robustness.multiplicity import holm
from analysis.store import save_result

SC_PLANS = ["sc_large_agencies", "sc_ny_counties", "sc_national_cities"]
# Design options a plan may set; absent keys keep SCDesign's defaults.
OPTIONAL_DESIGN_KEYS = ["balanced", "weights_col", "cluster_col", "min_population",
                        "comparison_cohort"]
FIRST_STAGE_PLAN = "sc_first_stage_pa"
G287_PLAN = "g287_large_agencies"
# State laws in both directions: one plan per direction, same structure.
LAW_PLANS = ["state_laws_limits", "state_laws_mandates"]
PACKAGES = ["numpy", "pandas", "scipy", "statsmodels", "linearmodels", "matplotlib",
            "pyarrow", "pandera"]


def read_plan(name: str) -> dict:
    """Read ``plans/<name>.toml``, checked against the plan schema."""
    return load_plan(name)


def environment() -> dict:
    """Python and package versions, for the reproducibility appendix."""
    versions = {"python": platform.python_version()}
    for package in PACKAGES:
        versions[package] = metadata.version(package)
    return versions


def _record(result, **extra) -> dict:
    """The JSON record of one estimate: design, overall effect, inference."""
    record = {
        "label": getattr(result, "label", ""),
        "band": getattr(result, "band", "pointwise"),
        "reference_period": getattr(result, "reference_period", None),
        "summary": repr(result),
        **extra,
    }
    for name in ["overall_att", "overall_se", "n_units", "n_clusters", "n_obs"]:
        value = getattr(result, name, None)
        if value is not None and not callable(value):
            record[name] = value
    if hasattr(result, "overall_ci"):
        record["overall_ci"] = list(result.overall_ci)
    return record


def sc_design(plan: dict) -> SCDesign:
    """The :class:`SCDesign` of a Secure Communities or 287(g) plan."""
    return SCDesign(
        name=plan["name"], unit_col=plan["unit_col"], outcomes=plan["outcomes"],
        first_year=plan["first_year"], last_year=plan["last_year"],
        full_year_column=plan.get("full_year_column"),
        twfe_leads=plan.get("twfe_leads"), twfe_lags=plan.get("twfe_lags"),
        seed=plan["seed"], n_boot=plan["n_boot"], alpha=plan["alpha"],
        **{key: plan[key] for key in OPTIONAL_DESIGN_KEYS if key in plan},
    )


def save_outcome(name: str, outcome: str, label: str, sample: pd.DataFrame,
                 ledger, results: dict, common: dict, **extra) -> list[dict]:
    """Save one outcome's sample, estimates and diagnostics under ``name``.

    Returns the two summary rows (robust estimator and static TWFE); ``extra``
    columns (e.g. ``treated_units``) are added to both.
    """
    prefix = f"{outcome}__"
    columns = ["unit", "county_fips", "year", "cohort", "gname", f"log_{outcome}"]
    save_result(name, prefix + "sample",
                sample[columns + (["weight"] if "weight" in sample else [])],
                {"ledger": ledger.to_frame().to_dict("records"), **common})
    for key in ["cs_attgt", "cs_dynamic", "cs_group", "cs_simple", "twfe_es",
                "twfe_static"]:
        save_result(name, prefix + key, results[key].tidy(),
                    _record(results[key], **common))
    if "bacon" in results:
        bacon = results["bacon"]
        save_result(name, prefix + "bacon", bacon.comparisons,
                    {"summary": repr(bacon), "twfe_estimate": bacon.twfe_estimate,
                     "forbidden_weight": bacon.forbidden_weight, **common})
    pretrend = results["twfe_pretrend"]
    pretrend_table = pd.DataFrame(
        [{"statistic": pretrend.statistic, "df": pretrend.df,
          "pvalue": pretrend.pvalue,
          "pre_periods": " ".join(map(str, pretrend.pre_periods))}]
    )
    save_result(name, prefix + "twfe_pretrend", pretrend_table,
                {"summary": repr(pretrend), "statistic": pretrend.statistic,
                 "df": pretrend.df, "p_value": pretrend.pvalue, **common})

    simple, static = results["cs_simple"], results["twfe_static"]
    static_row = static.tidy().iloc[0]
    counts = {"units": sample["unit"].nunique(), "years": sample["year"].nunique(),
              **extra}
    return [
        {"outcome": outcome, "label": label, "estimator": simple.label,
         "att": simple.overall_att, "se": simple.overall_se,
         "ci_lower": simple.overall_ci[0], "ci_upper": simple.overall_ci[1],
         **counts, "pretrend_p": results["cs_pretrend"].pvalue},
        {"outcome": outcome, "label": label, "estimator": static.label,
         "att": static_row["att"], "se": static_row["se"],
         "ci_lower": static_row["ci_lower"], "ci_upper": static_row["ci_upper"],
         **counts, "pretrend_p": pretrend.pvalue},
    ]


def run_sc(plan: dict, *, scheduler=None, n_jobs: int | None = None,
           progress: bool | None = None) -> pd.DataFrame:
    """Run one Secure Communities plan for each of its outcomes; save everything.

    A plan with a ``[robustness]`` table also saves its robustness, placebo,
    sensitivity and multiplicity results (names listed in
    :func:`analysis.evaluations.sc_robustness.save_robustness`); ``scheduler``,
    ``n_jobs`` and ``progress`` go to the parallel runner
    (:func:`analysis.robustness.run_tasks`). A plan with ``[variants.<name>]``
    tables runs each variant as its own evaluation ``<plan name>_<variant>``
    (the variant's keys override the plan's) and saves a combined summary
    under the plan's name.
    """
    runner = {"scheduler": scheduler, "n_jobs": n_jobs, "progress": progress}
    if "variants" in plan:
        return run_sc_variants(plan, **runner)
    design = sc_design(plan)
    panel = read_panel(plan["panel"])
    regimes = read_panel(plan["regime"])
    provenance = {**panel.raw_sha256, **regimes.raw_sha256}
    rows = []
    samples, estimates = {}, {}

    for outcome, label in design.outcomes.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", AnalysisWarning)
            sample, ledger = prepare_sample(panel, regimes, design, outcome)
            results = estimate(sample, design, outcome)
        samples[outcome], estimates[outcome] = sample, results
        common = {
            "plan": plan, "outcome": outcome, "outcome_label": label,
            "raw_sha256": provenance, "warnings": [str(w.message) for w in caught],
        }
        rows += save_outcome(design.name, outcome, label, sample, ledger, results,
                             common)
    if "robustness" in plan:
        save_robustness(plan, design, panel, regimes, samples, estimates,
                        provenance, save=functools.partial(save_result, design.name),
                        **runner)
    summary = pd.DataFrame(rows)
    save_result(design.name, "summary", summary,
                {"plan": plan, "raw_sha256": provenance, "environment": environment()})
    return summary


def run_first_stage(plan: dict) -> pd.DataFrame:
    """Detainers issued to Pennsylvania local custody around SC activation."""
    from analysis.sources import census

    panel = read_panel(plan["panel"])
    regimes = read_panel(plan["regime"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AnalysisWarning)
        population = census.load_census_counties()
        sample, ledger = first_stage.prepare_sample(panel, regimes, population, plan)
        results = first_stage.estimate(sample, plan)
    provenance = {**panel.raw_sha256, **regimes.raw_sha256,
                  **source_hashes(census.SOURCE)}
    poisson = results["poisson"]
    common = {"plan": plan, "outcome": plan["primary"],
              "outcome_label": plan["outcomes"][plan["primary"]],
              "raw_sha256": provenance, "warnings": [str(w.message) for w in caught]}
    prefix = f"{plan['primary']}__"
    ledger_rows = ledger.to_frame().to_dict("records")
    poisson_rows = poisson.ledger.to_frame().to_dict("records")
    save_result(plan["name"], prefix + "sample", sample,
                {**common, "ledger": ledger_rows, "poisson_ledger": poisson_rows})
    for key in ["cs_dynamic", "cs_simple", "cs_group"]:
        save_result(plan["name"], prefix + key, results[key].tidy(),
                    _record(results[key], **common))
    pretrend = results["cs_pretrend"]
    save_result(plan["name"], prefix + "cs_pretrend",
                pd.DataFrame([{"statistic": pretrend.statistic, "df": pretrend.df,
                               "pvalue": pretrend.pvalue}]),
                {"summary": repr(pretrend), "p_value": pretrend.pvalue, **common})
    for kind in ["simple", "dynamic"]:
        aggregate = poisson.aggregate(kind)
        table = aggregate.tidy("log").merge(
            aggregate.tidy("proportional"), on=[c for c in aggregate.tidy().columns
                                                if c in ("kind", "event_time",
                                                         "n_obs")],
            suffixes=("", "_proportional"))
        save_result(plan["name"], f"detainers__poisson_{kind}", table,
                    {"summary": repr(aggregate), "label": poisson.label, **common})
    save_result(plan["name"], "cohort_series", first_stage.cohort_series(sample),
                common)

    simple = results["cs_simple"]
    proportional = poisson.aggregate("simple").tidy("proportional").iloc[0]
    summary = pd.DataFrame([
        {"outcome": plan["primary"], "estimator": simple.label,
         "scale": "detainers per 100,000 per quarter", "att": simple.overall_att,
         "se": simple.overall_se, "ci_lower": simple.overall_ci[0],
         "ci_upper": simple.overall_ci[1], "units": sample["unit"].nunique(),
         "treated_units": sample.loc[sample["gname"] > 0, "unit"].nunique(),
         "pretrend_p": pretrend.pvalue},
        {"outcome": "detainers", "estimator": poisson.label,
         "scale": "proportional change in detainers",
         "att": proportional["att"], "se": proportional["se"],
         "ci_lower": proportional["ci_lower"], "ci_upper": proportional["ci_upper"],
         "units": poisson.design["n_units"],
         "treated_units": sample.loc[sample["gname"] > 0, "unit"].nunique(),
         "pretrend_p": float("nan")},
    ])
    save_result(plan["name"], "summary", summary,
                {"plan": plan, "raw_sha256": provenance, "environment": environment()})
    return summary


def run_g287(plan: dict) -> pd.DataFrame:
    """Count 287(g) treated units per panel; estimate where the plan allows."""
    regime = read_panel(plan["regime"])
    panels = {name: read_panel(name) for name in plan["candidate_panels"]}
    counts = g287.treated_unit_counts(panels, regime, plan["first_year"],
                                      plan["last_year"])
    counts["estimated"] = (counts["panel"] == plan["panel"]) & (
        counts["treated_with_pre_and_post"] >= plan["min_treated_units"])
    provenance = {**regime.raw_sha256}
    for panel in panels.values():
        provenance.update(panel.raw_sha256)
    save_result(plan["name"], "treated_units", counts,
                {"plan": plan, "raw_sha256": provenance})
    if not counts["estimated"].any():
        save_result(plan["name"], "summary", pd.DataFrame(),
                    {"plan": plan, "raw_sha256": provenance,
                     "environment": environment()})
        return pd.DataFrame()

    design = sc_design(plan)
    panel = panels[plan["panel"]]
    rows = []
    for outcome, label in design.outcomes.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", AnalysisWarning)
            sample, ledger = g287.prepare_sample(panel, regime, design, outcome)
            results = estimate(sample, design, outcome)
        common = {"plan": plan, "outcome": outcome, "outcome_label": label,
                  "raw_sha256": provenance,
                  "warnings": [str(w.message) for w in caught]}
        treated = sample.loc[sample["gname"] > 0, "unit"].nunique()
        rows += save_outcome(plan["name"], outcome, label, sample, ledger, results,
                             common, treated_units=treated)
    summary = pd.DataFrame(rows)
    save_result(plan["name"], "summary", summary,
                {"plan": plan, "raw_sha256": provenance, "environment": environment()})
    return summary


def run_sc_variants(plan: dict, **runner) -> pd.DataFrame:
    """Run every variant of a plan; save and return the stacked summaries."""
    base = {k: v for k, v in plan.items() if k != "variants"}
    summaries = []
    for variant, options in plan["variants"].items():
        name = f"{plan['name']}_{variant}"
        summary = run_sc({**base, **options, "name": name, "variant": variant},
                         **runner)
        summaries.append(summary.assign(variant=variant, evaluation=name))
    combined = pd.concat(summaries, ignore_index=True)
    # Normal p-values, and the plan's multiplicity rule across its outcomes
    # within each variant and estimator.
    combined["p_value"] = 2 * stats.norm.sf((combined["att"] / combined["se"]).abs())
    if plan.get("multiplicity") == "holm":
        combined["p_holm"] = combined.groupby(["variant", "estimator"])[
            "p_value"].transform(lambda p: holm(p.to_numpy()))
    panel = read_panel(plan["panel"])
    save_result(plan["name"], "summary", combined,
                {"plan": plan, "raw_sha256": panel.raw_sha256,
                 "environment": environment()})
    return combined


def run_descriptive() -> None:
    """Save the detainer and recidivism tables the compliance reports show."""
    texas = read_panel("tx_county_month")
    pennsylvania = read_panel("pa_facility_month")
    iowa = read_panel("iowa_district_year")
    tables = {
        ("detainers", "texas_statewide_month"): (
            descriptive.texas_statewide_month(texas.frame), texas),
        ("detainers", "texas_top_counties"): (
            descriptive.texas_top_counties(texas.frame), texas),
        ("detainers", "pennsylvania_outcomes_by_year"): (
            descriptive.pennsylvania_outcomes_by_year(pennsylvania.frame),
            pennsylvania),
        ("detainers", "pennsylvania_top_facilities"): (
            descriptive.pennsylvania_top_facilities(pennsylvania.frame),
            pennsylvania),
        ("iowa", "district_year"): (iowa.frame, iowa),
    }
    for (evaluation, name), (table, panel) in tables.items():
        save_result(evaluation, name, table,
                    {"panel": panel.name, "raw_sha256": panel.raw_sha256,
                     "notes": panel.notes})


def run_city_tables() -> None:
    """Save the national city panel's match rates, unlinked cities and gaps."""
    city_year = read_panel("city_year")
    link = read_panel("city_county_link")
    coverage = read_panel("city_coverage")
    tables = {
        "rows_per_year": city_tables.rows_per_year(city_year.frame),
        "match_rates": city_tables.match_rates(city_year.frame),
        "match_rate_by_year": city_tables.match_rate_by_year(city_year.frame),
        "unlinked_cities": city_tables.unlinked_cities(link.frame),
        "coverage_gaps": city_tables.coverage_gaps(coverage.frame),
    }
    for name, table in tables.items():
        save_result("national_cities", name, table,
                    {"panel": city_year.name, "raw_sha256": city_year.raw_sha256,
                     "notes": city_year.notes})


def main(argv: list[str] | None = None) -> None:
    """Run every plan, print a one-line summary of each, and time the whole."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scheduler", default=None,
                        help="Dask scheduler address (tcp://host:8786) for the "
                        "randomization inference and specification curves; "
                        "default the local cores")
    parser.add_argument("--n-jobs", type=int, default=None,
                        help="local worker processes (default: every core; 1 "
                        "runs serially)")
    args = parser.parse_args(argv)
    start = time.perf_counter()

    for name in SC_PLANS:
        step = time.perf_counter()
        summary = run_sc(read_plan(name), scheduler=args.scheduler,
                         n_jobs=args.n_jobs)
        print(f"{name:<22} {len(summary)} estimates  "
              f"{time.perf_counter() - step:5.1f} s")
    step = time.perf_counter()
    summary = run_first_stage(read_plan(FIRST_STAGE_PLAN))
    print(f"{FIRST_STAGE_PLAN:<22} {len(summary)} estimates  "
          f"{time.perf_counter() - step:5.1f} s")
    step = time.perf_counter()
    summary = run_g287(read_plan(G287_PLAN))
    print(f"{G287_PLAN:<22} {len(summary)} estimates  "
          f"{time.perf_counter() - step:5.1f} s")
    for name in LAW_PLANS:
        step = time.perf_counter()
        # Their draws take well under a millisecond: worker processes cost
        # more than they save unless asked for (--n-jobs).
        summary = run_state_laws(read_plan(name), n_jobs=args.n_jobs or 1)
        print(f"{name:<22} {len(summary)} estimates  "
              f"{time.perf_counter() - step:5.1f} s")
    run_descriptive()
    run_city_tables()
    print(f"descriptive tables saved; total {time.perf_counter() - start:5.1f} s")


if __name__ == "__main__":
    main()
