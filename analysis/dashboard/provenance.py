"""Where the dashboard's numbers come from: sources, ledgers, notes, definitions.

Everything here is read from what the build already recorded: the raw-file
hashes and ledger a panel carries in its parquet metadata, the data manifest,
and the cited crosswalk that defines the Pennsylvania outcomes.
"""

from __future__ import annotations

import pandas as pd

from analysis.dashboard.model import Column, Table, table_from_frame
from analysis.io import Panel
from analysis.manifest import manifest_entry
from analysis.sources import pennsylvania as pa_source
from analysis.sources._common import read_crosswalk


def source_rows(panels: list[Panel]) -> list[dict]:
    """One row per raw file behind the panels, with its manifest entry.

    Raises
    ------
    ValueError
        If a panel was built from a file whose sha256 is no longer the one in
        ``data/manifest.csv`` (the panel is stale: rebuild it).
    """
    rows = []
    for panel in panels:
        for key, sha256 in sorted(panel.raw_sha256.items()):
            source, file = key.split("/", 1)
            entry = manifest_entry(source, file)
            if entry["sha256"] != sha256:
                raise ValueError(
                    f"panel {panel.name} was built from data/raw/{key} with sha256 "
                    f"{sha256[:12]}..., but data/manifest.csv lists "
                    f"{entry['sha256'][:12]}...: the panel is stale. Run "
                    "`make panels` and rebuild the dashboard."
                )
            rows.append({
                "panel": panel.name, "file": f"data/raw/{key}", "sha256": sha256,
                "bytes": int(entry["bytes"]), "publisher": entry["publisher"],
                "origin": entry["origin"], "licence": entry["licence"],
                "coverage": entry["coverage"],
            })
    return rows


def ledger_table(panel: Panel, id: str) -> Table:
    """The panel's audit ledger: every step, with rows dropped or recoded."""
    frame = panel.ledger.to_frame()
    columns = [
        Column("step", "Step", "text", row_header=True),
        Column("dataset", "Table", "text"),
        Column("action", "Action", "text",
               note="drop: rows removed; collapse: rows summed into one; recode: "
                    "values changed by a stated rule; keep: rows checked, none "
                    "removed"),
        Column("reason", "Reason", "text"),
        Column("rows_in", "Rows in"),
        Column("rows_out", "Rows out"),
        Column("rows_affected", "Rows affected"),
        Column("examples", "Examples", "text"),
    ]
    return table_from_frame(
        frame, columns, id=id,
        caption=f"Audit ledger of {panel.name}: rows in = rows out + rows removed "
                "at every step")


def pa_outcome_definitions(panel: Panel) -> Table:
    """What each Pennsylvania outcome means: raw labels and the crosswalk's source.

    The definitions are the cited rows of
    ``data/crosswalks/pa_lift_reason_outcomes.csv``; the counts are the
    panel's totals.
    """
    crosswalk = read_crosswalk(pa_source.OUTCOMES, ["lift_reason", "outcome"])
    totals = {c.removeprefix("outcome_"): int(panel.frame[c].sum())
              for c in panel.frame.columns if c.startswith("outcome_")}
    unknown = sorted(set(totals) - set(crosswalk["outcome"]))
    if unknown:
        raise ValueError(
            f"panel {panel.name} has outcome(s) {unknown} that "
            f"data/crosswalks/{pa_source.OUTCOMES} does not define; rebuild the "
            "panel or add the crosswalk rows."
        )
    rows = []
    for outcome, group in crosswalk.groupby("outcome", sort=False):
        labels = [f"'{x}'" if x else "(empty)" for x in group["lift_reason"]]
        rows.append({
            "outcome": outcome.replace("_", " "),
            "labels": "; ".join(labels),
            "definition": " | ".join(dict.fromkeys(group["source"])),
            "detainers": totals.get(outcome, 0),
        })
    columns = [
        Column("outcome", "Outcome", "text", row_header=True),
        Column("labels", "lift_reason in the ICE file", "text"),
        Column("detainers", "Detainers"),
        Column("definition", "Meaning and source (crosswalk row)", "text"),
    ]
    return table_from_frame(
        pd.DataFrame(rows), columns, id="pa-outcomes",
        caption="Pennsylvania outcomes: the ICE lift_reason labels behind each, "
                f"from data/crosswalks/{pa_source.OUTCOMES}")
