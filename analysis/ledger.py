"""The audit ledger: what every loading and assembly step did to the rows.

Each step records the rows it received, the rows it passed on, and the rows it
removed, by reason: ``rows_in = rows_out + sum(removed)``. Removal is either a
*drop* (the rows are gone: out of scope, unusable, duplicated) or a
*collapse* (several rows became one, as when months are summed to a year).
Rows *added* (a unit x period grid that makes absent periods explicit) are
recorded with ``rows_in + rows added = rows_out``. Recodes, which change
values but not the row count, are recorded too. The
ledger travels with every panel and result, so a reviewer can see what
happened to the data without reading code.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field

import pandas as pd

from analysis.errors import (
    DroppedRowsWarning,
    LedgerImbalanceError,
    RecodedValuesWarning,
)

LEDGER_COLUMNS = [
    "dataset",
    "step",
    "action",
    "reason",
    "rows_in",
    "rows_out",
    "rows_affected",
    "examples",
]

_ACTIONS = ("drop", "collapse", "recode", "keep", "add")


@dataclass
class _Entry:
    dataset: str
    step: str
    action: str
    reason: str
    rows_in: int
    rows_out: int
    rows_affected: int
    examples: str = ""


@dataclass
class Ledger:
    """Row accounting for one dataset (a source table, panel or result).

    Parameters
    ----------
    dataset
        Name shown in every ledger row, e.g. ``"ny_agency_year"``.

    Examples
    --------
    >>> ledger = Ledger("demo")
    >>> df = pd.DataFrame({"x": [1, None, 3]})
    >>> kept = ledger.drop(df, df["x"].isna(), "load", "x missing", warn=False)
    >>> ledger.to_frame()[["step", "reason", "rows_affected"]].values.tolist()
    [['load', 'x missing', 1]]
    """

    dataset: str
    entries: list[_Entry] = field(default_factory=list)

    def record(
        self,
        step: str,
        rows_in: int,
        rows_out: int,
        *,
        removed: dict[str, int] | None = None,
        action: str = "drop",
        examples: dict[str, list] | None = None,
    ) -> None:
        """Record one step; ``removed`` maps each reason to its row count.

        Raises
        ------
        LedgerImbalanceError
            If ``rows_in != rows_out + sum(removed.values())``.
        """
        if action not in _ACTIONS:
            raise ValueError(f"action must be one of {_ACTIONS}, got {action!r}.")
        # Reasons with a zero count stay: they show what was checked.
        removed = {k: int(v) for k, v in (removed or {}).items()}
        if int(rows_in) != int(rows_out) + sum(removed.values()):
            raise LedgerImbalanceError(
                f"{self.dataset}/{step}: rows in {rows_in} != rows out {rows_out} + "
                f"removed {sum(removed.values())} ({removed})."
            )
        examples = examples or {}
        if not removed:
            self.entries.append(
                _Entry(self.dataset, step, "keep", "", rows_in, rows_out, 0)
            )
        for reason, count in removed.items():
            shown = ", ".join(str(e) for e in list(examples.get(reason, []))[:5])
            self.entries.append(
                _Entry(
                    self.dataset,
                    step,
                    action,
                    reason,
                    int(rows_in),
                    int(rows_out),
                    count,
                    shown,
                )
            )

    def drop(
        self,
        frame: pd.DataFrame,
        mask: pd.Series,
        step: str,
        reason: str,
        *,
        id_columns: list[str] | None = None,
        warn: bool = True,
        stacklevel: int = 2,
    ) -> pd.DataFrame:
        """Remove the rows where ``mask`` is true, record and warn; return the rest.

        Parameters
        ----------
        frame
            The table before the step.
        mask
            Boolean Series aligned with ``frame``; true marks rows to drop.
        step, reason
            Ledger labels; the reason should say why in a few words.
        id_columns
            Columns whose values identify dropped rows in the ledger's
            examples and in the warning.
        warn
            Emit a :class:`DroppedRowsWarning` when rows are dropped.
        """
        mask = mask.fillna(False).astype(bool)
        count = int(mask.sum())
        examples = _examples(frame.loc[mask], id_columns)
        self.record(
            step,
            len(frame),
            len(frame) - count,
            removed={reason: count},
            examples={reason: examples},
        )
        if count and warn:
            warnings.warn(
                f"{self.dataset}: dropped {count} of {len(frame)} rows at step "
                f"'{step}' ({reason}); e.g. {examples[:3]}. See the audit ledger.",
                DroppedRowsWarning,
                stacklevel=stacklevel + 1,
            )
        return frame.loc[~mask]

    def recode(
        self,
        step: str,
        reason: str,
        count: int,
        rows: int,
        *,
        examples: list | None = None,
        warn: bool = True,
        stacklevel: int = 2,
    ) -> None:
        """Record that ``count`` of ``rows`` rows had values changed by a rule."""
        count = int(count)
        self.entries.append(
            _Entry(
                self.dataset,
                step,
                "recode",
                reason,
                int(rows),
                int(rows),
                count,
                ", ".join(str(e) for e in (examples or [])[:5]),
            )
        )
        if count and warn:
            warnings.warn(
                f"{self.dataset}: recoded {count} of {rows} rows at step '{step}' "
                f"({reason}); e.g. {(examples or [])[:3]}. See the audit ledger.",
                RecodedValuesWarning,
                stacklevel=stacklevel + 1,
            )

    def add(
        self,
        step: str,
        reason: str,
        rows_in: int,
        rows_out: int,
        added: int,
        *,
        warn: bool = False,
        stacklevel: int = 2,
    ) -> None:
        """Record that a step added ``added`` rows (``rows_in + added = rows_out``).

        Used when a unit x period grid makes absent combinations explicit rows
        (with missing values or stated zeros), so that the chain of row counts
        from step to step can be followed.

        Raises
        ------
        LedgerImbalanceError
            If ``rows_in + added != rows_out`` (some input rows did not land
            in the grid).
        """
        if int(rows_in) + int(added) != int(rows_out):
            raise LedgerImbalanceError(
                f"{self.dataset}/{step}: rows in {rows_in} + added {added} != "
                f"rows out {rows_out}."
            )
        self.entries.append(
            _Entry(self.dataset, step, "add", reason, int(rows_in), int(rows_out),
                   int(added))
        )
        if added and warn:
            warnings.warn(
                f"{self.dataset}: added {added} rows at step '{step}' ({reason}). "
                "See the audit ledger.",
                RecodedValuesWarning,
                stacklevel=stacklevel + 1,
            )

    def extend(self, other: "Ledger") -> "Ledger":
        """Append another ledger's rows (e.g. a source's ledger to a panel's)."""
        self.entries.extend(other.entries)
        return self

    def check(self) -> None:
        """Raise :class:`LedgerImbalanceError` if any step does not balance."""
        frame = self.to_frame()
        balanced_steps = frame[frame["action"].isin(["drop", "collapse", "keep"])]
        for (dataset, step), rows in balanced_steps.groupby(
            ["dataset", "step"], sort=False
        ):
            rows_in = rows["rows_in"].iloc[0]
            rows_out = rows["rows_out"].iloc[0]
            if rows_in != rows_out + rows["rows_affected"].sum():
                raise LedgerImbalanceError(
                    f"{dataset}/{step}: rows in {rows_in} != rows out {rows_out} + "
                    f"removed {rows['rows_affected'].sum()}."
                )
        added = frame[frame["action"] == "add"]
        wrong = added["rows_in"] + added["rows_affected"] != added["rows_out"]
        if wrong.any():
            row = added[wrong].iloc[0]
            raise LedgerImbalanceError(
                f"{row.dataset}/{row.step}: rows in {row.rows_in} + added "
                f"{row.rows_affected} != rows out {row.rows_out}."
            )

    def to_frame(self) -> pd.DataFrame:
        """Return the ledger as a DataFrame with the columns of ``LEDGER_COLUMNS``."""
        return pd.DataFrame(
            [e.__dict__ for e in self.entries], columns=LEDGER_COLUMNS
        ).astype({"rows_in": "int64", "rows_out": "int64", "rows_affected": "int64"})

    def to_json(self) -> str:
        """Serialise for parquet metadata and saved results."""
        return json.dumps([e.__dict__ for e in self.entries])

    @classmethod
    def from_json(cls, text: str, dataset: str = "") -> "Ledger":
        """Rebuild a ledger written by :meth:`to_json`."""
        entries = [_Entry(**e) for e in json.loads(text)]
        return cls(dataset or (entries[0].dataset if entries else ""), entries)

    def __len__(self) -> int:
        return len(self.entries)

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(index=False)


def _examples(rows: pd.DataFrame, id_columns: list[str] | None) -> list:
    if rows.empty:
        return []
    if not id_columns:
        return [int(i) if isinstance(i, int) else str(i) for i in rows.index[:5]]
    # Distinct ids in order of appearance, so a unit dropped for all of its
    # years is named once (distinct tuples first: a large drop need not
    # format every row).
    distinct = rows[id_columns].drop_duplicates().head(50)
    names = ("/".join(str(v) for v in record) for record in
             distinct.itertuples(False))
    return list(dict.fromkeys(names))[:5]
