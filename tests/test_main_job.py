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
from analysis.manifest import sha256_of
from analysis.report import NOTEBOOKS


@pytest.mark.slow
def test_main_job_builds_every_panel_result_figure_and_report(tmp_path):
    root = tmp_path / "project"
    project = paths.project_root()
    for folder in ["data/raw", "data/crosswalks", "notebooks", "plans"]:
        shutil.copytree(project / folder, root / folder)
    shutil.copy(paths.manifest_path(), root / "data" / "manifest.csv")
    env = {**os.environ, "ANALYSIS_ROOT": str(root), "MPLBACKEND": "Agg"}

    def run_main_job():
        for module in ["analysis.build", "analysis.evaluate", "analysis.report"]:
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
    for notebook in NOTEBOOKS:
        html = root / "reports" / notebook.replace(".py", ".html")
        assert html.stat().st_size > 10_000, html
        text = html.read_text(encoding="utf-8")
        assert "Traceback" not in text, html
        # Figures are embedded in the report, not only written to figures/.
        assert "data:image/png;base64" in text, html
    assert len(list((root / "figures").glob("*.png"))) >= 9
