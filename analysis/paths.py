"""Where the project keeps its data and outputs.

All locations derive from the repository root so that the library, the
``make`` targets and the notebooks agree. ``ANALYSIS_ROOT`` overrides the root
(useful when the package is installed outside its checkout).
"""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """Return the repository root (the folder holding ``data/``)."""
    override = os.environ.get("ANALYSIS_ROOT")
    if override:
        return Path(override).resolve()
    return Path(__file__).resolve().parent.parent


def raw_dir() -> Path:
    """Folder of shipped raw files, one sub-folder per source."""
    return project_root() / "data" / "raw"


def processed_dir() -> Path:
    """Folder where the panels are written as parquet."""
    return project_root() / "data" / "processed"


def results_dir() -> Path:
    """Folder where estimation results are saved for the reports."""
    return project_root() / "results"


def figures_dir() -> Path:
    """Folder of PNG figures written by the reports."""
    return project_root() / "figures"


def reports_dir() -> Path:
    """Folder of HTML reports."""
    return project_root() / "reports"


def manifest_path() -> Path:
    """The data manifest: one row per shipped raw file with its sha256."""
    return project_root() / "data" / "manifest.csv"
