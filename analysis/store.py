"""Saved results: what the evaluations write and the reports read.

Reports never re-estimate. An evaluation writes each estimate to
``results/<evaluation>/`` as a tidy CSV plus a JSON record of its design,
overall effect, provenance and ledger; the report notebooks read those files
back through :func:`load_result`. A :class:`SavedResult` offers the same
``tidy()``, ``band``, ``reference_period`` and ``label`` as a live result, so
the plotting functions accept either.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis import paths


@dataclass
class SavedResult:
    """One estimate read back from disk.

    Attributes
    ----------
    name
        File stem, unique within the evaluation folder.
    table
        The tidy table (event times, groups or terms with att, se, limits).
    record
        Everything else: design, overall effect, sources, ledger, seed.
    """

    name: str
    table: pd.DataFrame
    record: dict = field(default_factory=dict)

    def tidy(self) -> pd.DataFrame:
        """Return the saved tidy table."""
        return self.table.copy()

    @property
    def band(self) -> str:
        return self.record.get("band", "pointwise")

    @property
    def reference_period(self):
        return self.record.get("reference_period")

    @property
    def label(self) -> str:
        return self.record.get("label", self.name)

    @property
    def n_clusters(self):
        return self.record.get("n_clusters")

    @property
    def alpha(self) -> float:
        return float(self.record.get("plan", {}).get("alpha", 0.05))

    @property
    def overall_att(self) -> float:
        return _float(self.record.get("overall_att"))

    @property
    def overall_se(self) -> float:
        return _float(self.record.get("overall_se"))


def _float(value) -> float:
    return float("nan") if value is None else float(value)


def _clean(value):
    # JSON has no NaN: store None and read it back as NaN.
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item"):
        return _clean(value.item())
    return value


def save_result(
    evaluation: str,
    name: str,
    table: pd.DataFrame,
    record: dict,
    folder: Path | str | None = None,
) -> Path:
    """Write ``<folder>/<evaluation>/<name>.csv`` and ``<name>.json``."""
    folder = Path(folder) if folder is not None else paths.results_dir()
    target = folder / evaluation
    target.mkdir(parents=True, exist_ok=True)
    table.to_csv(target / f"{name}.csv", index=False, float_format="%.17g")
    with open(target / f"{name}.json", "w") as handle:
        json.dump(_clean(record), handle, indent=2, sort_keys=True)
    return target / f"{name}.json"


def load_result(
    evaluation: str, name: str, folder: Path | str | None = None
) -> SavedResult:
    """Read a result written by :func:`save_result`."""
    folder = Path(folder) if folder is not None else paths.results_dir()
    target = folder / evaluation
    json_path = target / f"{name}.json"
    if not json_path.exists():
        raise FileNotFoundError(
            f"{json_path}: result not found. Run `make results` (or "
            "`python -m analysis.evaluate`) first."
        )
    with open(json_path) as handle:
        record = json.load(handle)
    return SavedResult(name, pd.read_csv(target / f"{name}.csv"), record)


def list_results(evaluation: str, folder: Path | str | None = None) -> list[str]:
    """Names of the results saved for one evaluation."""
    folder = Path(folder) if folder is not None else paths.results_dir()
    return sorted(p.stem for p in (folder / evaluation).glob("*.json"))
