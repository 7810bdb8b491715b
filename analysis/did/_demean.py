"""Two-way within transformation: remove unit and period fixed effects.

Three routes to the same residuals, chosen by the panel's shape: a one-pass
formula for balanced unweighted panels, an exact solve of the smaller fixed
effect's normal equations after sweeping out the larger one, and alternating
projections when both effects have many levels.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

# Above this many levels in the smaller effect, its dense normal equations
# (levels^2 memory, levels^3 time) cost more than iterating.
EXACT_SOLVE_MAX_LEVELS = 2_000


def demean_two_way(
    matrix: np.ndarray,
    unit_code: np.ndarray,
    time_code: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    tol: float = 1e-14,
    max_iter: int = 10_000,
) -> np.ndarray:
    """Residuals of a (weighted) regression of each column on unit and period dummies.

    Parameters
    ----------
    matrix
        N x k array (or a length-N vector).
    unit_code, time_code
        Integer codes 0..levels-1 of each row's unit and period.
    weights
        Positive observation weights; None for equal weights.
    tol, max_iter
        Convergence criterion of the iterative fallback: stop when no entry
        moves by more than ``tol`` times its column's scale.

    Notes
    -----
    Write A and B for the dummies of the effect with more and with fewer
    levels, W for the weights and :math:`M_A = I - A(A'WA)^{-1}A'W`. By
    Frisch-Waugh-Lovell the two-way residual is :math:`M_A x - M_A B\\gamma`
    with :math:`(B'WM_AB)\\gamma = B'WM_Ax`. :math:`B'WM_AB =
    \\mathrm{diag}(B'W1) - C'\\mathrm{diag}(A'W1)^{-1}C`, with :math:`C = A'WB`
    the weighted unit x period counts, is small and dense; it is singular
    (one normalisation, more if the panel is disconnected), so its
    pseudo-inverse is used, which leaves the residual unchanged. An unweighted
    balanced panel needs only :math:`x_{it} - \\bar x_{i\\cdot} -
    \\bar x_{\\cdot t} + \\bar x`. When both effects have more than
    ``EXACT_SOLVE_MAX_LEVELS`` levels, alternating demeaning (Guimaraes and
    Portugal 2010) is iterated to its fixed point instead.
    """
    matrix = np.asarray(matrix, dtype=float)
    column_vector = matrix.ndim == 1
    values = matrix.reshape(len(matrix), -1)
    n_rows = len(values)
    w = np.ones(n_rows) if weights is None else np.asarray(weights, dtype=float)
    unit = _Effect(unit_code, w)
    time = _Effect(time_code, w)

    if weights is None and n_rows == unit.levels * time.levels:
        result = values - unit.means(values) - time.means(values) + values.mean(0)
    elif min(unit.levels, time.levels) <= EXACT_SOLVE_MAX_LEVELS:
        large, small = (unit, time) if unit.levels >= time.levels else (time, unit)
        result = _exact(values, large, small, w)
    else:
        result = _alternate(values, unit, time, tol, max_iter)
    return result[:, 0] if column_vector else result


class _Effect:
    """One fixed effect: its codes, weighted level totals and group means."""

    def __init__(self, codes: np.ndarray, weights: np.ndarray):
        self.codes = np.asarray(codes)
        self.levels = int(self.codes.max()) + 1
        rows = np.arange(len(self.codes))
        # levels x N matrix whose product with X gives weighted level sums.
        self.summer = sparse.csr_matrix(
            (weights, (self.codes, rows)), shape=(self.levels, len(self.codes))
        )
        self.totals = np.bincount(self.codes, weights, self.levels)

    def level_means(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(self.summer @ values) / self.totals[:, None]

    def means(self, values: np.ndarray) -> np.ndarray:
        return self.level_means(values)[self.codes]


def _exact(values, large: _Effect, small: _Effect, w) -> np.ndarray:
    swept = values - large.means(values)
    indicator = sparse.csr_matrix(
        (np.ones(len(w)), (small.codes, np.arange(len(w)))),
        shape=(small.levels, len(w)),
    )
    cross = (large.summer @ indicator.T).tocsc()
    gram = np.diag(small.totals) - (
        cross.T @ sparse.diags(1.0 / large.totals) @ cross
    ).toarray()
    rhs = np.asarray(small.summer @ swept)

    eigenvalues, vectors = np.linalg.eigh(gram)
    keep = eigenvalues > 1e-10 * eigenvalues.max()
    gamma = vectors[:, keep] @ ((vectors[:, keep].T @ rhs) / eigenvalues[keep, None])
    spread = gamma[small.codes]
    return swept - (spread - large.means(spread))


def _alternate(values, unit: _Effect, time: _Effect, tol, max_iter) -> np.ndarray:
    scale = np.maximum(np.abs(values).max(axis=0), 1.0)
    for _ in range(max_iter):
        before = values
        values = values - unit.means(values)
        values = values - time.means(values)
        if np.all(np.abs(values - before).max(axis=0) <= tol * scale):
            return values
    raise RuntimeError(
        f"two-way demeaning did not converge in {max_iter} iterations; the panel "
        "may be very unbalanced or disconnected."
    )
