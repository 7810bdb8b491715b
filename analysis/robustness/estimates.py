"""One overall effect from any of the DiD estimators, in one record.

Specification curves and placebo tests compare estimators side by side, so
each needs a single number with its uncertainty. :func:`fit_overall` runs one
estimator with a named set of choices and :func:`overall_effect` reduces its
result to ``estimate``, ``se``, ``ci_lower``, ``ci_upper``, ``p_value``,
``n_units`` and ``n_obs``. Each estimator's overall effect and interval are
its own:

- ``cs_dr``: Callaway-Sant'Anna ``aggregate("simple")`` (ATT over treated
  unit-periods), analytic influence-function errors, normal interval;
- ``twfe``: the static treated x post coefficient, CR1 errors, t(G-1);
- ``two_stage``: Gardner's static coefficient (the imputation estimate),
  GMM errors, normal interval;
- ``sun_abraham``: the mean of the post-treatment interaction-weighted
  event-time effects (equal weight per event time, as R ``did``'s dynamic
  overall effect), delta-method errors from their covariance, t(G-1);
- ``poisson_etwfe``: ``aggregate("simple")`` on the log scale (mean log
  rate ratio over treated unit-periods), CR1 errors, normal interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.did import att_gt, poisson_etwfe, sun_abraham, twfe, two_stage
from analysis.did._validate import check_choice

__all__ = ["ESTIMATORS", "CONTROL_GROUPS", "fit_overall", "overall_effect"]

ESTIMATORS = ("cs_dr", "twfe", "two_stage", "sun_abraham", "poisson_etwfe")
CONTROL_GROUPS = ("notyettreated", "nevertreated")

# Which comparison group each estimator can use. TWFE and the two-stage
# estimator identify period effects from every untreated row (not-yet and
# never treated); Sun-Abraham's comparison is the never-treated cohort.
SUPPORTED_CONTROLS = {
    "cs_dr": CONTROL_GROUPS,
    "twfe": ("notyettreated",),
    "two_stage": ("notyettreated",),
    "sun_abraham": ("nevertreated",),
    "poisson_etwfe": CONTROL_GROUPS,
}
# Sun-Abraham and Poisson ETWFE take no observation weights here (the Poisson
# model's exposure offset already scales each unit by its population).
WEIGHTED = ("cs_dr", "twfe", "two_stage")


def fit_overall(
    data: pd.DataFrame,
    *,
    estimator: str,
    yname: str,
    tname: str,
    idname: str,
    gname: str,
    control_group: str = "notyettreated",
    weightsname: str | None = None,
    exposure: str | None = None,
    clustervars: str | None = None,
    alpha: float = 0.05,
    allow_unbalanced_panel: bool = False,
) -> dict:
    """Run one estimator and return its overall effect (see the module notes).

    Parameters
    ----------
    data
        Long panel.
    estimator
        One of :data:`ESTIMATORS`.
    yname, tname, idname, gname
        Outcome (a count for ``poisson_etwfe``), period, unit and first
        treated period (0 = never treated).
    control_group
        ``"notyettreated"`` or ``"nevertreated"``; each estimator accepts
        only the groups it can use (a ValueError names them).
    weightsname
        Unit weights, constant within unit (``cs_dr``, ``twfe``,
        ``two_stage`` only).
    exposure
        Exposure offset column (``poisson_etwfe`` only), e.g. population.
    clustervars
        Cluster column; default the unit.
    alpha
        One minus the confidence level.
    allow_unbalanced_panel
        ``cs_dr`` only: estimate an unbalanced panel (placebo samples).

    Returns
    -------
    dict
        See :func:`overall_effect`.
    """
    check_choice("estimator", estimator, ESTIMATORS)
    check_choice("control_group", control_group, SUPPORTED_CONTROLS[estimator])
    if weightsname is not None and estimator not in WEIGHTED:
        raise ValueError(f"estimator={estimator!r} takes no weights here; weights "
                         f"apply to {WEIGHTED}.")
    if exposure is not None and estimator != "poisson_etwfe":
        raise ValueError("exposure applies to estimator='poisson_etwfe' only.")
    common = dict(yname=yname, tname=tname, idname=idname, gname=gname)

    if estimator == "cs_dr":
        result = att_gt(data, **common, control_group=control_group,
                        est_method="dr", weightsname=weightsname,
                        clustervars=clustervars, alpha=alpha,
                        allow_unbalanced_panel=allow_unbalanced_panel)
        n_obs = int(data[yname].notna().sum())
        return overall_effect(result.aggregate("simple", na_rm=True), n_obs=n_obs)
    if estimator == "twfe":
        result = twfe(data, **common, weightsname=weightsname,
                      clustervars=clustervars or idname, alpha=alpha)
    elif estimator == "two_stage":
        result = two_stage(data, **common, weightsname=weightsname,
                           clustervars=clustervars, alpha=alpha)
    elif estimator == "sun_abraham":
        result = sun_abraham(data, **common, control="never",
                             clustervars=clustervars, alpha=alpha)
    else:
        result = poisson_etwfe(data, **common, exposure=exposure,
                               control_group=control_group,
                               clustervars=clustervars, alpha=alpha)
    return overall_effect(result)


def overall_effect(result, n_obs: int | None = None) -> dict:
    """Reduce an estimator's result to one overall effect.

    Parameters
    ----------
    result
        A Callaway-Sant'Anna ``AggregateResult`` (simple), a static
        :class:`~analysis.did.TWFEResult` or
        :class:`~analysis.did.TwoStageResult`, a
        :class:`~analysis.did.SunAbrahamResult` or a
        :class:`~analysis.did.PoissonETWFEResult`.
    n_obs
        Rows used, when the result does not record it.

    Returns
    -------
    dict
        ``estimate``, ``se``, ``ci_lower``, ``ci_upper``, ``p_value``,
        ``n_units``, ``n_obs``, ``n_clusters`` and ``estimator_label`` (the
        result's label).
    """
    from analysis.did import (
        AggregateResult,
        PoissonETWFEResult,
        SunAbrahamResult,
        TWFEResult,
        TwoStageResult,
    )

    if isinstance(result, AggregateResult):
        low, high = result.overall_ci
        estimate, se = result.overall_att, result.overall_se
        p_value = 2 * stats.norm.sf(abs(estimate / se))
        units = result.design.n_units
    elif isinstance(result, SunAbrahamResult):
        estimate, se, low, high, p_value = _post_average(result)
        units, n_obs = result.n_units, result.n_obs
    elif isinstance(result, (TWFEResult, TwoStageResult)):
        if result.event_study:
            raise ValueError("pass a static TWFE or two-stage result (one "
                             "coefficient), not an event study.")
        row = result.tidy().iloc[0]
        estimate, se = float(row["att"]), float(row["se"])
        low, high, p_value = row["ci_lower"], row["ci_upper"], row["p_value"]
        units, n_obs = result.n_units, result.n_obs
    elif isinstance(result, PoissonETWFEResult):
        row = result.aggregate("simple").tidy("log").iloc[0]
        estimate, se = float(row["att"]), float(row["se"])
        low, high, p_value = row["ci_lower"], row["ci_upper"], row["p_value"]
        units, n_obs = result.design["n_units"], result.design["n_obs"]
    else:
        raise ValueError(f"no overall effect defined for {type(result).__name__}.")
    return {
        "estimate": float(estimate), "se": float(se), "ci_lower": float(low),
        "ci_upper": float(high), "p_value": float(p_value),
        "n_units": int(units), "n_obs": None if n_obs is None else int(n_obs),
        "n_clusters": int(result.n_clusters), "estimator_label": result.label,
    }


def _post_average(result) -> tuple[float, float, float, float, float]:
    """Equal-weight mean of the post-period event-time effects and its
    delta-method interval (t with G - 1 degrees of freedom)."""
    table = result.tidy().dropna(subset=["event_time"])
    post = table.loc[table["event_time"] >= 0, "event_time"].astype(int).tolist()
    if not post:
        raise ValueError("the event study has no post-treatment event time.")
    weights = np.full(len(post), 1 / len(post))
    values = table.set_index(table["event_time"].astype(int)).loc[post, "att"]
    estimate = float(weights @ values.to_numpy(float))
    covariance = result.vcov.loc[post, post].to_numpy(float)
    se = float(np.sqrt(weights @ covariance @ weights))
    critical = stats.t.ppf(1 - result.alpha / 2, result.df_inference)
    p_value = 2 * stats.t.sf(abs(estimate / se), result.df_inference)
    return estimate, se, estimate - critical * se, estimate + critical * se, p_value
