"""Run one state-law plan and save every table the report reads.

Called by :mod:`analysis.evaluate` for ``plans/state_laws_*.toml``. Writes
``results/<plan name>/``: the coded laws and states under every date rule,
the low-confidence report, per outcome the sample (with its ledger), event
study and overall estimates, the summary with what the data rule out, the
sensitivity table, and the single-state synthetic control / synthetic DiD
fits with their placebo distributions.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pandas as pd

from analysis.errors import AnalysisWarning
from analysis.evaluations import state_laws as ev
from analysis.io import read_panel
from analysis.ledger import Ledger
from analysis.robustness.multiplicity import holm
from analysis.robustness.power import minimum_detectable_effect
from analysis.sources._common import read_crosswalk
from analysis.sources.state_laws import confidence_report, load_state_laws
from analysis.state_regimes import IN_FORCE_FILE, law_dates, load_in_force
from analysis.store import save_result


LITERATURE = "literature_state_laws.csv"


def run_state_laws(plan: dict, n_jobs: int | None = 1) -> pd.DataFrame:
    """Run one direction's plan; return its summary table.

    ``n_jobs``: worker processes for the randomization draws and placebo
    refits (:func:`analysis.robustness.run_tasks`); 1 runs them here, which
    is fastest for draws this cheap. The numbers do not depend on it.
    """
    from analysis.evaluate import _record, environment

    design = ev.design_from_plan(plan)
    panel = read_panel(plan["panel"])
    regimes = read_panel("regime_state_laws")
    provenance = {**panel.raw_sha256, **regimes.raw_sha256}
    state_year = panel.frame
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnalysisWarning)
        laws = load_state_laws()
    in_force = load_in_force(laws)
    common = {"plan": plan, "raw_sha256": provenance}
    name = design.name

    _save_codings(design, laws, in_force, common)
    rows = []
    frames = {}
    for outcome, label in design.outcomes.items():
        rules = design.rules if outcome == design.primary else (design.primary_rule,)
        for rule in rules:
            if rule not in frames:
                # Coded once per rule; its warnings go with every outcome.
                with warnings.catch_warnings(record=True) as coding:
                    warnings.simplefilter("always", AnalysisWarning)
                    coded = ev.treatment_frame(state_year, laws, in_force, design,
                                               rule)
                frames[rule] = coded, [str(w.message) for w in coding]
            (frame, coding_ledger, _), coding_warnings = frames[rule]
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", AnalysisWarning)
                ledger = Ledger(coding_ledger.dataset).extend(coding_ledger)
                sample = ev.outcome_sample(frame, outcome, ledger)
                results = ev.estimate_staggered(sample, design, outcome,
                                                n_jobs=n_jobs)
            rows += ev.summary_rows(results, outcome, label, sample, rule)
            if rule != design.primary_rule:
                continue
            extra = {**common, "outcome": outcome, "outcome_label": label,
                     "rule": rule, "warnings": coding_warnings
                     + [str(w.message) for w in caught]}
            prefix = f"{outcome}__"
            save_result(name, prefix + "sample",
                        sample[["unit", "state_fips", "year", "gname", "treated",
                                f"log_{outcome}"]],
                        {"ledger": ledger.to_frame().to_dict("records"), **extra})
            for key in ["cs_dynamic", "cs_simple", "wild", "ri"]:
                result = results[key]
                record = (_record(result, **extra) if key.startswith("cs") else
                          {"summary": repr(result), "label": result.label, **extra})
                if key == "ri":
                    record["convention"] = result.convention
                save_result(name, prefix + key, result.tidy(), record)
            tests = pd.DataFrame([
                {"test": f"Wald, last {design.pretrend_window} pre-periods",
                 "statistic": results["pretrend"].statistic,
                 "p_value": results["pretrend"].pvalue},
                {"test": "Wald, all pre-periods",
                 "statistic": results["pretrend_all"].statistic,
                 "p_value": results["pretrend_all"].pvalue},
                {"test": f"randomization, sum of squared estimates, last "
                         f"{design.pretrend_window} pre-periods",
                 "statistic": float(results["pretrend_ri"].observed.iloc[0]),
                 "p_value": float(results["pretrend_ri"].p_values.iloc[0])},
            ])
            save_result(name, prefix + "pretrend", tests,
                        {**extra, "randomization": repr(results["pretrend_ri"])})
    summary = pd.DataFrame(rows)
    # The plan's multiplicity rule across the primary and secondary outcomes,
    # within each date rule and estimator.
    summary["p_holm"] = summary.groupby(["rule", "estimator"])["p_value"].transform(
        lambda p: holm(p.to_numpy()) if p.notna().all() else np.nan)
    save_result(name, "summary", summary, {**common, "environment": environment()})

    with warnings.catch_warnings():
        # Every drop is in the ledgers of the main samples; the variants
        # repeat them.
        warnings.simplefilter("ignore", AnalysisWarning)
        table = ev.sensitivity(state_year, laws, in_force, design)
    save_result(name, "sensitivity", table, common)
    _save_single_state(design, state_year, laws, in_force, common, n_jobs)
    literature = read_crosswalk(LITERATURE, ["study", "design", "outcome", "estimate",
                                             "se", "note"])
    save_result(name, "literature", literature,
                {**common, "file": f"data/crosswalks/{LITERATURE}"})
    return summary


def _save_codings(design, laws, in_force, common) -> None:
    """Law-level dates under every rule, coded states, low-confidence rows."""
    tables = [law_dates(laws, rule, in_force) for rule in design.rules]
    dated = pd.concat(tables, ignore_index=True)
    dated = dated[dated["direction"] == design.direction]
    dated["kept_by_plan"] = (dated["confidence"].isin(design.confidence)
                             & dated["policy_type"].isin(design.policy_types))
    sources = laws.set_index("law_id")[["short_name", "source_url_or_repo_path",
                                        "injunction_note"]]
    dated = dated.join(sources, on="law_id")
    save_result(design.name, "law_dates", dated,
                {**common, "in_force_file": f"data/crosswalks/{IN_FORCE_FILE}"})
    directions = laws.set_index("law_id")["direction"]
    save_result(design.name, "in_force",
                in_force[in_force["law_id"].map(directions) == design.direction],
                {**common, "file": f"data/crosswalks/{IN_FORCE_FILE}"})

    states = []
    for rule in design.rules:
        coded = ev.coded_states(laws, in_force, design, rule, design.direction)
        states.append(coded.assign(rule=rule))
    save_result(design.name, "states", pd.concat(states, ignore_index=True), common)
    report = confidence_report(laws)
    save_result(design.name, "low_confidence",
                report[report["direction"] == design.direction], common)

    # Treatment of every state-year of the primary outcome's sample, per rule.
    tiles = []
    for rule in design.rules:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AnalysisWarning)
            sample, _, _ = ev.prepare_sample(
                read_panel("state_year").frame, laws, in_force, design, rule,
                design.primary)
        tiles.append(sample[["unit", "year", "gname", "treated"]].assign(rule=rule))
    save_result(design.name, "treatment_tiles", pd.concat(tiles, ignore_index=True),
                common)


def _save_single_state(design, state_year, laws, in_force, common, n_jobs) -> None:
    """SC / SDID / DiD for the plan's single state: every outcome and rule."""
    rows, spec = [], design.single_state
    # Primary rule first, so a rule giving the same first year (and donors)
    # reuses its fits instead of refitting.
    rules = [design.primary_rule] + [r for r in design.rules
                                     if r != design.primary_rule]
    clean = replace(design, controls="clean")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnalysisWarning)
        coded = {rule: ev.treatment_frame(state_year, laws, in_force, clean, rule)
                 for rule in rules}
    for outcome in design.outcomes:
        fitted = {}
        for rule in rules:
            # Placebos under the primary rule: SC and DiD for every outcome,
            # SDID (slow) for the primary outcome.
            placebo_methods = ()
            if rule == design.primary_rule:
                placebo_methods = ("sc", "did") + (
                    ("sdid",) if outcome == design.primary else ())
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", AnalysisWarning)
                Y, N0, T0, units, periods, _, start = ev.single_state_matrix(
                    state_year, laws, in_force, design, rule, outcome,
                    coded=coded[rule])
            key = (start, tuple(units))
            if key not in fitted:
                fitted[key] = ev.estimate_single_state(
                    Y, N0, T0, units, periods, placebo=placebo_methods,
                    alpha=design.alpha, n_jobs=n_jobs)
            fits = fitted[key]
            for method, parts in fits.items():
                fit = parts["fit"]
                row = {"outcome": outcome, "rule": rule, "method": method,
                       "state": spec["state"], "law_id": spec["law_id"],
                       "first_treated_year": start, "donors": N0,
                       "pre_years": T0, "post_years": len(periods) - T0,
                       "att": fit.estimate,
                       "att_first_year": float(_first_year_gap(fit, T0))}
                if method == "sc":
                    row.update(pre_rmspe=fit.pre_rmspe, post_rmspe=fit.post_rmspe)
                if "placebo" in parts and rule == design.primary_rule:
                    placebo = parts["placebo"]
                    low90, high90 = placebo.interval(0.10)
                    row.update(se=placebo.se, ci_lower=placebo.ci_lower,
                               ci_upper=placebo.ci_upper, p_value=placebo.p_value,
                               p_value_rmspe=placebo.p_value_rmspe,
                               mde_80=minimum_detectable_effect(placebo.se),
                               equiv_lower=low90, equiv_upper=high90)
                    save_result(design.name,
                                f"single_state__{outcome}__{method}__placebos",
                                placebo.placebos, {**common, "outcome": outcome,
                                                   "rule": rule})
                rows.append(row)
            if rule == design.primary_rule:
                _save_paths(design, outcome, fits, common)
    save_result(design.name, "single_state", pd.DataFrame(rows), common)


def _first_year_gap(fit, T0):
    """Effect in the first treated year (the year Kubrin and Bartos report)."""
    if hasattr(fit, "gaps"):
        return fit.gaps[T0]
    return fit.effect_path[0]


def _save_paths(design, outcome, fits, common) -> None:
    sc, sdid = fits["sc"]["fit"], fits["sdid"]["fit"]
    path = sc.path().rename(columns={"synthetic": "synthetic_sc", "gap": "gap_sc"})
    sdid_path = pd.Series(sdid.effect_path, index=sdid.post_periods)
    path["effect_sdid"] = path["period"].map(sdid_path)
    save_result(design.name, f"single_state__{outcome}__path", path,
                {**common, "sc": repr(sc), "sdid": repr(sdid)})
    weights = (sc.weights().rename(columns={"omega": "sc"})
               .merge(sdid.weights().rename(columns={"omega": "sdid"}), on="unit",
                      how="outer").fillna(0.0).sort_values("sc", ascending=False))
    save_result(design.name, f"single_state__{outcome}__weights", weights, common)
