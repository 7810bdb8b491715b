"""Joint Wald test that the pre-treatment event-study coefficients are zero."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["PretrendTest", "pretrend_test"]


@dataclass(frozen=True)
class PretrendTest:
    """Result of :func:`pretrend_test`.

    Attributes
    ----------
    statistic : float
        Wald statistic :math:`\\hat\\beta_P' \\hat V_P^{-1} \\hat\\beta_P`.
    df : int
        Number of pre-period coefficients tested.
    pvalue : float
        Upper tail of the chi-squared distribution with ``df`` degrees of
        freedom.
    pre_periods : tuple of int
        The event times tested.
    """

    statistic: float
    df: int
    pvalue: float
    pre_periods: tuple

    def __repr__(self) -> str:
        return (
            f"Pre-trend Wald test, event times {list(self.pre_periods)}: "
            f"chi2({self.df}) = {self.statistic:.4f}, p = {self.pvalue:.4f}"
        )


def pretrend_test(result, pre_periods=None) -> PretrendTest:
    """Test jointly that the pre-period event-study coefficients are zero.

    Parameters
    ----------
    result
        Any event-study result whose ``tidy()`` has columns ``event_time`` and
        ``att`` and whose ``vcov`` is a DataFrame indexed (rows and columns) by
        event time: :class:`~analysis.did.twfe.TWFEResult`, the Sun-Abraham
        result, or another estimator's result with the same interface.
    pre_periods
        Event times to test; default every negative event time that has a
        coefficient (the omitted reference period has none).

    Returns
    -------
    PretrendTest

    Notes
    -----
    With :math:`\\hat\\beta_P` the tested coefficients and :math:`\\hat V_P`
    their block of the coefficient covariance, :math:`W = \\hat\\beta_P'
    \\hat V_P^{-1}\\hat\\beta_P \\sim \\chi^2_{|P|}` under the null of no
    pre-trends. Failing to reject is weak evidence for parallel trends: such
    tests have low power against trends that would bias the estimates (Roth
    2022), so report them beside the event-study plot, not instead of it.
    """
    table = result.tidy()
    vcov = getattr(result, "vcov", None)
    if "event_time" not in table or not isinstance(vcov, pd.DataFrame):
        raise ValueError(
            "result must have tidy() with an 'event_time' column and a 'vcov' "
            "DataFrame indexed by event time; fit an event study "
            "(e.g. twfe(..., event_study=True))."
        )
    estimates = table.dropna(subset=["event_time"]).set_index("event_time")["att"]
    estimates.index = estimates.index.astype(int)
    if pre_periods is None:
        # Some results list the reference period with estimate 0 and no
        # standard error; it is not a free parameter and is left out.
        reference = getattr(result, "reference_period", None)
        pre_periods = [
            e for e in estimates.index
            if e < 0 and e != reference and e in vcov.index
        ]
        if not pre_periods:
            raise ValueError(
                "the result has no pre-period (negative event time) coefficients "
                "to test; widen the event window with leads."
            )
    pre_periods = [int(e) for e in pre_periods]
    available = set(estimates.index) & set(vcov.index)
    unknown = [e for e in pre_periods if e not in available]
    if unknown:
        raise ValueError(
            f"event time(s) {unknown} have no coefficient in the result "
            f"(available: {list(estimates.index)}); the reference period is "
            "omitted by construction."
        )

    coefficients = estimates.loc[pre_periods].to_numpy(dtype=float)
    covariance = vcov.loc[pre_periods, pre_periods].to_numpy(dtype=float)
    if np.linalg.matrix_rank(covariance) < len(pre_periods):
        raise ValueError(
            f"the covariance of event times {pre_periods} is singular; test fewer "
            "periods."
        )
    statistic = float(coefficients @ np.linalg.solve(covariance, coefficients))
    df = len(pre_periods)
    return PretrendTest(
        statistic=statistic,
        df=df,
        pvalue=float(stats.chi2.sf(statistic, df)),
        pre_periods=tuple(pre_periods),
    )
