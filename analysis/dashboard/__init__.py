"""The compliance dashboard: one self-contained HTML page of detainer data.

``python -m analysis.dashboard`` (run by ``make``) reads the Texas
``tx_county_month`` and Pennsylvania ``pa_facility_month`` panels and writes
``reports/compliance_dashboard.html``: sortable tables per county or facility
and month, inline SVG figures, coverage, definitions, source hashes and the
audit ledger. Nothing is estimated here; missing Texas months stay missing.
"""

from analysis.dashboard.page import render_dashboard, write_dashboard

__all__ = ["render_dashboard", "write_dashboard"]
