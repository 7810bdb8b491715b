"""Specification curves: one estimate per combination of design choices.

A specification curve (Simonsohn, Simmons and Nelson 2020) shows how much an
estimate depends on defensible choices the analyst could have made
differently: comparison group, estimator, outcome transform, weighting,
coverage rule, window. :func:`specification_grid` lists the combinations (the
Cartesian product of the axes, less the ones an estimator cannot run), and
:func:`specification_curve` estimates each with the parallel runner and
returns one row per specification. What a specification means is up to the
caller's ``run_spec``; :mod:`analysis.evaluations.sc_robustness` defines it
for Secure Communities.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable

import pandas as pd

from analysis.robustness.parallel import run_tasks

__all__ = ["specification_curve", "specification_grid", "summarise_curve"]

RESULT_COLUMNS = ["estimate", "se", "ci_lower", "ci_upper", "p_value", "n_units",
                  "n_obs"]


def specification_grid(axes: dict, valid: Callable[[dict], bool] | None = None,
                       ) -> pd.DataFrame:
    """Every combination of the axes' values, one row per specification.

    Parameters
    ----------
    axes
        Axis name -> list of values, e.g. ``{"estimator": ["cs_dr", "twfe"],
        "weighting": ["none", "population"]}``. Order is kept: rows vary the
        last axis fastest.
    valid
        ``valid(spec) -> bool`` drops combinations that cannot be run (e.g.
        weights for an estimator that takes none). None keeps every row.

    Returns
    -------
    pandas.DataFrame
        One column per axis plus ``spec_id`` (0, 1, ...).
    """
    if not axes or any(len(values) == 0 for values in axes.values()):
        raise ValueError(f"every axis needs at least one value; got {axes}.")
    names = list(axes)
    rows = [dict(zip(names, combination))
            for combination in itertools.product(*(axes[name] for name in names))]
    if valid is not None:
        rows = [row for row in rows if valid(row)]
    if not rows:
        raise ValueError("no valid specification in the grid.")
    grid = pd.DataFrame(rows, columns=names)
    grid.insert(0, "spec_id", range(len(grid)))
    return grid


def specification_curve(
    specs: pd.DataFrame,
    run_spec: Callable[[dict], dict],
    *,
    scheduler=None,
    n_jobs: int | None = None,
    progress: bool | None = None,
    description: str = "specification curve",
) -> pd.DataFrame:
    """Estimate every specification; one row each, in the grid's order.

    Parameters
    ----------
    specs
        The grid (:func:`specification_grid`).
    run_spec
        ``run_spec(spec) -> dict`` with at least ``estimate`` (see
        :func:`analysis.robustness.estimates.overall_effect` for the usual
        fields). A specification that raises does not stop the curve: its
        row has missing estimates and the error in ``error``.
    scheduler, n_jobs, progress, description
        Passed to :func:`~analysis.robustness.parallel.run_tasks`.

    Returns
    -------
    pandas.DataFrame
        The grid's columns, the fields ``run_spec`` returned, ``error``
        (empty when it ran), ``n_warnings`` and ``warnings`` (the distinct
        warnings each specification raised, kept in the row instead of being
        printed once per specification).
    """
    tasks = specs.to_dict("records")
    rows = run_tasks(_Guarded(run_spec), tasks, scheduler=scheduler, n_jobs=n_jobs,
                     progress=progress, description=description)
    results = pd.DataFrame(rows)
    clash = sorted(set(results.columns) & set(specs.columns))
    if clash:
        raise ValueError(f"run_spec returned field(s) {clash} that are also "
                         "specification axes; rename them.")
    for column in RESULT_COLUMNS:
        if column not in results:
            results[column] = float("nan")
    return pd.concat([specs.reset_index(drop=True), results], axis=1)


def summarise_curve(curve: pd.DataFrame, estimate: str = "estimate",
                    p_value: str = "p_value", alpha: float = 0.05) -> dict:
    """Range and sign pattern of a specification curve, for reports.

    Returns the number of specifications estimated and failed, the minimum,
    median and maximum estimate, the share of positive estimates and the
    shares significant at ``alpha`` with each sign.
    """
    ran = curve[curve["error"].eq("") & curve[estimate].notna()]
    significant = ran[p_value] < alpha
    return {
        "n_specs": int(len(curve)), "n_estimated": int(len(ran)),
        "n_failed": int(len(curve) - len(ran)),
        "min": float(ran[estimate].min()), "median": float(ran[estimate].median()),
        "max": float(ran[estimate].max()),
        "share_positive": float((ran[estimate] > 0).mean()),
        "share_significant_positive": float((significant & (ran[estimate] > 0))
                                            .mean()),
        "share_significant_negative": float((significant & (ran[estimate] < 0))
                                            .mean()),
        "alpha": alpha,
    }


class _Guarded:
    """``run_spec`` with its errors and warnings turned into row fields."""

    def __init__(self, run_spec):
        self.run_spec = run_spec

    def __call__(self, spec: dict) -> dict:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                row = dict(self.run_spec(spec))
                row["error"] = ""
            except (ValueError, ArithmeticError, KeyError,
                    RuntimeError) as error:
                # np.linalg.LinAlgError is a ValueError.
                row = {"error": f"{type(error).__name__}: {error}"}
        messages = sorted({str(w.message) for w in caught})
        row["n_warnings"] = len(messages)
        row["warnings"] = " | ".join(messages)
        return row
