"""Extended two-way fixed effects Poisson regression for staggered counts.

Wooldridge's (2023) ETWFE for count outcomes: a Poisson pseudo-likelihood
with unit (or cohort) and period effects and one treatment indicator per
treated cohort x period, optionally with log exposure as an offset so that
effects are on rates. Effects are reported on three scales: the log
coefficient ATT(g, t), the proportional effect exp(b) - 1, and the average
effect on the expected count, with aggregations by cohort, event time and
calendar period. The fit itself is in :mod:`analysis.did._poisson`.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from analysis.did._poisson import fit_poisson_fe
from analysis.did._poisson_results import PoissonETWFEResult
from analysis.did._validate import check_choice
from analysis.did._within import (
    SMALL_SAMPLE_CONVENTIONS,
    counted_fixed_effects,
    prepare_panel,
)
from analysis.did.bootstrap import warn_few_clusters
from analysis.errors import CellEstimationWarning

__all__ = ["PoissonETWFEResult", "poisson_etwfe"]

CONTROL_GROUPS = ("notyettreated", "nevertreated")
FIXED_EFFECTS = ("unit", "cohort")
# Frames from a warning raised in a helper here to the user's call.
_TO_USER = 3


def poisson_etwfe(
    data: pd.DataFrame,
    yname: str,
    tname: str,
    idname: str,
    gname: str,
    *,
    exposure: str | None = None,
    xformla: str | None = None,
    control_group: str = "notyettreated",
    fixed_effects: str = "unit",
    clustervars: str | list[str] | None = None,
    small_sample: str = "fixest",
    alpha: float = 0.05,
    max_iter: int = 100,
    tol: float = 1e-10,
) -> PoissonETWFEResult:
    """Poisson extended two-way fixed effects (ETWFE) DiD for counts.

    Parameters
    ----------
    data
        Long panel, one row per unit and period (unbalanced allowed).
    yname, tname, idname, gname
        Non-negative count outcome, integer period, unit id and first treated
        period (0 for never treated). Cohorts after the last period are
        recoded as never treated; units treated in the first period have no
        untreated period and are dropped with a warning.
    exposure
        Column of positive exposures (e.g. population); ``log(exposure)``
        enters as an offset, so effects are on rates. None: no offset.
    xformla
        One-sided formula of time-varying controls, e.g. ``"~ unemployment"``,
        entered linearly (not interacted with treatment; see Notes).
    control_group
        ``"notyettreated"`` (default) or ``"nevertreated"``; see Notes.
    fixed_effects
        ``"unit"`` (default) or ``"cohort"`` (etwfe's default for nonlinear
        models). Both are consistent for the Poisson model; they coincide
        without an exposure offset or controls on a balanced panel.
    clustervars
        Cluster column (default the unit id); ``[idname, "state"]`` or
        ``"state"`` clusters by state.
    small_sample
        What K counts in the CR1 factor: ``"fixest"`` (default: the
        regressors, period effects and the absorbed effect unless nested in
        the clusters, as fixest's ``fepois``), ``"absorbed"`` (every dummy,
        as a GLM with explicit dummies in statsmodels) or ``"regressors"``
        (treatment terms and controls only).
    alpha
        One minus the confidence level of the pointwise intervals.
    max_iter, tol
        Newton iterations and convergence tolerance on the coefficients.

    Returns
    -------
    PoissonETWFEResult
        ``tidy(scale=...)`` gives ATT(g, t) on the log, proportional or count
        scale; ``aggregate(kind)`` averages them.

    Notes
    -----
    The model is :math:`E[y_{it} \\mid \\cdot] = E_{it} \\exp(\\alpha_i +
    \\lambda_t + x_{it}'\\gamma + \\sum_{(g, s)} \\beta_{gs} D_{ig}
    1\\{t = s\\})`, with exposure :math:`E_{it}`, :math:`D_{ig}` the cohort
    indicator and :math:`\\alpha_i` a unit effect (a cohort effect with
    ``fixed_effects="cohort"``). As in R ``etwfe``: with ``"notyettreated"``
    the cells are :math:`s \\ge g` for each treated cohort, so all untreated
    rows (never treated, and treated cohorts before treatment) identify the
    period effects; without never-treated units the last cohort is the
    comparison and rows from its first treated period on are dropped. With
    ``"nevertreated"`` the cells are every :math:`s` except the first period,
    so only never-treated rows identify the period effects and
    :math:`\\beta_{gs}` is a log-ratio DiD relative to the first period (pre
    periods give placebo coefficients). Unlike etwfe's ``xvar``/controls,
    ``xformla`` terms are not demeaned or interacted with the cells.

    Estimation is Poisson QMLE with the absorbed effect concentrated out
    (:func:`analysis.did._poisson.fit_poisson_fe`); it equals fixest
    ``fepois``. Units (or cohorts) with all-zero outcomes do not affect the
    estimates and would make their effects diverge; they are dropped with a
    :class:`~analysis.errors.DroppedRowsWarning`. A cell whose treated rows
    are all zero has :math:`\\hat\\beta = -\\infty`: it is reported as NaN
    with a :class:`~analysis.errors.CellEstimationWarning` and its rows are
    left out (their likelihood contribution is zero at the limit), which is
    what fepois's separation check does. Standard errors are cluster-robust
    (CR1); intervals are normal, as fixest reports for GLMs. The count-scale
    effect on treated rows is :math:`\\hat\\mu_{it}(1 - e^{-\\hat\\beta_{gt}})`
    averaged over rows; its delta-method standard error holds the fixed
    effects at their estimates, as etwfe's ``emfx`` (marginaleffects) does.
    """
    check_choice("control_group", control_group, CONTROL_GROUPS)
    check_choice("fixed_effects", fixed_effects, FIXED_EFFECTS)
    check_choice("small_sample", small_sample, SMALL_SAMPLE_CONVENTIONS)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha} must lie strictly between 0 and 1.")
    if exposure is not None:
        if exposure not in data.columns:
            raise ValueError(f"exposure={exposure!r} is not a column of data.")
        if (data[exposure] <= 0).any():
            raise ValueError(
                f"exposure column {exposure!r} has values <= 0; the offset is its "
                "log, so drop those rows or fix the exposure."
            )
    panel = prepare_panel(
        data, yname, tname, idname, gname, weightsname=exposure,
        clustervars=clustervars,
    )
    frame, ledger = panel.frame, panel.ledger
    if (frame[yname] < 0).any():
        raise ValueError(
            f"outcome {yname!r} has negative values; Poisson regression needs "
            "non-negative counts (or rates times exposure)."
        )
    if xformla is not None:
        frame = _attach_controls(frame, data, xformla, idname, tname)

    frame, notes = _sample(frame, yname, tname, idname, gname, control_group, ledger)
    group_column = idname if fixed_effects == "unit" else gname
    frame = _drop_all_zero(frame, yname, group_column, ledger, fixed_effects)
    frame, dropped_cells = _drop_zero_cells(frame, yname, gname, tname, ledger)
    _check_identification(frame, yname, gname, tname)

    periods = np.sort(frame[tname].unique())
    cells = (
        frame.loc[frame["_cell"], [gname, tname]].drop_duplicates()
        .sort_values([gname, tname]).to_numpy()
    )
    keys = pd.MultiIndex.from_frame(frame[[gname, tname]])
    cell_keys = pd.MultiIndex.from_arrays([cells[:, 0], cells[:, 1]])
    row_cell = np.where(frame["_cell"], cell_keys.get_indexer(keys), -1)
    X, names = _design(frame, periods, cells, row_cell, tname)
    offset = (
        np.log(frame[exposure].to_numpy(float)) if exposure else np.zeros(len(frame))
    )
    group_code = pd.factorize(frame[group_column], sort=True)[0]
    cluster_code = pd.factorize(frame[panel.cluster_name], sort=True)[0]
    n_clusters = int(cluster_code.max()) + 1
    warn_few_clusters(n_clusters, panel.cluster_name)
    k_counted = _k_counted(small_sample, X.shape[1], group_code,
                           frame[tname].to_numpy(), cluster_code)
    fit = fit_poisson_fe(
        frame[yname].to_numpy(float), X, offset, group_code, cluster_code,
        k_counted=k_counted, max_iter=max_iter, tol=tol,
    )

    n_cells = len(cells)
    cell_slice = slice(len(periods) - 1, len(periods) - 1 + n_cells)
    coefficient = fit.params[cell_slice]
    treated_rows = row_cell >= 0
    fitted_treated = np.bincount(row_cell[treated_rows], fit.mu[treated_rows],
                                 n_cells)
    table = pd.DataFrame(
        {
            "group": cells[:, 0],
            "time": cells[:, 1],
            "event_time": np.searchsorted(periods, cells[:, 1])
            - np.searchsorted(periods, cells[:, 0]),
            "post": cells[:, 1] >= cells[:, 0],
            "n_obs": np.bincount(row_cell[treated_rows], minlength=n_cells),
            "coefficient": coefficient,
            "fitted_treated": fitted_treated,
        }
    )
    table = _with_dropped_cells(table, dropped_cells, periods)
    design = {
        "estimator": "Poisson ETWFE (Wooldridge 2023)",
        "yname": yname, "tname": tname, "idname": idname, "gname": gname,
        "exposure": exposure, "xformla": xformla, "control_group": control_group,
        "fixed_effects": fixed_effects, "cluster": panel.cluster_name,
        "small_sample": f"{small_sample} (K = {fit.k_counted}, "
        f"factor {fit.scale:.6f})",
        "n_obs": fit.n_obs, "n_units": int(frame[idname].nunique()),
        "n_periods": len(periods), "n_clusters": n_clusters,
        "n_iter": fit.n_iter, "notes": notes, "first_period": int(periods[0]),
    }
    return PoissonETWFEResult(
        table=table, vcov_cells=fit.vcov[cell_slice, cell_slice], design=design,
        alpha=alpha, ledger=ledger, fit=fit, names=names,
    )


def _attach_controls(frame, data, xformla, idname, tname) -> pd.DataFrame:
    from formulaic import model_matrix

    text = xformla.strip()
    if not text.startswith("~"):
        raise ValueError(f"xformla={xformla!r} must be one-sided, like '~ x1 + x2'.")
    matrix = model_matrix(text, data.reset_index(drop=True), na_action="ignore")
    controls = pd.DataFrame(np.asarray(matrix, float), columns=list(matrix.columns))
    controls = controls.drop(columns=["Intercept"], errors="ignore")
    if controls.shape[1] == 0:
        raise ValueError(f"xformla={xformla!r} has no control terms.")
    controls.columns = [f"_x::{name}" for name in controls.columns]
    keyed = pd.concat([data[[idname, tname]].reset_index(drop=True), controls], axis=1)
    merged = frame.merge(keyed, on=[idname, tname], how="left", validate="1:1")
    if merged[controls.columns].isna().any().any():
        raise ValueError(
            f"xformla={xformla!r}: controls are missing or non-finite in some "
            "rows; drop or impute those rows before estimation."
        )
    return merged


def _sample(frame, yname, tname, idname, gname, control_group, ledger):
    """Recode late cohorts, drop always-treated units, pick the comparison."""
    notes = []
    first, last = frame[tname].min(), frame[tname].max()
    late = frame[gname] > last
    if late.any():
        ledger.recode("late cohorts", f"{gname} after the last period -> 0",
                      int(late.sum()), len(frame), warn=False)
        frame.loc[late, gname] = 0
        notes.append("cohorts first treated after the last period: never treated")
    always = (frame[gname] > 0) & (frame[gname] <= first)
    frame = ledger.drop(
        frame, always, "treated in first period",
        f"units first treated at or before the first period {first}",
        id_columns=[idname], stacklevel=_TO_USER,
    )
    never = frame[gname] == 0
    frame = frame.copy()
    if never.any():
        frame["_cell"] = frame[gname] > 0
    elif control_group == "nevertreated":
        raise ValueError(
            f"control_group='nevertreated' but no unit has {gname} == 0; use "
            "control_group='notyettreated'."
        )
    else:
        # As etwfe does, the last cohort becomes the comparison group and rows
        # from its first treated period on have no comparison.
        reference = frame[gname].max()
        frame = ledger.drop(
            frame, frame[tname] >= reference, "no never treated",
            f"periods from {reference}, when the last cohort (the comparison) "
            "is treated", id_columns=[idname, tname], stacklevel=_TO_USER,
        ).copy()
        frame["_cell"] = (frame[gname] > 0) & (frame[gname] != reference)
        notes.append(f"no never-treated units: cohort {reference} is the comparison")
    if control_group == "notyettreated":
        frame["_cell"] &= frame[tname] >= frame[gname]
    else:
        frame["_cell"] &= frame[tname] != first
    if not frame["_cell"].any():
        raise ValueError("no treated cells remain; nothing to estimate.")
    return frame, notes


def _drop_all_zero(frame, yname, group_column, ledger, fixed_effects):
    total = frame.groupby(group_column)[yname].transform("sum")
    return ledger.drop(
        frame, total == 0, "all-zero outcome",
        f"{fixed_effects}s with {yname} == 0 in every period (no information in "
        "a Poisson fixed-effects likelihood)",
        id_columns=[group_column], stacklevel=_TO_USER,
    ).reset_index(drop=True)


def _drop_zero_cells(frame, yname, gname, tname, ledger):
    cell_rows = frame[frame["_cell"]]
    totals = cell_rows.groupby([gname, tname])[yname].sum()
    zero = totals.index[totals == 0].tolist()
    if not zero:
        return frame, []
    warnings.warn(
        f"ATT(g, t) not estimable for {len(zero)} cell(s) {zero[:5]}: {yname} is "
        "zero in every treated row (the coefficient diverges to -inf); reported "
        "as NaN and their rows left out of the fit.",
        CellEstimationWarning,
        stacklevel=_TO_USER,
    )
    keys = pd.MultiIndex.from_frame(frame[[gname, tname]])
    in_zero = frame["_cell"] & keys.isin(zero)
    kept = ledger.drop(frame, pd.Series(in_zero, index=frame.index),
                       "separated cells", "treated cells with all-zero outcomes",
                       id_columns=[gname, tname], warn=False)
    return kept.reset_index(drop=True), zero


def _check_identification(frame, yname, gname, tname):
    untreated = frame[~frame["_cell"]]
    by_period = untreated.groupby(tname)[yname].agg(["size", "sum"])
    by_period = by_period.reindex(np.sort(frame[tname].unique()), fill_value=0)
    bad = by_period.index[by_period["sum"] <= 0].tolist()
    if bad:
        raise ValueError(
            f"period(s) {bad[:5]} have no comparison rows with a positive {yname}; "
            "their period effects are not identified. Drop those periods."
        )
    treated = frame[frame[gname] > 0].groupby(gname)
    base = treated.apply(lambda rows: rows.loc[~rows["_cell"], yname].sum())
    bad = base.index[base <= 0].tolist()
    if bad:
        raise ValueError(
            f"cohort(s) {bad[:5]} have zero {yname} in every untreated row, so "
            "their effects diverge (separation); drop those cohorts."
        )


def _design(frame, periods, cells, row_cell, tname):
    """Period dummies (first omitted), cell dummies, then controls."""
    time_position = np.searchsorted(periods, frame[tname].to_numpy())
    period_dummies = (time_position[:, None] == np.arange(1, len(periods))).astype(
        float
    )
    cell_dummies = (row_cell[:, None] == np.arange(len(cells))).astype(float)
    controls = [c for c in frame.columns if str(c).startswith("_x::")]
    X = np.column_stack([period_dummies, cell_dummies, frame[controls].to_numpy()])
    names = [f"{tname}::{t}" for t in periods[1:]]
    names += [f"ATT({g},{t})" for g, t in cells] + [c[4:] for c in controls]
    return X, names


def _k_counted(small_sample, k, group_code, time, cluster_code) -> int:
    # X holds T - 1 period dummies; fixest treats them as a fixed effect, so
    # they are swapped for the fixed-effect count of the chosen convention.
    n_periods = len(np.unique(time))
    time_code = pd.factorize(time, sort=True)[0]
    effects = counted_fixed_effects(group_code, time_code, cluster_code,
                                    small_sample)
    return k - (n_periods - 1) + effects


def _with_dropped_cells(table, dropped, periods) -> pd.DataFrame:
    if not dropped:
        return table
    extra = pd.DataFrame(
        {
            "group": [g for g, _ in dropped],
            "time": [t for _, t in dropped],
            "event_time": [
                int(np.searchsorted(periods, t) - np.searchsorted(periods, g))
                for g, t in dropped
            ],
            "post": [t >= g for g, t in dropped],
            "n_obs": 0,
            "coefficient": np.nan,
            "fitted_treated": np.nan,
        }
    )
    return (pd.concat([table, extra]).sort_values(["group", "time"])
            .reset_index(drop=True))
