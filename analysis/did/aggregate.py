"""Aggregations of ATT(g, t) into summary parameters (R ``did::aggte``).

Each aggregate is a weighted average of ATT(g, t) with weights proportional
to cohort size, :math:`\\hat p_g = n^{-1} \\sum_i w_i 1\\{G_i = g\\}`. Its
influence function is the same weighted average of the ATT(g, t) influence
functions plus a term for having estimated the weights (R's ``wif``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from analysis.did.bootstrap import (
    analytic_se,
    checked_critical_value,
    cluster_sums,
    multiplier_bootstrap,
)
from analysis.did.results import AggregateResult, _event_time

KINDS = ("simple", "group", "calendar", "dynamic")
_DEGENERATE = np.sqrt(np.finfo(float).eps) * 10


def aggregate(
    result,
    kind: str,
    *,
    min_e: float = -np.inf,
    max_e: float = np.inf,
    balance_e: int | None = None,
    na_rm: bool = False,
    bootstrap: bool | None = None,
    alpha: float | None = None,
) -> AggregateResult:
    """Aggregate an :class:`~analysis.did.results.ATTgtResult`.

    Parameters
    ----------
    result
        Output of :func:`analysis.did.att_gt`.
    kind
        ``"simple"`` (post-treatment ATT(g, t) weighted by cohort size),
        ``"group"`` (average post-treatment effect per cohort), ``"calendar"``
        (per calendar period) or ``"dynamic"`` (event study, per event time).
    min_e, max_e
        Event times kept (in periods). ``max_e`` also limits the cells used
        by ``simple`` and ``group``; ``min_e`` applies to ``dynamic`` only.
    balance_e
        Dynamic only: keep only cohorts observed for at least ``balance_e``
        periods after treatment, and event times from
        ``balance_e - (T_last - T_first)`` to ``balance_e``.
    na_rm
        Drop ATT(g, t) that could not be estimated; otherwise they raise.
    bootstrap, alpha
        Override the result's inference (None keeps att_gt's choice).

    Notes
    -----
    With :math:`\\mathcal{K}` the cells used and
    :math:`\\omega_k = \\hat p_{g_k} / \\sum_{l \\in \\mathcal{K}} \\hat p_{g_l}`,
    an element is :math:`\\theta = \\sum_{k} \\omega_k ATT_k` with influence
    function :math:`\\sum_k \\omega_k \\psi_k + \\sum_k ATT_k
    \\partial\\omega_k`, where the weight term is
    :math:`(w_i 1\\{G_i = g_k\\} - \\hat p_{g_k}) / S - \\omega_k
    \\sum_l (w_i 1\\{G_i = g_l\\} - \\hat p_{g_l}) / S`. Overall ``group``
    weights cohorts by :math:`\\hat p_g`; overall ``dynamic`` averages the
    event times :math:`e \\ge 0`; overall ``calendar`` averages the periods.
    Event time counts periods (position of t minus position of the first
    period at or after g), which equals ``t - g`` for consecutive periods.
    """
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not supported; use one of {KINDS}.")
    if balance_e is not None and kind != "dynamic":
        raise ValueError("balance_e applies to kind='dynamic' only.")
    design = result.design
    alpha = design.alpha if alpha is None else alpha
    bootstrap = design.bootstrap if bootstrap is None else bootstrap

    cells = result.table.reset_index(drop=True)
    influence = result.influence
    missing = cells["att"].isna().to_numpy()
    if missing.any() and not na_rm:
        raise ValueError(
            f"{int(missing.sum())} ATT(g,t) are missing (NaN); pass na_rm=True to "
            "aggregate the others."
        )
    if missing.any():
        cells = cells[~missing].reset_index(drop=True)
        influence = influence[:, ~missing]
        if kind == "group":
            # As in R did: drop cohorts with no estimable post-treatment cell.
            has_post = cells[cells["post"]].groupby("group").size()
            keep = cells["group"].isin(has_post.index).to_numpy()
            cells, influence = cells[keep].reset_index(drop=True), influence[:, keep]

    arrays = result.arrays
    unit_group, unit_weights = arrays.group, arrays.weights
    group = cells["group"].to_numpy(dtype=float)
    time = cells["time"].to_numpy(dtype=float)
    att = cells["att"].to_numpy(dtype=float)
    event = _event_time(cells, design.periods)
    post = cells["post"].to_numpy(dtype=bool)
    cohorts = np.unique(group)
    cohort_share = np.array(
        [np.mean(unit_weights * (unit_group == cohort)) for cohort in cohorts]
    )
    share = cohort_share[np.searchsorted(cohorts, group)]

    def combine(which):
        """Cohort-share weighted average of cells ``which`` and its IF."""
        weight = share[which] / share[which].sum()
        value = float(att[which] @ weight)
        # A full-length weight vector avoids copying the selected columns.
        full_weight = np.zeros(len(att))
        full_weight[which] = weight
        psi = influence @ full_weight + _weight_influence(
            group[which], att[which], share[which], unit_group, unit_weights)
        return value, psi

    labels, values, columns = [], [], []
    reference = None
    if kind == "simple":
        overall, overall_psi = combine(np.flatnonzero(post & (event <= max_e)))
    elif kind == "group":
        group_att, group_share = [], []
        for cohort, cohort_weight in zip(cohorts, cohort_share):
            which = np.flatnonzero((group == cohort) & post & (event <= max_e))
            labels.append(cohort)
            values.append(att[which].mean() if len(which) else np.nan)
            columns.append(influence[:, which].mean(axis=1) if len(which)
                           else np.full(influence.shape[0], np.nan))
            group_att.append(values[-1])
            group_share.append(cohort_weight)
        group_att, group_share = np.array(group_att), np.array(group_share)
        overall = float(group_att @ group_share / group_share.sum())
        overall_psi = np.column_stack(columns) @ (group_share / group_share.sum()) \
            + _weight_influence(cohorts, group_att, group_share, unit_group,
                                unit_weights)
    elif kind == "calendar":
        for period in np.unique(time[time >= group.min()]):
            which = np.flatnonzero((time == period) & post)
            if len(which):
                value, psi = combine(which)
                labels.append(period), values.append(value), columns.append(psi)
        overall = float(np.mean(values))
        overall_psi = np.column_stack(columns).mean(axis=1)
    else:
        included = np.ones(len(cells), dtype=bool)
        event_times = np.unique(event)
        if balance_e is not None:
            last = np.searchsorted(design.periods, time.max())
            span = last - np.searchsorted(design.periods, time.min())
            included = last - np.searchsorted(design.periods, group) >= balance_e
            event_times = event_times[(event_times <= balance_e)
                                      & (event_times >= balance_e - span)]
        event_times = event_times[(event_times >= min_e) & (event_times <= max_e)]
        for e in event_times:
            which = np.flatnonzero((event == e) & included)
            if len(which):
                value, psi = combine(which)
                labels.append(int(e)), values.append(value), columns.append(psi)
        positive = np.array(labels) >= 0
        overall = float(np.mean(np.array(values)[positive])) if positive.any() \
            else np.nan
        overall_psi = np.column_stack(columns)[:, positive].mean(axis=1) \
            if positive.any() else np.full(influence.shape[0], np.nan)
        if design.base_period == "universal":
            base_event = _event_time(
                cells.assign(time=cells["base"]), design.periods)[~post]
            reference = int(base_event.max()) if len(base_event) else None

    element_psi = (np.column_stack(columns) if columns
                   else np.empty((len(unit_group), 0)))
    all_psi = np.column_stack([element_psi, overall_psi])
    se = analytic_se(all_psi, arrays.cluster, arrays.n_clusters)
    critical, band = None, "pointwise"
    if bootstrap:
        boot = multiplier_bootstrap(
            all_psi, arrays.cluster, arrays.n_clusters, n_boot=design.n_boot,
            weights=design.boot_weights, alpha=alpha,
            rng=np.random.default_rng([design.seed, KINDS.index(kind)]),
        )
        se = boot.se
        if element_psi.shape[1]:
            element_boot = multiplier_bootstrap(
                element_psi, arrays.cluster, arrays.n_clusters, n_boot=design.n_boot,
                weights=design.boot_weights, alpha=alpha,
                rng=np.random.default_rng([design.seed, KINDS.index(kind)]),
            )
            critical, band = checked_critical_value(element_boot.critical_value, alpha)
    se = np.where(se <= _DEGENERATE, np.nan, se)

    column = {"group": "group", "calendar": "time", "dynamic": "event_time"}.get(kind)
    table = pd.DataFrame({column: labels, "att": values, "se": se[:-1]}) \
        if column else pd.DataFrame(columns=["att", "se"])
    # Whole-numbered periods (years, month indices) print as integers.
    if column and len(table) and np.all(np.mod(table[column], 1) == 0):
        table[column] = table[column].astype("int64")
    options = {k: v for k, v in (("min_e", min_e), ("max_e", max_e),
                                 ("balance_e", balance_e)) if v is not None
               and np.isfinite(v)}
    vcov = None
    if kind == "dynamic":
        # Same scaling as analytic_se: its diagonal is se**2 when analytic.
        summed = cluster_sums(element_psi, arrays.cluster, arrays.n_clusters)
        index = pd.Index(labels, name="event_time")
        vcov = pd.DataFrame(summed.T @ summed / element_psi.shape[0] ** 2,
                            index=index, columns=index)
    # The aggregate's own inference choices, for its printout.
    design = replace(design, bootstrap=bool(bootstrap), alpha=alpha)
    return AggregateResult(
        kind=kind, overall_att=overall, overall_se=float(se[-1]), table=table,
        design=design, band=band, critical_value=critical, ledger=result.ledger,
        reference_period=reference, influence=element_psi,
        overall_influence=overall_psi, options=options, vcov=vcov,
    )


def _weight_influence(keep_group, keep_att, keep_share, unit_group, unit_weights):
    """R did's ``wif %*% att``: the estimation effect of cohort-share weights.

    For cells k with cohorts g_k, ATTs a_k and shares p_k (sum S), unit i's
    term is ``sum_k a_k (w_i 1{G_i = g_k} - p_k) / S - (sum_k (w_i 1{G_i =
    g_k} - p_k)) (sum_k p_k a_k) / S**2``; computed per cohort, not per cell.
    """
    total = keep_share.sum()
    weighted_att = keep_share @ keep_att
    cohorts, inverse = np.unique(keep_group, return_inverse=True)
    att_by_cohort = np.bincount(inverse, weights=keep_att, minlength=len(cohorts))
    cells_by_cohort = np.bincount(inverse, minlength=len(cohorts)).astype(float)
    position = np.searchsorted(cohorts, unit_group)
    position = np.minimum(position, len(cohorts) - 1)
    member = cohorts[position] == unit_group
    att_sum = np.where(member, att_by_cohort[position], 0.0)
    cell_count = np.where(member, cells_by_cohort[position], 0.0)
    first = (unit_weights * att_sum - weighted_att) / total
    second = (unit_weights * cell_count - total) * weighted_att / total**2
    return first - second
