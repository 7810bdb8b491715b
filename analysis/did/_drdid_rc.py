"""Two-period, two-group DiD estimators for repeated cross sections.

:func:`analysis.did.att_gt` uses these for each (g, t) cell of repeated
cross sections and of unbalanced panels (R ``did``'s
``allow_unbalanced_panel``), following R ``DRDID``'s ``drdid_rc`` (the
locally efficient doubly robust estimator, R ``did``'s default),
``std_ipw_did_rc`` and ``reg_did_rc``. Each function takes one row per
observation: the outcome ``y``, a ``post`` indicator (the later of the two
periods of the comparison), the treated indicator ``treated``, a design
matrix ``covariates`` whose first column is the intercept, and sampling
weights. It returns the ATT and an influence function over the rows, scaled
so that ``se = sqrt(mean(psi**2) / n)`` for ``n`` rows.
"""

from __future__ import annotations

import numpy as np

from analysis.did._drdid import TRIM_LEVEL, CellError, logit_fit

_EPS = np.finfo(float).eps


def _checked_inverse(matrix: np.ndarray, what: str) -> np.ndarray:
    if not np.all(np.isfinite(matrix)) or 1.0 / np.linalg.cond(matrix, 1) < _EPS:
        raise CellError(f"the {what} design matrix is singular; drop some covariates")
    return np.linalg.inv(matrix)


class _LinearFit:
    """Weighted OLS of ``y`` on ``covariates`` over the rows where ``subset``.

    ``fitted`` covers every row; ``effect(m)`` is each row's contribution to
    ``sqrt(n) (beta_hat - beta)' m``, the estimation effect that a derivative
    vector ``m`` turns into a term of an influence function.
    """

    def __init__(self, y, covariates, weights, subset, what):
        n = len(y)
        self.covariates = covariates
        fit_weights = weights * subset
        gram = (covariates * fit_weights[:, None]).T @ covariates / n
        self.gram_inverse = _checked_inverse(gram, what)
        coef = self.gram_inverse @ (covariates.T @ (fit_weights * y)) / n
        self.fitted = covariates @ coef
        self.scale = fit_weights * (y - self.fitted)

    def effect(self, derivative: np.ndarray) -> np.ndarray:
        return self.scale * (self.covariates @ (self.gram_inverse @ derivative))


class _Propensity:
    """Weighted logit of ``treated`` on ``covariates`` and its linear rep."""

    def __init__(self, treated, covariates, weights):
        n = len(treated)
        pscore = np.minimum(logit_fit(covariates, treated, weights), 1 - 1e-6)
        curvature = pscore * (1 - pscore) * weights
        hessian = (covariates * curvature[:, None]).T @ covariates
        self.hessian_inverse = _checked_inverse(hessian, "propensity score") * n
        self.pscore = pscore
        self.covariates = covariates
        self.scale = weights * (treated - pscore)
        # R's trimming: comparison rows with a score of 0.995 or more get no
        # weight; treated rows are always kept.
        self.keep = np.where(treated == 1, True, pscore < TRIM_LEVEL)

    def effect(self, derivative: np.ndarray) -> np.ndarray:
        return self.scale * (self.covariates @ (self.hessian_inverse @ derivative))


def _hajek(weights, values):
    """Weighted mean and the leading term of its influence function."""
    mean_weight = weights.mean()
    if mean_weight == 0:
        raise CellError("a treated or comparison group has no (untrimmed) rows")
    estimate = np.mean(weights * values) / mean_weight
    return estimate, weights * (values - estimate) / mean_weight


def _column_mean(weights, covariates):
    return (weights[:, None] * covariates).mean(axis=0)


def dr_rc(y, post, treated, covariates, weights):
    """Locally efficient doubly robust DiD (R ``DRDID::drdid_rc``).

    Notes
    -----
    With a logit propensity score :math:`\\hat p(X)`, OLS fits
    :math:`\\hat\\mu_{d,s}(X)` of the outcome in group d and period s, and
    :math:`\\hat\\mu_0 = \\hat\\mu_{0,1}` in post rows and
    :math:`\\hat\\mu_{0,0}` in pre rows, eq. (3.4) of Sant'Anna and Zhao
    (2020) is

    .. math::
        \\widehat{ATT} = \\bar\\eta^{treat}_{1} - \\bar\\eta^{treat}_{0}
            - (\\bar\\eta^{comp}_{1} - \\bar\\eta^{comp}_{0})
            + \\sum_{s} (\\pm) \\big(E_n^{D=1}[\\hat\\mu_{1,s} - \\hat\\mu_{0,s}]
            - E_n^{D=1,s}[\\hat\\mu_{1,s} - \\hat\\mu_{0,s}]\\big),

    where :math:`\\bar\\eta^{treat}_s` is the mean of :math:`Y - \\hat\\mu_0`
    over treated rows of period s and :math:`\\bar\\eta^{comp}_s` its
    :math:`\\hat p / (1 - \\hat p)`-weighted mean over comparison rows. The
    influence function adds the estimation effects of the four regressions
    and of the logit. Comparison rows with :math:`\\hat p \\ge 0.995` get no
    weight, as in R.

    As in R ``DRDID`` (and moderndid), the estimation effects of the
    pre-period comparison regression on the treated and comparison terms
    are added with the sign of the post-period ones (csdid subtracts them).
    The two conventions differ by :math:`2 L_{0,0}(\\bar X^{D=1}_0 -
    \\bar X^{\\omega}_0)`, which vanishes when the propensity score balances
    the covariates; only standard errors are affected. With the other sign,
    on a balanced panel with time-invariant covariates, the influence
    function equals ``drdid_panel``'s (tests/test_did_edge_cases.py).
    """
    weights = weights / weights.mean()
    before = 1 - post
    propensity = _Propensity(treated, covariates, weights)
    pscore, keep = propensity.pscore, propensity.keep
    control = 1 - treated
    cont_pre = _LinearFit(y, covariates, weights, control * before,
                          "pre-period comparison regression")
    cont_post = _LinearFit(y, covariates, weights, control * post,
                           "post-period comparison regression")
    treat_pre = _LinearFit(y, covariates, weights, treated * before,
                           "pre-period treated regression")
    treat_post = _LinearFit(y, covariates, weights, treated * post,
                            "post-period treated regression")
    fitted_control = post * cont_post.fitted + before * cont_pre.fitted
    residual = y - fitted_control

    odds = keep * weights * pscore * control / (1 - pscore)
    w_treat_pre, w_treat_post = keep * weights * treated * before, \
        keep * weights * treated * post
    w_cont_pre, w_cont_post = odds * before, odds * post
    w_treat = keep * weights * treated

    att_treat_pre, inf_treat_pre = _hajek(w_treat_pre, residual)
    att_treat_post, inf_treat_post = _hajek(w_treat_post, residual)
    att_cont_pre, inf_cont_pre = _hajek(w_cont_pre, residual)
    att_cont_post, inf_cont_post = _hajek(w_cont_post, residual)
    # The locally efficient adjustment: treated-minus-comparison regression
    # gaps averaged over all treated rows versus over one period's rows.
    gap_post = treat_post.fitted - cont_post.fitted
    gap_pre = treat_pre.fitted - cont_pre.fitted
    att_d_post, inf_d_post = _hajek(w_treat, gap_post)
    att_dt1_post, inf_dt1_post = _hajek(w_treat_post, gap_post)
    att_d_pre, inf_d_pre = _hajek(w_treat, gap_pre)
    att_dt0_pre, inf_dt0_pre = _hajek(w_treat_pre, gap_pre)
    att = (att_treat_post - att_treat_pre) - (att_cont_post - att_cont_pre) \
        + (att_d_post - att_dt1_post) - (att_d_pre - att_dt0_pre)

    # Estimation effects of the comparison regressions on the treated terms.
    m1_post = -_column_mean(w_treat_post, covariates) / w_treat_post.mean()
    m1_pre = -_column_mean(w_treat_pre, covariates) / w_treat_pre.mean()
    inf_treat_or = cont_post.effect(m1_post) + cont_pre.effect(m1_pre)
    # ... of the logit and of the regressions on the comparison terms.
    m2_pre = _column_mean(w_cont_pre * (residual - att_cont_pre), covariates) \
        / w_cont_pre.mean()
    m2_post = _column_mean(w_cont_post * (residual - att_cont_post), covariates) \
        / w_cont_post.mean()
    inf_cont_ps = propensity.effect(m2_post - m2_pre)
    m3_post = -_column_mean(w_cont_post, covariates) / w_cont_post.mean()
    m3_pre = -_column_mean(w_cont_pre, covariates) / w_cont_pre.mean()
    inf_cont_or = cont_post.effect(m3_post) + cont_pre.effect(m3_pre)
    # ... and of all four regressions on the adjustment terms.
    share_treat = w_treat / w_treat.mean()
    moment_post = _column_mean(share_treat - w_treat_post / w_treat_post.mean(),
                               covariates)
    moment_pre = _column_mean(share_treat - w_treat_pre / w_treat_pre.mean(),
                              covariates)
    inf_or = (treat_post.effect(moment_post) - cont_post.effect(moment_post)) \
        - (treat_pre.effect(moment_pre) - cont_pre.effect(moment_pre))
    inf_eff = (inf_d_post - inf_dt1_post) - (inf_d_pre - inf_dt0_pre)

    inf_treat = inf_treat_post - inf_treat_pre + inf_treat_or
    inf_cont = inf_cont_post - inf_cont_pre + inf_cont_ps + inf_cont_or
    return att, inf_treat - inf_cont + inf_eff + inf_or


def ipw_rc(y, post, treated, covariates, weights):
    """Standardised (Hajek) IPW DiD (R ``DRDID::std_ipw_did_rc``).

    Notes
    -----
    .. math::
        \\widehat{ATT} = (\\bar Y^{D=1}_{1} - \\bar Y^{D=1}_{0})
            - (\\bar Y^{\\omega}_{1} - \\bar Y^{\\omega}_{0}),
        \\quad \\omega_i = w_i (1 - D_i) \\frac{\\hat p(X_i)}{1 - \\hat p(X_i)},

    means over the rows of each period, with the logit's estimation effect in
    the influence function and R's trimming of comparison rows at 0.995.
    """
    weights = weights / weights.mean()
    before = 1 - post
    propensity = _Propensity(treated, covariates, weights)
    pscore, keep = propensity.pscore, propensity.keep
    odds = keep * weights * pscore * (1 - treated) / (1 - pscore)
    treat = keep * weights * treated

    att_treat_pre, inf_treat_pre = _hajek(treat * before, y)
    att_treat_post, inf_treat_post = _hajek(treat * post, y)
    att_cont_pre, inf_cont_pre = _hajek(odds * before, y)
    att_cont_post, inf_cont_post = _hajek(odds * post, y)
    att = (att_treat_post - att_treat_pre) - (att_cont_post - att_cont_pre)

    w_pre, w_post = odds * before, odds * post
    m2_pre = _column_mean(w_pre * (y - att_cont_pre), covariates) / w_pre.mean()
    m2_post = _column_mean(w_post * (y - att_cont_post), covariates) / w_post.mean()
    inf_cont = inf_cont_post - inf_cont_pre + propensity.effect(m2_post - m2_pre)
    return att, (inf_treat_post - inf_treat_pre) - inf_cont


def reg_rc(y, post, treated, covariates, weights):
    """Outcome-regression DiD (R ``DRDID::reg_did_rc``).

    Notes
    -----
    With OLS fits :math:`\\hat\\mu_{0,s}` of the outcome on the covariates
    among comparison rows of period s,

    .. math::
        \\widehat{ATT} = (\\bar Y^{D=1}_{1} - \\bar Y^{D=1}_{0})
            - E_n^{D=1}[\\hat\\mu_{0,1}(X) - \\hat\\mu_{0,0}(X)],

    the last mean over the treated rows of both periods; the influence
    function adds both regressions' estimation effects.
    """
    weights = weights / weights.mean()
    before = 1 - post
    control = 1 - treated
    cont_pre = _LinearFit(y, covariates, weights, control * before,
                          "pre-period comparison regression")
    cont_post = _LinearFit(y, covariates, weights, control * post,
                           "post-period comparison regression")
    w_treat = weights * treated
    att_treat_pre, inf_treat_pre = _hajek(w_treat * before, y)
    att_treat_post, inf_treat_post = _hajek(w_treat * post, y)
    att_cont, inf_cont = _hajek(w_treat, cont_post.fitted - cont_pre.fitted)

    derivative = _column_mean(w_treat, covariates) / w_treat.mean()
    inf_cont = inf_cont + cont_post.effect(derivative) - cont_pre.effect(derivative)
    att = (att_treat_post - att_treat_pre) - att_cont
    return att, (inf_treat_post - inf_treat_pre) - inf_cont


ESTIMATORS_RC = {"dr": dr_rc, "ipw": ipw_rc, "reg": reg_rc}


def four_means_rc(y, post, treated, weights, est_method):
    """The 2x2 DiD without covariates: a difference of four weighted means.

    Notes
    -----
    With only an intercept the dr, ipw and reg estimators above all reduce to
    :math:`(\\bar Y_{11} - \\bar Y_{10}) - (\\bar Y_{01} - \\bar Y_{00})`
    (group d, period s), and their influence functions to
    :math:`\\pm n w_i (Y_i - \\bar Y_{ds}) / W_{ds}` with ``W`` the cell's
    weight sum (+ for treated-post and comparison-pre rows). For ``dr`` and
    ``ipw`` the constant propensity score is the weighted share of treated
    rows; at 0.995 or more R's trimming removes every comparison row.
    """
    n = len(y)
    if est_method in ("dr", "ipw") and \
            np.sum(weights * treated) / np.sum(weights) >= TRIM_LEVEL:
        raise CellError("every comparison row trimmed (propensity score >= 0.995)")
    psi = np.empty(n)
    att = 0.0
    for in_treat, in_post, sign in ((1, 1, 1.0), (1, 0, -1.0), (0, 1, -1.0),
                                    (0, 0, 1.0)):
        rows = (treated == in_treat) & (post == in_post)
        total = weights[rows].sum()
        mean = weights[rows] @ y[rows] / total
        att += sign * mean
        psi[rows] = sign * n * weights[rows] * (y[rows] - mean) / total
    return att, psi
