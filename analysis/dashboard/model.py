"""What the dashboard template draws: sortable tables, cells and sparklines.

Python decides what every cell shows (formatted text), what it sorts by (the
raw number) and whether it is missing; the Jinja template only lays the cells
out. A missing value is never shown as zero: it becomes a cell with the
``na`` class and the missing label, and it sorts after every number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

# Formats a column can take; see :func:`format_cell`.
FORMATS = ("int", "float1", "float2", "pct", "money", "text", "spark")


@dataclass(frozen=True)
class Column:
    """One table column.

    Attributes
    ----------
    key
        Column of the source frame.
    label
        Header text.
    fmt
        One of :data:`FORMATS`. Numbers sort numerically, ``text`` sorts by
        the text, ``spark`` (a trend line) does not sort.
    note
        Header tooltip: what the column counts.
    row_header
        The cell names the row (county, facility, month).
    """

    key: str
    label: str
    fmt: str = "int"
    note: str = ""
    row_header: bool = False

    def __post_init__(self):
        if self.fmt not in FORMATS:
            raise ValueError(
                f"column {self.key!r}: format {self.fmt!r} is not one of {FORMATS}."
            )

    @property
    def sort(self) -> str:
        """How the page script sorts the column: ``num``, ``text`` or ``none``."""
        return {"text": "text", "spark": "none"}.get(self.fmt, "num")


@dataclass(frozen=True)
class Cell:
    """One table cell: shown text, sort value, missing flag, tooltip, trend."""

    text: str = ""
    value: str | None = None
    missing: bool = False
    title: str = ""
    spark: "Sparkline | None" = None
    flagged: bool = False


@dataclass(frozen=True)
class Sparkline:
    """A small trend line: SVG path data on a fixed view box, gaps kept."""

    path: str
    label: str
    width: int = 120
    height: int = 24


@dataclass
class Table:
    """A sortable table as the template draws it."""

    id: str
    caption: str
    columns: list[Column]
    rows: list[list[Cell]]
    note: str = ""
    kind: str = "summary"  # "summary" or "matrix" (unit x month)
    extra: dict = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        return len(self.rows)


def month_label(period: int) -> str:
    """``YYYY-MM`` of a period (``year * 12 + month - 1``)."""
    return f"{period // 12}-{period % 12 + 1:02d}"


def _is_missing(value) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def _number(value: float) -> str:
    # Sort key: enough digits to order every value, none of float noise.
    return format(float(value), ".12g")


def format_cell(value, fmt: str, missing_label: str, missing_title: str) -> Cell:
    """Format one value for display; a missing value becomes a missing cell."""
    if fmt == "spark":
        return Cell(spark=value)
    if _is_missing(value):
        return Cell(text=missing_label, value="", missing=True, title=missing_title)
    if fmt == "text":
        return Cell(text=str(value))
    number = float(value)
    if fmt == "int":
        text = f"{number:,.0f}"
    elif fmt == "float1":
        text = f"{number:,.1f}"
    elif fmt == "float2":
        text = f"{number:,.2f}"
    elif fmt == "pct":
        text = f"{100 * number:.1f}%"
    else:  # money
        text = f"${number:,.0f}"
    return Cell(text=text, value=_number(number))


def table_from_frame(
    frame: pd.DataFrame,
    columns: list[Column],
    *,
    id: str,
    caption: str,
    note: str = "",
    missing_label: str = "n/r",
    missing_title: str = "not reported (missing, not zero)",
) -> Table:
    """Build a :class:`Table` from the columns of ``frame``, in row order.

    Raises
    ------
    ValueError
        If a column is absent from ``frame`` (names the table and the column).
    """
    absent = [c.key for c in columns if c.key not in frame.columns]
    if absent:
        raise ValueError(f"table {id!r}: column(s) {absent} absent from the frame; "
                         f"it has {list(frame.columns)}.")
    rows = [
        [format_cell(record[c.key], c.fmt, missing_label, missing_title)
         for c in columns]
        for record in frame.to_dict("records")
    ]
    return Table(id=id, caption=caption, columns=columns, rows=rows, note=note)


def matrix_table(
    wide: pd.DataFrame,
    row_label: str,
    *,
    id: str,
    caption: str,
    note: str = "",
    titles: pd.DataFrame | None = None,
    flags: pd.DataFrame | None = None,
    missing_label: str = "n/r",
    missing_title: str = "not reported (missing, not zero)",
) -> Table:
    """Unit x month table from a wide frame (index = unit, one column per month).

    Cells show whole numbers without separators (the script sorts on the
    text); ``titles`` (same shape) gives optional per-cell tooltips and
    ``flags`` (same shape, boolean) marks cells that fail a consistency check.
    """
    columns = [Column("unit", row_label, "text", row_header=True)]
    columns += [Column(str(c), str(c), "int") for c in wide.columns]
    # Plain arrays: per-cell DataFrame lookups are slow over ~20,000 cells.
    values = wide.to_numpy(dtype=float)
    shape = values.shape
    tips = titles.to_numpy() if titles is not None else [[""] * shape[1]] * shape[0]
    marks = flags.to_numpy(dtype=bool) if flags is not None else [
        [False] * shape[1]] * shape[0]
    months = [str(c) for c in wide.columns]
    rows = []
    for unit, row_values, row_tips, row_marks in zip(wide.index, values, tips, marks):
        row = [Cell(text=str(unit))]
        for month, value, tip, mark in zip(months, row_values, row_tips, row_marks):
            if math.isnan(value):
                row.append(Cell(text=missing_label, missing=True,
                                title=f"{unit} {month}: {missing_title}"))
            else:
                row.append(Cell(text=f"{value:.0f}", title=str(tip or ""),
                                flagged=bool(mark)))
        rows.append(row)
    return Table(id=id, caption=caption, columns=columns, rows=rows, note=note,
                 kind="matrix")


def sparkline(values: list[float], label: str, width: int = 120,
              height: int = 24) -> Sparkline:
    """Trend line of ``values`` (one per month); missing months leave a gap.

    The line is scaled to the series' own maximum, so it shows the shape of
    the trend, not its level; the label says the maximum.
    """
    finite = [v for v in values if not _is_missing(v)]
    top = max(finite) if finite else 0.0
    step = (width - 2) / max(len(values) - 1, 1)
    segments, current = [], []
    for i, value in enumerate(values):
        if _is_missing(value):
            current = []
            continue
        if not current:
            segments.append(current)
        x = 1 + i * step
        y = height - 1 - ((value / top) * (height - 2) if top > 0 else 0.0)
        current.append(f"{x:.1f} {y:.1f}")
    # A month standing alone between gaps gets a one-unit tick so it shows.
    commands = [
        "M" + " L".join(points) + (" h1" if len(points) == 1 else "")
        for points in segments
    ]
    return Sparkline(" ".join(commands), f"{label}; maximum {top:,.0f}", width,
                     height)


@dataclass(frozen=True)
class Stat:
    """A headline number; ``id`` lets the tests find it on the page."""

    id: str
    label: str
    value: float
    text: str
    note: str = ""


@dataclass
class Section:
    """What one state's part of the page shows."""

    stats: list[Stat]
    tables: dict[str, Table]
    figures: dict[str, object]
    facts: dict = field(default_factory=dict)
