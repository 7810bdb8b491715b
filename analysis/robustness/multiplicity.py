"""Adjusting p-values for testing several outcomes at once.

An evaluation with one primary and several secondary outcomes finds a
"significant" effect somewhere more often than its nominal level suggests.
Two family-wise error rate (FWER) controls are offered:

- :func:`holm`: Holm's (1979) step-down Bonferroni, valid under any
  dependence between the tests, from the p-values alone;
- :func:`romano_wolf`: Romano and Wolf's (2005) step-down, which uses the
  joint distribution of the test statistics (draws that re-estimate every
  outcome on the same re-assignment or resample) and so gains power when
  outcomes are correlated, as crime categories are.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["holm", "romano_wolf", "multiplicity_table"]


def holm(p_values) -> np.ndarray:
    """Holm step-down adjusted p-values.

    Parameters
    ----------
    p_values
        Unadjusted p-values, shape (k,).

    Returns
    -------
    numpy.ndarray
        With the p-values sorted ascending, :math:`p_{(1)} \\le \\dots \\le
        p_{(k)}`, the adjusted :math:`\\tilde p_{(j)} = \\max_{i \\le j}
        \\min\\{1, (k - i + 1) p_{(i)}\\}`, returned in the input order.
    """
    p = np.asarray(p_values, dtype=float).ravel()
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError(f"p-values must lie in [0, 1] without NaN; got {p}.")
    k = len(p)
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (k - np.arange(k)) * p[order])
    adjusted = np.empty(k)
    adjusted[order] = np.maximum.accumulate(scaled)
    return adjusted


def romano_wolf(
    observed,
    draws,
    *,
    include_observed: bool = True,
    studentize: bool = True,
    center: bool = False,
) -> np.ndarray:
    """Romano-Wolf step-down adjusted p-values (two-sided).

    Parameters
    ----------
    observed
        Shape (k,): the statistics (e.g. estimates) of the k hypotheses.
    draws
        Shape (B, k): their joint draws. By default draws under the null
        (randomisation re-assignments); with ``center=True`` bootstrap draws
        around the estimates, centred by subtracting ``observed``.
    include_observed
        True for random draws (the observed statistic counts as one draw,
        ``(1 + count) / (1 + B)``, as in
        :func:`analysis.robustness.randomization.p_values`); False when the
        draws enumerate every assignment, the observed one included.
    studentize
        Divide each column (and its observed value) by the standard
        deviation of its draws, so that outcomes on different scales enter
        the maximum on an equal footing. Single-hypothesis p-values are
        unchanged by it.
    center
        Subtract ``observed`` from the draws (bootstrap draws).

    Returns
    -------
    numpy.ndarray
        Adjusted p-values in the input order.

    Notes
    -----
    With :math:`t_k = |T_k|/s_k` sorted descending, :math:`t_{(1)} \\ge \\dots
    \\ge t_{(k)}`, and :math:`t^*_{b,k} = |T^*_{b,k}|/s_k`, step j uses the
    maximum over the hypotheses not yet passed,
    :math:`m^*_{b,j} = \\max_{i \\ge j} t^*_{b,(i)}`, giving
    :math:`p_j = (1 + \\#\\{b: m^*_{b,j} \\ge t_{(j)}\\})/(1 + B)`; the adjusted
    p-values are :math:`\\tilde p_{(j)} = \\max_{i \\le j} p_i`, so they never
    fall as the statistics weaken. With one hypothesis this is the plain
    randomisation p-value; with identical columns it equals each column's
    own p-value; with independent columns the first step is Sidak's
    :math:`1 - (1 - p)^k`.
    """
    observed = np.atleast_1d(np.asarray(observed, dtype=float)).ravel()
    draws = np.asarray(draws, dtype=float)
    if draws.ndim != 2 or draws.shape[1] != len(observed):
        raise ValueError(f"draws has shape {draws.shape}; it needs one column per "
                         f"observed statistic ({len(observed)}).")
    if np.isnan(observed).any():
        raise ValueError("an observed statistic is NaN; drop that hypothesis.")
    draws = draws[~np.isnan(draws).any(axis=1)]
    if len(draws) < 2:
        raise ValueError("fewer than two complete draws; Romano-Wolf needs the "
                         "joint distribution.")
    if center:
        draws = draws - observed
    scale = draws.std(axis=0, ddof=1) if studentize else np.ones(len(observed))
    if (scale <= 0).any():
        raise ValueError("a statistic does not vary across the draws; it cannot "
                         "be studentized (pass studentize=False).")
    statistic = np.abs(observed) / scale
    null = np.abs(draws) / scale

    order = np.argsort(-statistic, kind="stable")
    # Running maximum from the weakest hypothesis up: column j holds the
    # maximum over the hypotheses ranked j and below.
    ranked = null[:, order]
    maxima = np.maximum.accumulate(ranked[:, ::-1], axis=1)[:, ::-1]
    margin = 1e-9 * np.maximum(statistic[order], 1e-300)
    exceed = (maxima >= statistic[order] - margin).sum(axis=0)
    if include_observed:
        step = (1 + exceed) / (1 + len(draws))
    else:
        step = exceed / len(draws)
    adjusted = np.empty(len(observed))
    adjusted[order] = np.maximum.accumulate(step)
    return adjusted


def multiplicity_table(randomization, analytic_p=None) -> pd.DataFrame:
    """Unadjusted and adjusted p-values of the outcomes of one evaluation.

    Parameters
    ----------
    randomization
        A :class:`~analysis.robustness.randomization.RandomizationResult`
        with one statistic per outcome, all from the same re-assignments.
    analytic_p
        Optional Series of the estimator's own (analytic) p-values by
        outcome, adjusted with Holm.

    Returns
    -------
    pandas.DataFrame
        ``outcome``, ``estimate``, ``p_randomization``,
        ``p_randomization_holm``, ``p_romano_wolf`` and, with ``analytic_p``,
        ``p_analytic`` and ``p_analytic_holm``.
    """
    p_random = randomization.p_values
    table = pd.DataFrame({
        "outcome": randomization.observed.index,
        "estimate": randomization.observed.to_numpy(float),
        "p_randomization": p_random.to_numpy(),
        "p_randomization_holm": holm(p_random.to_numpy()),
        "p_romano_wolf": romano_wolf(
            randomization.observed.to_numpy(float),
            randomization.draws.to_numpy(float),
            include_observed=randomization.method == "permutation",
        ),
    })
    if analytic_p is not None:
        analytic = pd.Series(analytic_p).reindex(randomization.observed.index)
        if analytic.isna().any():
            raise ValueError(f"analytic_p lacks outcomes "
                             f"{list(analytic.index[analytic.isna()])}.")
        table["p_analytic"] = analytic.to_numpy(float)
        table["p_analytic_holm"] = holm(analytic.to_numpy(float))
    return table
