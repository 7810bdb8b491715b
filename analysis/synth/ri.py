"""Randomization inference over adoption dates for staggered designs.

Under the sharp null of no effect in any unit and period, the outcomes do
not depend on which units adopted when, so the observed vector of first
treated periods (``g``, 0 = never) can be reassigned across units and the
statistic recomputed. The p-value is the share of reassignments whose
statistic is at least as extreme as the observed one. With few treated
units this test is exact in finite samples under random assignment of the
adoption dates, where cluster-robust standard errors are not.

Reassignments are every distinct arrangement of ``g`` when there are at most
``n_draws`` of them (then the result does not depend on the seed), otherwise
``n_draws`` seeded random permutations, with the observed assignment counted
once: ``p = (1 + #{|T_b| >= |T|}) / (1 + B)``.

For statistics linear in the outcome (:mod:`analysis.synth.staggered`), the
test of a constant additive effect ``tau`` (outcomes ``Y - tau D`` under the
observed ``D``) is linear in ``tau``, which :func:`randomization_interval`
inverts into a confidence interval.

Written here because the shared randomization-inference module of branch
``robust`` was not available when this evaluation was built.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from analysis.synth.staggered import treatment_matrix

__all__ = ["RandomizationResult", "adoption_assignments", "randomization_test",
           "randomization_interval", "count_assignments"]

_TIE = 1e-10


@dataclass
class RandomizationResult:
    """Observed statistic, its randomization distribution and p-value."""

    statistic: float
    p_value: float
    n_draws: int
    enumerated: bool
    seed: object
    distribution: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    ci_lower: float = float("nan")
    ci_upper: float = float("nan")
    alpha: float = 0.05
    label: str = "randomization inference over adoption dates"

    def tidy(self) -> pd.DataFrame:
        return pd.DataFrame([{
            "att": self.statistic, "p_value": self.p_value,
            "ci_lower": self.ci_lower, "ci_upper": self.ci_upper,
            "n_draws": self.n_draws, "enumerated": self.enumerated,
        }])


def count_assignments(g: np.ndarray) -> int:
    """Number of distinct arrangements of the multiset ``g``."""
    counts = Counter(np.asarray(g).tolist()).values()
    total = math.factorial(len(g))
    for c in counts:
        total //= math.factorial(c)
    return total


def adoption_assignments(
    g: np.ndarray, n_draws: int, seed
) -> tuple[np.ndarray, bool]:
    """Return reassigned adoption vectors (rows) and whether they are all of them.

    The enumerated set includes the observed arrangement; the random set
    does not (the observed one is added by the p-value formula).
    """
    g = np.asarray(g)
    if count_assignments(g) <= n_draws:
        return _enumerate(g), True
    rng = np.random.default_rng(seed)
    return np.array([rng.permutation(g) for _ in range(n_draws)]), False


def _enumerate(g: np.ndarray) -> np.ndarray:
    """Every distinct arrangement: choose positions value by value."""
    values = sorted(Counter(g.tolist()).items())
    n = len(g)
    out = []

    def place(k, free, current):
        if k == len(values):
            out.append(current.copy())
            return
        value, count = values[k]
        for chosen in itertools.combinations(free, count):
            current[list(chosen)] = value
            rest = [p for p in free if p not in chosen]
            place(k + 1, rest, current)

    place(0, list(range(n)), np.zeros(n, dtype=g.dtype))
    return np.array(out)


def _p_value(observed: float, draws: np.ndarray, enumerated: bool) -> float:
    extreme = np.abs(draws) >= np.abs(observed) * (1 - _TIE) - _TIE
    if enumerated:
        return float(extreme.mean())
    return float((1 + extreme.sum()) / (1 + len(draws)))


def randomization_test(
    statistic: Callable[[np.ndarray, np.ndarray, np.ndarray], float],
    Y: np.ndarray,
    g: np.ndarray,
    periods: np.ndarray,
    *,
    n_draws: int = 999,
    seed=None,
    alpha: float = 0.05,
    interval: bool = True,
    batch_statistic: Callable | None = None,
) -> RandomizationResult:
    """Two-sided randomization test of no effect, reassigning adoption dates.

    Parameters
    ----------
    statistic
        ``statistic(Y, g, periods) -> float``.
    Y, g, periods
        Outcome matrix, first treated period per unit (0 = never), periods.
    n_draws, seed
        Reassignments (all of them when there are at most ``n_draws``).
    alpha
        Level of the interval.
    interval
        Also invert the test into a ``1 - alpha`` interval for a constant
        additive effect (requires a statistic linear in ``Y``).
    batch_statistic
        Optional ``batch_statistic(Y, draws, periods) -> array``, the same
        statistic for every row of ``draws`` at once (much faster).
    """
    if seed is None and count_assignments(g) > n_draws:
        raise ValueError("randomization_test needs an explicit seed to sample "
                         "assignments; pass seed=<int>.")
    draws, enumerated = adoption_assignments(g, n_draws, seed)
    observed = statistic(Y, g, periods)
    def over_draws(outcomes):
        if batch_statistic is not None:
            return np.asarray(batch_statistic(outcomes, draws, periods), dtype=float)
        return np.array([statistic(outcomes, d, periods) for d in draws])

    distribution = over_draws(Y)
    result = RandomizationResult(
        statistic=observed, p_value=_p_value(observed, distribution, enumerated),
        n_draws=len(draws), enumerated=enumerated, seed=seed,
        distribution=distribution, alpha=alpha,
    )
    if interval:
        D = treatment_matrix(g, periods)
        slope = over_draws(D)
        result.ci_lower, result.ci_upper = randomization_interval(
            observed, statistic(D, g, periods), distribution, slope, enumerated,
            alpha,
        )
    return result


def randomization_interval(a0, c0, a, c, enumerated, alpha, *, grid_size=4001):
    """Invert the test of ``tau`` over a grid: the set where ``p(tau) > alpha``.

    Under the sharp null ``Y(0) = Y - tau D`` the observed statistic is
    ``a0 - tau c0`` and a reassignment's is ``a_b - tau c_b``. The grid spans
    the estimate plus or minus ten times the randomization spread; the
    interval is the accepted set's hull, refined by bisection at both ends.
    """
    spread = float(np.std(a)) if len(a) > 1 else 1.0
    spread = spread if spread > 0 else max(abs(a0), 1.0)
    centre = a0 / c0

    def p(tau):
        return _p_value(a0 - tau * c0, a - tau * c, enumerated)

    grid = np.linspace(centre - 10 * spread, centre + 10 * spread, grid_size)
    accepted = np.array([p(t) > alpha for t in grid])
    if not accepted.any():
        return float("nan"), float("nan")
    inside = np.flatnonzero(accepted)
    ends = []
    for index, outward in ((inside[0], -1), (inside[-1], 1)):
        if index + outward < 0 or index + outward >= grid_size:
            ends.append(-np.inf if outward < 0 else np.inf)
            continue
        lo, hi = grid[index], grid[index + outward]
        for _ in range(50):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if p(mid) > alpha else (lo, mid)
        ends.append(lo)
    return float(ends[0]), float(ends[1])
