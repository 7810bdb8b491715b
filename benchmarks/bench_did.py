"""Time att_gt and twfe against peer packages on synthetic staggered panels.

Run ``.venv/bin/python benchmarks/bench_did.py`` (``--quick`` for the
smaller panels only, ``--write`` to rewrite the table in
benchmarks/README.md). Not a test: timings depend on the machine and on what
else runs on it.

Every (panel, estimator) case runs in its own subprocess, so peak memory is
that case's alone and a slow peer can be stopped: the subprocess builds the
panel (not timed), times a first call (for pyfixest this includes numba's
JIT compilation), then repeats the call and reports the median. A case still
running after ``TIMEOUT`` + 30 seconds is stopped and reported as skipped; a
first call longer than ``TIMEOUT`` / 3 is the case's only run. Memory is the
peak resident set size above the size before the first call
(``resource.getrusage``), so it counts the estimator's working memory whatever
allocates it (numpy, polars, numba).

Estimators: Callaway-Sant'Anna ATT(g, t) plus the simple aggregation, with
analytic and with 999-draw multiplier-bootstrap inference (ours,
diff-diff's ``CallawaySantAnna``, csdid's ``ATTgt``, moderndid's ``att_gt``),
and TWFE static and event-study regressions with unit-clustered standard
errors (ours, pyfixest ``feols``, linearmodels ``PanelOLS``); with 240
periods the event study bins event times beyond +-12.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
TIMEOUT = 60.0
N_BOOT = 999
# (label, units, periods, cohorts)
PANELS = [
    ("500 x 20", 500, 20, 8),
    ("3,000 x 20", 3_000, 20, 8),
    ("20,000 x 20", 20_000, 20, 8),
    ("20,000 x 240, 60 cohorts", 20_000, 240, 60),
]
CS_RUNNERS = ["ours", "diff-diff", "csdid", "moderndid"]
TWFE_RUNNERS = ["ours", "pyfixest", "linearmodels"]


def synthetic_panel(n_units: int, n_periods: int, n_cohorts: int, seed: int = 0):
    """Balanced panel: a third never treated, the rest spread over cohorts.

    Cohorts start between the fourth and the third-to-last period; the effect
    grows with exposure; unit effects, a common trend and i.i.d. noise.
    """
    rng = np.random.default_rng(seed)
    periods = np.arange(1, n_periods + 1)
    starts = np.unique(np.linspace(4, n_periods - 2, n_cohorts).round().astype(int))
    first_treated = np.where(rng.random(n_units) < 1 / 3, 0,
                             rng.choice(starts, size=n_units))
    exposure = periods[None, :] - first_treated[:, None]
    treated = (first_treated[:, None] > 0) & (exposure >= 0)
    outcome = (rng.normal(size=n_units)[:, None]
               + np.linspace(0, 1, n_periods)[None, :]
               + 0.1 * (exposure + 1) * treated
               + rng.normal(size=(n_units, n_periods)))
    return pd.DataFrame({
        "unit": np.repeat(np.arange(1, n_units + 1), n_periods),
        "period": np.tile(periods, n_units),
        "first_treated": np.repeat(first_treated, n_periods),
        "y": outcome.ravel(),
    })


# --- one estimator call per case -------------------------------------------


def cs_call(runner: str, data: pd.DataFrame, bootstrap: bool):
    """A callable running Callaway-Sant'Anna plus the simple aggregation."""
    if runner == "ours":
        from analysis.did import att_gt

        def call():
            result = att_gt(data, "y", "period", "unit", "first_treated",
                            bootstrap=bootstrap, n_boot=N_BOOT, seed=1)
            return result.aggregate("simple").overall_att
    elif runner == "diff-diff":
        from diff_diff import CallawaySantAnna

        def call():
            estimator = CallawaySantAnna(n_bootstrap=N_BOOT if bootstrap else 0,
                                         seed=1)
            return estimator.fit(data, outcome="y", unit="unit", time="period",
                                 first_treat="first_treated",
                                 aggregate="simple").overall_att
    elif runner == "csdid":
        from csdid.att_gt import ATTgt

        def call():
            with contextlib.redirect_stdout(io.StringIO()):
                fitted = ATTgt(yname="y", tname="period", idname="unit",
                               gname="first_treated", data=data,
                               biters=N_BOOT).fit(est_method="dr", bstrap=bootstrap)
                fitted.aggte("simple", bstrap=bootstrap, biters=N_BOOT)
            return fitted.atte["overall_att"]
    elif runner == "moderndid":
        import moderndid

        def call():
            fitted = moderndid.att_gt(data, yname="y", tname="period", idname="unit",
                                      gname="first_treated", boot=bootstrap,
                                      biters=N_BOOT, random_state=1)
            return moderndid.aggte(fitted, type="simple", boot=bootstrap,
                                   biters=N_BOOT, random_state=1).overall_att
    else:
        raise ValueError(runner)
    return call


def twfe_call(runner: str, data: pd.DataFrame, event_study: bool,
              window: int | None = None):
    """A callable fitting the static or event-study TWFE regression; with
    ``window``, event times beyond +-window are binned into the endpoints."""
    treated = data["first_treated"] > 0
    event = np.where(treated, data["period"] - data["first_treated"], -1)
    if window is not None:
        event = np.clip(event, -window, window)
    data = data.assign(treated_post=(treated & (event >= 0)).astype(float))
    names = []
    if event_study:
        dummies = {}
        for e in np.unique(event[treated]):
            if e != -1:
                name = f"e_{'m' if e < 0 else ''}{abs(int(e))}"
                dummies[name] = ((event == e) & treated).astype(float)
                names.append(name)
        data = pd.concat([data, pd.DataFrame(dummies, index=data.index)], axis=1)
    regressors = names if event_study else ["treated_post"]

    if runner == "ours":
        from analysis.did import twfe

        def call():
            return twfe(data, "y", "period", "unit", "first_treated",
                        event_study=event_study, leads=window, lags=window,
                        small_sample="regressors").tidy()
    elif runner == "pyfixest":
        import pyfixest

        formula = f"y ~ {' + '.join(regressors)} | unit + period"

        def call():
            return pyfixest.feols(formula, data=data, vcov={"CRV1": "unit"},
                                  ssc=pyfixest.ssc(k_fixef="none")).coef()
    elif runner == "linearmodels":
        from linearmodels import PanelOLS

        indexed = data.set_index(["unit", "period"])

        def call():
            model = PanelOLS(indexed["y"], indexed[regressors], entity_effects=True,
                             time_effects=True)
            return model.fit(cov_type="clustered", cluster_entity=True).params
    else:
        raise ValueError(runner)
    return call


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def run_case(spec: dict) -> dict:
    """In the subprocess: build the panel, time the calls, report memory."""
    warnings.simplefilter("ignore")
    _, n_units, n_periods, n_cohorts = PANELS[spec["panel"]]
    data = synthetic_panel(n_units, n_periods, n_cohorts)
    if spec["family"] == "cs":
        call = cs_call(spec["runner"], data, spec["variant"] == "bootstrap")
    else:
        # 240 periods give 477 event-time dummies (18 GB as a dense design
        # for 4.8 million rows): bin beyond +-12 periods there.
        window = 12 if n_periods > 20 else None
        call = twfe_call(spec["runner"], data, spec["variant"] == "event study",
                         window)
    baseline = _rss_bytes()
    start = time.perf_counter()
    call()
    first = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - baseline
    times = []
    # Repeat within the time budget; a very slow first call is the only run.
    while (len(times) < spec["repeats"] and first < TIMEOUT / 3
           and sum(times) + first < TIMEOUT):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return {"first": first, "median": statistics.median(times or [first]),
            "runs": len(times) or 1, "peak_mb": max(peak, 0) / 2**20}


def run_in_subprocess(spec: dict) -> dict:
    command = [sys.executable, __file__, "--case", json.dumps(spec)]
    env = dict(os.environ, PYTHONPATH=str(HERE.parent))
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env,
                              check=False, timeout=TIMEOUT + 30)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout (stopped at {TIMEOUT + 30:.0f} s)"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        return {"error": last[:120]}
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- driver and table ------------------------------------------------------


def cases(panels):
    for panel in panels:
        repeats = 5 if PANELS[panel][1] * PANELS[panel][2] <= 400_000 else 3
        for variant in ("analytic", "bootstrap"):
            for runner in CS_RUNNERS:
                yield {"family": "cs", "variant": variant, "runner": runner,
                       "panel": panel, "repeats": repeats}
        for variant in ("static", "event study"):
            for runner in TWFE_RUNNERS:
                yield {"family": "twfe", "variant": variant, "runner": runner,
                       "panel": panel, "repeats": repeats}


def format_table(results: list[dict]) -> str:
    lines = [
        ("| panel | estimator | inference / model | package | first call (s) "
         "| median (s) | runs | x ours (median) | peak memory (MB) |"),
        "|---|---|---|---|---:|---:|---:|---:|---:|",
    ]
    ours = {(r["panel"], r["family"], r["variant"]): r for r in results
            if r["runner"] == "ours" and "median" in r}
    for r in results:
        label = PANELS[r["panel"]][0]
        family = "CS att_gt + simple" if r["family"] == "cs" else "TWFE"
        if "error" in r:
            lines.append(f"| {label} | {family} | {r['variant']} | {r['runner']} "
                         f"| {r['error']} | | | | |")
            continue
        reference = ours.get((r["panel"], r["family"], r["variant"]))
        ratio = (f"{r['median'] / reference['median']:.1f}" if reference else "")
        lines.append(
            f"| {label} | {family} | {r['variant']} | {r['runner']} "
            f"| {r['first']:.3f} | {r['median']:.3f} | {r['runs']} | {ratio} "
            f"| {r['peak_mb']:.0f} |")
    return "\n".join(lines)


def machine() -> str:
    import numpy

    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    from importlib import metadata

    versions = []
    for name in ("pandas", "scipy", "diff-diff", "csdid", "moderndid", "pyfixest",
                 "linearmodels"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions.append(f"{name} {metadata.version(name)}")
    return (f"{model}, {os.cpu_count()} cores, {memory:.0f} GiB; Python "
            f"{platform.python_version()}, numpy {numpy.__version__}; "
            + ", ".join(versions))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true",
                        help="only the panels with 20 periods")
    parser.add_argument("--write", action="store_true",
                        help="write the table to benchmarks/README.md")
    parser.add_argument("--runners", help="comma-separated packages to run")
    parser.add_argument("--table-only", action="store_true",
                        help="rewrite the README table from benchmarks/results.json")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(json.loads(args.case))))
        return
    if args.table_only:
        saved = json.loads((HERE / "results.json").read_text())
        write_readme(saved["machine"], format_table(saved["results"]))
        return

    panels = range(3) if args.quick else range(len(PANELS))
    wanted = set(args.runners.split(",")) if args.runners else None
    results = []
    for spec in cases(panels):
        if wanted and spec["runner"] not in wanted:
            continue
        outcome = run_in_subprocess(spec)
        results.append({**spec, **outcome})
        shown = (outcome.get("error") or f"first {outcome['first']:.3f} s, median "
                 f"{outcome['median']:.3f} s, peak {outcome['peak_mb']:.0f} MB")
        print(f"{PANELS[spec['panel']][0]:>26} {spec['family']:>4} "
              f"{spec['variant']:>11} {spec['runner']:>12}: {shown}", flush=True)
    table = format_table(results)
    print()
    print(table)
    (HERE / "results.json").write_text(json.dumps(
        {"machine": machine(), "results": results}, indent=1))
    if args.write:
        write_readme(machine(), table)


def write_readme(description: str, table: str) -> None:
    """Replace the block between the results markers of benchmarks/README.md."""
    readme = HERE / "README.md"
    text = readme.read_text() if readme.exists() else ""
    begin, end = "<!-- results begin -->", "<!-- results end -->"
    block = f"{begin}\n\nMachine: {description}\n\n{table}\n\n{end}"
    if begin in text:
        text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text += "\n" + block + "\n"
    readme.write_text(text)


if __name__ == "__main__":
    main()
