"""Plan schema checks and the deviation flags, on real plans and built cases."""

from __future__ import annotations

import copy
import tomllib

import pandas as pd
import pytest

from analysis import paths
from analysis.deviations import deviations
from analysis.plans import (
    FIELDS,
    PlanError,
    PlanWarning,
    load_plan,
    plan_names,
    plan_table,
    validate_plan,
)
from analysis.store import save_result


@pytest.fixture
def sc_plan() -> dict:
    with open(paths.project_root() / "plans" / "sc_ny_counties.toml", "rb") as f:
        plan = tomllib.load(f)
    # The nested [robustness] tables are not needed here, and the small TOML
    # writer below handles one level of tables only.
    plan.pop("robustness", None)
    return plan


def test_every_shipped_plan_passes_the_schema():
    names = plan_names()
    assert {"sc_large_agencies", "sc_ny_counties"} <= set(names)
    for name in names:
        plan = load_plan(name)
        assert plan["name"] == name


def test_schema_lists_every_required_field_of_the_issue():
    required = {f.name for f in FIELDS if f.required}
    assert {"name", "title", "panel", "regime", "primary", "transform",
            "estimator", "control_group", "first_year", "last_year", "n_boot",
            "cluster", "alpha", "secondary", "multiplicity", "seed"} <= required


def _write(tmp_path, plan: dict, name: str = "sc_ny_counties"):
    lines = []
    tables = {k: v for k, v in plan.items() if isinstance(v, dict)}
    for key, value in plan.items():
        if key not in tables:
            lines.append(f"{key} = {_toml(value)}")
    for key, table in tables.items():
        lines.append(f"[{key}]")
        lines += [f"{k} = {_toml(v)}" for k, v in table.items()]
    (tmp_path / f"{name}.toml").write_text("\n".join(lines) + "\n")
    return tmp_path


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def test_missing_field_names_the_file_and_field(tmp_path, sc_plan):
    del sc_plan["multiplicity"]
    folder = _write(tmp_path, sc_plan)
    with pytest.raises(PlanError, match=r"sc_ny_counties\.toml: field 'multiplicity' "
                       r"is missing"):
        load_plan("sc_ny_counties", folder)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("n_boot", "999", r"field 'n_boot' is '999' \(str\)"),
        ("control_group", "everyone", r"field 'control_group' .* not one of"),
        ("primary", "homicide_per_100k", r"field 'primary' .* not a key of"),
        ("secondary", ["index_total_per_100k"], r"field 'secondary' lists"),
        ("last_year", 1999, r"field 'last_year' 1999 is before first_year"),
        ("alpha", 0.7, r"field 'alpha' is 0.7"),
        ("panel", "nowhere_year", r"field 'panel' names 'nowhere_year'"),
        ("required_steps", ["astrology"], r"field 'required_steps' lists"),
        ("seed", True, r"field 'seed' is True"),
    ],
)
def test_bad_values_name_the_field(tmp_path, sc_plan, field, value, message):
    sc_plan[field] = value
    with pytest.raises(PlanError, match=message):
        load_plan("sc_ny_counties", _write(tmp_path, sc_plan))


def test_name_must_match_the_file(tmp_path, sc_plan):
    folder = _write(tmp_path, sc_plan, name="other_plan")
    with pytest.raises(PlanError, match="other_plan.toml.*make the name equal"):
        load_plan("other_plan", folder)


def test_unknown_key_warns_and_missing_file_lists_plans(tmp_path, sc_plan):
    sc_plan["n_bootstrap"] = 10
    with pytest.warns(PlanWarning, match="n_bootstrap"):
        load_plan("sc_ny_counties", _write(tmp_path, sc_plan))
    with pytest.raises(FileNotFoundError, match="plans present"):
        load_plan("nothing_here", tmp_path)


def test_invalid_toml_is_a_plan_error(tmp_path):
    (tmp_path / "broken.toml").write_text("name = \n")
    with pytest.raises(PlanError, match="broken.toml: not valid TOML"):
        load_plan("broken", tmp_path)


def test_plan_table_shows_roles_of_outcomes(sc_plan):
    table = plan_table(validate_plan(sc_plan))
    primary = table[table["field"] == "primary outcome"]
    assert primary["planned"].str.startswith("index_total_per_100k").all()
    assert (table["field"] == "secondary outcome").sum() == 2
    assert table.loc[table["field"] == "seed", "planned"].item() == "20110101"


# -- deviations on hand-built saved results ---------------------------------


def _plan() -> dict:
    return {
        "name": "toy", "kind": "did", "title": "toy", "panel": "state_year",
        "regime": "regime_sc_county", "unit_col": "unit", "primary": "y",
        "transform": "log_rate", "outcomes": {"y": "Y", "z": "Z"},
        "secondary": ["z"], "estimator": "att_gt", "control_group": "nevertreated",
        "first_year": 2000, "last_year": 2005, "n_boot": 0, "cluster": "unit",
        "alpha": 0.05, "multiplicity": "holm", "seed": 1, "expected_units": 4,
        "required_steps": ["event_study", "bacon"],
    }


def _save(folder, plan, years, units, ledger, outcomes=("y", "z"), steps=()):
    sample = pd.DataFrame([{"unit": u, "year": t} for u in units for t in years])
    save_result("toy", "y__sample", sample, {"ledger": ledger}, folder)
    for outcome in outcomes:
        save_result("toy", f"{outcome}__cs_simple", pd.DataFrame({"att": [0.0]}),
                    {"n_clusters": len(units)}, folder)
    for name in steps:
        save_result("toy", name, pd.DataFrame({"x": [1]}), {}, folder)
    save_result("toy", "summary", pd.DataFrame({"x": [1]}), {"plan": plan}, folder)


def _flags(table) -> dict:
    return dict(zip(table["check"], table["deviates"]))


def test_results_that_follow_the_plan_raise_no_flag(tmp_path):
    plan = validate_plan(_plan())
    _save(tmp_path, plan, range(2000, 2006), ["a", "b", "c", "d"], [],
          steps=["y__cs_dynamic", "y__bacon"])
    table = deviations(plan, folder=tmp_path)
    assert not table["deviates"].any(), table


def test_cut_window_changed_controls_lost_units_and_missing_steps_are_flagged(
    tmp_path,
):
    plan = validate_plan(_plan())
    ledger = [
        {"step": "comparison window", "action": "drop", "reason": "year >= 2004",
         "rows_affected": 8},
        {"step": "comparison group", "action": "recode",
         "reason": "cohort 2004 untreated in window: gname 0", "rows_affected": 4},
        {"step": "balance: outcome", "action": "drop",
         "reason": "unit with a missing outcome year", "rows_affected": 4},
    ]
    _save(tmp_path, plan, range(2000, 2004), ["a", "b", "c"], ledger,
          outcomes=("y",), steps=["y__cs_dynamic"])
    edited = copy.deepcopy(plan)
    edited["seed"] = 2
    table = deviations(edited, folder=tmp_path)
    flags = _flags(table)
    assert flags["window"] and flags["control group"] and flags["units"]
    assert flags["outcome z"] and not flags["outcome y"]
    assert flags["step bacon"] and not flags["step event_study"]
    assert flags["plan unchanged"]
    row = table.set_index("check")
    assert row.loc["window", "actual"] == "2000-2003"
    assert "year >= 2004" in row.loc["window", "detail"]
    assert row.loc["units", "actual"] == "3"
    assert "seed: 1 -> 2" in row.loc["plan unchanged", "detail"]


def test_missing_sample_is_a_deviation(tmp_path):
    (tmp_path / "toy").mkdir()
    table = deviations(validate_plan(_plan()), folder=tmp_path)
    assert _flags(table)["estimation sample"]


def test_fewer_clusters_than_units_is_flagged(tmp_path):
    plan = validate_plan(_plan())
    _save(tmp_path, plan, range(2000, 2006), ["a", "b", "c", "d"], [])
    save_result("toy", "y__cs_simple", pd.DataFrame({"att": [0.0]}),
                {"n_clusters": 2}, tmp_path)
    row = deviations(plan, folder=tmp_path).set_index("check").loc["clustering"]
    assert row["deviates"] and row["actual"] == "2 clusters, 4 units"
