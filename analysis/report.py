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
# Each report is (output name, notebook, parameters); a notebook with a cell
# tagged "parameters" can be run for several evaluations.
REPORTS: list[tuple[str, str, dict]] = [
    ("01_data_and_regimes", "01_data_and_regimes.py", {}),
    ("02_sc_large_agencies", "02_secure_communities.py",
     {"EVALUATION": "sc_large_agencies"}),
    ("02_sc_ny_counties", "02_secure_communities.py",
     {"EVALUATION": "sc_ny_counties"}),
    ("03_detainer_compliance", "03_detainer_compliance.py", {}),
    ("04_iowa_recidivism", "04_iowa_recidivism.py", {}),
    ("05_national_city_crime", "05_national_city_crime.py", {}),
    ("06_state_laws", "06_state_laws.py", {}),
    ("07_287g_crime", "07_287g_crime.py", {}),
]
NOTEBOOKS = sorted({notebook for _, notebook, _ in REPORTS})


def notebooks_dir() -> Path:
    """Folder holding the paired notebook sources."""
    return paths.project_root() / "notebooks"


def run_notebook(
    source: Path | str, out_dir: Path | str | None = None, timeout: int = 600,
    *, name: str | None = None, parameters: dict | None = None,
) -> Path:
    """Execute one py:percent notebook and write ``<out_dir>/<name>.html``.

    Parameters
    ----------
    source
        Path of the ``.py`` notebook.
    out_dir
        Where the HTML and the executed ``.ipynb`` go; ``reports/`` by default.
    timeout
        Seconds allowed per cell.
    name
        Output file stem; the notebook's stem by default.
    parameters
        Values that replace the notebook's defaults: a cell assigning them is
        inserted after the cell tagged ``parameters`` (as papermill does).

    Returns
    -------
    Path
        The HTML file.
    """
    source = Path(source)
    out_dir = Path(out_dir) if out_dir is not None else paths.reports_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    paths.figures_dir().mkdir(parents=True, exist_ok=True)

    name = name or source.stem
    notebook = jupytext.read(source)
    if parameters:
        _inject_parameters(notebook, parameters, source)
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

    _coalesce_streams(notebook)
    nbformat.write(notebook, out_dir / f"{name}.ipynb")
    exporter = HTMLExporter(exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(notebook)
    target = out_dir / f"{name}.html"
    target.write_text(body, encoding="utf-8")
    return target


def _coalesce_streams(notebook) -> None:
    """Merge consecutive stdout (or stderr) outputs of a cell into one.

    How printed text is split into output messages depends on timing (a
    print before a slow call arrives on its own); merging keeps the executed
    notebook and its HTML byte-identical from run to run.
    """
    for cell in notebook.cells:
        merged = []
        for output in cell.get("outputs", []):
            previous = merged[-1] if merged else None
            if (output.get("output_type") == "stream" and previous is not None
                    and previous.get("output_type") == "stream"
                    and previous.get("name") == output.get("name")):
                previous["text"] = previous["text"] + output["text"]
                continue
            merged.append(output)
        if "outputs" in cell:
            cell["outputs"] = merged


def _inject_parameters(notebook, parameters: dict, source: Path) -> None:
    """Insert a cell setting ``parameters`` after the cell tagged parameters."""
    tagged = [i for i, cell in enumerate(notebook.cells)
              if "parameters" in cell.get("metadata", {}).get("tags", [])]
    if not tagged:
        raise ValueError(f"{source}: no cell tagged 'parameters'; tag the cell "
                         "holding the defaults (# %% tags=[\"parameters\"]).")
    lines = [f"{key} = {value!r}" for key, value in parameters.items()]
    cell = nbformat.v4.new_code_cell("# Parameters of this report\n" + "\n".join(lines))
    cell.metadata["tags"] = ["injected-parameters"]
    notebook.cells.insert(tagged[0] + 1, cell)


def main(argv: list[str] | None = None) -> None:
    """Run the named reports (all by default)."""
    parser = argparse.ArgumentParser(description=__doc__)
    names = [name for name, _, _ in REPORTS]
    parser.add_argument("names", nargs="*", help=f"reports: {names}")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(names))
    if unknown:
        parser.error(f"unknown report(s) {unknown}; choose from {names}.")

    for name, notebook, parameters in REPORTS:
        if args.names and name not in args.names:
            continue
        start = time.perf_counter()
        target = run_notebook(notebooks_dir() / notebook, name=name,
                              parameters=parameters)
        print(f"{name:<36} {time.perf_counter() - start:5.1f} s  -> {target}")


if __name__ == "__main__":
    main()
