"""Synthetic difference-in-differences (Arkhangelsky et al. 2021) and its relatives.

For an ``N x T`` outcome matrix whose last ``N - N0`` rows are treated from
column ``T0`` on (a block design; a single treated unit is the usual case),

.. math:: \\hat\\tau = (\\bar Y_{tr,post} - \\sum_t \\lambda_t Y_{tr,t})
          - \\sum_i \\omega_i (\\bar Y_{i,post} - \\sum_t \\lambda_t Y_{i,t}).

``method="sdid"`` fits unit weights ``omega`` (with an intercept and ridge
``zeta = (N1 T1)^{1/4} sigma``) and time weights ``lambda`` (intercept, ridge
``1e-6 sigma``) by Frank-Wolfe, sparsifies and refits, exactly as the
paper's Algorithm 1 and the authors' R package; ``sigma`` is the standard
deviation of the controls' first differences before treatment.
``method="sc"`` is the synthetic control special case (no intercept, ridge
``1e-6 sigma``, ``lambda = 0``) and ``method="did"`` uniform weights.
Validated against the published California Proposition 99 numbers
(``tests/test_synth.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.synth._simplex import frank_wolfe, sparsify

__all__ = ["SynthDiDResult", "panel_matrix", "synthdid_estimate"]

METHODS = ("sdid", "sc", "did")


@dataclass
class SynthDiDResult:
    """One synthetic DiD (or SC / DiD) estimate with its weights.

    Attributes
    ----------
    estimate
        The treatment effect (average over treated units and post periods).
    method
        ``"sdid"``, ``"sc"`` or ``"did"``.
    omega, lambda_
        Unit weights over the ``N0`` controls; time weights over the ``T0``
        pre-periods (zeros for SC, which compares post-period levels).
    units, periods
        Control unit labels and pre-period labels (for the weights).
    effect_path
        Per post-period effect: treated minus weighted controls, each
        measured from its lambda-weighted pre-period level (SC: levels).
    noise_level, zeta_omega, zeta_lambda
        Regularisation inputs, for the record.
    """

    estimate: float
    method: str
    omega: np.ndarray
    lambda_: np.ndarray
    units: list = field(default_factory=list)
    periods: list = field(default_factory=list)
    post_periods: list = field(default_factory=list)
    effect_path: np.ndarray = field(default_factory=lambda: np.zeros(0))
    noise_level: float = float("nan")
    zeta_omega: float = float("nan")
    zeta_lambda: float = float("nan")
    treated: list = field(default_factory=list)

    def weights(self) -> pd.DataFrame:
        """Non-zero unit weights, largest first."""
        table = pd.DataFrame({"unit": self.units, "omega": self.omega})
        return (table[table["omega"] > 0].sort_values("omega", ascending=False)
                .reset_index(drop=True))

    def time_weights(self) -> pd.DataFrame:
        """Non-zero pre-period weights."""
        table = pd.DataFrame({"period": self.periods, "lambda": self.lambda_})
        return table[table["lambda"] > 0].reset_index(drop=True)

    def __repr__(self) -> str:
        top = ", ".join(f"{u} {w:.3f}" for u, w in
                        self.weights().head(5).itertuples(index=False))
        return (f"{self.method.upper()} estimate {self.estimate:.6f} "
                f"(treated {self.treated}, {len(self.units)} controls, "
                f"{len(self.periods)} pre and {len(self.post_periods)} post periods; "
                f"largest unit weights: {top})")


def panel_matrix(
    data: pd.DataFrame, unit: str, time: str, outcome: str, treated: str
) -> tuple[np.ndarray, int, int, list, list]:
    """Turn a balanced long panel with a block treatment into ``(Y, N0, T0)``.

    Parameters
    ----------
    data
        One row per unit and period.
    unit, time, outcome
        Column names.
    treated
        0/1 column: 1 for treated units in treated periods.

    Returns
    -------
    Y, N0, T0, units, periods
        Controls first (in sorted order), treated units last; periods sorted.

    Raises
    ------
    ValueError
        The panel is unbalanced or has missing outcomes, no treated or
        control unit, or a treatment that is not a block (treated units must
        start together and stay treated).
    """
    missing = [c for c in (unit, time, outcome, treated) if c not in data.columns]
    if missing:
        raise ValueError(f"data lacks column(s) {missing}.")
    wide = data.pivot(index=unit, columns=time, values=outcome)
    if wide.isna().any().any():
        bad = wide.index[wide.isna().any(axis=1)].tolist()[:5]
        raise ValueError(
            f"panel is unbalanced or has missing {outcome!r} for units {bad}; "
            "synthetic DiD needs every unit in every period."
        )
    w = data.pivot(index=unit, columns=time, values=treated).astype(int)
    ever = w.max(axis=1) == 1
    if not ever.any() or ever.all():
        raise ValueError(f"{treated!r} must mark some but not all units as treated.")
    treated_periods = w.columns[w[ever].max(axis=0) == 1]
    first = treated_periods.min()
    block = (w[ever].loc[:, w.columns >= first] == 1).all().all() and (
        w.loc[:, w.columns < first] == 0
    ).all().all()
    if not block:
        raise ValueError(
            f"{treated!r} is not a block: all treated units must start at {first} "
            "and stay treated; use a staggered estimator instead."
        )
    order = list(wide.index[~ever]) + list(wide.index[ever])
    wide = wide.loc[order]
    T0 = int((wide.columns < first).sum())
    return wide.to_numpy(float), int((~ever).sum()), T0, order, list(wide.columns)


def synthdid_estimate(
    Y: np.ndarray,
    N0: int,
    T0: int,
    *,
    method: str = "sdid",
    units: list | None = None,
    periods: list | None = None,
    max_iter: int = 10_000,
    max_iter_pre_sparsify: int = 100,
) -> SynthDiDResult:
    """Synthetic DiD, synthetic control or DiD on a block-design matrix.

    Parameters
    ----------
    Y
        ``N x T`` outcomes, controls in the first ``N0`` rows, treatment in
        columns ``T0`` onward for the remaining rows.
    N0, T0
        Number of control units and of pre-treatment periods.
    method
        ``"sdid"``, ``"sc"`` or ``"did"`` (see the module notes).
    units, periods
        Labels of all rows and all columns (default: positions).
    max_iter, max_iter_pre_sparsify
        Frank-Wolfe caps after and before sparsifying (the package defaults).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}.")
    Y = np.asarray(Y, dtype=float)
    N, T = Y.shape
    if not (1 <= N0 < N and 2 <= T0 < T):
        raise ValueError(
            f"need 1 <= N0 < N and 2 <= T0 < T; got N={N}, T={T}, N0={N0}, T0={T0}."
        )
    if not np.isfinite(Y).all():
        raise ValueError("Y has missing or infinite values.")
    N1, T1 = N - N0, T - T0
    units = list(range(N)) if units is None else list(units)
    periods = list(range(T)) if periods is None else list(periods)

    noise = float(np.std(np.diff(Y[:N0, :T0], axis=1), ddof=1))
    min_decrease = 1e-5 * noise
    collapsed = _collapsed_form(Y, N0, T0)
    zeta_omega = zeta_lambda = float("nan")

    if method == "did":
        omega, lam = np.full(N0, 1.0 / N0), np.full(T0, 1.0 / T0)
    else:
        if method == "sdid":
            zeta_lambda = 1e-6 * noise
            lam = _fit_twice(collapsed[:N0, :], zeta_lambda, True, min_decrease,
                             max_iter_pre_sparsify, max_iter)
            zeta_omega = (N1 * T1) ** 0.25 * noise
        else:
            lam = np.zeros(T0)
            zeta_omega = 1e-6 * noise
        omega = _fit_twice(collapsed[:, :T0].T, zeta_omega, method == "sdid",
                           min_decrease, max_iter_pre_sparsify, max_iter)

    unit_contrast = np.concatenate([-omega, np.full(N1, 1.0 / N1)])
    time_contrast = np.concatenate([-lam, np.full(T1, 1.0 / T1)])
    estimate = float(unit_contrast @ Y @ time_contrast)
    # Path: each post period against the lambda-weighted pre-period level.
    gap = unit_contrast @ Y
    path = gap[T0:] - float(lam @ gap[:T0])
    return SynthDiDResult(
        estimate=estimate, method=method, omega=omega, lambda_=lam,
        units=units[:N0], periods=periods[:T0], post_periods=periods[T0:],
        effect_path=path, noise_level=noise, zeta_omega=zeta_omega,
        zeta_lambda=zeta_lambda, treated=units[N0:],
    )


def _fit_twice(Y, zeta, intercept, min_decrease, max_iter_pre, max_iter):
    """Frank-Wolfe, sparsify, Frank-Wolfe again from the sparse start."""
    first = frank_wolfe(Y, zeta, intercept=intercept, min_decrease=min_decrease,
                        max_iter=max_iter_pre)
    return frank_wolfe(Y, zeta, intercept=intercept, start=sparsify(first),
                       min_decrease=min_decrease, max_iter=max_iter)


def _collapsed_form(Y, N0, T0):
    """Controls x pre-periods, with treated rows and post columns averaged."""
    top = np.column_stack([Y[:N0, :T0], Y[:N0, T0:].mean(axis=1)])
    bottom = np.append(Y[N0:, :T0].mean(axis=0), Y[N0:, T0:].mean())
    return np.vstack([top, bottom])
