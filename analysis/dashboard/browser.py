"""Render the dashboard in headless Chromium: DOM after the script ran, screenshot.

Chromium is the Debian package ``chromium`` (``/usr/bin/chromium``; another
binary can be named with the ``CHROMIUM`` environment variable). Each call
starts a fresh browser with a throw-away profile and every background
network feature off, loads the page from a ``file://`` address, and returns
what the browser printed, including the page's console messages.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

DEFAULT_CHROMIUM = "/usr/bin/chromium"
INSTALL_HINT = (
    "Install it with `apt-get install -y chromium` (Debian/Ubuntu; `make test` "
    "does this when /usr/bin/chromium is missing), or set CHROMIUM to the path "
    "of a Chromium binary."
)
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
    # Console messages (script errors among them) go to stderr.
    "--enable-logging=stderr", "--v=0",
]
_CONSOLE = re.compile(r":CONSOLE(?:\(\d+\)|:\d+)\]\s*(.*)$")


@dataclass(frozen=True)
class BrowserRun:
    """What one headless Chromium run printed."""

    stdout: str
    stderr: str

    @property
    def console(self) -> list[str]:
        """The page's console messages (logs, uncaught errors, CSP refusals)."""
        return [m.group(1) for m in map(_CONSOLE.search, self.stderr.splitlines())
                if m]


def find_chromium() -> str:
    """Path of the Chromium binary, or FileNotFoundError saying how to install it."""
    candidate = os.environ.get("CHROMIUM", DEFAULT_CHROMIUM)
    found = shutil.which(candidate)
    if found is None:
        raise FileNotFoundError(f"Chromium not found at {candidate}. {INSTALL_HINT}")
    return found


def run_chromium(page: Path | str, *options: str, fragment: str = "",
                 timeout: int = 180) -> BrowserRun:
    """Load ``page`` (a local file) in headless Chromium with extra ``options``.

    Parameters
    ----------
    page
        The HTML file.
    options
        Chromium switches, e.g. ``--dump-dom`` or ``--screenshot=<file>``.
    fragment
        Address fragment without ``#`` (e.g. ``sort=tx-counties:county_name:asc``).
    timeout
        Seconds before the browser is stopped.

    Raises
    ------
    RuntimeError
        If Chromium exits with an error; the message quotes its stderr.
    """
    url = Path(page).resolve().as_uri() + (f"#{fragment}" if fragment else "")
    with tempfile.TemporaryDirectory(prefix="dashboard-chromium-") as profile:
        command = [find_chromium(), *FLAGS, f"--user-data-dir={profile}",
                   *options, url]
        run = subprocess.run(command, capture_output=True, text=True,
                             timeout=timeout, check=False)
    if run.returncode != 0:
        raise RuntimeError(
            f"chromium exited with {run.returncode} on {url}:\n{run.stderr[-3000:]}"
        )
    return BrowserRun(run.stdout, run.stderr)


def dump_dom(page: Path | str, fragment: str = "") -> BrowserRun:
    """The page's DOM after its scripts ran (``stdout``), with the console."""
    return run_chromium(page, "--dump-dom", fragment=fragment)


def screenshot(page: Path | str, target: Path | str,
               size: tuple[int, int] = (1400, 2000)) -> Path:
    """Write a PNG of the top ``size`` (width, height) pixels of the page."""
    target = Path(target).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    run_chromium(page, f"--screenshot={target}",
                 f"--window-size={size[0]},{size[1]}", "--hide-scrollbars")
    if not target.exists():
        raise RuntimeError(f"chromium wrote no screenshot to {target}.")
    return target
