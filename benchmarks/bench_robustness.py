"""Time the robustness runs of the large-agency Secure Communities plan:
the specification curve and randomization inference, serially, on local
processes and on an in-process Dask cluster; and the randomization statistic
from att_gt against the fast SimpleATT.

Needs the panels (`make panels`). Prints the median of ``--repeat`` runs of
each case; the numbers depend on the machine and on what else runs on it.

    .venv/bin/python benchmarks/bench_robustness.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

from analysis.did import att_gt
from analysis.evaluate import read_plan
from analysis.evaluations import sc_robustness
from analysis.evaluations.secure_communities import SCDesign, prepare_sample
from analysis.io import read_panel
from analysis.robustness import randomization_inference


def _setup():
    plan = read_plan("sc_large_agencies")
    design = SCDesign(
        name=plan["name"], unit_col=plan["unit_col"], outcomes=plan["outcomes"],
        first_year=plan["first_year"], last_year=plan["last_year"],
        full_year_column=plan.get("full_year_column"), seed=plan["seed"],
        n_boot=plan["n_boot"], alpha=plan["alpha"])
    panel, regimes = read_panel(plan["panel"]), read_panel(plan["regime"])
    samples = {o: prepare_sample(panel, regimes, design, o)[0]
               for o in design.outcomes}
    return plan, design, panel, regimes, samples


def _median_seconds(function, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    plan, design, panel, regimes, samples = _setup()
    settings = sc_robustness.read_settings(plan)
    primary = plan["primary"]

    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    client = Client(cluster)
    backends = {"serial": dict(n_jobs=1), "local processes (2)": dict(n_jobs=2),
                "dask LocalCluster (2 processes)": dict(scheduler=client)}
    rows = []
    for name, runner in backends.items():
        rows.append((f"spec curve, {primary}, 80 specs", name, _median_seconds(
            lambda: sc_robustness.spec_curve(panel, regimes, design, primary,
                                             settings, progress=False, **runner),
            args.repeat)))
        rows.append(("randomization, 3 outcomes, 999 draws (SimpleATT)", name,
                     _median_seconds(lambda: sc_robustness.randomization(
                         samples, design, settings, progress=False, **runner),
                         args.repeat)))
    client.close()
    cluster.close()

    # The same draws with the full estimator as the statistic (serial, 99 draws).
    sample = samples[primary]

    def with_att_gt(frame):
        result = att_gt(frame, yname=f"log_{primary}", tname="year", idname="unit",
                        gname="gname", control_group="notyettreated")
        return result.aggregate("simple", na_rm=True).overall_att

    rows.append(("randomization, 1 outcome, 99 draws (att_gt)", "serial",
                 _median_seconds(lambda: randomization_inference(
                     sample, with_att_gt, idname="unit", gname="gname",
                     n_permutations=99, seed=1, n_jobs=1, progress=False),
                     args.repeat)))
    settings.n_permutations = 99
    one = {primary: sample}
    rows.append(("randomization, 1 outcome, 99 draws (SimpleATT)", "serial",
                 _median_seconds(lambda: sc_robustness.randomization(
                     one, design, settings, n_jobs=1, progress=False),
                     args.repeat)))
    width = max(len(case) for case, _, _ in rows)
    for case, backend, seconds in rows:
        print(f"{case:<{width}}  {backend:<32} {seconds:7.2f} s")


if __name__ == "__main__":
    main()
