"""Sun and Abraham (2021) interaction-weighted event study.

A TWFE event study that is robust to effects differing across cohorts: the
regression is saturated in cohort x event-time interactions, so each cohort's
dynamic path is estimated against a clean control group (never treated, or
the last cohort to be treated), and the paths are then averaged with each
cohort's share of the units observed at that event time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.did._within import (
    check_choice,
    fit_within,
    prepare_panel,
    subset_panel,
)
from analysis.did.twfe import TWFEResult

__all__ = ["SunAbrahamResult", "sun_abraham"]

REFERENCE = -1


class SunAbrahamResult(TWFEResult):
    """Interaction-weighted event-study estimates.

    Besides the attributes of :class:`~analysis.did.twfe.TWFEResult`
    (``tidy()``, ``vcov`` by event time, ``band``, ``reference_period``,
    ``label``), ``cohort_effects`` holds the cohort x event-time coefficients
    with their standard errors and aggregation weights, and ``cohort_vcov``
    their covariance.
    """

    def __init__(self, *args, cohort_effects: pd.DataFrame,
                 cohort_vcov: pd.DataFrame, **kwargs):
        super().__init__(*args, **kwargs)
        self.cohort_effects = cohort_effects
        self.cohort_vcov = cohort_vcov

    def _header_items(self):
        items = super()._header_items()
        items.insert(1, ("control group", self.design["control_text"]))
        shares = "estimated" if self.design["share_uncertainty"] else "fixed"
        items.insert(-1, ("aggregation", f"cohort shares ({shares} in the SE)"))
        return items


def sun_abraham(
    data: pd.DataFrame,
    yname: str,
    tname: str,
    idname: str,
    gname: str,
    *,
    control: str = "never",
    clustervars: str | list[str] | None = None,
    small_sample: str = "fixest",
    share_uncertainty: bool = True,
    alpha: float = 0.05,
) -> SunAbrahamResult:
    """Interaction-weighted (Sun-Abraham) event-study estimator.

    Parameters
    ----------
    data
        Long panel, one row per unit and period (gaps allowed).
    yname, tname, idname, gname
        Outcome, integer period, unit id and first treated period (0 = never).
    control
        ``"never"``: never-treated units (including units first treated after
        the last period) are the controls. ``"last"``: the last cohort to be
        treated is the control group (with any never-treated units), and the
        periods from its treatment on are dropped.
    clustervars
        Cluster column (default the unit id); see :func:`analysis.did.twfe`.
    small_sample
        CR1 convention, as in :func:`analysis.did.twfe`.
    share_uncertainty
        True (default) adds the sampling variance of the cohort shares to the
        delta-method covariance, as Sun and Abraham (2021) do; False treats
        the shares as known, as fixest's ``sunab`` does.
    alpha
        One minus the confidence level of the pointwise intervals.

    Returns
    -------
    SunAbrahamResult

    Notes
    -----
    The regression is

    .. math::

       y_{it} = \\alpha_i + \\lambda_t + \\sum_{e \\notin C}\\sum_{\\ell \\ne -1}
       \\delta_{e\\ell}\\, 1\\{E_i = e\\}\\, 1\\{t - e = \\ell\\} + \\varepsilon_{it},

    where C is the control group and event time -1 is the reference.
    :math:`\\hat\\delta_{e\\ell}` estimates the cohort-specific
    :math:`CATT_{e,\\ell}`. The interaction-weighted estimate is
    :math:`\\hat\\nu_\\ell = \\sum_e \\hat w_{e\\ell}\\hat\\delta_{e\\ell}` with
    :math:`\\hat w_{e\\ell}` cohort e's share of the treated observations at
    event time :math:`\\ell`. With shares treated as known its covariance is
    :math:`A\\hat V A'`, A the weight matrix and :math:`\\hat V` the CR1
    covariance of :math:`\\hat\\delta`. The delta method adds the shares'
    estimation: with :math:`a_{gj}` the observations of cell j (cohort e,
    event time :math:`\\ell`) in cluster g and :math:`b_{g\\ell} =
    \\sum_{j \\in \\ell} a_{gj}`, :math:`B_\\ell = \\sum_g b_{g\\ell}`, cluster
    g's influence on :math:`\\hat\\nu_\\ell` is :math:`\\psi_{g\\ell} =
    \\sum_{j\\in\\ell} w_j (\\hat H^{-1}s_g)_j + \\sum_{j\\in\\ell}
    \\hat\\delta_j (a_{gj} - w_j b_{g\\ell})/B_\\ell` (:math:`\\hat H^{-1}s_g`
    its influence on :math:`\\hat\\delta`) and the covariance is
    :math:`c\\sum_g \\psi_g\\psi_g'` with the CR1 factor c. Units treated in
    or before the first period have no reference period and are dropped with
    a warning.
    """
    check_choice("control", control, ("never", "last"))
    if not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha} must lie strictly between 0 and 1.")
    panel = prepare_panel(data, yname, tname, idname, gname, clustervars=clustervars)
    first, last = panel.period.min(), panel.period.max()

    always = pd.Series((panel.cohort > 0) & (panel.cohort <= first))
    panel.ledger.drop(
        panel.frame, always, "reference period",
        f"treated in or before the first period {first}: no period -1 to compare",
        id_columns=[idname, tname], stacklevel=2,
    )
    panel = subset_panel(panel, ~always.to_numpy())
    untreated = (panel.cohort == 0) | (panel.cohort > last)
    treated_cohorts = np.unique(panel.cohort[~untreated])
    if len(treated_cohorts) == 0:
        raise ValueError(f"no cohort in {gname!r} is treated inside the sample.")

    if control == "never":
        if not untreated.any():
            raise ValueError(
                "control='never' needs never-treated units (gname 0 or after the "
                "last period) and there are none; use control='last'."
            )
        control_text = "never treated"
    else:
        control_cohort = treated_cohorts.max()
        if len(treated_cohorts) < 2:
            raise ValueError(
                f"control='last' needs two treated cohorts; only {control_cohort} "
                "is treated in the sample. Use control='never'."
            )
        before = pd.Series(panel.period < control_cohort)
        panel.ledger.drop(
            panel.frame, ~before, "last-treated control",
            f"period on or after {control_cohort}, when the control cohort is "
            "treated", id_columns=[idname, tname], stacklevel=2,
        )
        panel = subset_panel(panel, before.to_numpy())
        untreated = (panel.cohort == 0) | (panel.cohort >= control_cohort)
        treated_cohorts = treated_cohorts[treated_cohorts < control_cohort]
        control_text = f"last treated cohort ({control_cohort})"
        if (panel.cohort == 0).any():
            control_text += " and never treated"

    # One dummy per cohort and observed event time, except the reference.
    event_time = np.where(untreated, 0, panel.period - panel.cohort)
    cells = (
        pd.DataFrame({"cohort": panel.cohort, "event_time": event_time})[~untreated]
        .value_counts()
        .rename("n_obs")
        .reset_index()
        .sort_values(["event_time", "cohort"])
    )
    missing_reference = set(treated_cohorts) - set(
        cells.loc[cells["event_time"] == REFERENCE, "cohort"]
    )
    if missing_reference:
        raise ValueError(
            f"cohort(s) {sorted(missing_reference)} have no observation at event "
            f"time {REFERENCE}, the reference period; drop them from the sample."
        )
    cells = cells[cells["event_time"] != REFERENCE].reset_index(drop=True)
    regressors = np.column_stack(
        [
            (~untreated & (panel.cohort == c) & (event_time == e)).astype(float)
            for c, e in zip(cells["cohort"], cells["event_time"])
        ]
    )
    names = [f"cohort::{c}:event_time::{e}" for c, e in
             zip(cells["cohort"], cells["event_time"])]
    fit = fit_within(panel.y, regressors, panel, names=names,
                     small_sample=small_sample)

    # Aggregate cohorts at each event time with their shares of observations.
    cells["weight"] = cells["n_obs"] / cells.groupby("event_time")["n_obs"].transform(
        "sum")
    event_times = np.sort(cells["event_time"].unique())
    weights = np.zeros((len(event_times), len(cells)))
    rows = np.searchsorted(event_times, cells["event_time"])
    weights[rows, np.arange(len(cells))] = cells["weight"]
    estimates = weights @ fit.params
    if share_uncertainty:
        vcov = _delta_method_vcov(fit, regressors, panel.cluster_code, weights)
    else:
        vcov = weights @ fit.vcov @ weights.T

    cells["estimate"] = fit.params
    cells["se"] = np.sqrt(np.diag(fit.vcov))
    index = pd.Index(event_times.astype(int), name="event_time")
    coefficients = pd.DataFrame(
        {
            "term": [f"event_time::{e}" for e in event_times],
            "event_time": pd.array(event_times.astype(int), dtype="Int64"),
            "att": estimates,
            "se": np.sqrt(np.diag(vcov)),
        }
    )
    cohort_index = pd.MultiIndex.from_frame(cells[["cohort", "event_time"]])
    design = {
        "estimator": "Sun-Abraham interaction-weighted event study",
        "yname": yname,
        "tname": tname,
        "idname": idname,
        "gname": gname,
        "cluster": panel.cluster_name,
        "weightsname": None,
        "small_sample": small_sample,
        "small_sample_text": f"{small_sample} (K = {fit.k_counted}, "
        f"factor {fit.scale:.6f})",
        "endpoints": "none (every observed event time, saturated)",
        "control": control,
        "control_text": control_text,
        "share_uncertainty": share_uncertainty,
    }
    return SunAbrahamResult(
        coefficients,
        pd.DataFrame(vcov, index=index, columns=index),
        fit,
        design=design,
        alpha=alpha,
        reference_period=REFERENCE,
        label="Sun-Abraham",
        ledger=panel.ledger,
        cohort_effects=cells[["cohort", "event_time", "n_obs", "weight",
                              "estimate", "se"]],
        cohort_vcov=pd.DataFrame(fit.vcov, index=cohort_index, columns=cohort_index),
    )


def _delta_method_vcov(fit, regressors, cluster_code, weights) -> np.ndarray:
    """Covariance of the aggregated estimates with the shares estimated too."""
    n_clusters = fit.cluster_scores.shape[0]
    coefficient_influence = fit.cluster_scores @ fit.bread

    # Observations of each cohort x event-time cell in each cluster; the
    # shares are ratios of these sums, linearised around the estimates.
    cell_counts = np.stack(
        [
            np.bincount(cluster_code, regressors[:, j], n_clusters)
            for j in range(regressors.shape[1])
        ],
        1,
    )
    in_event_time = weights > 0
    event_counts = cell_counts @ in_event_time.T
    share_influence = (
        (cell_counts * fit.params) @ in_event_time.T
        - event_counts * (weights @ fit.params)
    ) / event_counts.sum(axis=0)

    influence = coefficient_influence @ weights.T + share_influence
    return fit.scale * influence.T @ influence

