"""Andrews, Roth and Pakes (2023) tests of moment inequalities with nuisance
parameters: the conditional test and its least-favourable (LF) hybrid.

The null is that some nuisance vector :math:`\\tau` gives
:math:`E[y - X\\tau] \\le 0` with :math:`y \\sim N(\\mu, \\Sigma)`. The
statistic is :math:`\\hat\\eta = \\min_{\\eta, \\tau} \\eta` subject to
:math:`y - X\\tau \\le \\eta\\, \\sigma` (:math:`\\sigma` the standard
deviations of y), a linear programme; conditional on the optimal dual vertex
:math:`\\gamma` it is a truncated normal, and the test compares it with the
truncated normal's quantile. These kernels serve
:func:`analysis.did.honest.honest_did`; they follow the steps of R
``HonestDiD`` (``.lp_conditional_test_fn``) so that their results can be
compared.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.optimize import linprog

_TOL_LAMBDA = 1e-6
_TOL_EQUALITY = 1e-6


def eta_programme(y, X, sd):
    """Solve min eta s.t. y - X tau <= eta * sd; return (eta, dual) or None."""
    k = X.shape[1]
    result = linprog(
        np.r_[1.0, np.zeros(k)], A_ub=-np.column_stack([sd, X]), b_ub=-y,
        bounds=[(None, None)] * (k + 1), method="highs",
    )
    if result.status != 0:
        return None
    return result.fun, -result.ineqlin.marginals


def least_favourable_cv(X, sigma, kappa, *, draws=1000, seed=0):
    """The 1 - kappa quantile of eta under mu = 0 (ARP section 6.2), simulated."""
    rng = np.random.default_rng(seed)
    sd = np.sqrt(np.diag(sigma))
    xi = rng.multivariate_normal(np.zeros(len(sd)), sigma, size=draws,
                                 method="svd")
    if X.shape[1] == 0:
        eta = (xi / sd).max(axis=1)
    elif X.shape[1] == 1:
        eta = _eta_one_nuisance(xi / sd[None, :], X[:, 0] / sd)
    else:
        solved = [eta_programme(draw, X, sd) for draw in xi]
        eta = np.array([np.nan if s is None else s[0] for s in solved])
    return float(np.nanquantile(eta, 1 - kappa))


def _eta_one_nuisance(a, b):
    """min over t of max_j (a_j - b_j t), for each row of a: the lowest point
    of an upper envelope of lines lies where two of them cross (or at an end).
    """
    i, j = np.triu_indices(len(b), 1)
    crossing = b[i] != b[j]
    i, j = i[crossing], j[crossing]
    t = (a[:, i] - a[:, j]) / (b[i] - b[j])
    envelope = (a[:, None, :] - t[:, :, None] * b[None, None, :]).max(axis=2)
    best = envelope.min(axis=1) if len(i) else np.full(len(a), np.inf)
    for side in (1, -1):
        # t -> +inf (side 1) or -inf: lines falling that way drop out.
        rising = side * b < 0
        if not rising.any():
            flat = b == 0
            limit = a[:, flat].max(axis=1) if flat.any() else -np.inf
            best = np.minimum(best, limit)
    return best


def conditional_test(y, X, sigma, alpha, *, lf_cv=None, kappa=0.0) -> bool:
    """True when the (hybrid) conditional test rejects the null at level alpha.

    ``lf_cv`` set makes it the LF hybrid: reject when eta exceeds it, else run
    the conditional test at level (alpha - kappa) / (1 - kappa) with the
    truncation capped at ``lf_cv``.
    """
    sd = np.sqrt(np.diag(sigma))
    solved = eta_programme(y, X, sd)
    if solved is None:
        # An unbounded programme (eta -> -inf) satisfies every moment.
        return False
    eta, dual = solved
    size = alpha
    if lf_cv is not None:
        if eta > lf_cv:
            return True
        size = (alpha - kappa) / (1 - kappa)

    k = X.shape[1]
    binding = dual > _TOL_LAMBDA
    full_rank = k == 0 or (
        binding.sum() > 0
        and np.linalg.matrix_rank(X[binding]) == min(binding.sum(), k))
    if binding.sum() == k + 1 and full_rank:
        low, high, sigma_b = _primal_truncation(y, X, sigma, sd, binding)
    else:
        sigma_b = float(np.sqrt(dual @ sigma @ dual))
        if sigma_b < 1e-10:
            return eta > 0
        low, high = _dual_truncation(eta, y, X, sigma, sd, dual)
    if lf_cv is not None:
        high = min(high, lf_cv)
    statistic = eta / sigma_b
    z_low, z_high = low / sigma_b, high / sigma_b
    if not z_low <= statistic <= z_high:
        return False
    critical = max(0.0, _truncated_quantile(1 - size, z_low, z_high))
    return statistic > critical


def _truncated_quantile(p, low, high):
    if low == high:
        return low
    return float(stats.truncnorm.ppf(p, low, high))


def _primal_truncation(y, X, sigma, sd, binding):
    """Truncation points when the k + 1 binding moments identify the vertex."""
    W_b = np.column_stack([sd[binding], X[binding]])
    W_free = np.column_stack([sd[~binding], X[~binding]])
    select = np.eye(len(y))
    inverse_b = np.linalg.inv(W_b)
    gamma_b = W_free @ inverse_b @ select[binding] - select[~binding]
    v_b = (inverse_b[0] @ select[binding])
    variance_b = float(v_b @ sigma @ v_b)
    rho = gamma_b @ sigma @ v_b / variance_b
    bound = -(gamma_b @ y) / rho + v_b @ y
    low = bound[rho > 0].max() if (rho > 0).any() else -np.inf
    high = bound[rho < 0].min() if (rho < 0).any() else np.inf
    return low, high, np.sqrt(variance_b)


def _dual_truncation(eta, y, X, sigma, sd, gamma):
    """Truncation points from the dual vertex (degenerate primal), found as the
    ends of the interval of c over which gamma stays optimal."""
    W = np.column_stack([sd, X])
    weight = sigma @ gamma / float(gamma @ sigma @ gamma)
    residual = y - weight * (gamma @ y)
    target = np.r_[1.0, np.zeros(X.shape[1])]

    def best_vertex(c):
        solved = linprog(-(residual + weight * c), A_eq=W.T, b_eq=target,
                         bounds=[(0, None)] * len(y), method="highs")
        if solved.status != 0:
            return None, np.inf
        return solved.x, -solved.fun

    def optimal_at(c):
        _, value = best_vertex(c)
        return abs(c - value) <= _TOL_EQUALITY

    if not optimal_at(eta):
        return eta, np.inf
    scale = float(np.sqrt(gamma @ sigma @ gamma))
    ends = []
    for far, inside in ((max(100.0, eta + 20 * scale), 1),
                        (min(-100.0, eta - 20 * scale), -1)):
        if optimal_at(far):
            ends.append(np.inf * inside)
            continue
        # Newton steps on the convex max(c) - c; bisection if they stall.
        point = far
        for _ in range(10):
            vertex, value = best_vertex(point)
            if vertex is None or abs(point - value) <= _TOL_EQUALITY:
                break
            point = float(vertex @ residual) / (1 - float(vertex @ weight))
        if not optimal_at(point):
            good, bad = eta, far
            while abs(bad - good) > 1e-6:
                middle = (good + bad) / 2
                good, bad = (middle, bad) if optimal_at(middle) else (good, middle)
            point = good
        ends.append(point)
    return ends[1], ends[0]
