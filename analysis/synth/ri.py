"""Randomization inference over adoption dates for the staggered state designs.

Under the sharp null of no effect in any state and year, the outcomes do not
depend on which states adopted when, so the observed first treated years
(``gname``, 0 = never) can be reassigned across states and the statistic
recomputed. The reassignment, enumeration, seeding and p-value convention
are those of the shared module :func:`analysis.robustness.randomization_inference`
(every distinct assignment when there are few; otherwise seeded random
permutations with ``p = (1 + #{|T*| >= |T|}) / (1 + B)``).

This module adds two things that module does not have:

- :class:`CSAdoptionStatistic`, a fast statistic for it: the
  Callaway-Sant'Anna simple ATT (:func:`analysis.synth.staggered.cs_simple_att`)
  computed on a fixed outcome matrix from the reassigned cohorts, returning
  the ATT on the treatment matrix too;
- :func:`randomization_interval`: the test of a constant additive effect
  ``tau`` (outcomes ``Y - tau D`` under the observed ``D``), inverted into a
  confidence interval. The statistic is linear in the outcomes, so each
  reassignment's statistic is ``a_b - tau c_b`` with ``c_b`` the statistic
  computed on the observed treatment matrix: the statistic returns both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.robustness import p_values, randomization_inference
from analysis.synth.staggered import balanced_matrix, cs_simple_att, treatment_matrix

__all__ = ["CSAdoptionStatistic", "CSPretrendStatistic", "StaggeredRandomization",
           "pretrend_randomization", "randomization_interval",
           "staggered_randomization"]


class CSAdoptionStatistic:
    """``statistic(frame)`` for :func:`randomization_inference`.

    Returns ``[ATT on the outcomes, ATT on the observed treatment matrix]``
    for the cohorts in ``frame[gname]``; the second is the slope of the
    statistic in a constant effect (see the module notes). Equal to
    :func:`~analysis.synth.staggered.cs_simple_att` on both matrices.

    Parameters
    ----------
    sample
        Balanced long panel.
    yname, idname, tname, gname
        Columns.

    Called (``by_unit=True``) with a Series of first treated periods indexed
    by unit. It gives the same numbers as
    :class:`analysis.robustness.SimpleATT` with never-treated controls on the
    outcome and on the treatment column (checked in the tests) in about a
    tenth of the time per draw, because the per-unit changes are summed once
    here rather than per cell and draw.

    Notes
    -----
    Reassignment keeps cohort sizes, so the weights are fixed. With
    ``u_i(c) = sum over t >= c of (Y_it - Y_i,c-1)`` for every unit and
    observed cohort ``c`` (computed once), the ATT of an assignment is
    ``[sum over treated i of u_i(c_i) - sum_c n_c mean_{i never} u_i(c)] /
    sum_c n_c L_c`` with ``L_c`` the post periods of cohort ``c``: a few
    vector sums per reassignment.
    """

    def __init__(self, sample: pd.DataFrame, yname: str, *, idname: str = "unit",
                 tname: str = "year", gname: str = "gname"):
        Y, g, periods, units = balanced_matrix(sample, idname, tname, yname, gname)
        D = treatment_matrix(g, periods)
        self.gname = gname
        self.cohorts, sizes = np.unique(g[g > 0], return_counts=True)
        self.n_never = int((g == 0).sum())
        if self.n_never == 0 or len(self.cohorts) == 0:
            raise ValueError("randomization over adoption dates needs treated and "
                             "never-treated units.")
        # Check cohorts against the window once (as cs_simple_att does).
        cs_simple_att(Y, g, periods)
        bases = np.searchsorted(periods, self.cohorts - 1)
        cells = len(periods) - bases - 1
        self.denominator = float((sizes * cells).sum())
        self.contributions = [self._contributions(M, bases) for M in (Y, D)]
        self.sizes = sizes
        self.units = pd.Index(units)
        self.observed = pd.Series(g, index=self.units, name=gname)

    @staticmethod
    def _contributions(M, bases):
        return np.column_stack([(M[:, b + 1:] - M[:, [b]]).sum(axis=1)
                                for b in bases])

    def __call__(self, cohorts: pd.Series) -> list[float]:
        # The shared module passes units sorted, as here: skip the reindex.
        aligned = cohorts if cohorts.index.equals(self.units) else cohorts.reindex(
            self.units)
        g = aligned.to_numpy()
        if pd.isna(g).any():
            raise ValueError("cohorts are missing for some units of the sample.")
        g = g.astype(int)
        treated = g > 0
        column = np.searchsorted(self.cohorts, g[treated])
        values = []
        for u in self.contributions:
            own = u[np.flatnonzero(treated), column].sum()
            control = (u[~treated] @ self.sizes).sum() / self.n_never
            values.append(float((own - control) / self.denominator))
        return values


class CSPretrendStatistic:
    """Sum of squared Callaway-Sant'Anna pre-period event-time estimates.

    For event times ``e = -window, ..., -1`` the estimate is the cohort-size
    weighted mean, over cohorts with that pre-period in the window, of the
    cohort's mean change from ``g + e - 1`` to ``g + e`` minus the
    never-treated units' (the varying base period of ``att_gt``). The
    statistic ``sum_e est_e^2`` is large when the adopters' outcomes moved
    differently before adoption; its randomization distribution (adoption
    dates reassigned) gives a pre-trend test that does not rely on a
    covariance estimated from few treated states. Called with a Series of
    cohorts indexed by unit (``by_unit=True``).
    """

    def __init__(self, sample: pd.DataFrame, yname: str, window: int, *,
                 idname: str = "unit", tname: str = "year", gname: str = "gname"):
        Y, g, self.periods, units = balanced_matrix(sample, idname, tname, yname,
                                                    gname)
        # changes[:, k]: change from period k - 1 to k (column 0 unused).
        self.changes = np.diff(Y, axis=1, prepend=np.nan)
        self.window = int(window)
        self.units = pd.Index(units)

    def event_estimates(self, g: np.ndarray) -> np.ndarray:
        """The pre-period estimates for event times ``-window .. -1``."""
        never = g == 0
        cohorts, sizes = np.unique(g[~never], return_counts=True)
        control = self.changes[never].mean(axis=0)  # column 0 stays NaN
        out = np.full(self.window, np.nan)
        for k, e in enumerate(range(-self.window, 0)):
            total = weight = 0.0
            for cohort, size in zip(cohorts, sizes):
                index = int(np.searchsorted(self.periods, cohort + e))
                # The period g + e and its base g + e - 1 must be in the window.
                if cohort + e - 1 < self.periods[0] or cohort + e > self.periods[-1]:
                    continue
                cell = self.changes[g == cohort, index].mean() - control[index]
                total += size * cell
                weight += size
            if weight:
                out[k] = total / weight
        return out

    def __call__(self, cohorts: pd.Series) -> float:
        aligned = cohorts if cohorts.index.equals(self.units) else cohorts.reindex(
            self.units)
        estimates = self.event_estimates(aligned.to_numpy().astype(int))
        return float(np.nansum(estimates ** 2))


def pretrend_randomization(sample: pd.DataFrame, yname: str, *, window: int,
                           n_permutations: int, seed, n_jobs: int | None = 1):
    """Randomization p-value of :class:`CSPretrendStatistic` (larger = extreme).

    Returns the shared module's :class:`~analysis.robustness.RandomizationResult`.
    """
    statistic = CSPretrendStatistic(sample, yname, window)
    return randomization_inference(
        sample, statistic, idname="unit", gname="gname",
        n_permutations=n_permutations, seed=seed, names=["sum_sq_pre"],
        alternative="greater", by_unit=True, n_jobs=n_jobs, progress=False,
    )


@dataclass
class StaggeredRandomization:
    """The randomization test of no effect and the inverted interval."""

    statistic: float
    p_value: float
    ci_lower: float
    ci_upper: float
    alpha: float
    method: str
    n_draws: int
    n_assignments: int
    seed: object
    convention: str
    summary: str
    label: str = "Callaway-Sant'Anna simple ATT, randomization inference"

    def tidy(self) -> pd.DataFrame:
        return pd.DataFrame([{
            "att": self.statistic, "p_value": self.p_value,
            "ci_lower": self.ci_lower, "ci_upper": self.ci_upper,
            "alpha": self.alpha, "method": self.method, "n_draws": self.n_draws,
            "n_assignments": self.n_assignments,
        }])

    def __repr__(self) -> str:
        return self.summary


def staggered_randomization(
    sample: pd.DataFrame, yname: str, *, n_permutations: int, seed,
    alpha: float = 0.05, n_jobs: int | None = 1, levels: tuple[float, ...] = (),
) -> tuple[StaggeredRandomization, dict]:
    """Randomization test and interval for the Callaway-Sant'Anna simple ATT.

    Parameters
    ----------
    sample
        Balanced panel with ``unit``, ``year``, ``gname`` and ``yname``.
    n_permutations, seed
        Passed to :func:`randomization_inference` (all assignments are
        enumerated when there are at most ``n_permutations``).
    alpha
        Level of the main interval.
    n_jobs
        Worker processes for :func:`analysis.robustness.run_tasks` (1: this
        process; each draw takes well under a millisecond).
    levels
        Further ``alpha`` levels whose intervals are returned in the dict.
    """
    statistic = CSAdoptionStatistic(sample, yname)
    result = randomization_inference(
        sample, statistic, idname="unit", gname="gname",
        n_permutations=n_permutations, seed=seed, names=["att", "slope"],
        by_unit=True, n_jobs=n_jobs, progress=False,
    )
    lower, upper = _interval_from(result, alpha)
    out = StaggeredRandomization(
        statistic=float(result.observed["att"]),
        p_value=float(result.p_values["att"]), ci_lower=lower, ci_upper=upper,
        alpha=alpha, method=result.method, n_draws=len(result.draws),
        n_assignments=result.n_assignments, seed=result.seed,
        convention=result.convention,
        summary=result.summary() + "\n  (slope: the statistic on the observed "
        "treatment matrix, used only to invert the test into an interval; its "
        "p-value is not a test of anything)",
    )
    return out, {level: _interval_from(result, level) for level in levels}


def _interval_from(result, alpha):
    return randomization_interval(
        float(result.observed["att"]), float(result.observed["slope"]),
        result.draws["att"].to_numpy(), result.draws["slope"].to_numpy(),
        include_observed=result.method == "permutation", alpha=alpha,
    )


def randomization_interval(a0, c0, a, c, *, include_observed: bool, alpha: float,
                           grid_size: int = 801) -> tuple[float, float]:
    """The set of constant effects ``tau`` the randomization test accepts.

    Under ``Y(0) = Y - tau D`` the observed statistic is ``a0 - tau c0`` and
    reassignment ``b``'s is ``a_b - tau c_b``; ``p(tau)`` uses the shared
    p-value convention. The accepted set is searched on a grid of the
    estimate plus or minus ten randomization standard deviations, and its
    hull's ends are refined by bisection. An end that stays accepted at the
    grid edge is returned as infinite.
    """
    a, c = np.asarray(a, dtype=float), np.asarray(c, dtype=float)
    spread = float(np.std(a)) if len(a) > 1 and np.std(a) > 0 else max(abs(a0), 1.0)
    centre = a0 / c0

    def p(tau):
        return float(p_values([a0 - tau * c0], (a - tau * c)[:, None],
                              include_observed=include_observed)[0])

    grid = np.linspace(centre - 10 * spread, centre + 10 * spread, grid_size)
    accepted = np.flatnonzero([p(t) > alpha for t in grid])
    if len(accepted) == 0:
        return float("nan"), float("nan")
    ends = []
    for index, outward in ((accepted[0], -1), (accepted[-1], 1)):
        if not 0 <= index + outward < grid_size:
            ends.append(float(outward * np.inf))
            continue
        inside, outside = grid[index], grid[index + outward]
        for _ in range(60):
            middle = (inside + outside) / 2
            inside, outside = (middle, outside) if p(middle) > alpha else (
                inside, middle)
        ends.append(float(inside))
    return ends[0], ends[1]
