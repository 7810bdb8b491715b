"""Render the compliance dashboard page from the saved panels with Jinja.

The page is one HTML file with its style, script and figures inline. It is
built from the ``tx_county_month`` and ``pa_facility_month`` panels in
``data/processed/`` (never re-estimating anything) and written to
``reports/compliance_dashboard.html``; the same panels give the same bytes.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import jinja2
from markupsafe import Markup

from analysis import paths
from analysis.dashboard import provenance
from analysis.dashboard.pennsylvania import pennsylvania_section
from analysis.dashboard.texas import texas_section
from analysis.io import read_panel

TX_PANEL = "tx_county_month"
PA_PANEL = "pa_facility_month"
PAGE_NAME = "compliance_dashboard.html"
TEMPLATE = "dashboard.html.j2"


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("analysis.dashboard", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["num"] = lambda value: f"{value:,}"
    return environment


def _asset(name: str) -> Markup:
    # Style and script are our own files, inlined verbatim (not templates).
    text = resources.files("analysis.dashboard").joinpath("templates", name)
    return Markup(text.read_text(encoding="utf-8").strip())


def render_dashboard(processed: Path | str | None = None) -> str:
    """Return the dashboard HTML built from the panels in ``processed``.

    Parameters
    ----------
    processed
        Folder holding the panels; ``data/processed/`` by default.
    """
    tx_panel = read_panel(TX_PANEL, processed)
    pa_panel = read_panel(PA_PANEL, processed)
    tx = texas_section(tx_panel)
    pa = pennsylvania_section(pa_panel)
    context = {
        "tx": tx,
        "pa": pa,
        "pa_definitions": provenance.pa_outcome_definitions(pa_panel),
        "tx_panel": tx_panel.name,
        "pa_panel": pa_panel.name,
        "tx_grid": len(tx_panel.frame),
        "pa_grid": len(pa_panel.frame),
        "sources": provenance.source_rows([tx_panel, pa_panel]),
        "panel_notes": [(tx_panel.name, tx_panel.notes),
                        (pa_panel.name, pa_panel.notes)],
        "tx_ledger": provenance.ledger_table(tx_panel, "tx-ledger"),
        "pa_ledger": provenance.ledger_table(pa_panel, "pa-ledger"),
        "css": _asset("dashboard.css"),
        "js": _asset("dashboard.js"),
    }
    return _environment().get_template(TEMPLATE).render(context)


def write_dashboard(
    target: Path | str | None = None, processed: Path | str | None = None
) -> Path:
    """Render the page and write it (``reports/compliance_dashboard.html``)."""
    target = Path(target) if target is not None else paths.reports_dir() / PAGE_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    html = render_dashboard(processed)
    # Bytes, not text mode: the same newlines on every platform.
    target.write_bytes(html.encode("utf-8"))
    return target
