"""Reading and writing panels as parquet with their provenance.

A panel on disk carries, in the parquet file metadata, the sha256 of every raw
file it was built from, its unique key and its audit ledger. Reading it back
returns the same :class:`Panel`, so a report can show where each row came from
without rebuilding anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis import paths
from analysis.errors import DataIntegrityError
from analysis.ledger import Ledger

_META_PREFIX = "analysis."


@dataclass
class Panel:
    """A derived table with its key, provenance and ledger.

    Attributes
    ----------
    name
        File stem under ``data/processed/``.
    frame
        The table; ``key`` columns are unique and non-missing.
    key
        Column names forming the unique key.
    raw_sha256
        ``{"<source>/<file>": sha256}`` of every raw file used.
    ledger
        Row accounting from the raw files to this table.
    notes
        Free-text design decisions (coverage rule, rate denominator...).
    """

    name: str
    frame: pd.DataFrame
    key: list[str]
    raw_sha256: dict[str, str]
    ledger: Ledger
    notes: dict[str, str] = field(default_factory=dict)

    def check_key(self) -> None:
        """Raise ValueError naming the rows if the key is missing or repeated."""
        missing = [c for c in self.key if c not in self.frame.columns]
        if missing:
            raise ValueError(f"panel {self.name}: key column(s) {missing} absent.")
        null = self.frame[self.key].isna().any(axis=1)
        if null.any():
            rows = self.frame.loc[null, self.key].head(5).to_dict("records")
            raise ValueError(
                f"panel {self.name}: {int(null.sum())} rows with a missing key "
                f"{self.key}, e.g. {rows}."
            )
        dup = self.frame.duplicated(self.key, keep=False)
        if dup.any():
            rows = self.frame.loc[dup, self.key].head(6).to_dict("records")
            raise ValueError(
                f"panel {self.name}: key {self.key} is not unique; "
                f"{int(dup.sum())} rows share a key, e.g. {rows}."
            )


def write_panel(panel: Panel, folder: Path | str | None = None) -> Path:
    """Check the key and the ledger, then write ``<folder>/<name>.parquet``."""
    panel.check_key()
    panel.ledger.check()
    folder = Path(folder) if folder is not None else paths.processed_dir()
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(panel.frame, preserve_index=False)
    metadata = dict(table.schema.metadata or {})
    extra = {
        "name": panel.name,
        "key": json.dumps(panel.key),
        "raw_sha256": json.dumps(panel.raw_sha256, sort_keys=True),
        "ledger": panel.ledger.to_json(),
        "notes": json.dumps(panel.notes, sort_keys=True),
    }
    for name, value in extra.items():
        metadata[(_META_PREFIX + name).encode()] = value.encode()
    target = folder / f"{panel.name}.parquet"
    pq.write_table(table.replace_schema_metadata(metadata), target)
    panel.ledger.to_frame().to_csv(folder / f"{panel.name}.ledger.csv", index=False)
    return target


def read_panel(name: str, folder: Path | str | None = None) -> Panel:
    """Read a panel written by :func:`write_panel`, with its metadata."""
    from analysis.build import PANELS  # here: build imports this module

    name = name.removesuffix(".parquet")
    folder = Path(folder) if folder is not None else paths.processed_dir()
    target = folder / f"{name}.parquet"
    if not target.exists() and name not in PANELS:
        raise FileNotFoundError(
            f"{target}: no panel named {name!r}; the panels are {sorted(PANELS)}."
        )
    if not target.exists():
        raise FileNotFoundError(
            f"{target}: panel not built yet. Run `make panels` (or "
            "`python -m analysis.build`) first."
        )
    table = pq.read_table(target)
    meta = {
        k.decode()[len(_META_PREFIX):]: v.decode()
        for k, v in (table.schema.metadata or {}).items()
        if k.decode().startswith(_META_PREFIX)
    }
    raw_sha256 = json.loads(meta.get("raw_sha256", "{}"))
    _check_against_manifest(target, raw_sha256)
    return Panel(
        name=meta.get("name", name),
        frame=table.to_pandas(),
        key=json.loads(meta.get("key", "[]")),
        raw_sha256=raw_sha256,
        ledger=Ledger.from_json(meta.get("ledger", "[]"), dataset=name),
        notes=json.loads(meta.get("notes", "{}")),
    )


def _check_against_manifest(target: Path, raw_sha256: dict[str, str]) -> None:
    """Refuse a panel built from raw files the manifest no longer lists.

    The panel records the hash of every raw file it was built from; if the
    manifest now gives another hash for one of them, the panel is stale.
    """
    from analysis.manifest import read_manifest

    manifest = read_manifest()
    current = {f"{source}/{file}": sha for source, file, sha in
               zip(manifest["source"], manifest["file"], manifest["sha256"])}
    stale = [f"{name} (built from {sha[:12]}, manifest {current[name][:12]})"
             for name, sha in raw_sha256.items()
             if name in current and current[name] != sha]
    if stale:
        raise DataIntegrityError(
            f"{target}: built from raw files that differ from data/manifest.csv: "
            f"{'; '.join(stale)}. Rebuild it with `make panels`."
        )
