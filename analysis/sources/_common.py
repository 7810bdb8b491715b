"""Helpers shared by the source loaders: schema checks and name keys."""

from __future__ import annotations

import re
import unicodedata

import pandas as pd
import pandera.pandas as pa

from analysis.errors import SchemaValidationError


def validate(frame: pd.DataFrame, schema: pa.DataFrameSchema, where: str):
    """Validate ``frame`` lazily; on failure raise naming the file, columns, rows.

    Parameters
    ----------
    frame
        Table to check.
    schema
        The pandera schema the loader promises.
    where
        The file (or table) name put first in the error message.
    """
    try:
        return schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        lines = []
        for (column, check), group in cases.groupby(
            ["column", "check"], dropna=False, sort=False
        ):
            rows = group["index"].dropna().head(5).tolist()
            values = group["failure_case"].head(5).tolist()
            lines.append(
                f"  column {column!r}: fails {check} in {len(group)} row(s); "
                f"rows (0-based, after the loader's parsing) {rows}, values {values}"
            )
        raise SchemaValidationError(
            f"{where}: does not match schema {schema.name or ''}:\n"
            + "\n".join(lines)
            + "\nFix the input file or the loader's handling of it."
        ) from None


def require_columns(frame: pd.DataFrame, columns: list[str], where: str) -> None:
    """Raise ValueError naming the file and the absent columns."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaValidationError(
            f"{where}: missing column(s) {missing}; found {list(frame.columns)}. "
            "The file's layout differs from the one this loader reads."
        )


def name_key(name: str) -> str:
    """Normalise a place name for matching.

    ``"St. Lawrence Co."`` becomes ``"saintlawrence"``.

    Lower-cases, strips accents and punctuation, expands "St."/"Ste." to
    "saint"/"sainte" and removes county-type words (county, parish, borough,
    city and borough, census area, municipality).
    """
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    text = text.lower().strip()
    text = re.sub(r"\bste\b\.?", "sainte ", text)
    text = re.sub(r"\bst\b\.?", "saint ", text)
    text = re.sub(
        r"\b(county|co\.?|parish|city and borough|borough|census area|"
        r"municipality)\b",
        " ",
        text,
    )
    return re.sub(r"[^a-z0-9]", "", text)


def resolve_input(source: str, file: str, path=None):
    """Return the file a loader should read.

    With ``path=None`` the shipped file ``data/raw/<source>/<file>`` is checked
    against the manifest's sha256 (a changed file raises
    :class:`analysis.errors.DataIntegrityError` naming it). An explicit
    ``path`` (a newer vintage, a test copy) is read as given, with an
    :class:`analysis.errors.UnverifiedDataWarning` that gives the file's
    sha256 and says whether it equals the shipped file's.
    """
    import warnings
    from pathlib import Path

    from analysis.errors import UnverifiedDataWarning
    from analysis.manifest import manifest_entry, raw_file, sha256_of

    if path is None:
        return raw_file(source, file)
    actual = sha256_of(path)
    shipped = manifest_entry(source, file)["sha256"]
    if actual == shipped:
        verdict = "identical to the shipped file"
    else:
        verdict = (f"differs from the shipped file's {shipped[:12]}: results from "
                   "it are not the shipped data's")
    warnings.warn(
        f"{path}: not the shipped data/raw/{source}/{file}; its sha256 "
        f"{actual[:12]} {verdict}.",
        UnverifiedDataWarning,
        stacklevel=3,
    )
    return Path(path)


def read_crosswalk(name: str, columns: list[str]) -> pd.DataFrame:
    """Read hand-made table ``data/crosswalks/<name>`` as strings, checking columns.

    Every crosswalk row must carry a non-empty ``source`` (who says so, or
    the reason for the mapping); ``columns`` lists the other columns the
    caller needs. Empty cells stay empty strings, never NaN.
    """
    from analysis import paths

    path = paths.project_root() / "data" / "crosswalks" / name
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: crosswalk not found; it ships with the repository "
            "(see data/crosswalks/README.md)."
        )
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    require_columns(table, [*columns, "source"], str(path))
    unsourced = table.index[table["source"].str.strip() == ""].tolist()
    if unsourced:
        raise ValueError(
            f"{path}: rows {unsourced[:5]} have an empty 'source'; every crosswalk "
            "row must say where the mapping comes from."
        )
    return table
