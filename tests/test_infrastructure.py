"""Manifest hashing, the audit ledger and panel round trips."""

from __future__ import annotations

import shutil
import warnings

import pandas as pd
import pytest

from analysis import paths
from analysis.errors import DataIntegrityError, DroppedRowsWarning, LedgerImbalanceError
from analysis.io import Panel, read_panel, write_panel
from analysis.ledger import Ledger
from analysis.manifest import raw_file, read_manifest, sha256_of


def test_every_shipped_file_matches_its_manifest_hash():
    manifest = read_manifest()
    assert len(manifest) >= 15
    for row in manifest.itertuples():
        path = paths.raw_dir() / row.source / row.file
        assert sha256_of(path) == row.sha256, path
        assert path.stat().st_size == int(row.bytes), path


def test_every_raw_file_is_in_the_manifest_and_has_provenance():
    manifest = read_manifest()
    listed = set(zip(manifest["source"], manifest["file"]))
    for folder in paths.raw_dir().iterdir():
        assert (folder / "PROVENANCE.md").exists(), folder
        # Files may sit in sub-folders (output/2005/Alabama.csv): the manifest
        # names them by their path inside the source folder.
        for path in folder.rglob("*"):
            if path.is_file() and path.name != "PROVENANCE.md":
                name = path.relative_to(folder).as_posix()
                assert (folder.name, name) in listed, path


def test_manifest_rows_name_publisher_origin_licence_and_coverage():
    manifest = read_manifest()
    for column in ["publisher", "origin", "licence", "coverage"]:
        assert (manifest[column].str.len() > 5).all(), column


def test_changed_file_is_refused_naming_it(tmp_path):
    source, name = "mpdta", "mpdta.csv"
    (tmp_path / source).mkdir()
    copy = tmp_path / source / name
    shutil.copy(paths.raw_dir() / source / name, copy)
    assert raw_file(source, name, root=tmp_path) == copy

    with open(copy, "ab") as handle:
        handle.write(b"\n")
    with pytest.raises(DataIntegrityError, match="mpdta.csv.*git checkout"):
        raw_file(source, name, root=tmp_path)


def test_file_missing_from_manifest_is_refused():
    with pytest.raises(KeyError, match="not in data/manifest.csv"):
        raw_file("mpdta", "not_there.csv")


def test_ledger_drop_counts_warns_and_balances():
    ledger = Ledger("demo")
    frame = pd.DataFrame({"unit": ["a", "b", "c", "d"], "y": [1.0, None, 3.0, None]})
    with pytest.warns(DroppedRowsWarning, match="dropped 2 of 4 rows"):
        kept = ledger.drop(frame, frame["y"].isna(), "load", "y missing",
                           id_columns=["unit"])
    assert list(kept["unit"]) == ["a", "c"]

    table = ledger.to_frame()
    assert table.loc[0, "rows_in"] == 4
    assert table.loc[0, "rows_out"] == 2
    assert table.loc[0, "rows_affected"] == 2
    assert table.loc[0, "examples"] == "b, d"
    ledger.check()


def test_ledger_refuses_an_unbalanced_step():
    ledger = Ledger("demo")
    with pytest.raises(LedgerImbalanceError, match="rows in 10 != rows out 7"):
        ledger.record("merge", 10, 7, removed={"no match": 2})


def test_ledger_collapse_and_json_round_trip():
    ledger = Ledger("demo")
    ledger.record("to year", 24, 2, removed={"months summed": 22}, action="collapse")
    ledger.recode("fix", "typo", 3, 2, warn=False)
    again = Ledger.from_json(ledger.to_json())
    pd.testing.assert_frame_equal(again.to_frame(), ledger.to_frame())
    again.check()


def test_panel_round_trip_keeps_key_hashes_and_ledger(tmp_path):
    ledger = Ledger("toy")
    ledger.record("load", 3, 3)
    frame = pd.DataFrame({"unit": ["a", "a", "b"], "year": [1, 2, 1], "y": [1.0, 2, 3]})
    panel = Panel("toy", frame, ["unit", "year"], {"src/f.csv": "abc"}, ledger,
                  {"rule": "none"})
    write_panel(panel, tmp_path)

    back = read_panel("toy", tmp_path)
    pd.testing.assert_frame_equal(back.frame, frame)
    assert back.key == ["unit", "year"]
    assert back.raw_sha256 == {"src/f.csv": "abc"}
    assert back.notes == {"rule": "none"}
    assert len(back.ledger) == 1


def test_panel_with_duplicated_key_is_refused(tmp_path):
    frame = pd.DataFrame({"unit": ["a", "a"], "year": [1, 1], "y": [1.0, 2.0]})
    panel = Panel("dup", frame, ["unit", "year"], {}, Ledger("dup"))
    with pytest.raises(ValueError, match="not unique.*'unit': 'a'"):
        write_panel(panel, tmp_path)


def test_panel_with_missing_key_is_refused(tmp_path):
    frame = pd.DataFrame({"unit": ["a", None], "year": [1, 1]})
    panel = Panel("nokey", frame, ["unit", "year"], {}, Ledger("nokey"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="1 rows with a missing key"):
            write_panel(panel, tmp_path)


def test_panel_built_from_other_raw_files_is_refused(tmp_path):
    """A panel whose recorded raw hash differs from the manifest's is stale."""
    shipped = read_manifest().iloc[0]
    name = f"{shipped.source}/{shipped.file}"
    frame = pd.DataFrame({"unit": ["a"], "y": [1.0]})
    ledger = Ledger("old")
    ledger.record("load", 1, 1)
    write_panel(Panel("old", frame, ["unit"], {name: "0" * 64}, ledger), tmp_path)
    with pytest.raises(DataIntegrityError, match=f"{name}.*built from 000000000000.*"
                                                 "make panels"):
        read_panel("old", tmp_path)


def test_failed_build_removes_the_stale_panel(tmp_path, monkeypatch, capsys):
    """A raw file changed after a build: the rebuild fails naming the file and
    the fix, and the old parquet is gone rather than left for the reports."""
    from analysis import build

    root = tmp_path / "project"
    shutil.copytree(paths.raw_dir() / "mpdta", root / "data" / "raw" / "mpdta")
    for folder in ["marshall_city_crime", "kaplan_ori_crosswalk"]:
        shutil.copytree(paths.raw_dir() / folder, root / "data" / "raw" / folder)
    shutil.copy(paths.manifest_path(), root / "data" / "manifest.csv")
    shutil.copytree(paths.project_root() / "data" / "crosswalks",
                    root / "data" / "crosswalks")
    monkeypatch.setenv("ANALYSIS_ROOT", str(root))

    build.main(["large_agency_year"])
    target = root / "data" / "processed" / "large_agency_year.parquet"
    assert target.exists()

    raw = root / "data" / "raw" / "marshall_city_crime" / "ucr_crime_1975_2015.csv"
    with open(raw, "ab") as handle:
        handle.write(b"\n")
    with pytest.raises(SystemExit, match="1 panel\\(s\\) not built: large_agency_year"):
        build.main(["large_agency_year"])
    assert "ucr_crime_1975_2015.csv" in capsys.readouterr().err
    assert not target.exists()


def test_copy_read_outside_the_manifest_names_its_hash(tmp_path):
    """An explicit path is read with a warning that says whether it is the
    shipped file."""
    from analysis.errors import UnverifiedDataWarning
    from analysis.sources._common import resolve_input

    copy = tmp_path / "mpdta.csv"
    shutil.copy(paths.raw_dir() / "mpdta" / "mpdta.csv", copy)
    with pytest.warns(UnverifiedDataWarning, match="identical to the shipped file"):
        resolve_input("mpdta", "mpdta.csv", copy)
    with open(copy, "ab") as handle:
        handle.write(b"\n")
    with pytest.warns(UnverifiedDataWarning, match="differs from the shipped file's"):
        resolve_input("mpdta", "mpdta.csv", copy)


def test_ledger_added_rows_balance_and_refuse_lost_rows():
    """A grid step records rows added: in + added = out, else an error."""
    ledger = Ledger("grid")
    ledger.add("grid", "absent months added as missing", 7, 10, 3)
    ledger.check()
    row = ledger.to_frame().iloc[0]
    assert (row["action"], row["rows_in"], row["rows_out"], row["rows_affected"]) == (
        "add", 7, 10, 3)
    with pytest.raises(LedgerImbalanceError,
                       match="rows in 7 \\+ added 2 != rows out 10"):
        ledger.add("grid", "two input rows fell outside the grid", 7, 10, 2)
