"""Time ``att_gt`` plus the simple aggregation on synthetic staggered panels.

Run ``.venv/bin/python benchmarks/bench_attgt.py``; prints the median wall
time of several repeats (``time.perf_counter``) for 500, 3,000 and 20,000
units over 20 years, with analytic and with 999-draw bootstrap inference.
Not a test: timings depend on the machine.
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np
import pandas as pd

from analysis.did import att_gt

N_PERIODS = 20
SIZES = (500, 3_000, 20_000)


def synthetic_panel(n_units: int, n_periods: int = N_PERIODS, seed: int = 0):
    """Balanced panel: a third never treated, the rest in staggered cohorts."""
    rng = np.random.default_rng(seed)
    years = np.arange(2000, 2000 + n_periods)
    cohorts = np.r_[0, years[3:-2:2]]
    treated_share = 2 / 3 / (len(cohorts) - 1)
    probabilities = [1 / 3] + [treated_share] * (len(cohorts) - 1)
    first_treated = rng.choice(cohorts, size=n_units, p=probabilities)
    unit_effect = rng.normal(size=n_units)
    year_effect = np.linspace(0, 1, n_periods)
    exposure = years[None, :] - first_treated[:, None]
    treated = (first_treated[:, None] > 0) & (exposure >= 0)
    outcome = (unit_effect[:, None] + year_effect[None, :]
               + 0.1 * (exposure + 1) * treated
               + rng.normal(size=(n_units, n_periods)))
    return pd.DataFrame({
        "unit": np.repeat(np.arange(n_units), n_periods),
        "year": np.tile(years, n_units),
        "first_treated": np.repeat(first_treated, n_periods),
        "y": outcome.ravel(),
    })


def median_seconds(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    print(f"att_gt + aggregate('simple'), {N_PERIODS} periods; median seconds")
    print(f"{'units':>8} {'analytic':>10} {'bootstrap 999':>14}")
    for n_units in SIZES:
        data = synthetic_panel(n_units)

        def analytic(data=data):
            att_gt(data, "y", "year", "unit", "first_treated").aggregate("simple")

        def bootstrapped(data=data):
            att_gt(data, "y", "year", "unit", "first_treated", bootstrap=True,
                   n_boot=999, seed=1).aggregate("simple")

        analytic()
        repeats = 7 if n_units < 20_000 else 5
        print(f"{n_units:>8} {median_seconds(analytic, repeats):>10.4f} "
              f"{median_seconds(bootstrapped, 3):>14.4f}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
