"""Execute the report notebooks and export them: ``python -m analysis.report``.

The notebooks under ``notebooks/`` are jupytext ``py:percent`` files. Each is
executed top to bottom with nbclient in the project's environment (they read
panels and saved results, and save their figures to ``figures/``), then
exported to ``reports/<name>.html`` with its figures embedded.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter
from traitlets.config import Config

from analysis import paths

# Executed in this order; later notebooks may read figures of earlier ones.
NOTEBOOKS = [
    "01_data_and_regimes.py",
    "02_sc_large_agencies.py",
    "02_sc_ny_counties.py",
    "03_detainer_compliance.py",
    "04_iowa_recidivism.py",
    "05_national_city_crime.py",
    "06_state_laws.py",
    "07_287g_crime.py",
]


def notebooks_dir() -> Path:
    """Folder holding the paired notebook sources."""
    return paths.project_root() / "notebooks"


def run_notebook(
    source: Path | str, out_dir: Path | str | None = None, timeout: int = 600
) -> Path:
    """Execute one py:percent notebook and write ``<out_dir>/<stem>.html``.

    Parameters
    ----------
    source
        Path of the ``.py`` notebook.
    out_dir
        Where the HTML and the executed ``.ipynb`` go; ``reports/`` by default.
    timeout
        Seconds allowed per cell.

    Returns
    -------
    Path
        The HTML file.
    """
    source = Path(source)
    out_dir = Path(out_dir) if out_dir is not None else paths.reports_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    paths.figures_dir().mkdir(parents=True, exist_ok=True)

    notebook = jupytext.read(source)
    # Cell ids are random by default; fixed ids keep the HTML byte-stable.
    for number, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{number}"
    # The kernel talks to this process over local sockets in a private
    # temporary directory rather than unencrypted TCP on loopback.
    socket_dir = tempfile.TemporaryDirectory(prefix="analysis-kernel-")
    sockets = {"transport": "ipc", "ip": os.path.join(socket_dir.name, "kernel")}
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        config=Config({"KernelManager": sockets}),
        resources={"metadata": {"path": str(source.parent)}},
    )
    # The kernel inherits this environment. A non-interactive MPLBACKEND (as
    # set by headless runs) would stop figures from showing in the report, so
    # the kernel gets the inline backend; figure files are written with Agg
    # either way.
    saved = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    try:
        client.execute()
    finally:
        socket_dir.cleanup()
        if saved is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = saved

    nbformat.write(notebook, out_dir / f"{source.stem}.ipynb")
    exporter = HTMLExporter(exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(notebook)
    target = out_dir / f"{source.stem}.html"
    target.write_text(body, encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> None:
    """Run the named notebooks (all by default)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help=f"notebooks: {NOTEBOOKS}")
    args = parser.parse_args(argv)

    for name in args.names or NOTEBOOKS:
        start = time.perf_counter()
        target = run_notebook(notebooks_dir() / name)
        print(f"{name:<36} {time.perf_counter() - start:5.1f} s  -> {target}")


if __name__ == "__main__":
    main()
