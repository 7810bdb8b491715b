"""Pre-specified analysis plans: the schema of ``plans/*.toml`` and its check.

A plan fixes, before any estimate is seen, what an evaluation will estimate:
the panel and regime, the primary outcome and its transform, the estimator
and control group, the window, the inference (bootstrap draws, clustering,
alpha), the secondary outcomes and how multiplicity is handled, and the seed.
:func:`load_plan` reads one plan and checks it against :data:`FIELDS`; a bad
plan raises :class:`PlanError` naming the file, the field and the fix.
:func:`plan_table` renders a plan for the reports, and
:mod:`analysis.deviations` compares saved results with it.
"""

from __future__ import annotations

import tomllib
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis import paths
from analysis.errors import AnalysisWarning

__all__ = [
    "FIELDS",
    "STEPS",
    "PlanError",
    "PlanWarning",
    "load_plan",
    "plan_names",
    "plan_table",
    "validate_plan",
]


class PlanError(ValueError):
    """A plan file is missing a field or has a value of the wrong kind."""


class PlanWarning(AnalysisWarning):
    """A plan file has a key the schema does not know (likely a typo)."""


@dataclass(frozen=True)
class Field:
    """One plan field: its type, whether it is required, what values it takes."""

    name: str
    kind: type | tuple[type, ...]
    required: bool
    description: str
    choices: tuple = ()


# Steps a plan can require; analysis.deviations maps each to the saved result
# that shows it was run.
STEPS = (
    "event_study", "twfe", "pretrend", "bacon", "honest_did",
    "specification_curve", "randomization_inference", "placebo", "multiplicity",
    "first_stage",
)

FIELDS: tuple[Field, ...] = (
    Field("name", str, True, "evaluation name; equals the file name and the "
          "results folder"),
    Field("title", str, True, "one-line title of the report section"),
    Field("kind", str, True, "'did' (causal design) or 'descriptive' (no "
          "policy contrast)", ("did", "descriptive")),
    Field("panel", str, True, "panel of analysis.build.PANELS holding the outcomes"),
    Field("regime", str, True, "panel with the first treated period per unit "
          "('none' for descriptive plans)"),
    Field("unit_col", str, True, "unit id column of the panel"),
    Field("primary", str, True, "primary outcome: a key of [outcomes]"),
    Field("transform", str, True, "how the primary outcome is analysed",
          ("log_rate", "rate", "poisson_count", "share")),
    Field("outcomes", dict, True, "table: outcome column -> plain label"),
    Field("secondary", list, True, "secondary outcomes (keys of [outcomes]); "
          "[] if none"),
    Field("estimator", str, True, "estimator of the primary result, in words"),
    Field("control_group", str, True, "comparison units of the robust estimator",
          ("notyettreated", "nevertreated", "none")),
    Field("first_year", int, True, "first calendar year of the window"),
    Field("last_year", int, True, "last calendar year of the window"),
    Field("n_boot", int, True, "bootstrap draws for uniform bands (0: none)"),
    Field("cluster", str, True, "clustering level of the standard errors"),
    Field("alpha", float, True, "one minus the confidence level"),
    Field("multiplicity", str, True, "adjustment across primary and secondary "
          "outcomes", ("holm", "romano-wolf", "bonferroni", "none")),
    Field("seed", int, True, "seed of every random draw"),
    Field("expected_units", int, False, "units the plan expects to analyse; "
          "fewer in the sample is flagged"),
    Field("required_steps", list, False, f"steps the report must show, of {STEPS}"),
    Field("period", str, False, "time unit of the panel (default year)",
          ("year", "quarter", "month")),
    Field("full_year_column", str, False, "flag of a full year of reporting"),
    Field("twfe_leads", int, False, "TWFE event window: leads (binned beyond)"),
    Field("twfe_lags", int, False, "TWFE event window: lags (binned beyond)"),
    Field("comparison", str, False, "estimators shown beside the primary one"),
    Field("min_treated_units", int, False, "estimate only with at least this "
          "many treated units with pre and post data"),
    Field("candidate_panels", list, False, "panels counted for treated units"),
    Field("notes", str, False, "anything else fixed in advance"),
    Field("robustness", dict, False, "robustness, placebo and multiplicity "
          "choices (read by analysis.evaluations.sc_robustness)"),
    Field("report", dict, False, "text of the plan's report: intro, "
          "treatment_note, label_col, rollout_title, first_stage_note, "
          "limitations (read by notebooks/02_secure_communities.py)"),
    # Secure Communities design options (analysis.evaluations.secure_communities).
    Field("comparison_cohort", int, False, "cohort used as the comparison group "
          "when no unit is never treated (default: the last cohort)"),
    Field("balanced", bool, False, "keep only units observed in every window year "
          "(default true)"),
    Field("weights_col", str, False, "column of unit weights (e.g. population)"),
    Field("cluster_col", str, False, "cluster variable above the unit"),
    Field("min_population", int, False, "keep units with at least this population"),
    Field("variants", dict, False, "named tables of options, each run as its own "
          "evaluation <name>_<variant>"),
    Field("primary_variant", str, False, "the variant that carries the primary "
          "estimate"),
    # State-law designs (read by analysis.evaluations.state_laws).
    Field("direction", str, False, "state laws: which direction is treated",
          ("limits_cooperation", "mandates_cooperation")),
    Field("rules", list, False, "state laws: date rules run as a sensitivity "
          "check (signed, effective, in_force)"),
    Field("primary_rule", str, False, "state laws: date rule of the primary "
          "estimate", ("signed", "effective", "in_force")),
    Field("timing", str, False, "state laws: how a date maps to the first "
          "treated year"),
    Field("confidence", list, False, "state laws: confidence levels of law rows "
          "kept"),
    Field("policy_types", list, False, "state laws: policy types kept"),
    Field("exclude_states", list, False, "state laws: states left out"),
    Field("controls", str, False, "state laws: which states are comparisons"),
    Field("inference", str, False, "inference methods, in words"),
    Field("n_wild", int, False, "wild cluster bootstrap draws"),
    Field("n_ri", int, False, "randomization-inference reassignments"),
    Field("pretrend_window", int, False, "pre-periods of the pre-trend test"),
    Field("single_state", dict, False, "state laws: the single-state synthetic "
          "control case (state, law_id)"),
)
_BY_NAME = {field.name: field for field in FIELDS}


def plans_dir() -> Path:
    """Folder of the plan files."""
    return paths.project_root() / "plans"


def plan_names(folder: Path | str | None = None) -> list[str]:
    """Names of every plan in ``plans/``."""
    folder = Path(folder) if folder is not None else plans_dir()
    return sorted(path.stem for path in folder.glob("*.toml"))


def _fail(path, field: str, problem: str, fix: str) -> None:
    raise PlanError(f"{path}: field '{field}' {problem}. Fix: {fix}")


def _check_type(path, field: Field, value) -> None:
    kinds = field.kind if isinstance(field.kind, tuple) else (field.kind,)
    # TOML integers are acceptable where a float is asked for; bools never are.
    if float in kinds:
        kinds = (*kinds, int)
    if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
        _fail(path, field.name, f"is {value!r} ({type(value).__name__})",
              f"give a {kinds[0].__name__}: {field.description}.")
    if field.choices and value not in field.choices:
        _fail(path, field.name, f"is {value!r}, not one of {list(field.choices)}",
              f"use one of {list(field.choices)}.")


def validate_plan(plan: dict, path: Path | str = "<plan>") -> dict:
    """Check a plan against :data:`FIELDS` and its internal consistency.

    Parameters
    ----------
    plan
        The parsed TOML.
    path
        File name used in error messages.

    Returns
    -------
    dict
        The same plan (unchanged), for chaining.

    Raises
    ------
    PlanError
        Naming the file and the field: a required field missing, a value of
        the wrong type or outside its choices, the primary or a secondary
        outcome not in ``[outcomes]``, a window that ends before it starts, an
        unknown panel or step.
    """
    for field in FIELDS:
        if field.name not in plan:
            if field.required:
                _fail(path, field.name, "is missing",
                      f"add `{field.name} = ...` ({field.description}).")
            continue
        _check_type(path, field, plan[field.name])

    unknown = sorted(set(plan) - set(_BY_NAME))
    if unknown:
        warnings.warn(f"{path}: key(s) {unknown} are not in the plan schema "
                      "(analysis.plans.FIELDS) and are ignored by the checks.",
                      PlanWarning, stacklevel=3)

    stem = Path(path).stem
    if Path(path).suffix == ".toml" and plan["name"] != stem:
        _fail(path, "name", f"is {plan['name']!r} but the file is {stem}.toml",
              "make the name equal the file name.")
    outcomes = plan["outcomes"]
    if not outcomes or not all(isinstance(v, str) for v in outcomes.values()):
        _fail(path, "outcomes", "is empty or has a non-text label",
              "list each outcome column with a plain label.")
    if plan["primary"] not in outcomes:
        _fail(path, "primary", f"{plan['primary']!r} is not a key of [outcomes]",
              f"choose one of {sorted(outcomes)} or add it to [outcomes].")
    for outcome in plan["secondary"]:
        if outcome not in outcomes or outcome == plan["primary"]:
            _fail(path, "secondary", f"lists {outcome!r}, which is the primary or "
                  "not in [outcomes]", f"use keys of [outcomes] other than "
                  f"{plan['primary']!r}.")
    if plan["first_year"] > plan["last_year"]:
        _fail(path, "last_year", f"{plan['last_year']} is before first_year "
              f"{plan['first_year']}", "give a window with first_year <= last_year.")
    if not 0 < plan["alpha"] < 0.5:
        _fail(path, "alpha", f"is {plan['alpha']}", "use a level in (0, 0.5).")
    for name in ["n_boot", "seed", "expected_units", "min_treated_units"]:
        if name in plan and plan[name] < 0:
            _fail(path, name, f"is {plan[name]}", "use a non-negative integer.")

    from analysis.build import PANELS  # imported late: build imports much

    panels = [plan["panel"], *plan.get("candidate_panels", [])]
    if plan["regime"] != "none":
        panels.append(plan["regime"])
    for panel in panels:
        if panel not in PANELS:
            _fail(path, "panel", f"names {panel!r}, not a panel of the build",
                  f"use one of {sorted(PANELS)}.")
    for step in plan.get("required_steps", []):
        if step not in STEPS:
            _fail(path, "required_steps", f"lists {step!r}", f"use steps of {STEPS}.")
    return plan


def load_plan(name: str, folder: Path | str | None = None) -> dict:
    """Read and check ``plans/<name>.toml``.

    Raises
    ------
    FileNotFoundError
        If the plan file does not exist (the message lists the plans that do).
    PlanError
        If the file is not valid TOML or fails :func:`validate_plan`.
    """
    folder = Path(folder) if folder is not None else plans_dir()
    path = folder / f"{name}.toml"
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: analysis plan not found; plans present: {plan_names(folder)}."
        )
    try:
        with open(path, "rb") as handle:
            plan = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise PlanError(f"{path}: not valid TOML ({error}). Fix the syntax.") from error
    return validate_plan(plan, path)


def plan_table(plan: dict) -> pd.DataFrame:
    """The plan as a two-column table (field, planned value) for a report.

    Fields appear in schema order, then any extra keys; outcomes are listed
    one per row with their role (primary or secondary).
    """
    rows = []
    for field in FIELDS:
        if field.name not in plan or field.name in ("outcomes", "secondary"):
            continue
        value = plan[field.name]
        if isinstance(value, list):
            value = ", ".join(map(str, value)) or "(none)"
        rows.append({"field": field.name, "planned": str(value),
                     "meaning": field.description})
    for outcome, label in plan["outcomes"].items():
        if outcome == plan["primary"]:
            role = "primary outcome"
        elif outcome in plan["secondary"]:
            role = "secondary outcome"
        else:
            role = "outcome (listed, neither primary nor secondary)"
        rows.append({"field": role, "planned": f"{outcome}: {label}",
                     "meaning": f"analysed as {plan['transform']}"})
    for key in sorted(set(plan) - set(_BY_NAME)):
        rows.append({"field": key, "planned": str(plan[key]),
                     "meaning": "(not in the schema)"})
    return pd.DataFrame(rows, columns=["field", "planned", "meaning"])
