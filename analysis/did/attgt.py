"""Group-time average treatment effects of Callaway and Sant'Anna (2021).

:func:`att_gt` estimates every ATT(g, t) on a balanced panel with staggered
adoption, the way R ``did::att_gt`` (version 2.x) does for panel data: each
(g, t) is a two-period, two-group DiD between cohort g and a comparison
group, estimated by doubly robust, IPW or regression 2x2 estimators, with
the unit-level influence functions kept for inference and aggregation.
"""

from __future__ import annotations

import warnings
from functools import partial

import numpy as np
import pandas as pd

from analysis.did import _drdid, _unbalanced
from analysis.did._closed_form import closed_form_product
from analysis.did._validate import (
    BASE_PERIODS,
    BOOT_WEIGHTS,
    CONTROL_GROUPS,
    EST_METHODS,
    _formula_variables,
    check_choice,
    normalise_clustervars,
    prepare_panel,
)
from analysis.did.bootstrap import (
    analytic_se,
    checked_critical_value,
    multiplier_bootstrap,
    warn_few_clusters,
)
from analysis.did.results import ATTgtResult, Design
from analysis.errors import CellEstimationWarning, SmallGroupWarning


def att_gt(
    data: pd.DataFrame,
    yname: str,
    tname: str,
    idname: str,
    gname: str,
    *,
    xformla: str | None = None,
    control_group: str = "nevertreated",
    est_method: str = "dr",
    anticipation: float = 0,
    base_period: str = "varying",
    weightsname: str | None = None,
    clustervars: str | list[str] | None = None,
    bootstrap: bool = False,
    n_boot: int = 999,
    boot_weights: str = "rademacher",
    alpha: float = 0.05,
    seed: int | None = None,
    panel: bool = True,
    allow_unbalanced_panel: bool = False,
) -> ATTgtResult:
    """Estimate group-time average treatment effects ATT(g, t).

    Parameters
    ----------
    data
        Long panel: one row per unit and period (balanced unless
        ``allow_unbalanced_panel=True``), or repeated cross sections with
        ``panel=False``.
    yname, tname, idname, gname
        Outcome, period (numeric), unit id (any type) and first treated period
        (numeric; 0 for never treated) columns.
    xformla
        One-sided formula of covariates, e.g. ``"~ lpop"``; values are taken
        from the earlier period of each 2x2 comparison, as in R ``did``.
    control_group
        ``"nevertreated"`` or ``"notyettreated"`` (never treated plus units
        first treated after ``max(t, base period) + anticipation``).
    est_method
        ``"dr"`` (doubly robust, default), ``"ipw"`` (standardised IPW) or
        ``"reg"`` (outcome regression).
    anticipation
        Periods (in ``tname`` units) before ``g`` in which units may already
        react; the base period for cohort g is the last period before
        ``g - anticipation``.
    base_period
        ``"varying"``: pre-treatment ATT(g, t) compares t with the period
        before it; ``"universal"``: every ATT(g, t) compares with the last
        period before ``g - anticipation`` (that cell is 0 by construction).
    weightsname
        Column of sampling weights, constant within unit.
    clustervars
        One cluster variable besides ``idname`` (constant within unit).
    bootstrap, n_boot, boot_weights, seed
        Multiplier bootstrap on the influence functions with ``n_boot`` draws
        of ``"rademacher"`` (R did's default) or ``"mammen"`` weights from
        ``numpy.random.default_rng(seed)``; gives bootstrap standard errors
        and a uniform (sup-t) band. ``bootstrap=False`` gives analytic
        standard errors.
    alpha
        One minus the coverage of intervals and bands.
    panel
        ``True``: panel data (one row per unit and period). ``False``:
        repeated cross sections; every row is its own unit, ``idname`` is
        not used, and the repeated cross-section 2x2 estimators are used.
    allow_unbalanced_panel
        With ``panel=True``: ``False`` (default) requires a balanced panel
        (units with a missing outcome are dropped whole); ``True`` estimates
        an unbalanced panel as R ``did`` does, with the repeated
        cross-section estimators (``drdid_rc``, ``std_ipw_did_rc``,
        ``reg_did_rc``), each row's own covariates, rows with a missing
        outcome dropped one by one, and influence functions summed within
        units. A panel that is balanced anyway uses the panel estimators
        (R did >= 2.3.0). See :mod:`analysis.did._unbalanced`.

    Returns
    -------
    ATTgtResult
        With ``tidy()``, ``summary()`` and ``aggregate()``.

    Notes
    -----
    For cohort g, period t and base period b (b = t - 1 for pre-treatment
    cells under ``"varying"``, otherwise the last period before
    ``g - anticipation``), with C the comparison units,

    .. math::
        ATT(g, t) = E[Y_t - Y_b \\mid G = g] - E[Y_t - Y_b \\mid C],

    the second term adjusted for covariates by the 2x2 estimator. Unit i's
    influence function for ATT(g, t) is ``(n / n_gt) psi_i`` with ``psi_i``
    the 2x2 estimator's influence function over the ``n_gt`` units in the
    cell (0 outside it), so the analytic standard error is
    ``sqrt(mean(IF**2) / n)`` over all ``n`` units, as in R ``did``. With a
    cluster variable, analytic standard errors sum the influence function
    within clusters, ``sqrt(sum_c S_c**2) / n`` (R gives unclustered
    analytic errors here and clusters only in the bootstrap).
    """
    check_choice("control_group", control_group, CONTROL_GROUPS)
    check_choice("est_method", est_method, EST_METHODS)
    check_choice("base_period", base_period, BASE_PERIODS)
    check_choice("boot_weights", boot_weights, BOOT_WEIGHTS)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha!r} must be between 0 and 1.")
    if bootstrap and int(n_boot) < 2:
        raise ValueError(f"n_boot={n_boot!r} must be at least 2 with bootstrap=True.")
    cluster_name = normalise_clustervars(clustervars, idname)

    if _unbalanced.use_row_estimator(data, yname, tname, idname, panel=panel,
                                     allow_unbalanced_panel=allow_unbalanced_panel):
        # Unbalanced panels and repeated cross sections: R did's RC estimators.
        arrays = _unbalanced.prepare_rows(
            data, yname, tname, idname, gname,
            xformla=xformla, control_group=control_group, anticipation=anticipation,
            weightsname=weightsname, cluster_name=cluster_name,
            repeated_cross_sections=not panel,
        )
        estimate_cells = _unbalanced.estimate_cells_rows
        closed_form = None
    else:
        arrays = prepare_panel(
            data, yname, tname, idname, gname,
            xformla=xformla, control_group=control_group, anticipation=anticipation,
            weightsname=weightsname, cluster_name=cluster_name,
        )
        # Filled with the closed form of cells without covariates, which
        # makes the bootstrap O(n T) instead of O(n K) (analysis.did._closed_form).
        closed_form = []
        estimate_cells = partial(_estimate_cells, terms=closed_form)
    if cluster_name is not None:
        warn_few_clusters(arrays.n_clusters, cluster_name, stacklevel=2)

    cells, influence = estimate_cells(
        arrays, control_group, est_method, anticipation, base_period
    )

    if seed is None:
        # Keep the drawn seed so the bootstrap can be reproduced afterwards.
        seed = int(np.random.SeedSequence().entropy % (2**63))
    design = Design(
        yname=yname, tname=tname, idname=idname, gname=gname, xformla=xformla,
        control_group=control_group, est_method=est_method,
        anticipation=anticipation, base_period=base_period,
        weightsname=weightsname, cluster_name=cluster_name,
        bootstrap=bool(bootstrap), n_boot=int(n_boot), boot_weights=boot_weights,
        alpha=alpha, seed=seed, n_units=arrays.n_units,
        n_clusters=arrays.n_clusters, periods=arrays.periods, notes=arrays.notes,
    )

    cells["se"] = analytic_se(influence, arrays.cluster, arrays.n_clusters)
    critical = None
    if bootstrap:
        boot = multiplier_bootstrap(
            influence, arrays.cluster, arrays.n_clusters, n_boot=int(n_boot),
            weights=boot_weights, alpha=alpha, rng=np.random.default_rng(seed),
            product=closed_form_product(arrays, closed_form, influence.shape[1]),
        )
        cells["se"] = boot.se
        critical, band = checked_critical_value(boot.critical_value, alpha)
        if band == "pointwise":
            critical = None
    # As in R did: a zero standard error (the normalised base-period cell) is
    # reported as missing, not as perfect precision.
    cells.loc[cells["se"] <= np.sqrt(np.finfo(float).eps) * 10, "se"] = np.nan
    warn_small_groups(cells, xformla, stacklevel=2)

    return ATTgtResult(
        table=cells, influence=influence, arrays=arrays, design=design,
        critical_value=critical,
    )


def warn_small_groups(cells: pd.DataFrame, xformla: str | None,
                      stacklevel: int = 2) -> None:
    """Warn when estimated ATT(g, t) cells rest on very few units.

    R ``did`` warns about cohorts smaller than the number of covariates plus
    5; the same floor is applied here to both sides of every estimated 2x2
    comparison, because a not-yet-treated comparison group shrinks to the
    last cohort in the last periods. The cells stay in the result (their
    ``n_treated`` and ``n_control`` are in ``tidy()``); the warning says
    which they are so that a reader can weigh them.
    """
    floor = 5 + len(_formula_variables(xformla))
    estimated = cells["att"].notna() & (cells["time"] != cells["base"])
    thin = estimated & ((cells["n_treated"] < floor) | (cells["n_control"] < floor))
    if not thin.any():
        return
    examples = ", ".join(
        f"ATT({row.group:g}, {row.time:g}): {row.n_treated} treated, "
        f"{row.n_control} comparison"
        for row in cells.loc[thin]
        .assign(fewest=cells[["n_treated", "n_control"]].min(axis=1))
        .sort_values(["fewest", "group", "time"]).head(4).itertuples()
    )
    warnings.warn(
        f"att_gt: {int(thin.sum())} of {int(estimated.sum())} ATT(g, t) rest on "
        f"fewer than {floor} treated or comparison units ({examples}"
        f"{', ...' if thin.sum() > 4 else ''}); their estimates depend on a "
        "handful of units and their standard errors are unreliable. "
        "The unit counts are the n_treated and n_control columns of tidy().",
        SmallGroupWarning,
        stacklevel=stacklevel + 1,
    )


def _estimate_cells(arrays, control_group, est_method, anticipation, base_period,
                    terms=None):
    """Loop over (g, t); return the cell table and the n x K influence matrix.

    ``terms``, a list, receives the closed-form terms of the cells without
    covariates (see :mod:`analysis.did._closed_form`).
    """
    terms = [] if terms is None else terms
    periods, group = arrays.periods, arrays.group
    n_units, n_periods = arrays.n_units, len(periods)
    no_covariates = arrays.covariates is None

    # Row blocks of each cohort (units are sorted by cohort, never treated last).
    block_values, block_starts = np.unique(group, return_index=True)
    block_ends = np.r_[block_starts[1:], n_units]
    never_start = block_starts[-1] if np.isinf(block_values[-1]) else n_units

    first_current = 1 if base_period == "varying" else 0
    current_indices = range(first_current, n_periods)
    n_cells = len(arrays.cohorts) * len(current_indices)
    # Column-major so each cell's influence function is a contiguous column.
    influence = np.zeros((n_units, n_cells), order="F")
    by_period = np.ascontiguousarray(arrays.outcome.T)
    records = []
    column = 0
    for cohort in arrays.cohorts:
        block = np.searchsorted(block_values, cohort)
        treat_start, treat_end = block_starts[block], block_ends[block]
        # The last period before the (anticipated) start of treatment.
        last_pre = int(np.flatnonzero(periods + anticipation < cohort)[-1])
        for current in current_indices:
            post = cohort <= periods[current]
            base = last_pre if (post or base_period == "universal") else current - 1
            record = {"group": cohort, "time": periods[current],
                      "base": periods[base], "post": bool(post),
                      "n_treated": treat_end - treat_start}
            if base == current:
                record.update(att=0.0, n_control=0)
                records.append(record)
                column += 1
                continue

            if control_group == "nevertreated":
                control_start = never_start
            else:
                # Cohorts (never treated = inf included) not yet treated by
                # the later of the two periods, allowing for anticipation.
                cutoff = periods[max(current, base)] + anticipation
                first = np.searchsorted(block_values, cutoff, side="right")
                control_start = block_starts[first] if first < len(block_values) \
                    else n_units
            if control_start <= treat_start:
                control = [slice(control_start, treat_start), slice(treat_end, n_units)]
            else:
                control = [slice(control_start, n_units)]
            control = [part for part in control if part.stop > part.start]
            record["n_control"] = sum(part.stop - part.start for part in control)
            treat = slice(treat_start, treat_end)
            out = influence[:, column]
            if record["n_control"] == 0:
                att, reason = np.nan, "no comparison units"
            elif no_covariates:
                att, reason = _cell_unconditional(
                    arrays, by_period, treat, control, current, base, est_method, out,
                    terms, column)
            else:
                att, reason = _cell(arrays, treat, control, current, base,
                                    est_method, out)
            if reason is not None:
                while terms and terms[-1][0] == column:
                    terms.pop()
                warnings.warn(
                    f"att_gt: ATT(g={cohort:g}, t={periods[current]:g}) set to NaN: "
                    f"{reason} ({record['n_treated']} treated, "
                    f"{record['n_control']} comparison units).",
                    CellEstimationWarning,
                    stacklevel=3,
                )
                att = np.nan
                out[:] = np.nan
            record["att"] = att
            records.append(record)
            column += 1
    cells = pd.DataFrame.from_records(records)
    for name in ("group", "time", "base"):
        if np.all(np.mod(cells[name], 1) == 0):
            cells[name] = cells[name].astype("int64")
    return cells, influence


def _cell(arrays, treat, control, current, base, est_method, out):
    """One 2x2 DiD with covariates; fills ``out`` with the influence function.

    Returns (att, None) or (NaN, reason) when the cell cannot be estimated.
    """
    n_units = arrays.n_units
    rows = np.concatenate(
        [np.arange(part.start, part.stop) for part in [treat, *control]]
    )
    n_cell = len(rows)
    delta_y = arrays.outcome[rows, current] - arrays.outcome[rows, base]
    treated = np.zeros(n_cell)
    treated[: treat.stop - treat.start] = 1.0
    covariates = arrays.covariates[min(current, base)][rows]
    try:
        reason = _drdid.check_cell(treated, covariates, est_method)
        if reason is not None:
            return np.nan, reason
        att, psi_cell = _drdid.ESTIMATORS[est_method](
            delta_y, treated, covariates, arrays.weights[rows])
    except _drdid.CellError as error:
        return np.nan, str(error)
    if not np.isfinite(att):
        return np.nan, "the 2x2 estimate is not finite"
    # Rescale from the cell's units to all units (R did's n / n1).
    out[rows] = psi_cell * (n_units / n_cell)
    return att, None


def _cell_unconditional(arrays, by_period, treat, control, current, base,
                        est_method, out, terms, column):
    """The 2x2 DiD without covariates, in closed form on row slices.

    Without covariates the dr, ipw and reg estimators all reduce to the
    difference of weighted mean changes, and their influence functions to
    ``n w_i (dY_i - m_1) / W_1`` for treated and ``-n w_i (dY_i - m_0) / W_0``
    for comparison units (``W`` the groups' weight sums). R's overlap check
    (share treated >= 0.999) and trimming (weighted share >= 0.995, which
    removes every control) are applied as in the general path.
    """
    n_units = arrays.n_units
    weights = arrays.weights
    after, before = by_period[current], by_period[base]
    n_treat = treat.stop - treat.start
    n_control = sum(part.stop - part.start for part in control)
    if est_method in ("dr", "ipw") and n_treat / (n_treat + n_control) >= 0.999:
        return np.nan, "overlap condition violated (a propensity score >= 0.999)"

    change_treat = after[treat] - before[treat]
    weight_treat = weights[treat]
    total_treat = weight_treat.sum()
    mean_treat = weight_treat @ change_treat / total_treat
    changes = [after[part] - before[part] for part in control]
    total_control = sum(weights[part].sum() for part in control)
    if est_method in ("dr", "ipw") and \
            total_treat / (total_treat + total_control) >= _drdid.TRIM_LEVEL:
        return np.nan, "every comparison unit trimmed (propensity score >= 0.995)"
    mean_control = sum(weights[part] @ change for part, change in
                       zip(control, changes)) / total_control

    out[treat] = (n_units / total_treat) * weight_treat * (change_treat - mean_treat)
    terms.append((column, treat.start, treat.stop, n_units / total_treat,
                  mean_treat, current, base))
    for part, change in zip(control, changes):
        out[part] = (-n_units / total_control) * weights[part] * (change - mean_control)
        terms.append((column, part.start, part.stop, -n_units / total_control,
                      mean_control, current, base))
    return mean_treat - mean_control, None
