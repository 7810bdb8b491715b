"""Report tables print the saved estimator numbers; literature rows are cited."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analysis import report_tables as rt
from analysis.store import save_result

Z975, Z80, Z95 = 1.959964, 0.841621, 1.644854


def _plan(transform="log_rate"):
    return {"name": "toy", "primary": "y", "outcomes": {"y": "Violent crime (log)"},
            "secondary": [], "alpha": 0.05, "transform": transform,
            "regime": "regime_sc_county", "first_year": 2000, "last_year": 2005}


def _results(folder, transform="log_rate"):
    plan = _plan(transform)
    save_result("toy", "summary", pd.DataFrame([
        {"outcome": "y", "estimator": "CS", "units": 40, "pretrend_p": 0.3},
        {"outcome": "y", "estimator": "TWFE", "units": 40, "pretrend_p": 0.6}]),
        {"plan": plan, "raw_sha256": {"src/file.csv": "abc"}}, folder)
    save_result("toy", "y__cs_simple", pd.DataFrame({"att": [-0.02]}),
                {"label": "CS", "overall_att": -0.02, "overall_se": 0.01,
                 "overall_ci": [-0.0396, -0.0004]}, folder)
    save_result("toy", "y__twfe_static", pd.DataFrame(
        {"term": ["post"], "att": [0.01], "se": [0.02], "ci_lower": [-0.03],
         "ci_upper": [0.05]}), {"label": "TWFE"}, folder)
    sample = pd.DataFrame({"unit": ["a", "a", "b", "b"], "year": [2000, 2001] * 2,
                           "cohort": [2001, 2001, 2003, 2003],
                           "gname": [2001, 2001, 0, 0]})
    save_result("toy", "y__sample", sample, {"ledger": []}, folder)


def test_primary_estimates_are_the_saved_numbers_with_hand_mde(tmp_path):
    _results(tmp_path)
    table = rt.primary_estimates("toy", tmp_path).set_index("estimator")
    assert table.loc["CS", "att"] == -0.02  # exactly the saved value
    assert table.loc["CS", "ci_lower"] == -0.0396
    assert table.loc["TWFE", "se"] == 0.02
    assert table.loc["CS", "mde"] == pytest.approx((Z975 + Z80) * 0.01, abs=1e-6)
    assert table.loc["CS", "equivalence_bound"] == pytest.approx(
        0.02 + Z95 * 0.01, abs=1e-6)
    assert table.loc["CS", "att_pct"] == pytest.approx(100 * math.expm1(-0.02))
    assert table.loc["TWFE", "pretrend_p"] == 0.6


def test_summary_cautions_on_wide_randomization_spread_and_thin_cells(tmp_path):
    """Bounds from the analytic se are flagged as optimistic when the
    randomization draws spread wider, and thin comparison cells are counted."""
    _results(tmp_path)
    assert "Caution" not in rt.plain_summary("toy", tmp_path)
    draws = pd.DataFrame({"draw": [-0.03, 0.03] * 50})  # sd 0.0302 vs se 0.01
    save_result("toy", "y__randomization", draws, {}, tmp_path)
    cells = pd.DataFrame({"group": [2001, 2001, 2003], "time": [2001, 2002, 2003],
                          "post": [True, True, True], "n_treated": [9, 9, 9],
                          "n_control": [30, 2, 40], "att": [0.1, 0.2, None]})
    save_result("toy", "y__cs_attgt", cells, {}, tmp_path)
    text = rt.plain_summary("toy", tmp_path)
    spread = draws["draw"].std(ddof=1)
    assert f"standard deviation {spread:.3f}, 3.0 times its standard error" in text
    assert f"equivalence bound would be {0.02 + Z95 * spread:.3f}" in text
    assert "1 of the 2 post-activation group-time effects" in text
    assert "as few as 2" in text


def test_plain_summary_states_interval_and_bounds(tmp_path):
    _results(tmp_path)
    text = rt.plain_summary("toy", tmp_path)
    assert "After Secure Communities activation, violent crime changed by -2.0%" in text
    assert "-3.9% to -0.0%" in text  # exp(-0.0396) - 1, exp(-0.0004) - 1
    assert "The interval excludes zero" in text
    assert f"{0.02 + Z95 * 0.01:.3f} log points" in text


def test_rate_outcomes_are_not_turned_into_percentages(tmp_path):
    _results(tmp_path, transform="rate")
    table = rt.primary_estimates("toy", tmp_path)
    assert "att_pct" not in table
    assert "changed by -0.020 (95% interval -0.040 to -0.000" in rt.plain_summary(
        "toy", tmp_path)


def test_cohort_sizes_mark_the_comparison_cohort(tmp_path):
    _results(tmp_path)
    table = rt.cohort_sizes("toy", tmp_path).set_index("cohort")
    assert table.loc[2001, "role"] == "treated"
    assert table.loc[2003, "role"].startswith("comparison")


def test_sources_table_flags_a_hash_not_in_the_manifest(tmp_path):
    _results(tmp_path)
    table = rt.sources_table("toy", tmp_path)
    assert not table["matches_manifest"].any()


def test_coverage_grid_marks_partial_missing_and_sample_units():
    panel = pd.DataFrame({"ori": ["a"] * 3 + ["b"] * 3, "year": [2000, 2001, 2002] * 2,
                          "y": [1.0, 2.0, None, 1.0, 1.0, 1.0],
                          "full": [True, False, True, True, True, True]})
    plan = {"unit_col": "ori", "primary": "y", "first_year": 2000,
            "last_year": 2002, "full_year_column": "full"}
    grid = rt.coverage_grid(panel, plan, {"b"})
    assert grid.loc["a"].tolist() == ["ok", "partial", "missing", "no"]
    assert grid.loc["b", "in_sample"] == "yes"

    # The panels use nullable dtypes: <NA> rates and flags are missing too
    # (Louisville 2000-2002 in the large-agency panel was shown as "ok").
    nullable = panel.astype({"y": "Float64", "full": "boolean"})
    nullable.loc[2, "full"] = pd.NA
    grid = rt.coverage_grid(nullable, plan, {"b"})
    assert grid.loc["a"].tolist() == ["ok", "partial", "missing", "no"]


def test_literature_rows_are_cited_and_alsan_yang_is_the_appendix_value():
    table = rt.literature_table()
    assert table["source"].str.len().gt(20).all()
    row = table[table["study"].str.startswith("Alsan and Yang")].iloc[0]
    assert (row["estimate"], row["se"]) == (0.017, 0.023)
    assert "Table A1" in row["source"]
    # A number without a stated source would be a guess: rows with an
    # estimate must say in the note what it is.
    assert table.loc[table["estimate"].notna(), "note"].str.len().gt(20).all()


def test_report_parameters_go_after_the_tagged_cell(tmp_path):
    """A parameterised notebook gets its values in a cell after the one tagged
    'parameters'; a notebook without that tag is refused, naming the file."""
    import jupytext

    from analysis.report import _inject_parameters

    source = tmp_path / "nb.py"
    source.write_text('# %% tags=["parameters"]\nEVALUATION = "a"\n\n# %%\nx = 1\n')
    notebook = jupytext.read(source)
    _inject_parameters(notebook, {"EVALUATION": "b"}, source)
    assert [cell.source for cell in notebook.cells] == [
        'EVALUATION = "a"', "# Parameters of this report\nEVALUATION = 'b'", "x = 1"]

    plain = tmp_path / "plain.py"
    plain.write_text("# %%\nx = 1\n")
    with pytest.raises(ValueError, match="plain.py: no cell tagged 'parameters'"):
        _inject_parameters(jupytext.read(plain), {"x": 2}, plain)


def test_split_printed_output_is_merged():
    """Printed text split into several stream messages by timing becomes one
    output, so reports are byte-identical from run to run."""
    import nbformat

    from analysis.report import _coalesce_streams

    cell = nbformat.v4.new_code_cell("print(1); slow(); print(2)")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="1\n"),
        nbformat.v4.new_output("stream", name="stdout", text="2\n"),
        nbformat.v4.new_output("stream", name="stderr", text="warning\n"),
    ]
    notebook = nbformat.v4.new_notebook(cells=[cell])
    _coalesce_streams(notebook)
    assert [(o.name, o.text) for o in notebook.cells[0].outputs] == [
        ("stdout", "1\n2\n"), ("stderr", "warning\n")]
