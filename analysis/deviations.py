"""Compare saved results with their plan and flag every deviation.

The report prints the plan (:func:`analysis.plans.plan_table`) and, beside
it, the table :func:`deviations` returns: one row per check, with what the
plan said, what the saved results show, and whether they differ. The checks
read only saved results (``results/<evaluation>/``), never re-estimate:

- ``window``: the years in the estimation sample against the planned window
  (the comparison-cohort rule or missing years can cut it);
- ``control group``: whether the data forced a different comparison group
  than planned (no never-treated units: the last cohort is recoded);
- ``units``: units in the estimation sample against ``expected_units``;
- ``outcome <name>``: each planned outcome has a saved estimate;
- ``clustering``: errors clustered by unit have one cluster per unit;
- ``uniform bands``: a plan with bootstrap draws got uniform bands;
- ``step <name>``: each of ``required_steps`` has its saved result
  (:data:`STEP_RESULTS`);
- ``plan unchanged``: the plan saved with the results equals the plan file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.store import list_results, load_result

__all__ = ["STEP_RESULTS", "deviations"]

# Step -> saved result name(s), any of which shows the step was run
# ({primary} is the primary outcome; a name with a colon is
# "<evaluation>:<name>" in another results folder).
STEP_RESULTS = {
    "event_study": "{primary}__cs_dynamic",
    "twfe": "{primary}__twfe_es",
    "pretrend": ("{primary}__twfe_pretrend", "{primary}__cs_pretrend"),
    "bacon": "{primary}__bacon",
    "honest_did": "{primary}__honest",
    "specification_curve": "{primary}__spec_curve",
    "randomization_inference": ("randomization", "{primary}__randomization"),
    "placebo": "{primary}__placebo",
    "multiplicity": "multiplicity",
    "first_stage": "sc_first_stage_pa:summary",
}
COLUMNS = ["check", "planned", "actual", "deviates", "detail"]


def _row(check, planned, actual, deviates, detail=""):
    return {"check": check, "planned": str(planned), "actual": str(actual),
            "deviates": bool(deviates), "detail": detail}


def _exists(evaluation: str, name: str, folder) -> bool:
    if ":" in name:
        evaluation, name = name.split(":", 1)
    return name in list_results(evaluation, folder)


def _ledger_rows(ledger: list[dict], action: str) -> list[str]:
    return [f"{row['step']}: {row['reason']} ({row['rows_affected']} rows)"
            for row in ledger
            if row["action"] == action and row["rows_affected"]]


def _sample_checks(plan: dict, evaluation: str, folder) -> list[dict]:
    primary = plan["primary"]
    sample = load_result(evaluation, f"{primary}__sample", folder)
    table, ledger = sample.tidy(), sample.record.get("ledger", [])
    unit, time = "unit", "year"
    rows = []

    first, last = int(table[time].min()), int(table[time].max())
    cut = [r for r in _ledger_rows(ledger, "drop")
           if "window" in r and not r.startswith("window:")]
    rows.append(_row(
        "window", f"{plan['first_year']}-{plan['last_year']}", f"{first}-{last}",
        (first, last) != (plan["first_year"], plan["last_year"]), "; ".join(cut)))

    recoded = [row for row in ledger if row["step"] == "comparison group"]
    if recoded:
        detail = (f"no never-treated units in the data: {recoded[0]['reason']} "
                  f"({recoded[0]['rows_affected']} unit-years); comparisons are "
                  "with units not yet treated and that cohort only")
    else:
        detail = "never-treated units present"
    rows.append(_row("control group", plan["control_group"],
                     "last cohort as comparison" if recoded else plan["control_group"],
                     bool(recoded), detail))

    units = table[unit].nunique()
    expected = plan.get("expected_units")
    dropped = [r for r in _ledger_rows(ledger, "drop") if "window" not in r]
    rows.append(_row("units", expected if expected is not None else "(not stated)",
                     units, expected is not None and units < expected,
                     "; ".join(dropped) or "no unit dropped"))
    return rows


def deviations(
    plan: dict, evaluation: str | None = None, folder: Path | str | None = None
) -> pd.DataFrame:
    """Every check of the saved results of one plan against the plan.

    Parameters
    ----------
    plan
        A plan as returned by :func:`analysis.plans.load_plan`.
    evaluation
        Results folder; the plan's name by default.
    folder
        Results root; ``results/`` by default.

    Returns
    -------
    pandas.DataFrame
        Columns ``check``, ``planned``, ``actual``, ``deviates`` (bool) and
        ``detail``; a check whose result file is missing deviates.
    """
    evaluation = evaluation or plan["name"]
    saved = list_results(evaluation, folder)
    primary = plan["primary"]
    rows = []

    if f"{primary}__sample" in saved:
        rows += _sample_checks(plan, evaluation, folder)
    else:
        rows.append(_row("estimation sample", "saved", "missing", True,
                         f"no {primary}__sample in results/{evaluation}"))

    for outcome in [primary, *plan["secondary"]]:
        found = f"{outcome}__cs_simple" in saved or f"{outcome}__estimate" in saved
        rows.append(_row(f"outcome {outcome}", "estimated",
                         "estimated" if found else "not estimated", not found))

    if plan["cluster"] == "unit" and f"{primary}__cs_simple" in saved and (
            f"{primary}__sample" in saved):
        clusters = load_result(evaluation, f"{primary}__cs_simple", folder).n_clusters
        units = load_result(evaluation, f"{primary}__sample", folder).tidy()[
            "unit"].nunique()
        rows.append(_row("clustering", "by unit", f"{clusters} clusters, {units} units",
                         clusters != units))

    if plan["n_boot"] > 0 and f"{primary}__cs_dynamic" in saved:
        dynamic = load_result(evaluation, f"{primary}__cs_dynamic", folder)
        bands = [w for w in dynamic.record.get("warnings", []) if "sup-t" in w]
        uniform = dynamic.band == "uniform"
        rows.append(_row("uniform bands", f"uniform ({plan['n_boot']} draws)",
                         dynamic.band, not uniform,
                         "" if uniform else "; ".join(bands)))

    for step in plan.get("required_steps", []):
        names = STEP_RESULTS[step]
        names = [names] if isinstance(names, str) else list(names)
        names = [name.format(primary=primary) for name in names]
        found = any(_exists(evaluation, name, folder) for name in names)
        rows.append(_row(f"step {step}", "run", "saved" if found else "not run",
                         not found, "" if found else
                         f"no saved result {' or '.join(map(repr, names))}"))

    if "summary" in saved:
        used = load_result(evaluation, "summary", folder).record.get("plan", {})
        changed = sorted(k for k in set(plan) | set(used)
                         if plan.get(k) != used.get(k))
        rows.append(_row("plan unchanged", "results computed under this plan",
                         "same" if not changed else "different", bool(changed),
                         ", ".join(f"{k}: {used.get(k)!r} -> {plan.get(k)!r}"
                                   for k in changed)))
    return pd.DataFrame(rows, columns=COLUMNS)
