"""Analytic and multiplier-bootstrap inference from influence functions.

Both work on an ``n x K`` matrix of unit-level influence functions (one
column a parameter), as R ``did`` does (``mboot``): the analytic standard
error is ``sqrt(mean(IF**2) / n)``; the multiplier bootstrap perturbs
cluster sums of the influence function with i.i.d. mean-zero, unit-variance
weights and reads standard errors and a sup-t critical value off the draws.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats

from analysis.errors import AnalysisWarning, FewClustersWarning
from analysis.progress import progress_bar

FEW_CLUSTERS = 30
# Draws are generated in chunks so memory stays ~ chunk x n_clusters floats.
_CHUNK_CELLS = 4_000_000
_DEGENERATE = np.sqrt(np.finfo(float).eps) * 10
# Webb's six-point distribution: mean 0, variance 1.
_WEBB_POINTS = np.repeat([-1.0, 1.0], 3) * np.sqrt(np.tile([1.5, 1.0, 0.5], 2))


@dataclass
class BootstrapResult:
    """Bootstrap draws and what is read off them.

    Attributes
    ----------
    draws
        ``(n_boot, K)`` draws of ``sqrt(n_clusters) * mean_c(S_c V_c)``.
    se
        Bootstrap standard errors (NaN for degenerate columns).
    critical_value
        Sup-t critical value for a uniform band at level ``1 - alpha``.
    """

    draws: np.ndarray
    se: np.ndarray
    critical_value: float


def warn_few_clusters(n_clusters: int, name: str, *, stacklevel: int = 2) -> None:
    """Warn when cluster-robust inference rests on fewer than 30 clusters."""
    if n_clusters < FEW_CLUSTERS:
        warnings.warn(
            f"only {n_clusters} clusters of {name!r}; cluster-robust standard "
            f"errors and bands are unreliable with fewer than {FEW_CLUSTERS}.",
            FewClustersWarning,
            stacklevel=stacklevel + 1,
        )


def cluster_sums(influence: np.ndarray, cluster: np.ndarray, n_clusters: int):
    """Sum the rows of ``influence`` within clusters (identity when n = G)."""
    if n_clusters == len(cluster):
        # One unit a cluster: the sums are the rows (their order is irrelevant
        # to sums of squares and to i.i.d. multipliers).
        return influence
    summed = np.zeros((n_clusters,) + influence.shape[1:])
    np.add.at(summed, cluster, influence)
    return summed


def analytic_se(influence, cluster, n_clusters) -> np.ndarray:
    """Standard errors ``sqrt(sum_c S_c**2) / n`` from an influence matrix.

    Without clusters this is R did's ``sqrt(mean(IF**2) / n)``.
    """
    n = influence.shape[0]
    summed = cluster_sums(influence, cluster, n_clusters)
    # Column sums of squares without an n x K temporary.
    return np.sqrt(np.einsum("ij,ij->j", summed, summed)) / n


def draw_weights(rng: np.random.Generator, shape, kind: str) -> np.ndarray:
    """Multiplier weights with mean 0 and variance 1.

    ``"rademacher"``: +1 or -1 with probability 1/2 (R did's default);
    ``"mammen"``: ``(1 - sqrt 5)/2`` with probability ``(sqrt 5 + 1)/(2 sqrt 5)``,
    else ``(1 + sqrt 5)/2`` (third moment 1); ``"webb"``: Webb's (2023) six
    points ``+-sqrt(1/2), +-1, +-sqrt(3/2)`` with probability 1/6 each, for
    few clusters, where two-point weights allow only ``2**G`` distinct draws.
    """
    if kind == "rademacher":
        # Eight fair signs from each random byte: much faster than integers().
        n_draws, n_columns = shape
        raw = rng.integers(0, 256, size=(n_draws, -(-n_columns // 8)), dtype=np.uint8)
        bits = np.unpackbits(raw, axis=1, count=n_columns)
        return bits * 2.0 - 1.0
    if kind == "webb":
        return _WEBB_POINTS[rng.integers(0, 6, size=shape)]
    root5 = np.sqrt(5.0)
    low = rng.random(shape) < (root5 + 1) / (2 * root5)
    return np.where(low, (1 - root5) / 2, (1 + root5) / 2)


def multiplier_bootstrap(
    influence: np.ndarray,
    cluster: np.ndarray,
    n_clusters: int,
    *,
    n_boot: int,
    weights: str,
    alpha: float,
    rng: np.random.Generator,
    product=None,
) -> BootstrapResult:
    """Multiplier bootstrap of an ``n x K`` influence matrix.

    ``product``, if given, is a function that returns
    ``multipliers @ influence`` for a ``(draws, n)`` block of unit-level
    multipliers without reading ``influence`` (att_gt passes one that uses
    the closed form of cells without covariates); cluster multipliers are
    then expanded to their units first.

    Notes
    -----
    With cluster sums :math:`S_c = \\sum_{i \\in c} \\psi_i` and weights
    :math:`V_c`, draw b is
    :math:`\\hat\\theta^*_b = G^{-1/2} \\sum_c V_{cb} S_c`. The standard error
    is the interquartile range of the draws over that of N(0, 1), times
    :math:`\\sqrt{G} / n` (R did's ``mboot``, quantiles of type 1). The
    uniform band's critical value is the ``1 - alpha`` quantile of
    :math:`\\max_k |\\hat\\theta^*_{bk}| / \\hat\\sigma_k`. Columns with
    missing or (numerically) zero influence functions get a NaN standard
    error and are left out of the maximum.
    """
    n = influence.shape[0]
    if product is None:
        summed = cluster_sums(np.asarray(influence, dtype=float), cluster,
                              n_clusters)
    else:
        summed = influence
    finite = _finite_columns(summed)
    if product is None and not finite.all():
        summed = np.where(finite, summed, 0.0)
    blocks = None if product is not None else _nonzero_blocks(summed)

    chunk = max(1, min(n_boot, _CHUNK_CELLS // max(n_clusters, 1)))
    draws = np.zeros((n_boot, summed.shape[1]))
    # Shown only on a terminal and when the draws take more than half a second.
    with progress_bar(n_boot, "multiplier bootstrap") as bar:
        for start in range(0, n_boot, chunk):
            stop = min(n_boot, start + chunk)
            multipliers = draw_weights(rng, (stop - start, n_clusters), weights)
            if product is not None and n_clusters == n:
                draws[start:stop] = product(multipliers)
            elif product is not None:
                # Expand cluster multipliers to units a few draws at a time.
                step = max(1, _CHUNK_CELLS // n)
                for first in range(0, stop - start, step):
                    rows = slice(first, min(stop - start, first + step))
                    draws[start + rows.start:start + rows.stop] = product(
                        multipliers[rows][:, cluster])
            elif blocks is None:
                draws[start:stop] = multipliers @ summed
            else:
                for rows, columns, block in blocks:
                    draws[start:stop, columns] += multipliers[:, rows] @ block
            bar.update(stop - start)
    if product is not None and not finite.all():
        draws[:, ~finite] = 0.0
    draws /= np.sqrt(n_clusters)

    usable = finite & (np.sum(draws**2, axis=0) > _DEGENERATE)
    iqr_scale = stats.norm.ppf(0.75) - stats.norm.ppf(0.25)
    lower, upper = np.quantile(draws, [0.25, 0.75], axis=0, method="inverted_cdf")
    sigma = np.where(usable, (upper - lower) / iqr_scale, np.nan)
    sigma[sigma <= _DEGENERATE] = np.nan

    se = sigma * np.sqrt(n_clusters) / n
    critical = _sup_t_critical_value(draws, sigma, alpha)
    draws[:, ~usable] = np.nan
    return BootstrapResult(draws=draws, se=se, critical_value=critical)


def _finite_columns(matrix: np.ndarray) -> np.ndarray:
    """Columns without NaN or inf; a column sum screens them without an
    n x K temporary (a finite column whose sum overflows is checked whole)."""
    finite = np.isfinite(matrix.sum(axis=0))
    suspect = np.flatnonzero(~finite)
    if len(suspect):
        finite[suspect] = np.isfinite(matrix[:, suspect]).all(axis=0)
    return finite


def _nonzero_blocks(summed: np.ndarray, max_blocks: int = 512):
    """Row runs of ``summed`` sharing their nonzero columns, or None.

    An ATT(g, t) influence function is zero outside cohort g and its
    comparison units, and att_gt sorts units by cohort, so the rows fall into
    a few runs whose nonzero columns are known; multiplying each run by its
    own columns skips the zeros (about 60% of the work with never-treated
    comparisons). Returns (row slice, columns, run's nonzero block) triples;
    None (dense product) when the rows do not form at most ``max_blocks``
    runs or the saving is small. Skipped entries are exact zeros, so the
    draws equal the dense product up to the order of summation.
    """
    n_rows, n_columns = summed.shape
    if n_columns < 2 or n_rows < 2:
        return None
    pattern = np.packbits(summed != 0, axis=1)
    change = np.flatnonzero((pattern[1:] != pattern[:-1]).any(axis=1)) + 1
    if len(change) >= max_blocks:
        return None
    starts = np.r_[0, change]
    stops = np.r_[change, n_rows]
    blocks, work = [], 0
    for start, stop in zip(starts, stops):
        columns = np.flatnonzero(
            np.unpackbits(pattern[start], count=n_columns).astype(bool))
        if len(columns) == 0:
            continue
        rows = slice(start, stop)
        if columns[-1] - columns[0] + 1 == len(columns):
            columns = slice(columns[0], columns[-1] + 1)
        blocks.append((rows, columns, summed[rows, columns]))
        work += (stop - start) * (columns.stop - columns.start
                                  if isinstance(columns, slice) else len(columns))
    if work > 0.8 * n_rows * n_columns:
        return None
    return blocks


def _sup_t_critical_value(draws, sigma, alpha) -> float:
    columns = np.isfinite(sigma)
    if not columns.any():
        return np.nan
    t_max = np.max(np.abs(draws[:, columns] / sigma[columns]), axis=1)
    t_max = t_max[np.isfinite(t_max)]
    return float(np.quantile(t_max, 1 - alpha, method="inverted_cdf"))


def checked_critical_value(critical: float, alpha: float) -> tuple[float, str]:
    """R did's safeguards on a sup-t critical value; returns (value, band).

    A missing value, or one below the pointwise normal quantile, falls back to
    the pointwise interval (band ``"pointwise"``) with a warning.
    """
    pointwise = stats.norm.ppf(1 - alpha / 2)
    if critical is None:
        return pointwise, "pointwise"
    if not np.isfinite(critical) or critical < pointwise:
        warnings.warn(
            f"the sup-t critical value ({critical:.3f}) is missing or below the "
            f"pointwise one ({pointwise:.3f}); reporting pointwise intervals.",
            AnalysisWarning,
            stacklevel=3,
        )
        return pointwise, "pointwise"
    return critical, "uniform"
