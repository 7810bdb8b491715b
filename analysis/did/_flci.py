"""Fixed-length confidence intervals under smoothness restrictions.

The optimal affine FLCI of Armstrong and Kolesar (2018, 2020) for
:math:`\\theta = l'\\tau_{post}` when the bias :math:`\\delta` lies in
:math:`\\Delta^{SD}(M)`, as Rambachan and Roth (2023) use it (R ``HonestDiD``
``findOptimalFLCI``). Serves :func:`analysis.did.honest.honest_did`.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.optimize import minimize, minimize_scalar


def second_difference_map(num_pre: int, num_post: int):
    """Write delta (pre then post, reference period 0 left out) as
    ``trend * s + B @ D``: D the second differences of (delta_pre, 0,
    delta_post) and s the slope at the reference period.

    Returns ``(trend, B)``; for a weight vector v with ``trend @ v == 0`` the
    largest bias ``v @ delta`` over :math:`\\Delta^{SD}(M)` is
    ``M * abs(B.T @ v).sum()``.
    """
    n = num_pre + num_post
    second = np.zeros((n - 1, n + 1))
    for row in range(n - 1):
        second[row, row:row + 3] = [1.0, -2.0, 1.0]
    second = np.delete(second, num_pre, axis=1)
    # The slope delta_1 - delta_0 = delta_1 pins down the linear trend.
    slope = np.zeros(n)
    slope[num_pre] = 1.0
    inverse = np.linalg.inv(np.vstack([second, slope]))
    return inverse[:, -1], inverse[:, :-1]


def folded_normal_quantile(p: float, mean: float) -> float:
    """The p quantile of :math:`|N(mean, 1)|`."""
    return float(stats.foldnorm.ppf(p, abs(mean)))


def optimal_flci(betahat, sigma, num_pre, num_post, l_vec, m, alpha):
    """Return (lower, upper, weights) of the optimal FLCI for l'tau_post.

    Notes
    -----
    Estimators are :math:`v'\\hat\\beta` with :math:`v = (v_{pre}, l)`. Their
    worst-case bias over :math:`\\Delta^{SD}(M)` is finite only when v is
    orthogonal to linear trends through the reference period, and then equals
    :math:`M\\lVert B'v\\rVert_1`. For a standard-deviation budget h, the
    smallest bias :math:`b(h)` solves a convex programme; the half-length
    :math:`h\\,cv_\\alpha(M b(h)/h)` (:math:`cv_\\alpha(t)` the 1 - alpha
    quantile of :math:`|N(t, 1)|`) is minimised over h between the
    minimum-variance estimator and the one that extrapolates the trend from
    the last pre-period, as in HonestDiD.
    """
    trend, B = second_difference_map(num_pre, num_post)
    pre, post = slice(0, num_pre), slice(num_pre, None)
    # Rescale so the optimiser works on numbers of order one.
    scale = float(np.sqrt(l_vec @ sigma[post, post] @ l_vec))
    sigma = sigma / scale**2
    m = m / scale

    def variance(x):
        v = np.r_[x, l_vec]
        return float(v @ sigma @ v)

    # Minimum variance subject to the trend constraint (KKT system).
    kkt = np.block([[2 * sigma[pre, pre], trend[pre, None]],
                    [trend[None, pre], np.zeros((1, 1))]])
    rhs = np.r_[-2 * sigma[pre, post] @ l_vec, -trend[post] @ l_vec]
    x_low = np.linalg.solve(kkt, rhs)[:num_pre]
    h_low = np.sqrt(variance(x_low))
    x_high = np.zeros(num_pre)
    x_high[-1] = -(trend[post] @ l_vec) / trend[num_pre - 1]
    h_high = np.sqrt(variance(x_high))

    def smallest_bias(h, start):
        """min ||B'v||_1 s.t. sd(v) <= h, trend'v = 0, over (x, u)."""
        n_d = B.shape[1]
        fixed = B[post].T @ l_vec

        def absolute(z):
            x, u = z[:num_pre], z[num_pre:]
            inner = B[pre].T @ x + fixed
            return np.r_[u - inner, u + inner]

        constraints = [
            {"type": "ineq", "fun": absolute},
            {"type": "eq", "fun": lambda z: trend[pre] @ z[:num_pre]
             + trend[post] @ l_vec},
            {"type": "ineq", "fun": lambda z: h**2 - variance(z[:num_pre])},
        ]
        u0 = np.abs(B[pre].T @ start + fixed) + 1e-9
        solved = minimize(lambda z: z[num_pre:].sum(), np.r_[start, u0],
                          jac=lambda z: np.r_[np.zeros(num_pre), np.ones(n_d)],
                          constraints=constraints, method="SLSQP",
                          options={"ftol": 1e-12, "maxiter": 500})
        x = solved.x[:num_pre]
        return float(np.abs(B[pre].T @ x + fixed).sum()), x

    def half_length(h):
        bias, x = smallest_bias(h, x_low)
        return h * folded_normal_quantile(1 - alpha, m * bias / h), x

    if m == 0 or h_high <= h_low * (1 + 1e-9):
        h_best = h_low if m == 0 else h_high
        x_best = x_low if m == 0 else x_high
        length = h_best * folded_normal_quantile(
            1 - alpha, m * abs(B[pre].T @ x_best + B[post].T @ l_vec).sum() / h_best)
    else:
        found = minimize_scalar(lambda h: half_length(h)[0],
                                bounds=(h_low, h_high), method="bounded",
                                options={"xatol": 1e-9 * h_high})
        candidates = [(half_length(h), h) for h in (found.x, h_low, h_high)]
        (length, x_best), _ = min(candidates, key=lambda c: c[0][0])
    weights = np.r_[x_best, l_vec]
    centre = float(weights @ betahat)
    length *= scale
    return centre - length, centre + length, weights
