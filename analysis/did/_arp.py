"""Andrews, Roth and Pakes (2023) tests of moment inequalities with nuisance
parameters: the conditional test and its least-favourable (LF) hybrid.

The null is that some nuisance vector :math:`\\tau` gives
:math:`E[y - X\\tau] \\le 0` with :math:`y \\sim N(\\mu, \\Sigma)`. The
statistic is :math:`\\hat\\eta = \\min_{\\eta, \\tau} \\eta` subject to
:math:`y - X\\tau \\le \\eta\\, \\sigma` (:math:`\\sigma` the standard
deviations of y). By linear-programming duality :math:`\\hat\\eta =
\\max_\\gamma \\gamma'y` over the vertices of :math:`\\{\\gamma \\ge 0:
\\gamma'\\sigma = 1, \\gamma'X = 0\\}`; conditional on the maximising vertex
it is a truncated normal, and the test compares it with that distribution's
quantile. The vertices are enumerated once per problem, so every statistic,
truncation point and simulated draw is a matrix product, exact where R
``HonestDiD`` (``.lp_conditional_test_fn``) solves linear programmes and
bisects to a tolerance of 1e-6.
"""

from __future__ import annotations

from itertools import combinations
from math import comb

import numpy as np
from scipy import stats

MAX_BASES = 200_000


class MomentProblem:
    """The dual vertices of the ARP programme for given X and covariance.

    Parameters
    ----------
    X
        ``(m, k)`` loadings of the nuisance parameters on the moments.
    sigma
        ``(m, m)`` covariance of the moments y.
    """

    def __init__(self, X: np.ndarray, sigma: np.ndarray):
        self.sigma = sigma
        self.sd = np.sqrt(np.diag(sigma))
        self.vertices = _dual_vertices(np.column_stack([self.sd, X]))

    def eta(self, y: np.ndarray) -> tuple[float, int | None]:
        """The statistic and the index of its maximising vertex."""
        if len(self.vertices) == 0:
            # An empty dual is an unbounded primal: eta -> -inf.
            return -np.inf, None
        values = self.vertices @ y
        best = int(np.argmax(values))
        return float(values[best]), best

    def least_favourable_cv(self, kappa: float, *, draws: int = 1000,
                            seed: int = 0) -> float:
        """The 1 - kappa quantile of eta when every moment has mean 0
        (ARP section 6.2), from ``draws`` simulated normal vectors."""
        if len(self.vertices) == 0:
            return np.inf
        rng = np.random.default_rng(seed)
        xi = rng.multivariate_normal(np.zeros(len(self.sd)), self.sigma,
                                     size=draws, method="svd")
        return float(np.quantile((xi @ self.vertices.T).max(axis=1), 1 - kappa))

    def rejects(self, y: np.ndarray, alpha: float, *, lf_cv: float | None = None,
                kappa: float = 0.0) -> np.ndarray:
        """Whether the conditional (or, with ``lf_cv``, the LF hybrid) test
        rejects at level alpha, for each row of ``y`` (``(n, m)``).

        The hybrid rejects when eta exceeds ``lf_cv``; otherwise it runs the
        conditional test at level (alpha - kappa) / (1 - kappa) with the
        upper truncation point capped at ``lf_cv``.
        """
        y = np.atleast_2d(y)
        if len(self.vertices) == 0:
            # An empty dual is an unbounded primal (eta -> -inf): no rejection.
            return np.zeros(len(y), dtype=bool)
        values = y @ self.vertices.T
        best = values.argmax(axis=1)
        eta = values.max(axis=1)
        gamma = self.vertices[best]
        variance = np.einsum("ij,jk,ik->i", gamma, self.sigma, gamma)
        degenerate = variance < 1e-20
        variance = np.where(degenerate, 1.0, variance)
        low, high = self._truncation(y, gamma, variance)
        size = alpha
        if lf_cv is not None:
            high = np.minimum(high, lf_cv)
            size = (alpha - kappa) / (1 - kappa)

        scale = np.sqrt(variance)
        statistic, z_low, z_high = eta / scale, low / scale, high / scale
        inside = (z_low <= statistic) & (statistic <= z_high)
        critical = np.maximum(0.0, _truncated_quantile(1 - size, z_low, z_high))
        reject = inside & (statistic > critical)
        reject = np.where(degenerate, eta > 0, reject)
        if lf_cv is not None:
            reject |= eta > lf_cv
        return reject

    def _truncation(self, y, gamma, variance):
        """The range of c = gamma'y over which gamma stays the maximising
        vertex when y moves as s + b c (s independent of gamma'y)."""
        direction = (gamma @ self.sigma) / variance[:, None]
        residual = y - direction * np.einsum("ij,ij->i", gamma, y)[:, None]
        level = residual @ self.vertices.T
        gap = 1 - direction @ self.vertices.T
        # Vertex g stays below gamma iff level_g <= c (1 - slope_g).
        ratio = level / np.where(np.abs(gap) > 1e-12, gap, np.nan)
        low = np.where(gap > 1e-12, ratio, -np.inf).max(axis=1)
        high = np.where(gap < -1e-12, ratio, np.inf).min(axis=1)
        return low, high


def _truncated_quantile(p, low, high):
    narrow = high - low < 1e-12
    with np.errstate(invalid="ignore"):
        quantile = stats.truncnorm.ppf(p, low, np.where(narrow, low + 1, high))
    return np.where(narrow, low, quantile)


def _dual_vertices(W: np.ndarray) -> np.ndarray:
    """Vertices of {g >= 0: W'g = e_1}: basic solutions on k + 1 rows of W."""
    m, size = W.shape
    if comb(m, size) > MAX_BASES:
        raise ValueError(
            f"{m} moments with {size - 1} nuisance parameters give "
            f"{comb(m, size):,} candidate vertices, too many to enumerate; use "
            "fewer post periods (a shorter event window) or method='smoothness'."
        )
    target = np.zeros(size)
    target[0] = 1.0
    found = []
    for rows in combinations(range(m), size):
        basis = W[list(rows)]
        if np.linalg.matrix_rank(basis) < size:
            continue
        weights = np.linalg.solve(basis.T, target)
        if (weights >= -1e-12).all():
            vertex = np.zeros(m)
            vertex[list(rows)] = np.maximum(weights, 0.0)
            found.append(vertex)
    if not found:
        return np.empty((0, m))
    return np.unique(np.round(np.array(found), 12), axis=0)
