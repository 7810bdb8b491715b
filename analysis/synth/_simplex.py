"""Least squares over the probability simplex: exact active set and Frank-Wolfe.

Both solve

.. math::  \\min_w \\tfrac12\\|Aw - b\\|^2 + \\tfrac12 r\\|w\\|^2
           \\quad\\text{s.t.}\\quad w \\ge 0,\\ \\textstyle\\sum_j w_j = 1.

:func:`simplex_least_squares` finds the exact minimiser with a primal active
set method (Lawson and Hanson's NNLS strategy with the sum constraint kept in
every equality-constrained subproblem). :func:`frank_wolfe` is the
conditional-gradient iteration of Arkhangelsky et al. (2021), with their
stopping rule, used by the synthetic DiD estimator so that its weights
follow the published algorithm step by step.
"""

from __future__ import annotations

import numpy as np

__all__ = ["simplex_least_squares", "frank_wolfe", "sparsify"]


def simplex_least_squares(
    A: np.ndarray, b: np.ndarray, ridge: float = 0.0, *, tol: float = 1e-11,
    max_iter: int | None = None,
) -> np.ndarray:
    """Exact simplex-constrained (ridge) least squares by an active set method.

    Parameters
    ----------
    A, b
        ``m x n`` design (one column per candidate, e.g. donor) and target.
    ridge
        ``r >= 0`` in the objective above.
    tol
        Optimality tolerance on the KKT multipliers, relative to the scale of
        the gradient.
    max_iter
        Cap on active-set changes (default ``10 n + 100``).

    Returns
    -------
    numpy.ndarray
        Weights ``w`` (non-negative, summing to one).

    Raises
    ------
    RuntimeError
        If the active set does not settle within ``max_iter`` changes.

    Notes
    -----
    At the optimum the gradient ``g = A'(Aw - b) + r w`` equals a common
    value ``mu`` on the support and is at least ``mu`` elsewhere (the KKT
    conditions with the sum constraint's multiplier ``mu``). Each outer step
    adds the most violating column; the inner loop solves the
    equality-constrained problem on the support and, when that solution
    leaves the simplex, steps to the boundary and drops the column that hit
    zero, exactly as in NNLS.
    """
    A = np.asarray(A, dtype=float)
    b = np.asarray(b, dtype=float)
    if A.ndim != 2 or b.shape != (A.shape[0],):
        raise ValueError(
            f"A must be m x n and b of length m; got {A.shape}, {b.shape}.")
    if ridge < 0:
        raise ValueError(f"ridge must be >= 0, got {ridge}.")
    n = A.shape[1]
    hessian = A.T @ A + ridge * np.eye(n)
    linear = A.T @ b
    scale = max(1.0, float(np.abs(hessian).max()), float(np.abs(linear).max()))
    max_iter = max_iter if max_iter is not None else 10 * n + 100

    # Start at the best single column (a vertex of the simplex).
    start = int(np.argmin(0.5 * np.diag(hessian) - linear))
    w = np.zeros(n)
    w[start] = 1.0
    support = [start]
    for _ in range(max_iter):
        w = _settle(hessian, linear, w, support)
        gradient = hessian @ w - linear
        mu = gradient[support].mean()
        slack = gradient - mu
        slack[support] = 0.0
        entering = int(np.argmin(slack))
        if slack[entering] >= -tol * scale:
            return w
        support.append(entering)
    raise RuntimeError(
        f"simplex_least_squares: active set did not settle in {max_iter} changes."
    )


def _settle(hessian, linear, w, support):
    """Inner loop: move to the equality-constrained optimum on the support."""
    while True:
        z = _equality_solution(hessian, linear, support)
        if np.all(z > 0):
            w = np.zeros_like(w)
            w[support] = z
            return w
        current = w[support]
        # Largest step from w towards z that keeps every weight >= 0.
        leaving = z <= 0
        steps = current[leaving] / (current[leaving] - z[leaving])
        alpha = float(np.min(steps))
        moved = current + alpha * (z - current)
        keep = moved > 1e-15
        # The column(s) reaching zero leave; at least the minimiser does.
        keep[np.flatnonzero(leaving)[np.argmin(steps)]] = False
        w = np.zeros_like(w)
        kept = [s for s, k in zip(support, keep) if k]
        w[kept] = moved[keep] / moved[keep].sum()
        support[:] = kept


def _equality_solution(hessian, linear, support):
    """Minimise on the support subject only to sum(z) = 1 (KKT system)."""
    k = len(support)
    kkt = np.zeros((k + 1, k + 1))
    kkt[:k, :k] = hessian[np.ix_(support, support)]
    kkt[:k, k] = 1.0
    kkt[k, :k] = 1.0
    rhs = np.append(linear[support], 1.0)
    # lstsq: the minimum-norm solution when donors are collinear (ridge 0).
    solution = np.linalg.lstsq(kkt, rhs, rcond=None)[0]
    return solution[:k]


def frank_wolfe(
    Y: np.ndarray,
    zeta: float,
    *,
    intercept: bool = True,
    start: np.ndarray | None = None,
    min_decrease: float = 1e-3,
    max_iter: int = 1000,
) -> np.ndarray:
    """Frank-Wolfe weights as in Arkhangelsky et al. (2021), Algorithm 1.

    Parameters
    ----------
    Y
        ``m x (k + 1)``: the first ``k`` columns are the candidates, the last
        the target; rows are the observations the fit is over.
    zeta
        Regularisation: the objective is ``zeta^2 |w|^2 + |Aw - b|^2 / m``.
    intercept
        Centre every column over the rows first (a free intercept).
    start
        Starting weights (uniform by default).
    min_decrease, max_iter
        Stop when the objective falls by less than ``min_decrease^2`` in one
        step, or after ``max_iter`` steps.

    Returns
    -------
    numpy.ndarray
        The ``k`` weights.
    """
    Y = np.asarray(Y, dtype=float)
    if intercept:
        Y = Y - Y.mean(axis=0)
    m, k = Y.shape[0], Y.shape[1] - 1
    A, b = Y[:, :k], Y[:, k]
    # Every step needs only inner products: work with the Gram matrix.
    gram, cross, bb = A.T @ A, A.T @ b, float(b @ b)
    w = np.full(k, 1.0 / k) if start is None else np.asarray(start, dtype=float)
    eta = m * zeta**2
    previous = current = np.inf
    step = 0
    while step < max_iter and (step < 2 or previous - current > min_decrease**2):
        step += 1
        w = _fw_step(gram, cross, w, eta)
        squared_error = float(w @ gram @ w) - 2 * float(w @ cross) + bb
        previous, current = current, zeta**2 * float(w @ w) + squared_error / m
    return w


def _fw_step(gram, cross, w, eta):
    """One exact line-search step towards the best vertex.

    With ``G = A'A`` and ``c = A'b``: the half gradient is ``Gw - c + eta w``
    and the squared change of the fit along the step to vertex ``i`` is
    ``G_ii - 2 (Gw)_i + w'Gw``.
    """
    gram_w = gram @ w
    half_gradient = gram_w - cross + eta * w
    vertex = int(np.argmin(half_gradient))
    direction = -w.copy()
    direction[vertex] += 1.0
    if not np.any(direction):
        return w
    fit_change = gram[vertex, vertex] - 2 * gram_w[vertex] + float(w @ gram_w)
    denominator = fit_change + eta * float(direction @ direction)
    # Exact line search on the penalised objective along the direction.
    step = -float(half_gradient @ direction) / denominator
    return w + min(1.0, max(0.0, step)) * direction


def sparsify(w: np.ndarray) -> np.ndarray:
    """Zero the weights at or below a quarter of the largest; renormalise."""
    w = np.where(w <= w.max() / 4, 0.0, w)
    return w / w.sum()
