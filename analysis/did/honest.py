"""Rambachan and Roth (2023) sensitivity of event-study conclusions to
violations of parallel trends (R ``HonestDiD``).

The post-period coefficients are :math:`\\beta_{post} = \\tau + \\delta_{post}`
with a bias :math:`\\delta` that the pre-period coefficients reveal only
partly. Instead of assuming :math:`\\delta_{post} = 0`, the user bounds how
far it may stray from what the pre-periods show, and reports confidence
intervals for :math:`\\theta = l'\\tau` that are valid under each bound.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis.did._arp import MomentProblem
from analysis.did._flci import optimal_flci
from analysis.did._validate import check_choice
from analysis.errors import AnalysisWarning

__all__ = ["HonestResult", "honest_did"]

METHODS = ("relative_magnitude", "smoothness")
RM_METHODS = ("C-LF", "Conditional")


@dataclass
class HonestResult:
    """Robust confidence intervals over a grid of restrictions.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per bound: ``M`` (smoothness) or ``Mbar`` (relative
        magnitudes), ``lb``, ``ub``, ``method`` ("FLCI", "C-LF" or
        "Conditional") and ``delta`` ("DeltaSD" or "DeltaRM").
    original : tuple of float
        ``(estimate, lb, ub)``: the usual interval assuming parallel trends.
    breakdown : float or None
        The largest grid value up to which every interval excludes zero
        (None when the original interval already contains zero).
    """

    table: pd.DataFrame
    original: tuple
    breakdown: float | None
    method: str
    l_vec: np.ndarray
    num_pre: int
    num_post: int
    alpha: float
    source: str = ""
    notes: list = field(default_factory=list)

    @property
    def parameter(self) -> str:
        """Name of the restriction's column: ``"M"`` or ``"Mbar"``."""
        return "M" if self.method == "smoothness" else "Mbar"

    @property
    def label(self) -> str:
        return {"smoothness": "Smoothness (Delta^SD)",
                "relative_magnitude": "Relative magnitudes (Delta^RM)"}[self.method]

    def tidy(self) -> pd.DataFrame:
        """The original interval (``method="Original"``, no M) and the
        robust ones, columns (M or Mbar, lb, ub, method)."""
        _, low, high = self.original
        first = pd.DataFrame({self.parameter: [np.nan], "lb": [low], "ub": [high],
                              "method": ["Original"]})
        robust = self.table[[self.parameter, "lb", "ub", "method"]]
        return pd.concat([first, robust], ignore_index=True)

    def _header(self) -> list[str]:
        estimate, low, high = self.original
        weights = ", ".join(f"{w:g}" for w in self.l_vec)
        breakdown = ("none (the original interval contains 0)"
                     if self.breakdown is None else f"{self.breakdown:g}")
        lines = [
            f"Sensitivity analysis (Rambachan-Roth): {self.label}",
            f"  target            l'tau_post, l = ({weights})",
            f"  periods           {self.num_pre} pre, {self.num_post} post",
            (f"  estimate          {estimate:.5f}, original {1 - self.alpha:.0%} "
             f"CI [{low:.5f}, {high:.5f}]"),
            f"  breakdown {self.parameter:<7} {breakdown}",
        ]
        if self.source:
            lines.append(f"  event study       {self.source}")
        return lines + [f"  note              {note}" for note in self.notes]

    def __repr__(self) -> str:
        body = self.tidy().to_string(index=False, float_format="%.5f", na_rep="")
        return "\n".join(self._header() + [body])

    def _repr_html_(self) -> str:
        header = "<br>".join(line.strip() for line in self._header())
        table = self.tidy().to_html(index=False, float_format="%.5f", na_rep="")
        return f"<div><p>{header}</p>{table}</div>"


def honest_did(
    result=None,
    *,
    betahat=None,
    sigma=None,
    num_pre: int | None = None,
    num_post: int | None = None,
    method: str = "relative_magnitude",
    mbar_grid=None,
    m_grid=None,
    l_vec=None,
    alpha: float = 0.05,
    rm_method: str = "C-LF",
    grid_points: int = 1000,
    seed: int = 0,
) -> HonestResult:
    """Robust confidence intervals under bounded violations of parallel trends.

    Parameters
    ----------
    result
        An event study with ``tidy()`` (``event_time``, ``att``), a ``vcov``
        DataFrame by event time and ``reference_period`` -1: a
        Callaway-Sant'Anna ``aggregate("dynamic")`` with
        ``base_period="universal"``, :func:`~analysis.did.twfe`,
        :func:`~analysis.did.sun_abraham` or :func:`~analysis.did.two_stage`.
        Event times must run without gaps around the reference period.
    betahat, sigma, num_pre, num_post
        Instead of ``result``: the coefficients (pre-periods first, the
        reference period left out), their covariance and the counts.
    method
        ``"relative_magnitude"`` (:math:`\\Delta^{RM}(\\bar M)`) or
        ``"smoothness"`` (:math:`\\Delta^{SD}(M)`).
    mbar_grid, m_grid
        Values of :math:`\\bar M` (default ten from 0 to 2) or M (default ten
        values from 0 to the largest pre-period second difference, or to the
        target's standard error when there is none).
    l_vec
        Weights of the target on the post periods; default the first.
    alpha
        One minus the confidence level.
    rm_method
        Relative magnitudes only: ``"C-LF"`` (conditional test with the
        least-favourable first stage, HonestDiD's default) or
        ``"Conditional"``.
    grid_points, seed
        The theta grid of the test inversion (HonestDiD's default 1000 points
        on :math:`\\pm 20` standard errors of the target) and the seed of the
        least-favourable critical value's 1000 simulated draws.

    Returns
    -------
    HonestResult

    Notes
    -----
    Write :math:`\\delta = (\\delta_{pre}, \\delta_{post})` with the reference
    period's :math:`\\delta_0 = 0`. :math:`\\Delta^{SD}(M)` bounds second
    differences, :math:`|(\\delta_{t+1} - \\delta_t) - (\\delta_t -
    \\delta_{t-1})| \\le M`: M = 0 allows exactly linear trends, extrapolated
    from the pre-periods. Its intervals are the optimal fixed-length
    (FLCI) ones of Armstrong and Kolesar, :math:`v'\\hat\\beta \\pm
    h\\,cv_\\alpha(\\bar b/h)` with the weights v chosen to minimise the
    length given the worst-case bias :math:`\\bar b`.
    :math:`\\Delta^{RM}(\\bar M)` bounds each post-period first difference
    by :math:`\\bar M` times the largest pre-period one. It is a union of
    polyhedra :math:`\\{A\\delta \\le 0\\}`, one per pre-period difference and
    sign that attains the maximum; for each, :math:`\\theta_0` is accepted
    when the Andrews-Roth-Pakes conditional (or LF hybrid, with first-stage
    size alpha/10) test of :math:`E[A\\hat\\beta - A_{post}\\Gamma^{-1}
    (\\theta_0, \\tilde\\tau)] \\le 0` does not reject for some nuisance
    :math:`\\tilde\\tau`, using only the moments that involve post periods
    (HonestDiD's ``postPeriodMomentsOnly``). The interval is the hull of the
    accepted thetas of all pieces.

    Differences from R HonestDiD: the least-favourable critical value is
    simulated (1000 draws, as in R) with numpy's generator and ``seed``
    instead of R's ``set.seed(0)``, so C-LF bounds can move by one grid step
    where that critical value binds (on the README example, at 3 of 8 bounds;
    ``rm_method="Conditional"`` has no simulation). The test statistic and
    its truncation points come from the enumerated dual vertices, exactly,
    where HonestDiD solves linear programmes and bisects to 1e-6. The FLCI
    is optimised to numerical precision, where HonestDiD bisects on a
    numerical derivative and simulates folded-normal quantiles; the two
    agree to about 1e-4 on the README example.
    """
    check_choice("method", method, METHODS)
    check_choice("rm_method", rm_method, RM_METHODS)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha} must lie strictly between 0 and 1.")
    if int(grid_points) != grid_points or grid_points < 2:
        raise ValueError(f"grid_points={grid_points} must be an integer >= 2 "
                         "(HonestDiD uses 1000).")
    betahat, sigma, num_pre, num_post, source = _inputs(
        result, betahat, sigma, num_pre, num_post)
    l_vec = _target(l_vec, num_post)
    post = slice(num_pre, None)
    estimate = float(l_vec @ betahat[post])
    se = float(np.sqrt(l_vec @ sigma[post, post] @ l_vec))
    z = stats.norm.ppf(1 - alpha / 2)
    original = (estimate, estimate - z * se, estimate + z * se)

    rows = []
    if method == "smoothness":
        grid = _grid(m_grid, "m_grid", _default_m_grid(betahat, num_pre, se))
        for m in grid:
            low, high, _ = optimal_flci(betahat, sigma, num_pre, num_post, l_vec,
                                        m, alpha)
            rows.append({"M": m, "lb": low, "ub": high, "method": "FLCI",
                         "delta": "DeltaSD"})
    else:
        grid = _grid(mbar_grid, "mbar_grid", np.linspace(0, 2, 10))
        thetas = np.linspace(-20 * se, 20 * se, grid_points)
        for mbar in grid:
            low, high = _relative_magnitude_interval(
                betahat, sigma, num_pre, num_post, l_vec, mbar, alpha,
                rm_method, thetas, seed)
            rows.append({"Mbar": mbar, "lb": low, "ub": high, "method": rm_method,
                         "delta": "DeltaRM"})
    table = pd.DataFrame(rows)
    return HonestResult(
        table=table, original=original, breakdown=_breakdown(table, original),
        method=method, l_vec=l_vec, num_pre=num_pre, num_post=num_post,
        alpha=alpha, source=source,
    )


def _inputs(result, betahat, sigma, num_pre, num_post):
    """Coefficients without the reference period, their covariance, counts."""
    if result is not None:
        if any(x is not None for x in (betahat, sigma, num_pre, num_post)):
            raise ValueError("pass either result or betahat/sigma/num_pre/"
                             "num_post, not both.")
        return _from_result(result)
    if any(x is None for x in (betahat, sigma, num_pre, num_post)):
        raise ValueError("without result, pass betahat, sigma, num_pre and "
                         "num_post (pre-period coefficients first).")
    betahat = np.asarray(betahat, dtype=float).ravel()
    sigma = np.asarray(sigma, dtype=float)
    if num_pre < 1 or num_post < 1 or len(betahat) != num_pre + num_post:
        raise ValueError(
            f"betahat has {len(betahat)} entries for num_pre={num_pre} + "
            f"num_post={num_post}; both counts must be at least 1 and add up "
            "to its length (leave the reference period out)."
        )
    if sigma.shape != (len(betahat), len(betahat)):
        raise ValueError(f"sigma has shape {sigma.shape}; it must be "
                         f"{len(betahat)} x {len(betahat)}, like betahat.")
    return betahat, sigma, int(num_pre), int(num_post), ""


def _from_result(result):
    vcov = getattr(result, "vcov", None)
    if not hasattr(result, "tidy") or not isinstance(vcov, pd.DataFrame):
        raise ValueError(
            f"result ({type(result).__name__}) needs tidy() and a vcov DataFrame "
            "by event time; pass an event study (e.g. aggregate('dynamic'), "
            "twfe(..., event_study=True)) or betahat and sigma."
        )
    design = getattr(result, "design", None)
    if getattr(design, "base_period", "universal") != "universal":
        raise ValueError(
            "Callaway-Sant'Anna event studies need att_gt(..., "
            "base_period='universal') for honest_did: with a varying base "
            "period the pre-period estimates are not relative to one period."
        )
    reference = getattr(result, "reference_period", None)
    if reference != -1:
        raise ValueError(
            f"the result's reference period is {reference}; honest_did needs "
            "event time -1 normalised to zero (reference=-1)."
        )
    table = result.tidy().dropna(subset=["event_time"])
    estimates = table.set_index(table["event_time"].astype(int))["att"]
    times = [int(e) for e in estimates.index if e != reference and e in vcov.index]
    pre = [e for e in times if e < 0]
    post = [e for e in times if e >= 0]
    if (not pre or not post or pre != list(range(-len(pre) - 1, -1))
            or post != list(range(len(post)))):
        raise ValueError(
            f"event times {times} must run without gaps from the first lead to "
            "-2 and from 0 to the last lag, with at least one of each; refit "
            "with a contiguous window."
        )
    betahat = estimates.loc[times].to_numpy(dtype=float)
    sigma = vcov.loc[times, times].to_numpy(dtype=float)
    label = getattr(result, "label", type(result).__name__)
    return betahat, sigma, len(pre), len(post), f"{label}, event times {times}"


def _target(l_vec, num_post):
    if l_vec is None:
        return np.eye(num_post)[0]
    l_vec = np.asarray(l_vec, dtype=float).ravel()
    if len(l_vec) != num_post:
        raise ValueError(f"l_vec has {len(l_vec)} entries; it needs one weight "
                         f"per post period ({num_post}).")
    return l_vec


def _grid(values, name, default):
    grid = np.sort(np.asarray(default if values is None else values, dtype=float))
    if grid.ndim != 1 or len(grid) == 0 or (grid < 0).any():
        raise ValueError(f"{name} must be a non-empty list of values >= 0.")
    return grid


def _default_m_grid(betahat, num_pre, se):
    path = np.r_[betahat[:num_pre], 0.0]
    largest = np.abs(np.diff(path, 2)).max() if num_pre >= 2 else 0.0
    return np.linspace(0, largest if largest > 0 else se, 10)


def _breakdown(table, original):
    if original[1] <= 0 <= original[2]:
        return None
    excludes = ((table["lb"] > 0) | (table["ub"] < 0)).to_numpy()
    values = table.iloc[:, 0].to_numpy()
    if not excludes[0]:
        return None
    first_fail = np.flatnonzero(~excludes)
    return float(values[first_fail[0] - 1] if len(first_fail) else values[-1])


def relative_magnitude_constraints(num_pre, num_post, mbar, s, positive):
    """A of the polyhedron {A delta <= 0} in which the pre-period difference
    ending at event time s (s = -num_pre + 1, ..., 0, in HonestDiD's timing
    with the reference at 0) is the largest, with sign ``positive``."""
    n = num_pre + num_post
    first = np.zeros((n, n + 1))
    for row in range(n):
        first[row, row:row + 2] = [-1.0, 1.0]
    largest = np.zeros(n + 1)
    largest[num_pre + s - 1:num_pre + s + 1] = [-1.0, 1.0]
    if not positive:
        largest = -largest
    bound = np.vstack([np.tile(largest, (num_pre, 1)),
                       np.tile(mbar * largest, (num_post, 1))])
    A = np.vstack([first - bound, -first - bound])
    A = A[(A**2).sum(axis=1) > 1e-10]
    return np.delete(A, num_pre, axis=1)


def _basis_with_first_row(l_vec):
    """An invertible matrix whose first row is l' (l, then unit vectors)."""
    rows = [l_vec]
    for unit in np.eye(len(l_vec)):
        if np.linalg.matrix_rank(np.vstack(rows + [unit])) > len(rows):
            rows.append(unit)
    return np.vstack(rows)


def _relative_magnitude_interval(betahat, sigma, num_pre, num_post, l_vec, mbar,
                                 alpha, rm_method, thetas, seed):
    """Hull of the thetas that some piece of Delta^RM(mbar) accepts."""
    kappa = alpha / 10
    gamma_inverse = np.linalg.inv(_basis_with_first_row(l_vec))
    accepted = np.zeros(len(thetas), dtype=bool)
    for s in range(-(num_pre - 1), 1):
        for positive in (True, False):
            A = relative_magnitude_constraints(num_pre, num_post, mbar, s, positive)
            rows = (np.abs(A[:, num_pre:]).sum(axis=1) > 0 if num_post > 1
                    else np.ones(len(A), dtype=bool))
            A = A[rows]
            moved = A[:, num_pre:] @ gamma_inverse
            y = A @ betahat
            problem = MomentProblem(moved[:, 1:], A @ sigma @ A.T)
            lf_cv = (problem.least_favourable_cv(kappa, seed=seed)
                     if rm_method == "C-LF" else None)

            # Row i holds the moments when theta = thetas[i].
            shifted = y[None, :] - thetas[:, None] * moved[None, :, 0]
            accepted |= ~problem.rejects(shifted, alpha, lf_cv=lf_cv,
                                         kappa=kappa if lf_cv is not None else 0.0)
    if accepted[0] or accepted[-1]:
        warnings.warn(
            "the robust interval reaches the end of the theta grid (+-20 "
            "standard errors); its bounds are the grid's, not the interval's.",
            AnalysisWarning, stacklevel=4,
        )
    if not accepted.any():
        return np.nan, np.nan
    return float(thetas[accepted].min()), float(thetas[accepted].max())
