"""Gardner (2022) two-stage difference-in-differences (R ``did2s``).

Stage 1 estimates unit and period fixed effects on the untreated
observations only (never treated, and treated units before their first
treated period); stage 2 regresses the outcome net of those effects on a
treatment indicator or on event-time dummies. The standard errors treat the
two stages as one GMM problem, so they include the sampling error of the
stage-1 fixed effects.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import sparse, stats
from scipy.sparse.linalg import MatrixRankWarning, splu

from analysis.did._display import CoefficientDisplay
from analysis.did._within import prepare_panel, subset_panel
from analysis.did.bootstrap import warn_few_clusters

__all__ = ["TwoStageResult", "two_stage"]

DEFAULT_REFERENCE = -1


class TwoStageResult(CoefficientDisplay):
    """Estimates of :func:`two_stage`, static or event study.

    Attributes
    ----------
    coefficients : pandas.DataFrame
        ``term``, ``event_time`` (missing for the static coefficient),
        ``att``, ``se`` and ``n_obs`` (rows behind each coefficient).
    vcov : pandas.DataFrame
        Covariance of the coefficients, indexed by ``event_time`` for an event
        study and by ``term`` for the static model.
    band : str
        ``"pointwise"``.
    reference_period : int or None
        The event time without a dummy (None for the static model).
    label : str
        Legend label for plots.
    design : dict
        The call's design choices, echoed by ``repr``.
    ledger : analysis.ledger.Ledger
        Rows dropped on the way to the estimation sample.
    """

    band = "pointwise"

    def __init__(self, coefficients, vcov, *, design, alpha, reference_period,
                 counts, ledger):
        self.coefficients = coefficients
        self.vcov = vcov
        self.design = design
        self.alpha = alpha
        self.reference_period = reference_period
        self.label = "Two-stage DiD"
        self.ledger = ledger
        self.n_obs = counts["obs"]
        self.n_untreated = counts["untreated"]
        self.n_units = counts["units"]
        self.n_periods = counts["periods"]
        self.n_clusters = counts["clusters"]

    @property
    def event_study(self) -> bool:
        return self.reference_period is not None

    def tidy(self) -> pd.DataFrame:
        """Return term, event_time, att, se, ci_lower, ci_upper and p_value.

        Intervals and p-values use the normal distribution: the GMM variance
        is an asymptotic one and did2s applies no small-sample factor.
        """
        table = self.coefficients.drop(columns="n_obs")
        critical = stats.norm.ppf(1 - self.alpha / 2)
        table["ci_lower"] = table["att"] - critical * table["se"]
        table["ci_upper"] = table["att"] + critical * table["se"]
        table["p_value"] = 2 * stats.norm.sf(np.abs(table["att"] / table["se"]))
        return table.reset_index(drop=True)

    def _header_items(self) -> list[tuple[str, str]]:
        design = self.design
        items = [
            ("stage 1", (f"{design['idname']} + {design['tname']} fixed effects "
                         f"on {self.n_untreated:,} untreated rows")),
            ("stage 2", design["stage_two"]),
            ("clusters", f"{self.n_clusters} ({design['cluster']})"),
            ("inference", ("GMM sandwich with the stage-1 correction, no "
                           "small-sample factor (did2s)")),
            ("observations", f"{self.n_obs:,}"),
            ("units", f"{self.n_units:,}"),
            ("periods", f"{self.n_periods}"),
        ]
        if self.event_study:
            items.append(("reference period", f"{self.reference_period}"))
        if design.get("weightsname"):
            items.append(("weights", design["weightsname"]))
        items.append(("intervals", f"{1 - self.alpha:.0%} {self.band}, normal"))
        return items


def two_stage(
    data: pd.DataFrame,
    yname: str,
    tname: str,
    idname: str,
    gname: str,
    *,
    event_study: bool = False,
    leads: int | None = None,
    lags: int | None = None,
    reference: int | None = None,
    weightsname: str | None = None,
    clustervars: str | list[str] | None = None,
    alpha: float = 0.05,
) -> TwoStageResult:
    """Gardner (2022) two-stage DiD, static or event study.

    Parameters
    ----------
    data
        Long panel, one row per unit and period (gaps allowed).
    yname, tname, idname, gname
        Outcome, integer period, unit id and first treated period (0 for
        never-treated units), in the units of ``tname``.
    event_study
        False: one coefficient, the average effect over treated rows. True:
        one coefficient per event time ``tname - gname``.
    leads, lags
        Report event times ``[-leads, lags]``; None reports every observed
        one. Rows outside the window get no dummy (untreated ones still enter
        stage 1); nothing is binned.
    reference
        Event time left without a dummy; default -1, as in did2s.
    weightsname
        Column of positive observation weights, used in both stages.
    clustervars
        Cluster column; default the unit id. ``[idname, "state"]`` clusters by
        state. Only one-way clustering is supported.
    alpha
        One minus the confidence level of the pointwise intervals.

    Returns
    -------
    TwoStageResult

    Notes
    -----
    Let :math:`D_{it} = 1\\{g_i > 0, t \\ge g_i\\}`. Stage 1 fits
    :math:`y_{it} = \\alpha_i + \\lambda_t + \\varepsilon_{it}` by (weighted)
    least squares on the rows with :math:`D_{it} = 0`, which gives
    :math:`\\hat\\gamma` and :math:`\\tilde y_{it} = y_{it} - \\hat\\alpha_i -
    \\hat\\lambda_t` for every row. Stage 2 regresses :math:`\\tilde y` on
    :math:`x_{2,it}` = :math:`D_{it}` (static) or the dummies
    :math:`1\\{g_i > 0, t - g_i = e\\}`, :math:`e \\ne r` (event study), without
    an intercept, so each coefficient is the (weighted) mean of
    :math:`\\tilde y` over its rows. Post-treatment coefficients therefore
    equal the imputation estimator of Borusyak, Jaravel and Spiess (2024);
    lead coefficients are mean stage-1 residuals of treated units, a
    pre-trend diagnostic, not effects relative to period :math:`r`.

    With :math:`X_1` the fixed-effect dummies, :math:`X_{10}` the same rows
    zeroed where :math:`D_{it} = 1`, :math:`W` the weights and
    :math:`\\hat e_1, \\hat e_2` the stage-1 and stage-2 residuals (as in
    Gardner 2022 and R ``did2s``),

    .. math::

       \\hat V = (X_2'WX_2)^{-1}\\Big(\\sum_g s_g s_g'\\Big)(X_2'WX_2)^{-1},
       \\quad s_g = X_{2g}'W_g\\hat e_{2g} - X_2'WX_1(X_{10}'WX_{10})^{-1}
       X_{10g}'W_g\\hat e_{1g}

    summed over clusters g, with no small-sample factor. Units with no
    untreated row (treated in the first period) and periods in which every
    unit is treated have no stage-1 effect; their rows are dropped with a
    :class:`~analysis.errors.DroppedRowsWarning`.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha} must lie strictly between 0 and 1.")
    for name, value in (("leads", leads), ("lags", lags)):
        if value is not None and (int(value) != value or value < 0):
            raise ValueError(f"{name}={value} must be a non-negative integer or None.")
    if reference is not None and not event_study:
        raise ValueError("reference applies to event_study=True only; drop it.")
    panel = prepare_panel(data, yname, tname, idname, gname,
                          weightsname=weightsname, clustervars=clustervars)
    panel = _drop_unimputable(panel, idname, tname)
    untreated = (panel.cohort == 0) | (panel.period < panel.cohort)
    if untreated.all():
        raise ValueError(
            f"no treated rows: every {gname!r} is 0 or after the last period; "
            "nothing to estimate."
        )
    weights = np.ones(len(panel.y)) if panel.weights is None else panel.weights

    # Stage 1: unit and period effects from the untreated rows. Dropping the
    # first period's dummy fixes the one normalisation of the two effects.
    n_units = int(panel.unit_code.max() + 1)
    n_periods = int(panel.time_code.max() + 1)
    dummies = _fixed_effect_dummies(panel.unit_code, panel.time_code,
                                    n_units, n_periods)
    untreated_dummies = sparse.diags(untreated.astype(float)) @ dummies
    normal = (untreated_dummies.T @ sparse.diags(weights) @ untreated_dummies).tocsc()
    solver = _factorise(normal)
    effects = solver.solve(untreated_dummies.T @ (weights * panel.y))
    y_tilde = panel.y - dummies @ effects
    stage_one_residuals = np.where(untreated, y_tilde, 0.0)

    # Stage 2: means of the residualised outcome by treatment cell.
    if event_study:
        regressors, names, event_times, reference = _event_dummies(
            panel, leads, lags, reference)
    else:
        regressors = (~untreated).astype(float)[:, None]
        names, event_times = ["ATT"], [pd.NA]
    cell_weight = regressors.T @ weights
    params = (regressors.T @ (weights * y_tilde)) / cell_weight
    stage_two_residuals = y_tilde - regressors @ params

    # The stage-1 correction: how each untreated row's residual moves the
    # fitted effects, mapped into the stage-2 moments.
    projection = solver.solve(np.asarray(dummies.T @ (weights[:, None] * regressors)))
    correction = np.asarray(dummies @ projection)
    scores = weights[:, None] * (regressors * stage_two_residuals[:, None]
                                 - correction * stage_one_residuals[:, None])
    n_clusters = int(panel.cluster_code.max() + 1)
    if n_clusters < 2:
        raise ValueError(
            f"only one cluster in {panel.cluster_name!r}; cluster-robust standard "
            "errors need at least two."
        )
    warn_few_clusters(n_clusters, panel.cluster_name, stacklevel=2)
    cluster_scores = np.stack(
        [np.bincount(panel.cluster_code, scores[:, j], n_clusters)
         for j in range(scores.shape[1])], 1)
    # X2'WX2 is diagonal because the stage-2 dummies are disjoint.
    influence = cluster_scores / cell_weight
    vcov = influence.T @ influence

    coefficients = pd.DataFrame({
        "term": names,
        "event_time": pd.array(event_times, dtype="Int64"),
        "att": params,
        "se": np.sqrt(np.diag(vcov)),
        "n_obs": (regressors > 0).sum(axis=0),
    })
    index = (pd.Index(event_times, name="event_time") if event_study
             else pd.Index(names, name="term"))
    window = (f"event-time dummies {event_times[0]}..{event_times[-1]}"
              f" except {reference}" if event_study else "treated indicator")
    design = {
        "estimator": "Two-stage DiD (Gardner 2022)",
        "yname": yname, "tname": tname, "idname": idname, "gname": gname,
        "cluster": panel.cluster_name, "weightsname": weightsname,
        "stage_two": window,
    }
    counts = {"obs": len(panel.y), "untreated": int(untreated.sum()),
              "units": n_units, "periods": n_periods, "clusters": n_clusters}
    return TwoStageResult(
        coefficients, pd.DataFrame(vcov, index=index, columns=index),
        design=design, alpha=alpha,
        reference_period=reference if event_study else None,
        counts=counts, ledger=panel.ledger,
    )


def _drop_unimputable(panel, idname, tname):
    """Drop units and periods without an untreated row (no stage-1 effect)."""
    for level, codes in (("unit", "unit_code"), ("period", "time_code")):
        untreated = (panel.cohort == 0) | (panel.period < panel.cohort)
        code = getattr(panel, codes)
        has_untreated = np.bincount(code, untreated, code.max() + 1) > 0
        lacking = pd.Series(~has_untreated[code])
        if lacking.any():
            reason = ("treated in every observed period (no untreated row to "
                      "estimate its unit effect)" if level == "unit" else
                      "every unit treated (no untreated row to estimate the "
                      "period effect)")
            panel.ledger.drop(panel.frame, lacking, f"stage 1 {level} effect",
                              reason, id_columns=[idname, tname], stacklevel=3)
            panel = subset_panel(panel, ~lacking.to_numpy())
    return panel


def _fixed_effect_dummies(unit_code, time_code, n_units, n_periods):
    """Sparse unit dummies and period dummies except the first period's."""
    rows = np.arange(len(unit_code))
    later = time_code > 0
    row_index = np.concatenate([rows, rows[later]])
    column_index = np.concatenate([unit_code, n_units + time_code[later] - 1])
    return sparse.csr_matrix(
        (np.ones(len(row_index)), (row_index, column_index)),
        shape=(len(unit_code), n_units + n_periods - 1),
    )


def _factorise(normal):
    with warnings.catch_warnings():
        warnings.simplefilter("error", MatrixRankWarning)
        try:
            solver = splu(normal)
        except (RuntimeError, MatrixRankWarning) as error:
            raise ValueError(
                "the stage-1 fixed effects are not identified from the untreated "
                "rows (the panel of untreated rows is disconnected); drop the "
                "units that share no period with the others."
            ) from error
    return solver


def _event_dummies(panel, leads, lags, reference):
    """Event-time dummies for treated units inside the window, except reference."""
    treated = panel.cohort > 0
    event_time = np.where(treated, panel.period - panel.cohort, 0)
    observed = np.unique(event_time[treated])
    lowest = -int(leads) if leads is not None else int(observed.min())
    highest = int(lags) if lags is not None else int(observed.max())
    reference = DEFAULT_REFERENCE if reference is None else int(reference)
    estimated = [int(e) for e in observed
                 if lowest <= e <= highest and e != reference]
    if not any(e >= 0 for e in estimated):
        raise ValueError(
            f"no post-treatment event time is observed in the window [{lowest}, "
            f"{highest}]; widen it with lags."
        )
    regressors = np.column_stack(
        [(treated & (event_time == e)).astype(float) for e in estimated])
    names = [f"event_time::{e}" for e in estimated]
    return regressors, names, estimated, reference
