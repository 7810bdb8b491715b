"""The data manifest and hash-checked access to shipped raw files.

``data/manifest.csv`` lists every shipped raw file with its sha256, size,
publisher, origin, licence and coverage. Loaders never open a raw file by path
directly: they ask :func:`raw_file`, which checks the file against the
manifest and refuses a file whose bytes changed. That makes every number in a
panel traceable to one exact file.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import pandas as pd

from analysis import paths
from analysis.errors import DataIntegrityError

MANIFEST_COLUMNS = [
    "source",
    "file",
    "sha256",
    "bytes",
    "publisher",
    "origin",
    "licence",
    "coverage",
]


def sha256_of(path: Path | str) -> str:
    """Return the hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@lru_cache(maxsize=4)
def _read_manifest(path: str, mtime_ns: int) -> pd.DataFrame:
    # Cached on the file's mtime so an edited manifest is re-read.
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in MANIFEST_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(
            f"{path}: manifest lacks column(s) {missing}; expected {MANIFEST_COLUMNS}."
        )
    duplicated = table.duplicated(["source", "file"])
    if duplicated.any():
        rows = table.loc[duplicated, ["source", "file"]].to_dict("records")
        raise ValueError(f"{path}: duplicated manifest entries {rows}.")
    return table


def read_manifest(path: Path | str | None = None) -> pd.DataFrame:
    """Return the manifest as a DataFrame with the columns of ``MANIFEST_COLUMNS``."""
    path = Path(path) if path is not None else paths.manifest_path()
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: data manifest not found; it ships with the repository."
        )
    return _read_manifest(str(path), path.stat().st_mtime_ns).copy()


def manifest_entry(source: str, file: str) -> pd.Series:
    """Return the manifest row for one shipped file, or raise naming it."""
    table = read_manifest()
    match = table[(table["source"] == source) & (table["file"] == file)]
    if match.empty:
        known = sorted(table.loc[table["source"] == source, "file"])
        raise KeyError(
            f"data/raw/{source}/{file} is not in data/manifest.csv "
            f"(files listed for {source!r}: {known or 'none'}). Add a manifest row "
            "with its sha256 before loading it."
        )
    return match.iloc[0]


_VERIFIED: dict[tuple[str, int, int], str] = {}


def verify_file(path: Path | str, expected_sha256: str) -> Path:
    """Check a file's sha256 and return its path; raise naming the file if changed.

    Hashes are remembered per (path, size, mtime) so repeated loads in one
    process do not re-read large files.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: shipped raw file is missing. Restore it with "
            f"`git checkout -- {path}`."
        )
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    actual = _VERIFIED.get(key) or sha256_of(path)
    if actual != expected_sha256:
        raise DataIntegrityError(
            f"{path}: sha256 {actual} does not match the manifest's "
            f"{expected_sha256}. The file was changed after it was shipped; restore "
            f"it with `git checkout -- {path}`, or, if the new version is "
            "intended, record its provenance and new hash in data/manifest.csv."
        )
    _VERIFIED[key] = actual
    return path


def raw_file(source: str, file: str, root: Path | str | None = None) -> Path:
    """Return the verified path of shipped file ``data/raw/<source>/<file>``.

    Parameters
    ----------
    source, file
        The manifest's ``source`` folder and ``file`` name.
    root
        Folder holding the per-source folders; the project's ``data/raw`` by
        default. A copy elsewhere is verified against the same manifest.
    """
    entry = manifest_entry(source, file)
    root = Path(root) if root is not None else paths.raw_dir()
    return verify_file(root / source / file, entry["sha256"])


def source_hashes(source: str) -> dict[str, str]:
    """Return ``{"<source>/<file>": sha256}`` for every manifest file of a source."""
    table = read_manifest()
    rows = table[table["source"] == source]
    if rows.empty:
        raise KeyError(f"no manifest rows for source {source!r}.")
    return {f"{source}/{f}": h for f, h in zip(rows["file"], rows["sha256"])}
