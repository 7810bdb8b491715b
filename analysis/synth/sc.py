"""Synthetic control (Abadie, Diamond and Hainmueller 2010) on pre-period outcomes.

The synthetic unit is the convex combination of donors that best matches the
treated unit's outcomes in every pre-treatment period:

.. math:: \\hat\\omega = \\arg\\min_{\\omega \\in \\Delta}
          \\|Y_{tr,pre} - Y_{0,pre}'\\omega\\|^2 + T_0\\,\\zeta^2\\|\\omega\\|^2,

solved exactly by :func:`analysis.synth._simplex.simplex_least_squares`.
``zeta = ridge_scale * sigma`` with ``sigma`` the standard deviation of the
donors' pre-period first differences; the default ``1e-6`` is the tiny ridge
of Arkhangelsky et al.'s SC benchmark, which only breaks ties between
equally good combinations. Predictors other than the outcome path (and a
V matrix weighting them) are not used: matching every pre-period outcome is
the special case in which V plays no role.

The effect in a post period is the gap between the treated unit and its
synthetic unit; the estimate is the mean gap over post periods. The fit is
judged by the pre-period root mean squared prediction error (RMSPE).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.synth._simplex import simplex_least_squares

__all__ = ["SyntheticControlResult", "synthetic_control"]


@dataclass
class SyntheticControlResult:
    """A synthetic control fit for one treated unit (or the mean of several).

    Attributes
    ----------
    estimate
        Mean post-period gap (treated minus synthetic).
    weights_
        Donor weights (non-negative, summing to one), in ``units`` order.
    gaps
        Treated minus synthetic in every period (``periods`` order).
    pre_rmspe, post_rmspe
        Root mean squared gap before and after treatment; their ratio is the
        test statistic of Abadie et al. (2010).
    """

    estimate: float
    weights_: np.ndarray
    gaps: np.ndarray
    treated_path: np.ndarray
    synthetic_path: np.ndarray
    pre_rmspe: float
    post_rmspe: float
    units: list = field(default_factory=list)
    periods: list = field(default_factory=list)
    T0: int = 0
    ridge: float = 0.0
    treated: list = field(default_factory=list)
    method: str = "sc"

    @property
    def rmspe_ratio(self) -> float:
        return self.post_rmspe / self.pre_rmspe if self.pre_rmspe > 0 else np.inf

    def weights(self) -> pd.DataFrame:
        """Donors with positive weight, largest first."""
        table = pd.DataFrame({"unit": self.units, "omega": self.weights_})
        return (table[table["omega"] > 1e-12].sort_values("omega", ascending=False)
                .reset_index(drop=True))

    def path(self) -> pd.DataFrame:
        """Treated, synthetic and gap by period, with a post flag."""
        return pd.DataFrame({
            "period": self.periods, "treated": self.treated_path,
            "synthetic": self.synthetic_path, "gap": self.gaps,
            "post": np.arange(len(self.periods)) >= self.T0,
        })

    def __repr__(self) -> str:
        top = ", ".join(f"{u} {w:.3f}" for u, w in
                        self.weights().head(5).itertuples(index=False))
        return (f"Synthetic control estimate {self.estimate:.6f} (treated "
                f"{self.treated}; pre-RMSPE {self.pre_rmspe:.4g}, post-RMSPE "
                f"{self.post_rmspe:.4g}; donors {top})")


def synthetic_control(
    Y: np.ndarray,
    N0: int,
    T0: int,
    *,
    ridge_scale: float = 1e-6,
    units: list | None = None,
    periods: list | None = None,
) -> SyntheticControlResult:
    """Fit exact simplex-constrained synthetic control weights.

    Parameters
    ----------
    Y
        ``N x T`` outcomes: donors in the first ``N0`` rows, the treated
        unit(s) after them (several treated rows are averaged first);
        treatment from column ``T0``.
    N0, T0
        Number of donors and of pre-treatment periods.
    ridge_scale
        ``zeta / sigma`` (see the module notes); 0 for the unpenalised fit.
    units, periods
        Row and column labels.
    """
    Y = np.asarray(Y, dtype=float)
    N, T = Y.shape
    if not (1 <= N0 < N and 1 <= T0 < T):
        raise ValueError(
            f"need 1 <= N0 < N and 1 <= T0 < T; got N={N}, T={T}, N0={N0}, T0={T0}."
        )
    if not np.isfinite(Y).all():
        raise ValueError("Y has missing or infinite values.")
    units = list(range(N)) if units is None else list(units)
    periods = list(range(T)) if periods is None else list(periods)

    donors, treated = Y[:N0], Y[N0:].mean(axis=0)
    sigma = float(np.std(np.diff(donors[:, :T0], axis=1), ddof=1)) if T0 > 2 else 0.0
    ridge = T0 * (ridge_scale * sigma) ** 2
    weights = simplex_least_squares(donors[:, :T0].T, treated[:T0], ridge)

    synthetic = weights @ donors
    gaps = treated - synthetic
    return SyntheticControlResult(
        estimate=float(gaps[T0:].mean()), weights_=weights, gaps=gaps,
        treated_path=treated, synthetic_path=synthetic,
        pre_rmspe=float(np.sqrt(np.mean(gaps[:T0] ** 2))),
        post_rmspe=float(np.sqrt(np.mean(gaps[T0:] ** 2))),
        units=units[:N0], periods=periods, T0=T0, ridge=ridge,
        treated=units[N0:],
    )
