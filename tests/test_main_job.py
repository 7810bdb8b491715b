"""The main job end to end: panels -> results -> figures and reports.

Marked slow: it rebuilds everything from the shipped data in a scratch copy
of the repository's data, so it never touches the working tree's outputs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from analysis import paths
from analysis.build import PANELS
from analysis.deviations import deviations
from analysis.manifest import sha256_of
from analysis.plans import load_plan
from analysis.report import REPORTS
from analysis.report_tables import primary_estimates
from analysis.store import load_result


@pytest.mark.slow
def test_main_job_builds_every_panel_result_figure_and_report(tmp_path, monkeypatch):
    root = tmp_path / "project"
    project = paths.project_root()
    for folder in ["data/raw", "data/crosswalks", "notebooks", "plans"]:
        shutil.copytree(project / folder, root / folder)
    shutil.copy(paths.manifest_path(), root / "data" / "manifest.csv")
    env = {**os.environ, "ANALYSIS_ROOT": str(root), "MPLBACKEND": "Agg"}

    def run_main_job():
        for module in ["analysis.build", "analysis.evaluate", "analysis.report",
                       "analysis.dashboard"]:
            run = subprocess.run(
                [sys.executable, "-m", module], env=env, capture_output=True,
                text=True,
            )
            assert run.returncode == 0, f"{module}:\n{run.stdout}\n{run.stderr}"
        outputs = sorted((root / "results").rglob("*.*"))
        outputs += sorted((root / "figures").glob("*.png"))
        outputs += sorted((root / "reports").glob("*.html"))
        return {p.relative_to(root): sha256_of(p) for p in outputs}

    first = run_main_job()
    # The same seeds give byte-identical results, figures and reports.
    assert run_main_job() == first

    for name in PANELS:
        assert (root / "data" / "processed" / f"{name}.parquet").stat().st_size > 0
    for name, _, _ in REPORTS:
        html = root / "reports" / f"{name}.html"
        assert html.stat().st_size > 10_000, html
        text = html.read_text(encoding="utf-8")
        assert "Traceback" not in text, html
        # Figures are embedded in the report, not only written to figures/.
        assert "data:image/png;base64" in text, html
    assert (root / "reports" / "compliance_dashboard.html").stat().st_size > 100_000
    assert len(list((root / "figures").glob("*.png"))) >= 13

    # The numbers the reports print are the numbers the estimators return:
    # the summary table's primary estimate is the saved result object's value,
    # and re-running the estimator on the saved sample gives it again.
    from analysis.did import att_gt

    monkeypatch.setenv("ANALYSIS_ROOT", str(root))
    results = root / "results"

    # The deviation checks flag what the data forced on the real plans: New
    # York's window cut to the year before the comparison cohort (2012).
    table = deviations(load_plan("sc_ny_counties"), folder=results).set_index("check")
    assert table.loc["window", "deviates"] and table.loc["control group", "deviates"]
    assert table.loc["window", "actual"] == "2002-2011"
    for evaluation in ["sc_large_agencies", "sc_ny_counties", "g287_large_agencies"]:
        plan = load_result(evaluation, "summary", results).record["plan"]
        primary = plan["primary"]
        saved = load_result(evaluation, f"{primary}__cs_simple", results)
        printed = primary_estimates(evaluation, results).iloc[0]
        assert printed["att"] == saved.overall_att
        assert printed["se"] == saved.overall_se
        sample = load_result(evaluation, f"{primary}__sample", results).tidy()
        again = att_gt(sample, yname=f"log_{primary}", tname="year", idname="unit",
                       gname="gname", control_group="notyettreated", est_method="dr",
                       bootstrap=True, n_boot=plan["n_boot"], seed=plan["seed"],
                       alpha=plan["alpha"]).aggregate("simple", na_rm=True)
        assert abs(again.overall_att - saved.overall_att) < 1e-12, evaluation
        assert abs(again.overall_se - saved.overall_se) < 1e-12, evaluation
    # The robustness results the reports present (sc_robustness).
    for evaluation in ["sc_large_agencies", "sc_ny_counties"]:
        for name in ["multiplicity", "randomization"]:
            assert (root / "results" / evaluation / f"{name}.csv").exists()
        assert list((root / "results" / evaluation).glob("*__spec_curve.csv"))
        assert list((root / "results" / evaluation).glob("*__honest.csv"))
