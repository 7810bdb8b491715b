"""Two-way fixed-effects difference-in-differences: static and event study.

The conventional regressions that staggered-adoption papers report, kept as
benchmarks beside the heterogeneity-robust estimators: a static treated x post
coefficient, or relative-time ("event-time") dummies with one omitted
reference period. Both absorb unit and period fixed effects by the within
transformation and report one-way cluster-robust (CR1) standard errors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.did._display import CoefficientDisplay
from analysis.did._within import (
    FitResult,
    PanelArrays,
    check_choice,
    fit_within,
    prepare_panel,
    subset_panel,
)

__all__ = ["TWFEResult", "twfe"]


class TWFEResult(CoefficientDisplay):
    """Estimates of a regression-based (static or event-study) DiD.

    Attributes
    ----------
    coefficients : pandas.DataFrame
        One row per reported term: ``term``, ``event_time`` (missing for the
        static coefficient), ``att``, ``se`` and, for event studies,
        ``binned`` (the endpoint pools all more distant event times).
    vcov : pandas.DataFrame
        Covariance of the reported coefficients, indexed by ``event_time`` for
        an event study and by ``term`` for the static model.
    band : str
        ``"pointwise"``: each interval covers its own coefficient.
    reference_period : int or None
        The omitted event time (None for the static model).
    label : str
        Legend label for plots.
    design : dict
        The call's design choices, echoed by ``repr``.
    ledger : analysis.ledger.Ledger
        Rows dropped on the way to the estimation sample.
    """

    band = "pointwise"

    def __init__(
        self,
        coefficients: pd.DataFrame,
        vcov: pd.DataFrame,
        fit: FitResult,
        *,
        design: dict,
        alpha: float,
        reference_period: int | None,
        label: str,
        ledger,
    ):
        self.coefficients = coefficients
        self.vcov = vcov
        self.design = design
        self.alpha = alpha
        self.reference_period = reference_period
        self.label = label
        self.ledger = ledger
        self.n_obs = fit.n_obs
        self.n_units = fit.n_units
        self.n_periods = fit.n_periods
        self.n_clusters = fit.n_clusters
        self.df_inference = fit.n_clusters - 1

    @property
    def event_study(self) -> bool:
        return self.reference_period is not None

    def tidy(self) -> pd.DataFrame:
        """Return term, event_time, att, se, ci_lower, ci_upper and p_value.

        Intervals and p-values use Student's t with G - 1 degrees of freedom
        (G clusters), the convention of fixest and Stata for clustered errors.
        """
        table = self.coefficients.copy()
        critical = stats.t.ppf(1 - self.alpha / 2, self.df_inference)
        table["ci_lower"] = table["att"] - critical * table["se"]
        table["ci_upper"] = table["att"] + critical * table["se"]
        t_stat = table["att"] / table["se"]
        table["p_value"] = 2 * stats.t.sf(np.abs(t_stat), self.df_inference)
        return table.reset_index(drop=True)

    def _header_items(self) -> list[tuple[str, str]]:
        design = self.design
        items = [
            ("fixed effects", f"{design['idname']} + {design['tname']}"),
            ("clusters", f"{self.n_clusters} ({design['cluster']}), CR1"),
            ("small sample", design["small_sample_text"]),
            ("observations", f"{self.n_obs:,}"),
            ("units", f"{self.n_units:,}"),
            ("periods", f"{self.n_periods}"),
        ]
        if self.event_study:
            items.append(("reference period", f"{self.reference_period}"))
            items.append(("endpoints", design["endpoints"]))
        if design.get("weightsname"):
            items.append(("weights", design["weightsname"]))
        items.append(("intervals", f"{1 - self.alpha:.0%} {self.band}, t(G-1)"))
        return items


def twfe(
    data: pd.DataFrame,
    yname: str,
    tname: str,
    idname: str,
    gname: str,
    *,
    event_study: bool = False,
    leads: int | None = None,
    lags: int | None = None,
    bin_endpoints: bool = True,
    reference: int = -1,
    weightsname: str | None = None,
    clustervars: str | list[str] | None = None,
    small_sample: str = "fixest",
    alpha: float = 0.05,
) -> TWFEResult:
    """Two-way fixed-effects DiD regression, static or event study.

    Parameters
    ----------
    data
        Long panel, one row per unit and period.
    yname, tname, idname, gname
        Outcome, integer period, unit id and first treated period (0 for
        never-treated units), in the units of ``tname``.
    event_study
        False: one treated x post coefficient. True: one coefficient per
        event time ``tname - gname`` except ``reference``.
    leads, lags
        Event window ``[-leads, lags]``; None uses every observed event time.
    bin_endpoints
        True pools event times beyond the window into the endpoints (the
        endpoint then means "this far or farther"); False drops those rows
        with a :class:`~analysis.errors.DroppedRowsWarning` giving the count.
    reference
        Omitted event time; the coefficients are relative to it.
    weightsname
        Column of positive observation weights (weighted least squares).
    clustervars
        Cluster column; default the unit id. ``[idname, "state"]`` clusters by
        state, as in R's ``did``. Only one-way clustering is supported.
    small_sample
        ``"fixest"`` (default), ``"absorbed"`` or ``"regressors"``: what K
        counts in the CR1 factor; see Notes.
    alpha
        One minus the confidence level of the pointwise intervals.

    Returns
    -------
    TWFEResult

    Notes
    -----
    The static model is :math:`y_{it} = \\alpha_i + \\lambda_t + \\beta
    D_{it} + \\varepsilon_{it}` with :math:`D_{it} = 1\\{g_i > 0, t \\ge
    g_i\\}`. The event study replaces :math:`\\beta D_{it}` by
    :math:`\\sum_{e \\ne r} \\beta_e 1\\{g_i > 0, t - g_i = e\\}`; never-treated
    units have no event-time dummies and the reference :math:`r` is omitted.
    Units first treated after the last period get lead dummies only; recode
    their ``gname`` to 0 to use them as never treated. Both models are
    estimated on two-way demeaned data (exact for balanced
    unweighted panels, alternating projections otherwise).

    The covariance is CR1, :math:`\\frac{G}{G-1}\\frac{N-1}{N-K}` times the
    sandwich. ``"fixest"``: K = regressors + fixed effects not nested in the
    clusters (fixest's default ``ssc(fixef.K = "nested")``, pyfixest's
    ``k_fixef="nonnested"``; with unit clusters the nested unit effects leave
    with their normalisation, so K = k + T). ``"absorbed"``: K = k + N_units + T - 1,
    the dummy-variable count (fixest ``fixef.K = "full"``; linearmodels
    ``PanelOLS(..., entity_effects=True, time_effects=True).fit(cov_type=
    "clustered", cluster_entity=True, group_debias=True)``). ``"regressors"``:
    K = k (fixest ``fixef.K = "none"``, pyfixest's default; linearmodels with
    ``auto_df=False, count_effects=False`` added). Under staggered adoption
    with heterogeneous effects these coefficients are weighted averages with
    possibly negative weights (see :func:`analysis.did.bacon` and
    :func:`analysis.did.sun_abraham`).
    """
    check_choice("small_sample", small_sample, ("fixest", "absorbed", "regressors"))
    if not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha} must lie strictly between 0 and 1.")
    for name, value in (("leads", leads), ("lags", lags)):
        if value is not None and (int(value) != value or value < 0):
            raise ValueError(f"{name}={value} must be a non-negative integer or None.")
    panel = prepare_panel(
        data,
        yname,
        tname,
        idname,
        gname,
        weightsname=weightsname,
        clustervars=clustervars,
    )

    if event_study:
        panel, regressors, names, event_times, binned, endpoints = _event_design(
            panel, leads, lags, bin_endpoints, reference, idname, tname
        )
    else:
        treated_post = (panel.cohort > 0) & (panel.period >= panel.cohort)
        if not treated_post.any():
            raise ValueError(
                f"no treated post-period rows: every {gname!r} is 0 or after the "
                "last period; nothing to estimate."
            )
        regressors = treated_post.astype(float)[:, None]
        names, event_times, binned, endpoints = ["ATT"], [pd.NA], [False], ""

    fit = fit_within(
        panel.y, regressors, panel, names=names, small_sample=small_sample
    )
    coefficients = pd.DataFrame(
        {
            "term": names,
            "event_time": pd.array(event_times, dtype="Int64"),
            "att": fit.params,
            "se": np.sqrt(np.diag(fit.vcov)),
        }
    )
    if event_study:
        coefficients["binned"] = binned
        index = pd.Index(event_times, name="event_time")
    else:
        index = pd.Index(names, name="term")
    vcov = pd.DataFrame(fit.vcov, index=index, columns=index)

    design = {
        "estimator": "TWFE event study" if event_study else "TWFE static DiD",
        "yname": yname,
        "tname": tname,
        "idname": idname,
        "gname": gname,
        "cluster": panel.cluster_name,
        "weightsname": weightsname,
        "small_sample": small_sample,
        "small_sample_text": f"{small_sample} (K = {fit.k_counted}, "
        f"factor {fit.scale:.6f})",
        "endpoints": endpoints,
    }
    return TWFEResult(
        coefficients,
        vcov,
        fit,
        design=design,
        alpha=alpha,
        reference_period=reference if event_study else None,
        label="TWFE",
        ledger=panel.ledger,
    )


def _event_design(
    panel: PanelArrays,
    leads: int | None,
    lags: int | None,
    bin_endpoints: bool,
    reference: int,
    idname: str,
    tname: str,
):
    """Relative-time dummies, after binning or dropping the far event times."""
    treated = panel.cohort > 0
    if not treated.any():
        raise ValueError("no treated units (every cohort is 0); nothing to estimate.")
    event_time = np.where(treated, panel.period - panel.cohort, 0)
    observed = event_time[treated]
    lowest = -int(leads) if leads is not None else int(observed.min())
    highest = int(lags) if lags is not None else int(observed.max())
    if not lowest <= reference <= highest:
        raise ValueError(
            f"reference={reference} lies outside the event window [{lowest}, "
            f"{highest}]; choose a reference inside it (usually -1)."
        )

    below = treated & (event_time < lowest)
    above = treated & (event_time > highest)
    if not (below.any() or above.any()):
        endpoints = f"none outside [{lowest}, {highest}]"
    elif bin_endpoints:
        event_time = np.clip(event_time, lowest, highest)
        endpoints = f"binned at {lowest} and {highest}"
    else:
        outside = pd.Series(below | above)
        kept = panel.ledger.drop(
            panel.frame,
            outside,
            "event window",
            f"event time outside [{lowest}, {highest}] with bin_endpoints=False",
            id_columns=[idname, tname],
            stacklevel=3,
        )
        panel = subset_panel(panel, ~outside.to_numpy())
        event_time = event_time[~outside.to_numpy()]
        treated = panel.cohort > 0
        dropped = len(outside) - len(kept)
        endpoints = f"window [{lowest}, {highest}], {dropped} rows outside dropped"

    present = np.unique(event_time[treated])
    if reference not in present:
        raise ValueError(
            f"reference={reference}: no treated unit is observed at that event "
            f"time (observed {present.tolist()}); choose another reference."
        )
    estimated = [int(e) for e in present if e != reference]
    if not estimated:
        raise ValueError(
            f"only the reference event time {reference} is in the window; widen "
            "it with leads or lags."
        )
    regressors = np.column_stack(
        [(treated & (event_time == e)).astype(float) for e in estimated]
    )
    binned = [
        bool(bin_endpoints)
        and ((e == lowest and below.any()) or (e == highest and above.any()))
        for e in estimated
    ]
    names = [f"event_time::{e}" for e in estimated]
    return panel, regressors, names, estimated, binned, endpoints

