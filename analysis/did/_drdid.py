"""Two-period, two-group panel DiD estimators and their influence functions.

These are the building blocks :func:`analysis.did.att_gt` applies to every
(g, t) cell, following the panel estimators of Sant'Anna and Zhao (2020) as
implemented in R ``DRDID`` (``drdid_panel``, ``std_ipw_did_panel``,
``reg_did_panel``), which R ``did`` calls. Each function takes the outcome
change ``delta_y = Y_post - Y_pre``, the treated indicator ``treated``, a
design matrix ``covariates`` whose first column is the intercept, and
sampling weights, and returns the ATT and its influence function, scaled so
that ``se = sqrt(mean(psi**2) / n)`` over the cell's ``n`` units.
"""

from __future__ import annotations

import numpy as np

TRIM_LEVEL = 0.995
_EPS = np.finfo(float).eps


class CellError(ValueError):
    """A 2x2 cell cannot be estimated; the message says why."""


def logit_fit(covariates, treated, weights, *, max_iter=50, tol=1e-12):
    """Weighted logit by Newton-Raphson; returns the fitted probabilities.

    Notes
    -----
    Maximises ``sum_i w_i [D_i log p_i + (1 - D_i) log(1 - p_i)]`` with
    ``p_i = 1 / (1 + exp(-x_i'gamma))``. With only an intercept the maximum
    is closed form, ``p = sum(w D) / sum(w)``.
    """
    if covariates.shape[1] == 1:
        share = np.sum(weights * treated) / np.sum(weights)
        return np.full(len(treated), share)
    share = np.clip(np.sum(weights * treated) / np.sum(weights), 1e-6, 1 - 1e-6)
    gamma = np.zeros(covariates.shape[1])
    gamma[0] = np.log(share / (1 - share))
    for _ in range(max_iter):
        index = covariates @ gamma
        fitted = 1.0 / (1.0 + np.exp(-index))
        score = covariates.T @ (weights * (treated - fitted))
        curvature = weights * fitted * (1 - fitted)
        hessian = (covariates * curvature[:, None]).T @ covariates
        try:
            step = np.linalg.solve(hessian, score)
        except np.linalg.LinAlgError as error:
            raise CellError("the propensity-score design is singular") from error
        gamma += step
        if np.max(np.abs(step)) < tol * (1 + np.max(np.abs(gamma))):
            break
    return 1.0 / (1.0 + np.exp(-(covariates @ gamma)))


def _inverse(matrix: np.ndarray, what: str) -> np.ndarray:
    if 1.0 / np.linalg.cond(matrix, 1) < _EPS:
        raise CellError(f"the {what} design matrix is singular; drop some covariates")
    return np.linalg.inv(matrix)


def _outcome_regression(delta_y, treated, covariates, weights):
    """OLS of ``delta_y`` on the covariates among controls; the linear rep."""
    n = len(delta_y)
    control_weights = weights * (1 - treated)
    gram = (covariates * control_weights[:, None]).T @ covariates / n
    gram_inverse = _inverse(gram, "outcome regression")
    coef = gram_inverse @ ((covariates * control_weights[:, None]).T @ delta_y) / n
    fitted = covariates @ coef
    # Unit i's contribution to sqrt(n)(beta_hat - beta) is
    # w_i (1 - D_i) e_i x_i' (X'WX/n)^{-1}; kept as (scale_i, matrix).
    scale = control_weights * (delta_y - fitted)
    return fitted, scale, gram_inverse


def _propensity_linear_rep(treated, covariates, weights, pscore):
    n = len(treated)
    hessian = (covariates * (pscore * (1 - pscore) * weights)[:, None]).T @ covariates
    hessian_inverse = _inverse(hessian, "propensity score") * n
    return weights * (treated - pscore), hessian_inverse


def dr_panel(delta_y, treated, covariates, weights):
    """Doubly robust DiD (R ``DRDID::drdid_panel``, the "traditional" DR).

    Notes
    -----
    With a logit propensity score :math:`\\hat p(X)` and an OLS fit
    :math:`\\hat m(X)` of :math:`\\Delta Y` on :math:`X` among controls,

    .. math::
        \\widehat{ATT} = \\frac{\\sum_i w_i D_i (\\Delta Y_i - \\hat m(X_i))}
                               {\\sum_i w_i D_i}
                       - \\frac{\\sum_i \\omega_i (\\Delta Y_i - \\hat m(X_i))}
                               {\\sum_i \\omega_i},
        \\quad \\omega_i = w_i (1 - D_i) \\frac{\\hat p(X_i)}{1 - \\hat p(X_i)}.

    Controls with :math:`\\hat p \\ge 0.995` get zero weight (R's trimming).
    The influence function adds the estimation effects of the OLS and logit
    coefficients to the leading terms.
    """
    weights = weights / weights.mean()
    pscore = np.minimum(logit_fit(covariates, treated, weights), 1 - 1e-6)
    keep = np.where(treated == 1, True, pscore < TRIM_LEVEL)
    fitted, ols_scale, ols_inverse = _outcome_regression(
        delta_y, treated, covariates, weights
    )
    residual = delta_y - fitted
    w_treat = keep * weights * treated
    w_cont = keep * weights * pscore * (1 - treated) / (1 - pscore)
    mean_w_treat, mean_w_cont = w_treat.mean(), w_cont.mean()
    if mean_w_treat == 0 or mean_w_cont == 0:
        raise CellError("no treated or no untrimmed control units")
    eta_treat = np.mean(w_treat * residual) / mean_w_treat
    eta_cont = np.mean(w_cont * residual) / mean_w_cont
    att = eta_treat - eta_cont

    ps_scale, ps_inverse = _propensity_linear_rep(treated, covariates, weights, pscore)
    m1 = (w_treat[:, None] * covariates).mean(axis=0)
    m2 = ((w_cont * (residual - eta_cont))[:, None] * covariates).mean(axis=0)
    m3 = (w_cont[:, None] * covariates).mean(axis=0)
    ols_effect_treat = ols_scale * (covariates @ (ols_inverse @ m1))
    ols_effect_cont = ols_scale * (covariates @ (ols_inverse @ m3))
    ps_effect = ps_scale * (covariates @ (ps_inverse @ m2))

    inf_treat = (w_treat * (residual - eta_treat) - ols_effect_treat) / mean_w_treat
    inf_cont = (
        w_cont * (residual - eta_cont) + ps_effect - ols_effect_cont
    ) / mean_w_cont
    return att, inf_treat - inf_cont


def ipw_panel(delta_y, treated, covariates, weights):
    """Standardised (Hajek) IPW DiD (R ``DRDID::std_ipw_did_panel``).

    Notes
    -----
    .. math::
        \\widehat{ATT} = \\frac{\\sum_i w_i D_i \\Delta Y_i}{\\sum_i w_i D_i}
                       - \\frac{\\sum_i \\omega_i \\Delta Y_i}{\\sum_i \\omega_i},
        \\quad \\omega_i = w_i (1 - D_i) \\frac{\\hat p(X_i)}{1 - \\hat p(X_i)},

    with the logit's estimation effect in the influence function.
    """
    weights = weights / weights.mean()
    pscore = np.minimum(logit_fit(covariates, treated, weights), 1 - 1e-6)
    keep = np.where(treated == 1, True, pscore < TRIM_LEVEL)
    w_treat = keep * weights * treated
    w_cont = keep * weights * pscore * (1 - treated) / (1 - pscore)
    mean_w_treat, mean_w_cont = w_treat.mean(), w_cont.mean()
    if mean_w_treat == 0 or mean_w_cont == 0:
        raise CellError("no treated or no untrimmed control units")
    eta_treat = np.mean(w_treat * delta_y) / mean_w_treat
    eta_cont = np.mean(w_cont * delta_y) / mean_w_cont

    ps_scale, ps_inverse = _propensity_linear_rep(treated, covariates, weights, pscore)
    m2 = ((w_cont * (delta_y - eta_cont))[:, None] * covariates).mean(axis=0)
    ps_effect = ps_scale * (covariates @ (ps_inverse @ m2))
    inf_treat = w_treat * (delta_y - eta_treat) / mean_w_treat
    inf_cont = (w_cont * (delta_y - eta_cont) + ps_effect) / mean_w_cont
    return eta_treat - eta_cont, inf_treat - inf_cont


def reg_panel(delta_y, treated, covariates, weights):
    """Outcome-regression DiD (R ``DRDID::reg_did_panel``).

    Notes
    -----
    .. math::
        \\widehat{ATT} = \\frac{\\sum_i w_i D_i (\\Delta Y_i - \\hat m(X_i))}
                               {\\sum_i w_i D_i},

    with :math:`\\hat m` the OLS fit of :math:`\\Delta Y` on :math:`X` among
    controls, and its estimation effect in the influence function.
    """
    weights = weights / weights.mean()
    fitted, ols_scale, ols_inverse = _outcome_regression(
        delta_y, treated, covariates, weights
    )
    w_treat = weights * treated
    mean_w_treat = w_treat.mean()
    if mean_w_treat == 0:
        raise CellError("no treated units")
    eta_treat = np.mean(w_treat * delta_y) / mean_w_treat
    eta_cont = np.mean(w_treat * fitted) / mean_w_treat
    m1 = (w_treat[:, None] * covariates).mean(axis=0)
    ols_effect = ols_scale * (covariates @ (ols_inverse @ m1))
    inf_treat = w_treat * (delta_y - eta_treat) / mean_w_treat
    inf_cont = (w_treat * (fitted - eta_cont) + ols_effect) / mean_w_treat
    return eta_treat - eta_cont, inf_treat - inf_cont


ESTIMATORS = {"dr": dr_panel, "ipw": ipw_panel, "reg": reg_panel}


def check_cell(treated, covariates, est_method) -> str | None:
    """R did's pre-checks: return a reason the cell is not estimable, or None.

    Propensity-score methods need overlap (an unweighted logit's largest fitted
    probability below 0.999); regression methods need a non-singular control
    design.
    """
    if est_method in ("dr", "ipw"):
        pscore = logit_fit(covariates, treated, np.ones(len(treated)))
        if pscore.max() >= 0.999:
            return "overlap condition violated (a propensity score >= 0.999)"
    if est_method in ("dr", "reg"):
        controls = covariates[treated == 0]
        gram = controls.T @ controls
        if len(controls) == 0 or 1.0 / np.linalg.cond(gram, 1) < _EPS:
            return "not enough control units to run the outcome regression"
    return None
