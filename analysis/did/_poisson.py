"""Poisson pseudo-maximum likelihood with one absorbed fixed effect.

The kernel behind :func:`analysis.did.poisson.poisson_etwfe`. The absorbed
effect (unit or cohort) has a closed-form maximiser given the other
parameters, so it is concentrated out and Newton's method runs on the
remaining ``k`` coefficients only: memory and time grow with ``N k^2``, not
with the number of units. Nothing here knows about treatment cohorts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.did._within import cr1_sandwich


@dataclass
class PoissonFit:
    """Coefficients, fitted means and covariance of one Poisson fit."""

    params: np.ndarray
    vcov: np.ndarray
    mu: np.ndarray
    fixed_effects: np.ndarray
    n_iter: int
    n_obs: int
    n_groups: int
    n_clusters: int
    k_counted: int
    scale: float


def _group_sums(values: np.ndarray, code: np.ndarray, n_groups: int) -> np.ndarray:
    values = values.reshape(len(values), -1)
    return np.stack(
        [np.bincount(code, values[:, j], n_groups) for j in range(values.shape[1])], 1
    )


def _profile(theta, y, X, offset, code, n_groups, group_total):
    """Concentrated log likelihood and fitted means at ``theta``.

    Given :math:`\\theta` the first-order condition of group g's effect gives
    :math:`e^{\\alpha_g} = Y_g / \\sum_{i \\in g} e^{\\eta_i}` with
    :math:`\\eta = X\\theta + \\text{offset}`, so
    :math:`\\mu_i = Y_g\\,p_i` with within-group shares :math:`p_i`.
    """
    eta = X @ theta + offset
    # Shift by each group's maximum so the exponentials cannot overflow.
    peak = np.full(n_groups, -np.inf)
    np.maximum.at(peak, code, eta)
    shifted = np.exp(eta - peak[code])
    share = shifted / np.bincount(code, shifted, n_groups)[code]
    mu = group_total[code] * share
    positive = y > 0
    loglik = float(np.sum(y[positive] * np.log(share[positive])))
    return loglik, mu, eta


def fit_poisson_fe(
    y: np.ndarray,
    X: np.ndarray,
    offset: np.ndarray,
    group_code: np.ndarray,
    cluster_code: np.ndarray,
    *,
    k_counted: int,
    max_iter: int = 100,
    tol: float = 1e-10,
) -> PoissonFit:
    """Poisson QMLE of ``y`` on ``X`` plus absorbed group effects and an offset.

    Parameters
    ----------
    y, X, offset
        Counts (no group may be all zero), the ``N x k`` regressors and the
        offset (log exposure; zeros for none).
    group_code
        Integer code 0..G_fe-1 of the absorbed effect (unit or cohort).
    cluster_code
        Integer cluster code 0..G-1.
    k_counted
        The parameter count K of the CR1 factor (see Notes); the caller
        decides which absorbed effects it includes.
    max_iter, tol
        Newton stops when the largest step is below ``tol`` (absolute, the
        coefficients being on the log scale).

    Notes
    -----
    The profile log likelihood is :math:`\\ell(\\theta) = \\sum_i y_i \\log
    p_i(\\theta)`, the multinomial likelihood of each group's total spread
    over its rows; it is concave. With :math:`\\bar x_g = \\sum_{i\\in g}
    \\mu_i x_i / Y_g` its score is :math:`\\sum_i (y_i - \\mu_i) x_i` and its
    negative Hessian :math:`H = \\sum_i \\mu_i (x_i - \\bar x_g)(x_i - \\bar
    x_g)'`, the partialled-out information of the full model. Newton steps
    are halved until the likelihood does not fall. At the optimum this is the
    fixed-effects Poisson estimator of fixest's ``fepois`` and of a GLM with
    one dummy per group. The covariance is :math:`c H^{-1} (\\sum_c s_c
    s_c') H^{-1}` with cluster scores :math:`s_c = \\sum_{i \\in c} (y_i -
    \\mu_i)(x_i - \\bar x_{g(i)})` and :math:`c = \\frac{G}{G-1}\\frac{N-1}
    {N-K}`.
    """
    n_obs, k = X.shape
    n_groups = int(group_code.max()) + 1
    group_total = np.bincount(group_code, y, n_groups)
    theta = np.zeros(k)
    loglik, mu, eta = _profile(theta, y, X, offset, group_code, n_groups, group_total)

    for n_iter in range(1, max_iter + 1):
        hessian, centred = _information(X, mu, group_code, n_groups, group_total)
        if n_iter == 1:
            _check_rank(hessian)
        score = X.T @ (y - mu)
        step = np.linalg.solve(hessian, score)
        for _ in range(60):
            trial = _profile(
                theta + step, y, X, offset, group_code, n_groups, group_total
            )
            # Accept ties: at convergence the likelihood is flat to rounding.
            if trial[0] >= loglik - 1e-12 * max(1.0, abs(loglik)):
                break
            step = step / 2
        theta = theta + step
        loglik, mu, eta = trial
        if np.max(np.abs(step)) < tol:
            break
    else:
        raise RuntimeError(
            f"Poisson fit did not converge in max_iter={max_iter} Newton steps "
            f"(last step {np.max(np.abs(step)):.2e}); raise max_iter or check for "
            "separated cells."
        )

    hessian, centred = _information(X, mu, group_code, n_groups, group_total)
    bread = np.linalg.inv(hessian)
    n_clusters = int(cluster_code.max()) + 1
    if n_clusters < 2:
        raise ValueError(
            "only one cluster; cluster-robust standard errors need at least two "
            "(pass a finer clustervars)."
        )
    vcov, scale, _ = cr1_sandwich(
        bread, centred * (y - mu)[:, None], cluster_code, n_clusters, k_counted,
        what="Poisson",
    )
    fixed_effects = np.log(group_total) - np.log(
        np.bincount(group_code, np.exp(eta), n_groups)
    )
    return PoissonFit(
        params=theta,
        vcov=vcov,
        mu=mu,
        fixed_effects=fixed_effects,
        n_iter=n_iter,
        n_obs=n_obs,
        n_groups=n_groups,
        n_clusters=n_clusters,
        k_counted=k_counted,
        scale=scale,
    )


def _information(X, mu, code, n_groups, group_total):
    """Negative profile Hessian and the rows of X centred on mu-weighted means."""
    weighted_mean = _group_sums(mu[:, None] * X, code, n_groups) / group_total[:, None]
    centred = X - weighted_mean[code]
    hessian = centred.T @ (mu[:, None] * centred)
    return hessian, centred


def _check_rank(hessian: np.ndarray) -> None:
    diagonal = np.sqrt(np.maximum(np.diag(hessian), 1e-300))
    eigenvalues = np.linalg.eigvalsh(hessian / np.outer(diagonal, diagonal))
    if eigenvalues.min() < 1e-10 * eigenvalues.max():
        raise ValueError(
            "the Poisson design is singular given the absorbed fixed effect: some "
            "regressor is collinear with the others (e.g. a covariate constant "
            "within units); remove it."
        )
