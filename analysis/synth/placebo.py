"""Placebo-in-space inference for one treated unit.

Each donor in turn is treated as if it had adopted the policy, with the
other donors (never the real treated unit) as its donor pool, and the same
estimator is rerun. The real estimate is then ranked among the placebo
estimates (Abadie, Diamond and Hainmueller 2010), and the spread of the
placebo estimates gives the placebo standard error of Arkhangelsky et al.
(2021, Algorithm 4): the root mean squared deviation of the placebo
estimates from their mean. Every donor is used once, so nothing is random.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from scipy import stats

from analysis.robustness import run_tasks

__all__ = ["PlaceboResult", "placebo_in_space", "rank_p_value"]


@dataclass
class PlaceboResult:
    """The treated unit's estimate against its placebo distribution.

    Attributes
    ----------
    estimate
        The real estimate.
    placebos
        One row per donor: ``unit``, ``estimate`` and, for synthetic control,
        ``pre_rmspe``, ``post_rmspe`` and ``rmspe_ratio``.
    p_value
        ``(1 + #{|placebo| >= |estimate|}) / (1 + N0)``: the rank of the real
        estimate's magnitude among all ``N0 + 1`` (exact under random
        assignment of the policy to one unit).
    p_value_rmspe
        The same rank for the post/pre RMSPE ratio (synthetic control only),
        which discounts placebos whose pre-period fit is poor.
    se, ci_lower, ci_upper, alpha
        Placebo standard error and the normal ``1 - alpha`` interval
        ``estimate -/+ z se``.
    """

    estimate: float
    placebos: pd.DataFrame
    p_value: float
    p_value_rmspe: float
    se: float
    ci_lower: float
    ci_upper: float
    alpha: float
    method: str = ""

    def tidy(self) -> pd.DataFrame:
        """One row: estimate, se, interval, both p-values, number of placebos."""
        return pd.DataFrame([{
            "method": self.method, "att": self.estimate, "se": self.se,
            "ci_lower": self.ci_lower, "ci_upper": self.ci_upper,
            "p_value": self.p_value, "p_value_rmspe": self.p_value_rmspe,
            "n_placebos": len(self.placebos),
        }])

    def interval(self, alpha: float) -> tuple[float, float]:
        """Normal interval at another level from the same placebo se."""
        z = stats.norm.ppf(1 - alpha / 2)
        return self.estimate - z * self.se, self.estimate + z * self.se


def rank_p_value(observed: float, placebos: np.ndarray) -> float:
    """``(1 + #{placebos >= observed}) / (1 + len(placebos))``."""
    placebos = np.asarray(placebos, dtype=float)
    # A placebo equal to the observed value up to rounding counts as a tie.
    at_least = placebos >= observed - 1e-12 * max(1.0, abs(observed))
    return float((1 + at_least.sum()) / (1 + len(placebos)))


def placebo_in_space(
    Y: np.ndarray,
    N0: int,
    T0: int,
    estimator: Callable,
    *,
    units: list | None = None,
    alpha: float = 0.05,
    n_jobs: int | None = 1,
    scheduler=None,
) -> PlaceboResult:
    """Rerun ``estimator`` with each donor as the treated unit.

    Parameters
    ----------
    Y, N0, T0
        Block-design matrix with donors first and one treated row last.
    estimator
        ``estimator(Y, N0, T0) -> result`` with an ``estimate`` attribute
        (and ``pre_rmspe``, ``post_rmspe`` for synthetic control).
    units
        Row labels.
    alpha
        Level of the placebo interval.
    n_jobs, scheduler
        Passed to :func:`analysis.robustness.run_tasks` (default: in this
        process; each refit is independent, so they can run on several cores
        or a Dask cluster with identical results).
    """
    Y = np.asarray(Y, dtype=float)
    if Y.shape[0] != N0 + 1:
        raise ValueError(
            f"placebo_in_space needs exactly one treated row; got {Y.shape[0] - N0}."
        )
    if N0 < 2:
        raise ValueError("placebo_in_space needs at least 2 donors.")
    units = list(range(Y.shape[0])) if units is None else list(units)
    real = estimator(Y, N0, T0)
    rows = run_tasks(_PlaceboFit(Y, N0, T0, estimator), range(N0), n_jobs=n_jobs,
                     scheduler=scheduler, progress=False,
                     description="placebo in space")
    placebos = pd.DataFrame(rows)
    placebos.insert(0, "unit", units[:N0])

    p_value = rank_p_value(abs(real.estimate), placebos["estimate"].abs().to_numpy())
    p_rmspe = float("nan")
    if "rmspe_ratio" in placebos:
        p_rmspe = rank_p_value(real.rmspe_ratio, placebos["rmspe_ratio"].to_numpy())
    se = float(np.sqrt(np.mean((placebos["estimate"] - placebos["estimate"].mean())
                               ** 2)))
    z = stats.norm.ppf(1 - alpha / 2)
    return PlaceboResult(
        estimate=float(real.estimate), placebos=placebos, p_value=p_value,
        p_value_rmspe=p_rmspe, se=se, ci_lower=real.estimate - z * se,
        ci_upper=real.estimate + z * se, alpha=alpha,
        method=getattr(real, "method", ""),
    )


class _PlaceboFit:
    """Donor ``j`` as the treated unit, the other donors as its pool."""

    def __init__(self, Y, N0, T0, estimator):
        self.Y, self.N0, self.T0, self.estimator = Y, N0, T0, estimator

    def __call__(self, j: int) -> dict:
        others = [i for i in range(self.N0) if i != j]
        fit = self.estimator(np.vstack([self.Y[others], self.Y[j]]), self.N0 - 1,
                             self.T0)
        row = {"estimate": fit.estimate}
        if hasattr(fit, "pre_rmspe"):
            row.update(pre_rmspe=fit.pre_rmspe, post_rmspe=fit.post_rmspe,
                       rmspe_ratio=fit.rmspe_ratio)
        return row
