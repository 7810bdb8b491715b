"""Build the compliance dashboard: ``python -m analysis.dashboard``."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from analysis.dashboard.page import write_dashboard


def main(argv: list[str] | None = None) -> None:
    """Write the page; optionally screenshot it in headless Chromium."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=None,
                        help="HTML file to write (reports/compliance_dashboard.html)")
    parser.add_argument("--screenshot", action="store_true",
                        help="also write <out>.png, rendered by headless Chromium")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    target = write_dashboard(args.out)
    size = target.stat().st_size
    print(f"compliance dashboard {size / 1e6:5.2f} MB  "
          f"{time.perf_counter() - start:5.1f} s  -> {target}")
    if args.screenshot:
        from analysis.dashboard.browser import screenshot

        png = screenshot(target, target.with_suffix(".png"))
        print(f"screenshot -> {png}")


if __name__ == "__main__":
    main()
