"""ATT(g, t) on unbalanced panels and repeated cross sections.

R ``did`` handles both with its repeated cross-section (RC) estimators: each
(g, t) cell stacks the rows observed in period t and in the base period, and
compares the four means (treated or comparison, t or base) with
``drdid_rc``, ``std_ipw_did_rc`` or ``reg_did_rc``. On an unbalanced panel
(``allow_unbalanced_panel=True``) the rows of one unit are then summed into
that unit's influence function, so inference stays clustered by unit; on
repeated cross sections (``panel=False``) every row is its own unit.

This module checks the long data, keeps it one row per observation
(:class:`RowArrays`) and loops over the cells; :func:`analysis.did.att_gt`
then does inference exactly as for balanced panels.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.did import _drdid_rc
from analysis.did._drdid import CellError
from analysis.did._validate import _check_keys, _formula_variables
from analysis.errors import CellEstimationWarning, DroppedRowsWarning
from analysis.ledger import Ledger

# Frames between the user's call and ``warnings.warn`` in prepare_rows:
# warn <- prepare_rows <- att_gt <- user.
_STACK_TO_USER = 3
_ROW_ID = "__row__"


@dataclass
class RowArrays:
    """Checked long data: unit-level arrays for aggregation, row-level for cells.

    Attributes
    ----------
    unit_ids, group, weights, cluster
        One entry per unit (per row for repeated cross sections): id, first
        treated period (``inf`` for never treated), weight (mean one) and
        integer cluster code. These are what aggregation and inference use.
    row_unit, row_period, row_outcome, row_group, row_weight, row_covariates
        One entry per observation: unit code, index into ``periods``,
        outcome, first treated period, sampling weight and design row (or
        ``None`` without covariates).
    """

    unit_ids: np.ndarray
    periods: np.ndarray
    group: np.ndarray
    weights: np.ndarray
    cluster: np.ndarray
    cluster_name: str | None
    n_clusters: int
    cohorts: np.ndarray
    ledger: Ledger
    covariate_names: list[str]
    row_unit: np.ndarray
    row_period: np.ndarray
    row_outcome: np.ndarray
    row_group: np.ndarray
    row_weight: np.ndarray
    row_covariates: np.ndarray | None
    notes: list[str] = field(default_factory=list)

    @property
    def n_units(self) -> int:
        return len(self.unit_ids)


def use_row_estimator(data, yname, tname, idname, *, panel,
                      allow_unbalanced_panel) -> bool:
    """Whether :func:`att_gt` needs the repeated cross-section estimators.

    Notes
    -----
    As R ``did`` (since 2.3.0) does, ``allow_unbalanced_panel=True`` on a
    panel that is balanced once rows with a missing outcome are set aside
    uses the panel estimators; only an unbalanced panel (or ``panel=False``)
    goes to the RC estimators. R judges balance after also dropping units
    treated in the first period; here their gaps send the data to the RC
    path (same ATT without covariates).
    """
    if not panel:
        return True
    if not allow_unbalanced_panel:
        return False
    if not isinstance(data, pd.DataFrame) or \
            not {yname, tname, idname} <= set(data.columns):
        return True  # prepare_rows raises the informative error
    rows = data.loc[data[yname].notna(), [idname, tname]]
    n_cells = rows[idname].nunique() * rows[tname].nunique()
    return len(rows) != n_cells or bool(rows.duplicated().any())


def prepare_rows(data, yname, tname, idname, gname, *, xformla, control_group,
                 anticipation, weightsname, cluster_name,
                 repeated_cross_sections) -> RowArrays:
    """Check long data for the RC estimators and return :class:`RowArrays`.

    Notes
    -----
    Rules, in order: key columns complete and numeric; rows with a missing
    outcome dropped row by row (the unit keeps its other periods), counted
    and warned; (unit, period) unique; a unit's ``gname``, weight and
    cluster constant over its rows (a time-varying weight is an error: one
    weight a unit, as on balanced panels); ``gname == 0`` and cohorts first
    treated after the last period plus ``anticipation`` are never treated;
    without never-treated units, R's rule (see :func:`att_gt`); units treated
    by the first period plus ``anticipation`` dropped, counted and warned.
    With ``repeated_cross_sections`` every row is its own unit and
    ``idname`` is not used.
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}.")
    formula_vars = _formula_variables(xformla)
    unit_name = _ROW_ID if repeated_cross_sections else idname
    needed = [yname, tname, *([] if repeated_cross_sections else [idname]), gname,
              *formula_vars, *(name for name in (weightsname, cluster_name) if name)]
    missing = [name for name in dict.fromkeys(needed) if name not in data.columns]
    if missing:
        raise ValueError(
            f"column(s) {missing} not found in data; available columns: "
            f"{list(data.columns)}."
        )
    if anticipation < 0:
        raise ValueError(f"anticipation={anticipation!r} must be non-negative.")

    frame = data[list(dict.fromkeys(needed))].copy()
    if repeated_cross_sections:
        frame[_ROW_ID] = np.arange(len(frame))
    ledger = Ledger("att_gt")
    ledger.record("input", len(frame), len(frame))
    _check_keys(frame, yname, tname, unit_name, gname, formula_vars)

    reason = (f"rows with a missing {yname}; dropped one by one (each unit keeps "
              "its other periods)")
    frame = ledger.drop(frame, frame[yname].isna(), "missing outcome", reason,
                        id_columns=[unit_name, tname], stacklevel=_STACK_TO_USER)
    if frame.empty:
        raise ValueError(f"every row has a missing {yname!r}; nothing to estimate.")
    duplicated = frame.duplicated([unit_name, tname])
    if duplicated.any():
        example = frame.loc[duplicated, [unit_name, tname]].iloc[0].tolist()
        raise ValueError(
            f"{int(duplicated.sum())} duplicated ({idname}, {tname}) pairs, e.g. "
            f"{example}; an unbalanced panel still needs at most one row per unit "
            "and period (use panel=False for repeated cross sections)."
        )
    for name in [] if repeated_cross_sections else [gname, weightsname, cluster_name]:
        if name:
            _check_unit_constant(frame, name, unit_name, weightsname)
    if weightsname:
        weights = frame[weightsname].to_numpy(dtype=float)
        if np.isnan(weights).any() or (weights < 0).any() or weights.mean() <= 0:
            raise ValueError(
                f"weights column {weightsname!r} must be complete and non-negative "
                "with a positive mean."
            )

    group = frame[gname].to_numpy(dtype=float).copy()
    if (group < 0).any():
        raise ValueError(
            f"{gname!r} has negative values; code the first treated period, "
            "or 0 for never treated units."
        )
    group[group == 0] = np.inf
    periods = np.unique(frame[tname].to_numpy(dtype=float))
    late = np.isfinite(group) & (group > periods[-1] + anticipation)
    if late.any():
        ledger.recode("never treated in window", f"{gname} after the last period "
                      "plus anticipation; used as never treated", int(late.sum()),
                      len(frame), warn=False)
    group[late] = np.inf
    frame["__group__"] = group

    notes = ["unbalanced panel: repeated cross-section estimators, influence "
             "function summed within units (R did's allow_unbalanced_panel)"
             if not repeated_cross_sections else
             "repeated cross sections: every row is its own unit"]
    if not np.isinf(group).any():
        frame, periods = _no_never_treated(frame, tname, group, periods,
                                           control_group, anticipation, ledger, notes)
    if len(periods) < 2:
        raise ValueError(
            f"att_gt needs at least two periods of {tname!r}; {len(periods)} remain."
        )

    group = frame["__group__"].to_numpy()
    first_treated = np.isfinite(group) & (group <= periods[0] + anticipation)
    if first_treated.any():
        units = frame.loc[first_treated, unit_name].unique()
        warnings.warn(
            f"att_gt: dropped {len(units)} units ({int(first_treated.sum())} rows) "
            f"already treated in the first period {periods[0]:g}"
            + (f" given anticipation={anticipation:g}" if anticipation else "")
            + f"; e.g. {idname}={units[:3].tolist()}. They have no untreated "
            "period to difference from.",
            DroppedRowsWarning,
            stacklevel=_STACK_TO_USER,
        )
        frame = ledger.drop(frame, pd.Series(first_treated, index=frame.index),
                            "treated in first period",
                            "units already treated in the first period",
                            id_columns=[unit_name], warn=False)
    return _row_arrays(frame, yname, tname, unit_name, xformla, weightsname,
                       cluster_name, periods, anticipation, ledger, notes)


def _check_unit_constant(frame, name, unit_name, weightsname) -> None:
    varies = frame.groupby(unit_name, sort=False)[name].nunique(dropna=False) > 1
    if varies.any():
        fix = ("att_gt uses one weight a unit: pass a unit-level weight, e.g. each "
               "unit's first-period weight" if name == weightsname
               else "it must be constant within a unit")
        raise ValueError(
            f"column {name!r} changes over time within {int(varies.sum())} units "
            f"(e.g. {unit_name}={varies[varies].index[0]!r}); {fix}."
        )


def _no_never_treated(frame, tname, group, periods, control_group, anticipation,
                      ledger, notes):
    """R's rule without never-treated units, as on balanced panels."""
    if control_group == "nevertreated":
        raise ValueError(
            "control_group='nevertreated' but no unit is never treated (gname 0 or "
            "first treated after the last period). Use "
            "control_group='notyettreated', or recode a late cohort as never "
            "treated in the data."
        )
    latest = group.max()
    late_rows = frame[tname].to_numpy(dtype=float) >= latest - anticipation
    if late_rows.any():
        dropped = int((periods >= latest - anticipation).sum())
        warnings.warn(
            f"att_gt: no never-treated units; dropped {dropped} periods from "
            f"{latest - anticipation:g} on ({int(late_rows.sum())} rows), and the "
            f"cohort first treated in {latest:g} serves only as a control.",
            DroppedRowsWarning,
            stacklevel=_STACK_TO_USER + 1,
        )
        frame = ledger.drop(frame, pd.Series(late_rows, index=frame.index),
                            "no never treated",
                            "periods from the last cohort's start", warn=False)
    notes.append(f"cohort {latest:g} used only as a control (no never treated)")
    return frame, periods[periods < latest - anticipation]


def _row_arrays(frame, yname, tname, unit_name, xformla, weightsname, cluster_name,
                periods, anticipation, ledger, notes) -> RowArrays:
    row_unit, unit_ids = pd.factorize(frame[unit_name], sort=True)
    n_units = len(unit_ids)
    row_group = frame["__group__"].to_numpy()
    row_weight = (frame[weightsname].to_numpy(dtype=float) if weightsname
                  else np.ones(len(frame)))

    def per_unit(values):
        out = np.empty(n_units, dtype=np.asarray(values).dtype)
        out[row_unit] = values
        return out

    group = per_unit(row_group)
    weights = per_unit(row_weight)
    cluster = np.arange(n_units)
    if cluster_name:
        cluster = pd.factorize(per_unit(frame[cluster_name].to_numpy()))[0]

    cohorts = np.unique(group[np.isfinite(group)])
    if not np.isinf(group).any():
        cohorts = cohorts[cohorts < group.max()]
    cohorts = cohorts[cohorts > periods[0] + anticipation]
    if len(cohorts) == 0:
        raise ValueError(
            "no treated cohort has both a pre-treatment period and a comparison "
            "group; check the coding of the first treated period."
        )

    row_period = np.searchsorted(periods, frame[tname].to_numpy(dtype=float))
    first_seen = np.full(n_units, len(periods))
    np.minimum.at(first_seen, row_unit, row_period)
    entered_treated = np.isfinite(group) & (periods[first_seen] >= group)
    if entered_treated.any():
        # R keeps them: they enter the treated means of the periods observed.
        notes.append(f"{int(entered_treated.sum())} units first observed at or "
                     "after their first treated period (used in post-period means)")

    covariates, names = None, ["Intercept"]
    if xformla is not None and xformla.replace(" ", "") not in ("~1", "~"):
        covariates, names = _design_rows(frame, xformla)
    return RowArrays(
        unit_ids=np.asarray(unit_ids), periods=periods, group=group,
        weights=weights / weights.mean(), cluster=cluster, cluster_name=cluster_name,
        n_clusters=int(cluster.max()) + 1, cohorts=cohorts, ledger=ledger,
        covariate_names=names, row_unit=row_unit, row_period=row_period,
        row_outcome=frame[yname].to_numpy(dtype=float), row_group=row_group,
        row_weight=row_weight, row_covariates=covariates, notes=notes,
    )


def _design_rows(frame, xformla):
    """Each row's own covariates (R's RC estimators use the period's values)."""
    from formulaic import model_matrix

    matrix = model_matrix(xformla.strip(), frame.reset_index(drop=True))
    names = list(matrix.columns)
    if "Intercept" not in names:
        raise ValueError(
            f"xformla={xformla!r} removes the intercept; the 2x2 estimators need it."
        )
    values = np.asarray(matrix, dtype=float)
    if len(values) != len(frame) or not np.isfinite(values).all():
        raise ValueError(
            f"xformla={xformla!r} gives missing or non-finite values; check the "
            "covariates."
        )
    return values, names


def estimate_cells_rows(arrays: RowArrays, control_group, est_method, anticipation,
                        base_period):
    """Loop over (g, t) with the RC estimators; return the cell table and the
    ``n_units x K`` influence matrix.

    Notes
    -----
    Cell (g, t) with base period b uses every row observed in t or b whose
    unit is in cohort g or in the comparison group (never treated, or first
    treated after ``max(t, b) + anticipation`` for not-yet-treated). With
    ``n_rows`` such rows and ``n`` units in all, unit i's influence value is
    ``(n / n_rows)`` times the sum of its rows' 2x2 influence values (R did's
    ``n / n1`` and ``aggregate(..., sum)`` by id), so ``analytic_se`` gives
    errors clustered by unit. ``n_treated`` and ``n_control`` count units.
    """
    periods, n_units = arrays.periods, arrays.n_units
    rows_by_period = [np.flatnonzero(arrays.row_period == index)
                      for index in range(len(periods))]
    first_current = 1 if base_period == "varying" else 0
    current_indices = range(first_current, len(periods))
    influence = np.zeros((n_units, len(arrays.cohorts) * len(current_indices)),
                         order="F")
    records = []
    for column, (cohort, current) in enumerate(
            (cohort, current) for cohort in arrays.cohorts
            for current in current_indices):
        last_pre = int(np.flatnonzero(periods + anticipation < cohort)[-1])
        post = cohort <= periods[current]
        base = last_pre if (post or base_period == "universal") else current - 1
        record = {"group": cohort, "time": periods[current], "base": periods[base],
                  "post": bool(post)}
        records.append(record)
        if base == current:
            record.update(att=0.0, n_treated=int(np.sum(arrays.group == cohort)),
                          n_control=0)
            continue

        rows = np.concatenate([rows_by_period[current], rows_by_period[base]])
        row_group = arrays.row_group[rows]
        treated = row_group == cohort
        if control_group == "nevertreated":
            control = np.isinf(row_group)
        else:
            cutoff = periods[max(current, base)] + anticipation
            control = (row_group > cutoff) & ~treated
        rows, treated = rows[treated | control], treated[treated | control]
        units = arrays.row_unit[rows]
        record["n_treated"] = len(np.unique(units[treated]))
        record["n_control"] = len(np.unique(units[~treated]))
        att, reason = _cell_rows(arrays, rows, treated.astype(float), current,
                                 est_method, influence[:, column])
        if reason is not None:
            warnings.warn(
                f"att_gt: ATT(g={cohort:g}, t={periods[current]:g}) set to NaN: "
                f"{reason} ({record['n_treated']} treated, "
                f"{record['n_control']} comparison units).",
                CellEstimationWarning,
                stacklevel=3,
            )
            att = np.nan
            influence[:, column] = np.nan
        record["att"] = att
    cells = pd.DataFrame.from_records(records)
    for name in ("group", "time", "base"):
        if np.all(np.mod(cells[name], 1) == 0):
            cells[name] = cells[name].astype("int64")
    return cells, influence


def _cell_rows(arrays, rows, treated, current, est_method, out):
    """One RC 2x2 DiD on ``rows``; fills ``out`` with the unit-level IF.

    Returns (att, None) or (NaN, reason), as R's RC path skips a cell when
    any of the four group-period means has no rows.
    """
    post = (arrays.row_period[rows] == current).astype(float)
    for in_treat, in_post, label in ((1, 1, "treated rows in period t"),
                                     (1, 0, "treated rows in the base period"),
                                     (0, 1, "comparison rows in period t"),
                                     (0, 0, "comparison rows in the base period")):
        if not np.any((treated == in_treat) & (post == in_post)):
            return np.nan, f"no {label}"
    y, weights = arrays.row_outcome[rows], arrays.row_weight[rows]
    try:
        if arrays.row_covariates is None:
            att, psi = _drdid_rc.four_means_rc(y, post, treated, weights, est_method)
        else:
            att, psi = _drdid_rc.ESTIMATORS_RC[est_method](
                y, post, treated, arrays.row_covariates[rows], weights)
    except CellError as error:
        return np.nan, str(error)
    if not np.isfinite(att) or not np.all(np.isfinite(psi)):
        return np.nan, "the 2x2 estimate is not finite"
    # R did: scale by n / n_rows, then sum each unit's rows.
    scaled = psi * arrays.n_units / len(rows)
    out[:] = np.bincount(arrays.row_unit[rows], weights=scaled,
                         minlength=arrays.n_units)
    return att, None
