"""Wild cluster restricted (WCR) bootstrap for regressions with few clusters.

When treatment varies only between a handful of clusters (states), CR1
standard errors with t(G - 1) intervals over-reject. The WCR bootstrap-t of
Cameron, Gelbach and Miller (2008), computed as in Roodman, MacKinnon,
Nielsen and Webb (2019, Stata ``boottest``), gives a p-value for one
coefficient and a confidence interval by inverting that test. Every
bootstrap quantity is linear in the cluster weights, so each draw costs
O(G^2) after one pass over the data.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.did._demean import demean_two_way
from analysis.did._validate import check_choice
from analysis.did._within import fit_within, prepare_panel
from analysis.did.bootstrap import draw_weights

__all__ = ["WildBootstrapResult", "wild_bootstrap_twfe", "wild_cluster_bootstrap"]

WEIGHTS = ("rademacher", "webb")
# A bootstrap t within this relative distance of the sample t is a tie (the
# draw with all weights +1 reproduces the sample); ties do not count as
# exceeding, as in boottest and wildboottest.
_TIE = 1e-9


@dataclass
class WildBootstrapResult:
    """One coefficient with its WCR bootstrap p-value and interval.

    Attributes
    ----------
    term, estimate
        The tested coefficient and its estimate.
    null
        The hypothesised value of the p-value (usually 0).
    p_value, ci_lower, ci_upper
        Symmetric bootstrap-t p-value and the ``1 - alpha`` interval by test
        inversion: the values ``r`` where the p-value of ``beta = r`` falls
        to ``alpha``, searched outward from the estimate.
    t_stat, se, p_value_analytic
        CR1 t statistic for the null, CR1 standard error and the t(G - 1)
        p-value, for comparison.
    weights, n_boot, enumerated, seed
        Weight distribution, number of draws, whether all ``2**G`` Rademacher
        draws were used (then the result does not depend on the seed) and the
        seed.
    """

    term: str
    estimate: float
    null: float
    p_value: float
    ci_lower: float
    ci_upper: float
    t_stat: float
    se: float
    p_value_analytic: float
    alpha: float
    weights: str
    n_boot: int
    enumerated: bool
    seed: object
    n_clusters: int
    cluster_name: str = ""
    label: str = "TWFE, wild cluster bootstrap"

    def tidy(self) -> pd.DataFrame:
        """One row: term, att, se, ci_lower, ci_upper, p_value (bootstrap) and
        p_value_analytic."""
        return pd.DataFrame(
            {
                "term": [self.term], "att": [self.estimate], "se": [self.se],
                "ci_lower": [self.ci_lower], "ci_upper": [self.ci_upper],
                "p_value": [self.p_value],
                "p_value_analytic": [self.p_value_analytic],
            }
        )

    def summary(self) -> str:
        draws = (f"all {self.n_boot} Rademacher sign vectors" if self.enumerated
                 else f"{self.n_boot} {self.weights} draws, seed {self.seed}")
        return "\n".join([
            f"Wild cluster restricted bootstrap-t: {self.term}",
            f"  clusters        {self.n_clusters} ({self.cluster_name})",
            f"  draws           {draws}",
            f"  estimate        {self.estimate:.6f} (CR1 se {self.se:.6f})",
            (f"  H0              {self.term} = {self.null:g}: bootstrap p = "
             f"{self.p_value:.4f}, t(G-1) p = {self.p_value_analytic:.4f}"),
            (f"  {1 - self.alpha:.0%} interval    [{self.ci_lower:.6f}, "
             f"{self.ci_upper:.6f}] (test inversion)"),
        ])

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        lines = self.summary().split("\n")
        return "<pre>" + "\n".join(lines).replace("<", "&lt;") + "</pre>"


def wild_cluster_bootstrap(
    y: np.ndarray,
    X: np.ndarray,
    cluster: np.ndarray,
    *,
    column: int = 0,
    fixed_effects: tuple[np.ndarray, np.ndarray] | None = None,
    weights: str = "rademacher",
    n_boot: int = 9999,
    seed: int | np.random.Generator,
    alpha: float = 0.05,
    null: float = 0.0,
    term: str = "",
) -> WildBootstrapResult:
    """WCR bootstrap-t test and interval for coefficient ``column`` of OLS.

    Parameters
    ----------
    y, X
        Outcome and ``N x k`` regressors. Without ``fixed_effects`` X must
        contain the intercept.
    cluster
        Cluster label of each row.
    column
        Index of the tested coefficient in X.
    fixed_effects
        ``(unit_code, time_code)`` integer codes of two absorbed effects.
    weights
        ``"rademacher"`` (all ``2**G`` sign vectors are enumerated when
        ``2**G <= n_boot``, as boottest does) or ``"webb"`` (six-point).
    n_boot, seed
        Draws and the seed (int or :class:`numpy.random.Generator`).
    alpha, null
        Interval level ``1 - alpha``; the hypothesised value of the p-value.

    Notes
    -----
    Write :math:`Z = [X, F]` with F the absorbed dummies, :math:`a'` the
    row of :math:`(Z'Z)^{-1}Z'` of the tested coefficient and
    :math:`\\tilde u(r)` the residuals of the model estimated under
    :math:`\\beta_j = r`. Draw b sets :math:`y^* = Z\\tilde\\gamma(r) +
    \\tilde u(r) \\circ v_{c(i)}`, so :math:`\\hat\\beta^*_j - r =
    \\sum_c v_c a_c'\\tilde u_c` and the bootstrap residuals are
    :math:`M_Z(\\tilde u \\circ v)`; both are linear in v, so the CR
    variance is a quadratic form :math:`\\lVert K v \\rVert^2` with a
    :math:`G \\times G` matrix K (Roodman et al. 2019), and both are linear
    in r, so the p-value function :math:`p(r) = B^{-1}\\sum_b 1\\{|t^*_b(r)|
    > |t(r)|\\}` costs O(B) per r. The CR1 factor multiplies every t alike
    and so cancels. Absorbed effects not nested in the clusters (periods)
    are re-projected out of each bootstrap sample, as with explicit dummies.
    """
    check_choice("weights", weights, WEIGHTS)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha} must lie strictly between 0 and 1.")
    if int(n_boot) < 99:
        raise ValueError(
            f"n_boot={n_boot} is too small for a p-value at 5%; use at least 99 "
            "draws (boottest uses 999)."
        )
    y = np.asarray(y, float)
    X = np.asarray(X, float).reshape(len(y), -1)
    cluster_code = pd.factorize(np.asarray(cluster), sort=True)[0]
    n_clusters = int(cluster_code.max()) + 1
    if n_clusters < 2:
        raise ValueError("only one cluster; the wild cluster bootstrap needs two.")

    def project_out(matrix):
        if fixed_effects is None:
            return matrix
        return demean_two_way(matrix, fixed_effects[0], fixed_effects[1])

    x_tilde = project_out(X)
    y_tilde = project_out(y)
    bread = np.linalg.inv(x_tilde.T @ x_tilde)
    beta = bread @ (x_tilde.T @ y_tilde)
    influence = x_tilde @ bread[:, column]      # a: beta_j = a'y
    residual = y_tilde - x_tilde @ beta
    se_raw = np.sqrt(np.sum(np.bincount(cluster_code, influence * residual) ** 2))

    # Restricted residuals u(r) = e0 - r e1: regress y and x_j on the others.
    others = np.delete(x_tilde, column, axis=1)
    e0, e1 = y_tilde.copy(), x_tilde[:, column].copy()
    if others.shape[1]:
        coefs = np.linalg.lstsq(others, np.column_stack([e0, e1]), rcond=None)[0]
        e0 = e0 - others @ coefs[:, 0]
        e1 = e1 - others @ coefs[:, 1]
    parts = [_bootstrap_parts(e, influence, x_tilde, bread, cluster_code,
                              n_clusters, project_out) for e in (e0, e1)]

    enumerated = weights == "rademacher" and 2**n_clusters <= int(n_boot)
    rng = np.random.default_rng(seed)
    if enumerated:
        signs = itertools.product((-1.0, 1.0), repeat=n_clusters)
        multipliers = np.array(list(signs)).T
    else:
        multipliers = draw_weights(rng, (int(n_boot), n_clusters), weights).T
    draws = _Draws(parts, multipliers)

    def p_value(r):
        t_sample = (beta[column] - r) / se_raw
        return draws.p_value(r, t_sample)

    critical = stats.t.ppf(1 - alpha / 2, n_clusters - 1)
    lower = _invert(p_value, beta[column], -se_raw, alpha, critical)
    upper = _invert(p_value, beta[column], se_raw, alpha, critical)
    scale = n_clusters / (n_clusters - 1) * (len(y) - 1) / (len(y) - X.shape[1])
    se = se_raw * np.sqrt(scale)
    t_stat = (beta[column] - null) / se
    return WildBootstrapResult(
        term=term or f"x{column}", estimate=float(beta[column]), null=null,
        p_value=p_value(null), ci_lower=lower, ci_upper=upper,
        t_stat=float(t_stat), se=float(se),
        p_value_analytic=float(2 * stats.t.sf(abs(t_stat), n_clusters - 1)),
        alpha=alpha, weights=weights, n_boot=multipliers.shape[1],
        enumerated=enumerated, seed=seed, n_clusters=n_clusters,
    )


def _bootstrap_parts(u, influence, x_tilde, bread, cluster_code, n_clusters,
                     project_out):
    """Cluster sums s_c = a_c'u_c and the G x G matrix K for residuals u."""
    s = np.bincount(cluster_code, influence * u, n_clusters)
    # Columns u * 1{cluster h}, with the absorbed effects projected out: the
    # part of M_Z(u o v) that the regressors X do not explain.
    spread = np.zeros((len(u), n_clusters))
    spread[np.arange(len(u)), cluster_code] = u
    projected = project_out(spread)
    a_block = np.stack(
        [np.bincount(cluster_code, influence * projected[:, h], n_clusters)
         for h in range(n_clusters)], axis=1)
    q = np.stack([np.bincount(cluster_code, influence * x_tilde[:, j], n_clusters)
                  for j in range(x_tilde.shape[1])], axis=1)
    p = np.stack([np.bincount(cluster_code, x_tilde[:, j] * u, n_clusters)
                  for j in range(x_tilde.shape[1])], axis=1) @ bread
    return s, a_block - q @ p.T


class _Draws:
    """Numerators and squared denominators of t*(r), as polynomials in r."""

    def __init__(self, parts, multipliers):
        (s0, k0), (s1, k1) = parts
        self.n0, self.n1 = s0 @ multipliers, s1 @ multipliers
        k0v, k1v = k0 @ multipliers, k1 @ multipliers
        self.d00 = np.sum(k0v * k0v, axis=0)
        self.d01 = np.sum(k0v * k1v, axis=0)
        self.d11 = np.sum(k1v * k1v, axis=0)

    def p_value(self, r, t_sample) -> float:
        # u(r) = e0 - r e1, so every part is (part from e0) - r (part from e1).
        numerator = self.n0 - r * self.n1
        denominator = self.d00 - 2 * r * self.d01 + r * r * self.d11
        with np.errstate(divide="ignore", invalid="ignore"):
            t_boot = np.abs(numerator) / np.sqrt(np.maximum(denominator, 0))
        exceed = t_boot > abs(t_sample) * (1 + _TIE)
        return float(np.mean(exceed))


def _invert(p_value, estimate, step, alpha, critical, tol=1e-10) -> float:
    """Outermost point from ``estimate`` along ``step`` where p falls to alpha.

    Walks out in multiples of the CR standard error until the p-value is at
    most alpha, then bisects; p(r) is a step function of r, so the result is
    its jump point to within ``tol`` standard errors.
    """
    inside = estimate
    outside = estimate + step * max(critical, 1.0)
    for _ in range(200):
        if p_value(outside) <= alpha:
            break
        inside, outside = outside, outside + step * max(critical, 1.0)
    else:
        return np.inf * np.sign(step)
    while abs(outside - inside) > tol * abs(step):
        middle = (inside + outside) / 2
        if p_value(middle) > alpha:
            inside = middle
        else:
            outside = middle
    return float((inside + outside) / 2)


def wild_bootstrap_twfe(
    data: pd.DataFrame,
    yname: str,
    tname: str,
    idname: str,
    gname: str,
    *,
    clustervars: str | list[str],
    weights: str = "rademacher",
    n_boot: int = 9999,
    seed: int | np.random.Generator,
    alpha: float = 0.05,
    null: float = 0.0,
    weightsname: str | None = None,
) -> WildBootstrapResult:
    """Static TWFE DiD coefficient with a WCR bootstrap p-value and interval.

    The regression is :func:`analysis.did.twfe`'s static model
    :math:`y_{it} = \\alpha_i + \\lambda_t + \\beta D_{it} + \\varepsilon_{it}`
    (same sample rules and CR1 standard error, which warns with
    :class:`~analysis.errors.FewClustersWarning` below 30 clusters); the test
    of :math:`\\beta = ` ``null`` and the interval come from
    :func:`wild_cluster_bootstrap` with ``clustervars`` (e.g. the state).
    Observation weights are not supported by the bootstrap.
    """
    if weightsname is not None:
        raise ValueError(
            "weightsname: the wild bootstrap here is unweighted; drop the weights "
            "or use twfe() for weighted CR1 inference."
        )
    panel = prepare_panel(data, yname, tname, idname, gname,
                          clustervars=clustervars)
    treated_post = (panel.cohort > 0) & (panel.period >= panel.cohort)
    if not treated_post.any():
        raise ValueError(f"no treated post-period rows in {gname!r}; nothing to test.")
    regressor = treated_post.astype(float)[:, None]
    # The analytic fit checks the regressor against the fixed effects, warns
    # below 30 clusters and gives twfe()'s CR1 standard error.
    fit = fit_within(panel.y, regressor, panel, names=["ATT"],
                     small_sample="fixest", stacklevel=3)
    result = wild_cluster_bootstrap(
        panel.y, regressor, panel.cluster_code, column=0,
        fixed_effects=(panel.unit_code, panel.time_code), weights=weights,
        n_boot=n_boot, seed=seed, alpha=alpha, null=null, term="ATT",
    )
    result.cluster_name = panel.cluster_name
    result.se = float(np.sqrt(fit.vcov[0, 0]))
    result.t_stat = (result.estimate - null) / result.se
    result.p_value_analytic = float(
        2 * stats.t.sf(abs(result.t_stat), fit.n_clusters - 1)
    )
    return result
