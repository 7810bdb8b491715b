"""Build every panel from the shipped raw files: ``python -m analysis.build``.

Each entry of :data:`PANELS` names a function that returns an
:class:`analysis.io.Panel`; the builder checks the key and the ledger and
writes ``data/processed/<name>.parquet`` with the raw hashes in its metadata.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import textwrap
import time
import warnings

from analysis import paths
from analysis.errors import AnalysisWarning, DataIntegrityError, SchemaValidationError
from analysis.io import Panel, write_panel

# name -> "module:function". Order matters only for the log.
PANELS: dict[str, str] = {
    "state_year": "analysis.panels.state:build_state_year",
    "large_agency_year": "analysis.panels.marshall:build_large_agency_year",
    "ny_agency_year": "analysis.panels.ny:build_ny_agency_year",
    "ny_county_year": "analysis.panels.ny:build_ny_county_year",
    "tx_county_month": "analysis.panels.detainers:build_tx_county_month",
    "pa_facility_month": "analysis.panels.detainers:build_pa_facility_month",
    "iowa_district_year": "analysis.panels.iowa:build_iowa_district_year",
    "regime_sc_county": "analysis.regimes:build_sc_regime_table",
    "regime_287g_county": "analysis.regimes:build_287g_regime_table",
    "regime_state_laws": "analysis.state_regimes:build_state_law_regimes",
    "city_year": "analysis.panels.city:build_city_year",
    "city_county_link": "analysis.panels.city:build_city_county_link",
    "city_coverage": "analysis.panels.city:build_city_coverage",
}


def build_one(name: str) -> Panel:
    """Run the builder registered under ``name`` and return its panel."""
    if name not in PANELS:
        raise ValueError(f"unknown panel {name!r}; choose from {sorted(PANELS)}.")
    module_name, function_name = PANELS[name].split(":")
    builder = getattr(importlib.import_module(module_name), function_name)
    return builder()


def main(argv: list[str] | None = None) -> None:
    """Build the named panels (all by default) and print rows and timings."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help=f"panels to build: {list(PANELS)}")
    args = parser.parse_args(argv)

    failed = []
    for name in args.names or list(PANELS):
        start = time.perf_counter()
        # A failed build must not leave the previous panel behind for the
        # evaluations and reports to read as if it were current.
        for stale in [f"{name}.parquet", f"{name}.ledger.csv"]:
            (paths.processed_dir() / stale).unlink(missing_ok=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", AnalysisWarning)
            try:
                panel = build_one(name)
                target = write_panel(panel)
            except (DataIntegrityError, SchemaValidationError, FileNotFoundError,
                    KeyError) as error:
                print(f"{name:<22} NOT BUILT: {error}", file=sys.stderr)
                failed.append(name)
                continue
        seconds = time.perf_counter() - start
        print(
            f"{name:<22} {len(panel.frame):>7,} rows  "
            f"{len(caught):>2} warnings  {seconds:5.1f} s  -> {target}"
        )
        # Each warning once: they are the data decisions a user should see.
        for message in dict.fromkeys(str(w.message) for w in caught):
            print(textwrap.fill(message, width=100, initial_indent="    ",
                                subsequent_indent="      "))
    if failed:
        sys.exit(f"{len(failed)} panel(s) not built: {', '.join(failed)}; "
                 "see the messages above.")


if __name__ == "__main__":
    main()
