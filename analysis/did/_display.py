"""Printing shared by the regression-based results (TWFE, two-stage).

A result mixes in :class:`CoefficientDisplay` and supplies ``design`` (with
``estimator`` and ``yname``), ``_header_items()`` (label, value pairs) and
``tidy()``; it then prints as text in a terminal and as a table in a notebook.
"""

from __future__ import annotations

SHOWN = ["term", "att", "se", "ci_lower", "ci_upper", "p_value"]


class CoefficientDisplay:
    """Text and HTML views of a design header plus a coefficient table."""

    def summary(self) -> str:
        """The design header followed by the coefficient table, as text."""
        lines = [f"{self.design['estimator']}: {self.design['yname']}"]
        lines += [f"  {key:<22}{value}" for key, value in self._header_items()]
        table = self.tidy()[SHOWN]
        lines.append(table.to_string(index=False, float_format="%.5f"))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        header = "".join(
            f"<tr><th style='text-align:left'>{key}</th><td>{value}</td></tr>"
            for key, value in self._header_items()
        )
        title = f"<b>{self.design['estimator']}</b>: {self.design['yname']}"
        table = self.tidy().to_html(index=False, float_format="%.5f")
        return f"<div>{title}<table>{header}</table>{table}</div>"
