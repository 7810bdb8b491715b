"""Robustness, placebo and multiplicity tools for the evaluations.

- :func:`run_tasks` (:mod:`~analysis.robustness.parallel`): independent tasks
  serially, on the local cores or on a Dask cluster, identical results for
  the same seed.
- :func:`randomization_inference`: re-assign adoption cohorts across units
  (optionally within strata), enumerating when few assignments exist.
- :func:`placebo_data`, :func:`placebo_tests`: fake adoption dates on
  pre-treatment data.
- :func:`fit_overall`, :func:`overall_effect`: one overall effect from any
  estimator.
"""

from analysis.robustness.estimates import ESTIMATORS, fit_overall, overall_effect
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

__all__ = [
    "ESTIMATORS",
    "RandomizationResult",
    "TaskError",
    "available_cores",
    "count_assignments",
    "enumerate_assignments",
    "fit_overall",
    "overall_effect",
    "p_values",
    "placebo_data",
    "placebo_tests",
    "progress_bar",
    "randomization_inference",
    "run_tasks",
    "task_seeds",
]
