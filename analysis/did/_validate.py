"""Input checks and the unit x period arrays behind :func:`analysis.did.att_gt`.

Every design option is checked here, in one place, and every row the
estimator will not use is removed here with a count, a reason and a ledger
entry. The estimator then works on dense arrays: one row a unit (units sorted
by cohort, never-treated last, so a cohort is a contiguous slice) and one
column a period.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.errors import DroppedRowsWarning
from analysis.ledger import Ledger

CONTROL_GROUPS = ("nevertreated", "notyettreated")
EST_METHODS = ("dr", "ipw", "reg")
BASE_PERIODS = ("varying", "universal")
BOOT_WEIGHTS = ("rademacher", "mammen", "webb")

# Frames between the user's call and ``warnings.warn`` inside this module:
# warn <- _prepare helper <- prepare_panel <- att_gt <- user.
_STACK_TO_USER = 4


@dataclass
class PanelArrays:
    """A checked, balanced panel in wide form.

    Attributes
    ----------
    unit_ids
        Original unit ids, in the row order of every other array.
    periods
        Sorted distinct periods (numeric, as given in ``tname``).
    outcome
        ``(n_units, n_periods)`` outcomes.
    group
        First treated period a unit; ``inf`` for never treated (including
        units first treated after the last period plus anticipation).
    weights
        Unit sampling weights, rescaled to mean one.
    covariates
        ``(n_periods, n_units, k)`` design matrices built from ``xformla``
        (intercept included), or ``None`` without covariates.
    cluster
        Integer cluster code a unit (the unit itself when no cluster variable).
    cohorts
        Treated cohorts for which ATT(g, t) is estimated.
    """

    unit_ids: np.ndarray
    periods: np.ndarray
    outcome: np.ndarray
    group: np.ndarray
    weights: np.ndarray
    covariates: np.ndarray | None
    covariate_names: list[str]
    cluster: np.ndarray
    cluster_name: str | None
    n_clusters: int
    cohorts: np.ndarray
    ledger: Ledger
    notes: list[str] = field(default_factory=list)

    @property
    def n_units(self) -> int:
        return len(self.unit_ids)


def check_choice(name: str, value, allowed: tuple) -> None:
    """Raise ValueError naming the option and listing the allowed values."""
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not supported; use one of {allowed}.")


def normalise_clustervars(clustervars, idname: str) -> str | None:
    """Return the one cluster variable beyond the unit id, or None."""
    if clustervars is None:
        return None
    names = [clustervars] if isinstance(clustervars, str) else list(clustervars)
    names = [name for name in names if name != idname]
    if len(names) > 1:
        raise ValueError(
            f"clustervars={names!r}: at most one cluster variable besides "
            f"idname={idname!r} is supported (units are always clustered); "
            "pass a single column, e.g. clustervars='state'."
        )
    return names[0] if names else None


def prepare_panel(
    data: pd.DataFrame,
    yname: str,
    tname: str,
    idname: str,
    gname: str,
    *,
    xformla: str | None,
    control_group: str,
    anticipation: float,
    weightsname: str | None,
    cluster_name: str | None,
) -> PanelArrays:
    """Check the long panel and return it as :class:`PanelArrays`.

    Rules, in order: key columns must be complete and (unit, period) unique;
    a unit's ``gname``, weight and cluster must not change over time;
    covariates must be complete; units with any missing outcome are dropped
    whole (so the panel stays balanced), counted and warned; the remaining
    panel must be balanced; ``gname == 0`` and cohorts first treated after
    the last period plus ``anticipation`` are never treated; units treated
    in the first period (plus anticipation) are dropped, counted and warned.
    """
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data must be a pandas DataFrame, got {type(data).__name__}.")
    formula_vars = _formula_variables(xformla)
    needed = [yname, tname, idname, gname, *formula_vars]
    needed += [name for name in (weightsname, cluster_name) if name]
    missing = [name for name in dict.fromkeys(needed) if name not in data.columns]
    if missing:
        raise ValueError(
            f"column(s) {missing} not found in data; available columns: "
            f"{list(data.columns)}."
        )
    if anticipation < 0:
        raise ValueError(f"anticipation={anticipation!r} must be non-negative.")

    frame = data[list(dict.fromkeys(needed))].copy()
    ledger = Ledger("att_gt")
    ledger.record("input", len(frame), len(frame))

    _check_keys(frame, yname, tname, idname, gname, formula_vars)
    frame = _drop_missing_outcomes(frame, yname, idname, ledger)
    # Wide layout: row = unit (ids sorted), column = period.
    unit_codes, unit_ids = pd.factorize(frame[idname], sort=True)
    unit_ids = np.asarray(unit_ids)
    time_values = frame[tname].to_numpy(dtype=float)
    periods = np.unique(time_values)
    n_units, n_periods = len(unit_ids), len(periods)
    cell = unit_codes * n_periods + np.searchsorted(periods, time_values)
    counts = np.bincount(cell, minlength=n_units * n_periods).reshape(n_units, -1)
    if (counts > 1).any():
        unit, period = np.argwhere(counts > 1)[0]
        raise ValueError(
            f"{int((counts > 1).sum())} duplicated ({idname}, {tname}) pairs, e.g. "
            f"({unit_ids[unit]!r}, {periods[period]:g}); the panel needs one row "
            "per unit and period."
        )
    short = (counts == 0).any(axis=1)
    if short.any():
        raise ValueError(
            f"panel=True needs a balanced panel, but {int(short.sum())} units are "
            f"not observed in all {n_periods} periods of {tname!r} (e.g. "
            f"{idname}={unit_ids[short][:3].tolist()}). Pass "
            "allow_unbalanced_panel=True (R did's unbalanced-panel estimator), or "
            "keep only units observed in every period."
        )
    row_of_cell = np.empty(len(cell), dtype=np.int64)
    row_of_cell[cell] = np.arange(len(cell))

    def wide(column: str, dtype=None) -> np.ndarray:
        values = frame[column].to_numpy(dtype=dtype)[row_of_cell]
        return values.reshape(n_units, n_periods)

    group = _unit_constant(wide(gname, float), gname, idname, unit_ids).copy()
    weights = np.ones(n_units)
    if weightsname:
        weights = _unit_weights(wide(weightsname, float), weightsname, idname,
                                unit_ids)
    cluster_codes = np.arange(n_units)
    if cluster_name:
        clusters = _unit_constant(wide(cluster_name), cluster_name, idname, unit_ids)
        cluster_codes = pd.factorize(clusters)[0]

    if (group < 0).any():
        raise ValueError(
            f"{gname!r} has negative values; code the first treated period, "
            "or 0 for never treated units."
        )
    group[group == 0] = np.inf
    late = np.isfinite(group) & (group > periods[-1] + anticipation)
    if late.any():
        ledger.recode(
            "never treated in window",
            f"{gname} after the last period plus anticipation; used as never treated",
            int(late.sum()) * n_periods,
            n_units * n_periods,
            warn=False,
        )
        group[late] = np.inf

    outcome = wide(yname, float)
    covariates, covariate_names = _design(frame.iloc[row_of_cell], xformla,
                                          n_units, n_periods)
    keep_periods = np.ones(n_periods, dtype=bool)
    notes: list[str] = []

    if not np.isinf(group).any():
        if control_group == "nevertreated":
            raise ValueError(
                f"control_group='nevertreated' but no unit has {gname} == 0 (never "
                "treated) or a first treated period after the last period. Use "
                "control_group='notyettreated', or recode a late cohort as never "
                "treated in the data."
            )
        # As in R did: with no never-treated units the last cohort can only
        # serve as a control, so the periods from its (anticipated) start on
        # carry no comparison and are dropped.
        latest = group.max()
        keep_periods = periods < latest - anticipation
        dropped = int((~keep_periods).sum())
        if dropped:
            warnings.warn(
                f"att_gt: no never-treated units; dropped {dropped} periods from "
                f"{latest - anticipation:g} on ({dropped * n_units} rows), and the "
                f"cohort first treated in {latest:g} serves only as a control.",
                DroppedRowsWarning,
                stacklevel=_STACK_TO_USER - 1,
            )
            ledger.record(
                "no never treated",
                n_units * n_periods,
                n_units * int(keep_periods.sum()),
                removed={"periods from the last cohort's start": dropped * n_units},
            )
        notes.append(f"cohort {latest:g} used only as a control (no never treated)")

    periods = periods[keep_periods]
    outcome = outcome[:, keep_periods]
    if covariates is not None:
        covariates = covariates[keep_periods]
    if len(periods) < 2:
        raise ValueError(
            f"att_gt needs at least two periods of {tname!r}; {len(periods)} remain."
        )

    first_treated = np.isfinite(group) & (group <= periods[0] + anticipation)
    if first_treated.any():
        count = int(first_treated.sum())
        rows_before = n_units * len(periods)
        ledger.record(
            "treated in first period",
            rows_before,
            rows_before - count * len(periods),
            removed={"units already treated in the first period": count * len(periods)},
            examples={"units already treated in the first period":
                      unit_ids[first_treated][:5].tolist()},
        )
        warnings.warn(
            f"att_gt: dropped {count} units ({count * len(periods)} rows) already "
            f"treated in the first period {periods[0]:g}"
            + (f" given anticipation={anticipation:g}" if anticipation else "")
            + f"; e.g. {idname}={unit_ids[first_treated][:3].tolist()}. They have "
            "no untreated period to difference from.",
            DroppedRowsWarning,
            stacklevel=_STACK_TO_USER - 1,
        )
        keep = ~first_treated
        unit_ids, group, outcome = unit_ids[keep], group[keep], outcome[keep]
        weights, cluster_codes = weights[keep], cluster_codes[keep]
        if covariates is not None:
            covariates = covariates[:, keep]

    cohorts = np.unique(group[np.isfinite(group)])
    if not np.isinf(group).any():
        cohorts = cohorts[cohorts < group.max()]
    cohorts = cohorts[cohorts > periods[0] + anticipation]
    if len(cohorts) == 0:
        raise ValueError(
            f"no treated cohort in {gname!r} has both a pre-treatment period and a "
            "comparison group; check the coding of the first treated period."
        )

    # Cohorts as contiguous row blocks, never treated last.
    order = np.lexsort((np.arange(len(group)), group))
    cluster_codes = pd.factorize(cluster_codes[order])[0]
    return PanelArrays(
        unit_ids=unit_ids[order],
        periods=periods,
        outcome=outcome[order],
        group=group[order],
        weights=weights[order] / weights[order].mean(),
        covariates=None if covariates is None else covariates[:, order],
        covariate_names=covariate_names,
        cluster=cluster_codes,
        cluster_name=cluster_name,
        n_clusters=int(cluster_codes.max()) + 1,
        cohorts=cohorts,
        ledger=ledger,
        notes=notes,
    )


def _formula_variables(xformla: str | None) -> list[str]:
    if xformla is None:
        return []
    from formulaic import Formula

    text = xformla.strip()
    if not text.startswith("~"):
        raise ValueError(
            f"xformla={xformla!r} must be a one-sided formula like '~ lpop'."
        )
    return sorted(Formula(text).required_variables)


def _check_keys(frame, yname, tname, idname, gname, formula_vars) -> None:
    for name in (tname, idname, gname, *formula_vars):
        n_missing = int(frame[name].isna().sum())
        if n_missing:
            fix = (
                "drop or impute those rows before calling att_gt"
                if name in formula_vars
                else "every row needs a unit, a period and a first treated period"
            )
            raise ValueError(f"column {name!r} has {n_missing} missing values; {fix}.")
    for name in (tname, gname, yname):
        if not pd.api.types.is_numeric_dtype(frame[name]):
            raise ValueError(
                f"column {name!r} must be numeric (got {frame[name].dtype}); convert "
                "it, e.g. pd.to_numeric(data[...])."
            )


def _drop_missing_outcomes(frame, yname, idname, ledger) -> pd.DataFrame:
    missing_y = frame[yname].isna()
    if not missing_y.any():
        return frame
    bad_units = frame.loc[missing_y, idname].unique()
    unit_rows = frame[idname].isin(bad_units)
    reason = (
        f"{len(bad_units)} units with a missing {yname} in some period "
        f"({int(missing_y.sum())} missing values); dropped whole to keep the "
        "panel balanced"
    )
    return ledger.drop(
        frame, unit_rows, "missing outcome", reason, id_columns=[idname],
        stacklevel=_STACK_TO_USER,
    )


def _unit_constant(values, column, idname, unit_ids) -> np.ndarray:
    """Return a unit's value of ``column``; raise if it changes over time."""
    varies = (values != values[:, :1]).any(axis=1)
    if varies.any():
        raise ValueError(
            f"column {column!r} changes over time within {int(varies.sum())} units "
            f"(e.g. {idname}={unit_ids[varies][0]!r}); it must be constant within "
            "a unit."
        )
    return values[:, 0]


def _unit_weights(values, weightsname, idname, unit_ids) -> np.ndarray:
    if np.isnan(values).any() or (values < 0).any() or values.mean() <= 0:
        raise ValueError(
            f"weights column {weightsname!r} must be complete and non-negative "
            "with a positive mean."
        )
    return _unit_constant(values, weightsname, idname, unit_ids).copy()


def _design(frame, xformla, n_units, n_periods):
    if xformla is None or xformla.replace(" ", "") in ("~1", "~"):
        return None, ["Intercept"]
    from formulaic import model_matrix

    matrix = model_matrix(xformla.strip(), frame.reset_index(drop=True))
    names = list(matrix.columns)
    if "Intercept" not in names:
        raise ValueError(
            f"xformla={xformla!r} removes the intercept; the 2x2 estimators need it."
        )
    values = np.asarray(matrix, dtype=float)
    if len(values) != len(frame):
        raise ValueError(
            f"xformla={xformla!r} dropped rows; check the covariates for missing "
            "or non-finite values."
        )
    cube = values.reshape(n_units, n_periods, len(names)).transpose(1, 0, 2)
    return np.ascontiguousarray(cube), names
