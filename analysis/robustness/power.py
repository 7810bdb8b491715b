"""What effect sizes an estimate can rule out: minimum detectable effect and
equivalence bound.

A null result is informative only with a statement of the effects the data
could have detected. Two numbers answer that from an estimate and its
standard error, under the normal approximation the estimators already use
for their intervals:

- the minimum detectable effect (MDE): the smallest true effect that a
  two-sided test of size ``alpha`` detects with probability ``power``,
  ``(z_{1 - alpha/2} + z_{power}) * se`` (Bloom 1995);
- the equivalence bound: the smallest symmetric bound ``b`` for which the two
  one-sided tests (TOST, Schuirmann 1987) of ``effect <= -b`` and
  ``effect >= b`` both reject at level ``alpha``. It equals the largest
  absolute limit of the ``1 - 2 * alpha`` confidence interval,
  ``|estimate| + z_{1 - alpha} * se``; effects larger than ``b`` in absolute
  value are ruled out.

Effects on the log scale convert to proportional changes with
:func:`log_to_percent`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

__all__ = [
    "PowerSummary",
    "equivalence_bound",
    "log_to_percent",
    "minimum_detectable_effect",
    "power_summary",
    "tost_pvalue",
]


def _check(se: float, alpha: float) -> None:
    if not (isinstance(se, (int, float)) and math.isfinite(se) and se > 0):
        raise ValueError(
            f"standard error must be a positive finite number, got {se!r}.")
    if not 0 < alpha < 0.5:
        raise ValueError(f"alpha must lie in (0, 0.5), got {alpha!r}.")


def minimum_detectable_effect(
    se: float, alpha: float = 0.05, power: float = 0.80
) -> float:
    """Smallest true effect detected with probability ``power`` by a two-sided test.

    Parameters
    ----------
    se
        Standard error of the estimate.
    alpha
        Size of the two-sided test (0.05: 5%).
    power
        Target probability of rejecting when the effect equals the MDE.

    Returns
    -------
    float
        ``(z_{1 - alpha/2} + z_{power}) * se``; 2.8016 * se at the defaults.
    """
    _check(se, alpha)
    if not 0 < power < 1:
        raise ValueError(f"power must lie in (0, 1), got {power!r}.")
    return float((stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) * se)


def equivalence_bound(estimate: float, se: float, alpha: float = 0.05) -> float:
    """Smallest symmetric bound for which both one-sided tests reject at ``alpha``.

    Returns
    -------
    float
        ``|estimate| + z_{1 - alpha} * se``: the largest absolute limit of the
        ``1 - 2 * alpha`` (90% at the default) confidence interval.
    """
    _check(se, alpha)
    if not math.isfinite(estimate):
        raise ValueError(f"estimate must be finite, got {estimate!r}.")
    return float(abs(estimate) + stats.norm.ppf(1 - alpha) * se)


def tost_pvalue(estimate: float, se: float, bound: float) -> float:
    """p-value of the two one-sided tests of ``|effect| >= bound`` (normal).

    The larger of the two one-sided p-values; below ``alpha`` means the data
    reject effects of size ``bound`` or more in either direction.
    """
    _check(se, 0.05)
    lower = stats.norm.sf((estimate + bound) / se)
    upper = stats.norm.cdf((estimate - bound) / se)
    return float(max(lower, upper))


def log_to_percent(effect: float) -> float:
    """A log-point effect as a percentage change, ``100 * (exp(effect) - 1)``."""
    return float(100 * math.expm1(effect))


@dataclass(frozen=True)
class PowerSummary:
    """The MDE and equivalence bound of one estimate, with what they rest on."""

    estimate: float
    se: float
    alpha: float
    power: float
    mde: float
    equivalence_bound: float
    ci90_lower: float
    ci90_upper: float

    def as_dict(self) -> dict:
        """Plain dict, for saving with :func:`analysis.store.save_result`."""
        return dict(self.__dict__)


def power_summary(
    estimate: float, se: float, alpha: float = 0.05, power: float = 0.80
) -> PowerSummary:
    """MDE at ``power`` and the equivalence bound, both at level ``alpha``."""
    half = stats.norm.ppf(1 - alpha) * se
    return PowerSummary(
        estimate=float(estimate), se=float(se), alpha=alpha, power=power,
        mde=minimum_detectable_effect(se, alpha, power),
        equivalence_bound=equivalence_bound(estimate, se, alpha),
        ci90_lower=float(estimate - half), ci90_upper=float(estimate + half),
    )
