"""Robustness, placebo and multiplicity tools for the evaluations.

- :func:`run_tasks` (:mod:`~analysis.robustness.parallel`): independent tasks
  serially, on the local cores or on a Dask cluster, identical results for
  the same seed; :func:`progress_bar` is silent off a terminal.
- :func:`randomization_inference`: re-assign adoption cohorts across units
  (optionally within strata), enumerating when few assignments exist;
  :class:`SimpleATT` computes the Callaway-Sant'Anna simple ATT from an
  assignment fast enough for hundreds of draws.
- :func:`placebo_data`, :func:`placebo_tests`: fake adoption dates on
  pre-treatment data.
- :func:`specification_grid`, :func:`specification_curve`: one estimate per
  combination of design choices; :func:`fit_overall` and
  :func:`overall_effect` give one overall effect from any estimator.
- :func:`holm`, :func:`romano_wolf`, :func:`multiplicity_table`: family-wise
  adjusted p-values across outcomes.
- :func:`bacon_shares`, :func:`pretrend_power`, :func:`slope_for_power`:
  diagnostics as tables.
"""

from analysis.robustness.diagnostics import (
    bacon_shares,
    pretrend_power,
    slope_for_power,
)
from analysis.robustness.estimates import ESTIMATORS, fit_overall, overall_effect
from analysis.robustness.fast_att import SimpleATT
from analysis.robustness.multiplicity import holm, multiplicity_table, romano_wolf
from analysis.robustness.parallel import (
    TaskError,
    available_cores,
    progress_bar,
    run_tasks,
    task_seeds,
)
from analysis.robustness.placebo import placebo_data, placebo_tests
from analysis.robustness.randomization import (
    RandomizationResult,
    count_assignments,
    enumerate_assignments,
    p_values,
    randomization_inference,
)
from analysis.robustness.spec_curve import (
    specification_curve,
    specification_grid,
    summarise_curve,
)

__all__ = [
    "ESTIMATORS",
    "RandomizationResult",
    "SimpleATT",
    "TaskError",
    "available_cores",
    "bacon_shares",
    "count_assignments",
    "enumerate_assignments",
    "fit_overall",
    "holm",
    "multiplicity_table",
    "overall_effect",
    "p_values",
    "placebo_data",
    "placebo_tests",
    "pretrend_power",
    "progress_bar",
    "randomization_inference",
    "romano_wolf",
    "run_tasks",
    "slope_for_power",
    "specification_curve",
    "specification_grid",
    "summarise_curve",
    "task_seeds",
]
