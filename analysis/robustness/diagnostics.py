"""Diagnostics of a staggered design, as tables a report can print.

- :func:`bacon_shares`: the Goodman-Bacon weight of each comparison type,
  flagging the "forbidden" ones (already-treated units as controls).
- :func:`pretrend_power`: how likely the joint pre-trend Wald test is to
  detect a linear violation of parallel trends of a given slope, and the
  slopes it detects with 50% and 80% probability (Roth 2022: a passed
  pre-test means little when its power against relevant trends is low).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, stats

from analysis.did.bacon import FORBIDDEN

__all__ = ["bacon_shares", "pretrend_power", "slope_for_power"]


def bacon_shares(bacon) -> pd.DataFrame:
    """Weight and mean estimate of each Goodman-Bacon comparison type.

    Parameters
    ----------
    bacon
        A :class:`~analysis.did.BaconResult`.

    Returns
    -------
    pandas.DataFrame
        ``type``, ``comparisons``, ``weight``, ``estimate`` (weighted mean of
        the 2x2 estimates of that type) and ``forbidden`` (True for later vs
        earlier treated and later vs always treated: comparisons whose
        control units are already treated, biased when effects change over
        time). The weights sum to one.
    """
    table = bacon.by_type()
    table["forbidden"] = table["type"].isin(FORBIDDEN)
    return table


def _linear_violation(result, pre_periods):
    """Pre-period coefficients, covariance and the linear-trend direction."""
    table = result.tidy().dropna(subset=["event_time"])
    reference = getattr(result, "reference_period", None)
    if reference is None:
        raise ValueError("pretrend_power needs an event study normalised to a "
                         "reference period (e.g. twfe(..., event_study=True) or "
                         "att_gt(..., base_period='universal') aggregated "
                         "'dynamic').")
    available = [int(e) for e in table["event_time"]
                 if e < 0 and e != reference and e in result.vcov.index]
    pre_periods = available if pre_periods is None else [int(e) for e in pre_periods]
    if not pre_periods:
        raise ValueError("the event study has no pre-period coefficient.")
    covariance = result.vcov.loc[pre_periods, pre_periods].to_numpy(float)
    # A trend of slope s per period, zero at the reference period.
    direction = np.array(pre_periods, dtype=float) - reference
    return covariance, direction, pre_periods


def pretrend_power(result, slope: float, *, alpha: float = 0.05,
                   pre_periods=None) -> float:
    """Power of the joint pre-trend Wald test against a linear trend.

    Parameters
    ----------
    result
        An event study with ``tidy()``, a ``vcov`` by event time and a
        ``reference_period`` (as for :func:`analysis.did.pretrend_test`).
    slope
        The violation: the pre-period coefficients are
        ``slope * (event_time - reference_period)``.
    alpha
        Size of the test.
    pre_periods
        Event times tested; default every pre-period with a coefficient.

    Returns
    -------
    float
        :math:`P(\\chi^2_{k}(\\lambda) > \\chi^2_{k, 1-\\alpha})` with
        :math:`\\lambda = \\delta' V^{-1} \\delta` and k the number of
        pre-periods: the chance the test rejects if trends diverge so.
    """
    covariance, direction, pre_periods = _linear_violation(result, pre_periods)
    delta = slope * direction
    noncentrality = float(delta @ np.linalg.solve(covariance, delta))
    df = len(pre_periods)
    critical = stats.chi2.ppf(1 - alpha, df)
    return float(stats.ncx2.sf(critical, df, noncentrality))


def slope_for_power(result, power: float = 0.8, *, alpha: float = 0.05,
                    pre_periods=None) -> float:
    """The linear pre-trend slope (per period) the Wald test detects with
    probability ``power``; see :func:`pretrend_power`."""
    if not alpha < power < 1:
        raise ValueError(f"power={power} must lie between alpha={alpha} and 1.")
    covariance, direction, pre_periods = _linear_violation(result, pre_periods)
    df = len(pre_periods)
    critical = stats.chi2.ppf(1 - alpha, df)
    # The non-centrality that gives this power, then the slope: lambda grows
    # with the square of the slope.
    target = optimize.brentq(
        lambda lam: stats.ncx2.sf(critical, df, lam) - power, 1e-12, 1e4)
    unit = float(direction @ np.linalg.solve(covariance, direction))
    return float(np.sqrt(target / unit))
