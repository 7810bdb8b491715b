"""Time the few-treated-unit estimators on the shipped Prop 99 and mpdta data.

Run ``.venv/bin/python benchmarks/bench_synth.py``; prints the median wall
time of several repeats (``time.perf_counter``) of: exact synthetic control
weights, synthetic DiD (Frank-Wolfe to the published stopping rule),
placebo-in-space with each estimator (38 donors), and randomization
inference over adoption dates for the Callaway-Sant'Anna simple ATT (999
draws, mpdta's 500 counties), with the per-draw statistic of this package
and of ``analysis.robustness.SimpleATT``. Not a test: timings depend on the
machine.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pandas as pd

from analysis import paths
from analysis.robustness import SimpleATT
from analysis.synth import (
    CSAdoptionStatistic,
    panel_matrix,
    placebo_in_space,
    staggered_randomization,
    synthdid_estimate,
    synthetic_control,
)

REPEATS = 3


def timed(function, repeats: int = REPEATS) -> float:
    """Median seconds of ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    root = paths.project_root()
    prop99 = pd.read_csv(root / "data/raw/prop99/california_prop99.csv", sep=";")
    Y, N0, T0, _, _ = panel_matrix(prop99, "State", "Year", "PacksPerCapita",
                                   "treated")
    mpdta = pd.read_csv(root / "data/raw/mpdta/mpdta.csv").rename(
        columns={"countyreal": "unit", "first.treat": "gname"})

    def sdid(M, n0, t0):
        return synthdid_estimate(M, n0, t0)

    def sc(M, n0, t0):
        return synthetic_control(M, n0, t0)

    rows = {
        "synthetic control, exact weights (Prop 99)":
            lambda: synthetic_control(Y, N0, T0),
        "synthetic DiD (Prop 99)": lambda: synthdid_estimate(Y, N0, T0),
        "placebo in space, SC, 38 donors": lambda: placebo_in_space(Y, N0, T0, sc),
        "placebo in space, SDID, 38 donors":
            lambda: placebo_in_space(Y, N0, T0, sdid),
        "randomization inference, 999 draws (mpdta)":
            lambda: staggered_randomization(mpdta, "lemp", n_permutations=999,
                                            seed=1),
    }
    for label, function in rows.items():
        repeats = 1 if "SDID, 38" in label else REPEATS
        print(f"{label:<46} {timed(function, repeats):8.3f} s")

    # Per-draw cost of the adoption statistic against the shared SimpleATT.
    statistic = CSAdoptionStatistic(mpdta, "lemp")
    shared = SimpleATT(mpdta, "lemp", tname="year", idname="unit",
                       control_group="nevertreated")
    cohorts = mpdta.groupby("unit")["gname"].first()
    rng = np.random.default_rng(0)
    draws = [pd.Series(rng.permutation(cohorts.to_numpy()), index=cohorts.index)
             for _ in range(100)]
    for label, function in [("per draw: CSAdoptionStatistic", statistic),
                            ("per draw: robustness.SimpleATT", shared)]:
        seconds = timed(lambda: [function(d) for d in draws]) / len(draws)
        print(f"{label:<46} {seconds * 1000:8.3f} ms")


if __name__ == "__main__":
    main()
