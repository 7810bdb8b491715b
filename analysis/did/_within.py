"""Numerical kernels shared by the regression-based estimators.

Input checks for a long panel, the two-way within transformation, weighted
least squares on the transformed data and the one-way cluster-robust (CR1)
covariance with its small-sample conventions. The estimators in
:mod:`analysis.did.twfe` and :mod:`analysis.did.sun_abraham` build their
design matrices and call these functions; nothing here reads files.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.did._demean import demean_two_way
from analysis.did._validate import check_choice
from analysis.errors import FewClustersWarning
from analysis.ledger import Ledger

SMALL_SAMPLE_CONVENTIONS = ("fixest", "absorbed", "regressors")
FEW_CLUSTERS = 30


@dataclass
class PanelArrays:
    """A checked long panel as arrays, with integer codes for units and periods."""

    frame: pd.DataFrame
    y: np.ndarray
    period: np.ndarray
    cohort: np.ndarray
    unit_code: np.ndarray
    time_code: np.ndarray
    cluster_code: np.ndarray
    weights: np.ndarray | None
    cluster_name: str
    ledger: Ledger


def prepare_panel(
    data: pd.DataFrame,
    yname: str,
    tname: str,
    idname: str,
    gname: str,
    *,
    weightsname: str | None = None,
    clustervars: str | list[str] | None = None,
    stacklevel: int = 3,
) -> PanelArrays:
    """Check a long panel and return it as arrays.

    Rows with a missing outcome, period, cohort, weight or cluster are
    dropped with a :class:`DroppedRowsWarning`; a repeated (unit, period) key,
    a cohort that changes within a unit or a non-integer period raises.
    """
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data must be a pandas DataFrame, got {type(data)}.")
    cluster_name = _cluster_column(clustervars, idname)
    needed = [yname, tname, idname, gname]
    needed += [c for c in (weightsname, cluster_name) if c and c not in needed]
    absent = [c for c in needed if c not in data.columns]
    if absent:
        raise ValueError(
            f"column(s) {absent} not in data; available: {list(data.columns)}."
        )

    frame = data[needed].reset_index(drop=True)
    if frame[gname].isna().any():
        raise ValueError(
            f"column {gname!r} has {int(frame[gname].isna().sum())} missing values; "
            "code never-treated units as 0 (the first treated period otherwise)."
        )
    ledger = Ledger("estimation sample")
    missing = frame[needed].isna().any(axis=1)
    frame = ledger.drop(
        frame,
        missing,
        "complete cases",
        f"missing value in one of {needed}",
        id_columns=[idname, tname],
        stacklevel=stacklevel,
    ).reset_index(drop=True)
    if frame.empty:
        raise ValueError(f"no complete rows in data for columns {needed}.")

    for column in (tname, gname):
        values = pd.to_numeric(frame[column], errors="coerce")
        if values.isna().any() or not np.all(np.mod(values, 1) == 0):
            raise ValueError(
                f"column {column!r} must hold integer periods (e.g. years, or "
                "year*12+month); recode it before estimation."
            )
        frame[column] = values.astype("int64")
    repeated = frame.duplicated([idname, tname], keep=False)
    if repeated.any():
        examples = frame.loc[repeated, [idname, tname]].head(3).to_dict("records")
        raise ValueError(
            f"(unit, period) key ({idname!r}, {tname!r}) is repeated, e.g. "
            f"{examples}; collapse the data to one row per unit and period."
        )
    cohorts_per_unit = frame.groupby(idname, sort=False)[gname].nunique()
    if (cohorts_per_unit > 1).any():
        units = cohorts_per_unit.index[cohorts_per_unit > 1][:5].tolist()
        raise ValueError(
            f"column {gname!r} (first treated period, 0 = never) changes within "
            f"unit(s) {units}; it must be constant within a unit."
        )

    weights = None
    if weightsname is not None:
        weights = frame[weightsname].to_numpy(dtype=float)
        if np.any(weights <= 0):
            raise ValueError(
                f"weights column {weightsname!r} has values <= 0; drop those rows "
                "or use positive weights."
            )
    unit_code = pd.factorize(frame[idname], sort=True)[0]
    time_code = pd.factorize(frame[tname], sort=True)[0]
    cluster_code = pd.factorize(frame[cluster_name], sort=True)[0]
    return PanelArrays(
        frame=frame,
        y=frame[yname].to_numpy(dtype=float),
        period=frame[tname].to_numpy(),
        cohort=frame[gname].to_numpy(),
        unit_code=unit_code,
        time_code=time_code,
        cluster_code=cluster_code,
        weights=weights,
        cluster_name=cluster_name,
        ledger=ledger,
    )


def _cluster_column(clustervars: str | list[str] | None, idname: str) -> str:
    # Clustering by (unit, coarser group) is clustering by the coarser group,
    # the convention of R's did::att_gt.
    if clustervars is None:
        return idname
    names = [clustervars] if isinstance(clustervars, str) else list(clustervars)
    others = [c for c in names if c != idname]
    if len(names) > 2 or len(others) > 1:
        raise ValueError(
            f"clustervars={names}: only one-way clustering is supported; pass the "
            f"unit id {idname!r} and at most one coarser column."
        )
    return others[0] if others else idname


@dataclass
class FitResult:
    """Coefficients, covariance and degrees-of-freedom bookkeeping of one fit."""

    params: np.ndarray
    vcov: np.ndarray
    residuals: np.ndarray
    n_obs: int
    n_units: int
    n_periods: int
    n_clusters: int
    k_regressors: int
    k_counted: int
    scale: float
    bread: np.ndarray
    cluster_scores: np.ndarray


def fit_within(
    y: np.ndarray,
    regressors: np.ndarray,
    panel: PanelArrays,
    *,
    names: list[str],
    small_sample: str,
    stacklevel: int = 3,
) -> FitResult:
    """Two-way fixed-effects least squares with a CR1 covariance.

    Notes
    -----
    With :math:`\\tilde y, \\tilde X` the demeaned data and :math:`W` the
    weights, :math:`\\hat\\beta = (\\tilde X'W\\tilde X)^{-1}\\tilde X'W\\tilde
    y` and

    .. math::

       \\hat V = c\\,(\\tilde X'W\\tilde X)^{-1}
       \\Big(\\sum_g s_g s_g'\\Big)(\\tilde X'W\\tilde X)^{-1},\\quad
       s_g = \\sum_{i\\in g} w_i \\tilde x_i \\hat e_i,\\quad
       c = \\frac{G}{G-1}\\frac{N-1}{N-K}.

    ``small_sample`` sets K: ``"regressors"`` counts the non-absorbed
    regressors only (fixest ``ssc(fixef.K = "none")``, pyfixest's default,
    linearmodels ``auto_df=False, count_effects=False``); ``"fixest"`` adds
    the fixed effects that are not nested in the clusters (fixest's default
    ``fixef.K = "nested"``: with unit clusters all T period effects are
    counted); ``"absorbed"`` counts all N_units + T - 1 absorbed
    effects as a dummy-variable regression would (fixest
    ``fixef.K = "full"``, linearmodels ``PanelOLS`` default).
    """
    check_choice("small_sample", small_sample, SMALL_SAMPLE_CONVENTIONS)
    weights = panel.weights
    w = np.ones(len(y)) if weights is None else weights
    stacked = np.column_stack([y, regressors])
    demeaned = demean_two_way(stacked, panel.unit_code, panel.time_code, weights)
    y_tilde, x_tilde = demeaned[:, 0], demeaned[:, 1:]

    xtwx = x_tilde.T @ (w[:, None] * x_tilde)
    collinear = _collinear_columns(xtwx, x_tilde, regressors)
    if collinear:
        raise ValueError(
            f"regressor(s) {[names[j] for j in collinear]} are collinear "
            "with the unit and period fixed effects (e.g. every event time is "
            "included and there is no never-treated unit); drop or bin a further "
            "event time, or add never-treated units."
        )
    bread = np.linalg.inv(xtwx)
    params = bread @ (x_tilde.T @ (w * y_tilde))
    residuals = y_tilde - x_tilde @ params

    n_clusters = int(panel.cluster_code.max() + 1)
    if n_clusters < 2:
        raise ValueError(
            f"only one cluster in {panel.cluster_name!r}; cluster-robust standard "
            "errors need at least two."
        )
    if n_clusters < FEW_CLUSTERS:
        warnings.warn(
            f"{n_clusters} clusters in {panel.cluster_name!r} (fewer than "
            f"{FEW_CLUSTERS}): cluster-robust standard errors may be too small; "
            "consider a wild cluster bootstrap.",
            FewClustersWarning,
            stacklevel=stacklevel,
        )
    n_obs = len(y)
    n_units = int(panel.unit_code.max() + 1)
    n_periods = int(panel.time_code.max() + 1)
    k_counted = x_tilde.shape[1] + _counted_effects(panel, small_sample)
    scores = x_tilde * (w * residuals)[:, None]
    vcov, scale, cluster_scores = cr1_sandwich(
        bread, scores, panel.cluster_code, n_clusters, k_counted,
        what=f"small_sample={small_sample!r}",
    )
    return FitResult(
        params=params,
        vcov=vcov,
        residuals=residuals,
        n_obs=n_obs,
        n_units=n_units,
        n_periods=n_periods,
        n_clusters=n_clusters,
        k_regressors=x_tilde.shape[1],
        k_counted=k_counted,
        scale=scale,
        bread=bread,
        cluster_scores=cluster_scores,
    )


def cr1_sandwich(
    bread: np.ndarray,
    scores: np.ndarray,
    cluster_code: np.ndarray,
    n_clusters: int,
    k_counted: int,
    *,
    what: str = "",
) -> tuple[np.ndarray, float, np.ndarray]:
    """CR1 cluster-robust covariance ``scale * bread @ S'S @ bread``.

    ``scores`` holds one row per observation; ``S`` sums them by cluster. The
    scale is ``G/(G-1) * (N-1)/(N-K)`` with ``K = k_counted``. Returns the
    covariance, the scale and the cluster sums ``S``.
    """
    n_obs = scores.shape[0]
    if n_obs - k_counted <= 0:
        raise ValueError(
            f"{n_obs} observations leave no residual degrees of freedom for "
            f"{k_counted} parameters ({what}); use small_sample='regressors'."
        )
    cluster_scores = np.stack(
        [np.bincount(cluster_code, scores[:, j], n_clusters)
         for j in range(scores.shape[1])],
        axis=1,
    ).reshape(n_clusters, scores.shape[1])
    scale = n_clusters / (n_clusters - 1) * (n_obs - 1) / (n_obs - k_counted)
    vcov = scale * bread @ (cluster_scores.T @ cluster_scores) @ bread
    return vcov, scale, cluster_scores


def _collinear_columns(xtwx, x_tilde, regressors) -> list[int]:
    # A column is collinear when demeaning wipes it out relative to its raw
    # scale, or when the scaled cross-product matrix is numerically singular;
    # the eigen-decomposition of the k x k matrix avoids an SVD of all rows.
    raw_scale = np.maximum(np.abs(regressors).max(axis=0), 1e-300)
    wiped = np.abs(x_tilde).max(axis=0) <= 1e-10 * raw_scale
    if wiped.any():
        return np.flatnonzero(wiped).tolist()
    diagonal = np.sqrt(np.diag(xtwx))
    eigenvalues, vectors = np.linalg.eigh(xtwx / np.outer(diagonal, diagonal))
    small = eigenvalues < 1e-10 * eigenvalues.max()
    if not small.any():
        return []
    loading = np.abs(vectors[:, small]).max(axis=1)
    return np.flatnonzero(loading > 1e-3).tolist()


def _counted_effects(panel: PanelArrays, small_sample: str) -> int:
    return counted_fixed_effects(
        panel.unit_code, panel.time_code, panel.cluster_code, small_sample
    )


def counted_fixed_effects(
    unit_code: np.ndarray,
    time_code: np.ndarray,
    cluster_code: np.ndarray,
    small_sample: str,
) -> int:
    """Number of absorbed unit and period effects that enter K.

    Unit and period effects together have N_units + T - 1 free parameters
    (one normalisation). An effect is nested in the clusters when each of its
    levels lies in a single cluster; ``"fixest"`` then drops all of its
    levels from K, normalisation included, so with unit effects nested in
    unit (or state) clusters K counts all T period effects. That is R
    fixest's default (``ssc(fixef.K = "nested")``): it reproduces the
    covariance behind HonestDiD's published Medicaid example
    (tests/test_did_honest.py).
    """
    n_units = int(unit_code.max() + 1)
    n_periods = int(time_code.max() + 1)
    if small_sample == "regressors":
        return 0
    if small_sample == "absorbed":
        return n_units + n_periods - 1
    unit_counted = not _nested(unit_code, cluster_code)
    time_counted = not _nested(time_code, cluster_code)
    counted = n_units * unit_counted + n_periods * time_counted
    return counted - 1 if unit_counted and time_counted else counted


def _nested(effect_code: np.ndarray, cluster_code: np.ndarray) -> bool:
    pairs = pd.DataFrame({"effect": effect_code, "cluster": cluster_code})
    return bool((pairs.groupby("effect")["cluster"].nunique() == 1).all())



def subset_panel(panel: PanelArrays, keep: np.ndarray) -> PanelArrays:
    """The panel restricted to the rows in ``keep``, with codes recomputed."""
    frame = panel.frame.loc[keep].reset_index(drop=True)
    return PanelArrays(
        frame=frame,
        y=panel.y[keep],
        period=panel.period[keep],
        cohort=panel.cohort[keep],
        unit_code=pd.factorize(panel.unit_code[keep], sort=True)[0],
        time_code=pd.factorize(panel.time_code[keep], sort=True)[0],
        cluster_code=pd.factorize(panel.cluster_code[keep], sort=True)[0],
        weights=None if panel.weights is None else panel.weights[keep],
        cluster_name=panel.cluster_name,
        ledger=panel.ledger,
    )
