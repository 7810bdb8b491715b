"""Randomisation inference for staggered adoption designs.

Under the sharp null that adoption changed no unit's outcome, the outcomes
are fixed and only the assignment of adoption dates to units is random. Re-
assigning the observed cohort labels (first treated periods, 0 for never
treated) across units, re-estimating each time, gives the statistic's
distribution under that null; the p-value is the share of assignments whose
statistic is at least as extreme as the observed one.

The cohort sizes are kept (labels are permuted, not redrawn), optionally
within strata (e.g. states), so every re-assignment is a design the data
could have produced. When the number of distinct assignments is small they
are all enumerated; otherwise ``n_permutations`` are drawn at random with
the parallel runner, each from its own seed, so the draws do not depend on
where they run. Units may be agencies, counties or states.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.errors import AnalysisWarning
from analysis.robustness.parallel import run_tasks

__all__ = [
    "RandomizationResult",
    "count_assignments",
    "enumerate_assignments",
    "p_values",
    "randomization_inference",
]

ALTERNATIVES = ("two-sided", "greater", "less")
# Assignments that reproduce the observed statistic up to rounding count as
# ties (at least as extreme), as they would in exact arithmetic.
TIE_TOLERANCE = 1e-9


@dataclass
class RandomizationResult:
    """Observed statistics and their randomisation distribution.

    Attributes
    ----------
    observed : pandas.Series
        The statistic(s) on the observed assignment, one per name.
    draws : pandas.DataFrame
        One row per re-assignment, one column per statistic. With
        ``method="enumeration"`` the rows are every distinct assignment,
        the observed one included; with ``"permutation"`` they are random
        re-assignments, the observed one not among them.
    method : str
        ``"enumeration"`` or ``"permutation"``.
    n_assignments : int
        Number of distinct assignments that keep the cohort sizes (within
        strata).
    alternative : str
        ``"two-sided"`` (compares absolute values), ``"greater"`` or ``"less"``.
    """

    observed: pd.Series
    draws: pd.DataFrame
    method: str
    n_assignments: int
    alternative: str = "two-sided"
    strata: str | None = None
    seed: int | None = None
    n_units: int = 0
    notes: list = field(default_factory=list)

    @property
    def p_values(self) -> pd.Series:
        """Randomisation p-value of each statistic; see :func:`p_values`."""
        values = p_values(self.observed.to_numpy(float), self.draws.to_numpy(float),
                          include_observed=self.method == "permutation",
                          alternative=self.alternative)
        return pd.Series(values, index=self.observed.index, name="p_value")

    @property
    def convention(self) -> str:
        """The p-value formula, in words, for reports."""
        side = {"two-sided": "|T*| >= |T|", "greater": "T* >= T",
                "less": "T* <= T"}[self.alternative]
        if self.method == "enumeration":
            return (f"share of all {len(self.draws)} assignments (the observed one "
                    f"included) with {side}")
        return (f"(1 + number of the {len(self.draws)} random re-assignments "
                f"with {side}) / (1 + {len(self.draws)}): the observed assignment "
                "counts as one draw")

    def tidy(self) -> pd.DataFrame:
        """One row per statistic: observed value, p-value, the draws' mean,
        standard deviation and 2.5% / 97.5% quantiles, and their count."""
        draws = self.draws
        return pd.DataFrame({
            "statistic": self.observed.index,
            "observed": self.observed.to_numpy(float),
            "p_value": self.p_values.to_numpy(),
            "draws_mean": draws.mean().to_numpy(),
            "draws_sd": draws.std(ddof=1).to_numpy(),
            "draws_q025": draws.quantile(0.025).to_numpy(),
            "draws_q975": draws.quantile(0.975).to_numpy(),
            "n_draws": draws.notna().sum().to_numpy(),
            "method": self.method,
        })

    def summary(self) -> str:
        lines = [
            f"Randomisation inference ({self.method}, {self.alternative})",
            f"  units              {self.n_units}",
            f"  strata             {self.strata or 'none'}",
            f"  distinct assignments {self.n_assignments:,}",
            f"  draws              {len(self.draws):,}"
            + (f", seed {self.seed}" if self.method == "permutation" else ""),
            f"  p-value            {self.convention}",
        ]
        lines += [f"  note               {note}" for note in self.notes]
        table = self.tidy().drop(columns="method")
        return "\n".join(lines + [table.to_string(index=False, float_format="%.5f")])

    def __repr__(self) -> str:
        return self.summary()


def p_values(observed, draws, *, include_observed: bool,
             alternative: str = "two-sided") -> np.ndarray:
    """Randomisation p-values of observed statistics against their draws.

    Parameters
    ----------
    observed
        Shape (k,): the statistics on the observed assignment.
    draws
        Shape (B, k): the statistics on B re-assignments. Missing values
        (failed draws) are left out of both the count and the total.
    include_observed
        True for random draws: ``p = (1 + #extreme) / (1 + B)``, counting the
        observed assignment as a draw, which keeps the test exact (its
        size never exceeds the nominal level). False when ``draws`` already
        holds every assignment, the observed one included: ``p = #extreme / B``.
    alternative
        ``"two-sided"``: extreme means ``|T*| >= |T|``; ``"greater"``:
        ``T* >= T``; ``"less"``: ``T* <= T``. Ties within a relative 1e-9
        count as extreme.

    Returns
    -------
    numpy.ndarray
        Shape (k,).
    """
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative={alternative!r} is not supported; use one "
                         f"of {ALTERNATIVES}.")
    observed = np.atleast_1d(np.asarray(observed, dtype=float))
    draws = np.asarray(draws, dtype=float).reshape(-1, len(observed))
    if alternative == "two-sided":
        observed, draws = np.abs(observed), np.abs(draws)
    elif alternative == "less":
        observed, draws = -observed, -draws
    margin = TIE_TOLERANCE * np.maximum(np.abs(observed), 1e-300)
    valid = ~np.isnan(draws)
    extreme = ((draws >= observed - margin) & valid).sum(axis=0)
    total = valid.sum(axis=0)
    if include_observed:
        return (1 + extreme) / (1 + total)
    return np.where(total > 0, extreme / np.maximum(total, 1), np.nan)


def count_assignments(cohorts, strata=None) -> int:
    """Number of distinct assignments of the cohort labels to the units that
    keep each cohort's size (within each stratum): a product of multinomial
    coefficients ``n! / prod(n_c!)``."""
    total = 1
    for labels in _by_stratum(np.asarray(cohorts), strata).values():
        sizes = Counter(labels.tolist()).values()
        total *= math.factorial(len(labels)) // math.prod(
            math.factorial(size) for size in sizes)
    return total


def enumerate_assignments(cohorts, strata=None) -> list[np.ndarray]:
    """Every distinct assignment of the cohort labels, in lexicographic order
    within strata; each is an array aligned with ``cohorts``."""
    cohorts = np.asarray(cohorts)
    positions = _positions_by_stratum(cohorts, strata)
    per_stratum = [list(_distinct_permutations(sorted(cohorts[index].tolist())))
                   for index in positions.values()]
    assignments = []
    for combination in itertools.product(*per_stratum):
        assignment = cohorts.copy()
        for index, labels in zip(positions.values(), combination):
            assignment[index] = labels
        assignments.append(assignment)
    return assignments


def randomization_inference(
    data: pd.DataFrame,
    statistic,
    *,
    idname: str,
    gname: str,
    strata: str | None = None,
    n_permutations: int = 999,
    seed: int | None = None,
    enumerate_up_to: int | None = None,
    alternative: str = "two-sided",
    names: list[str] | None = None,
    by_unit: bool = False,
    scheduler=None,
    n_jobs: int | None = None,
    progress: bool | None = None,
) -> RandomizationResult:
    """Randomisation inference by re-assigning adoption cohorts across units.

    Parameters
    ----------
    data
        Long panel: one row per unit and period (or any rows keyed by unit).
    statistic
        ``statistic(frame) -> float | sequence | pandas.Series``: re-estimates
        on ``frame``, a copy of ``data`` whose ``gname`` column holds the
        re-assigned cohorts. Several statistics (e.g. one per outcome) give a
        joint distribution, usable for Romano-Wolf adjustment. It runs in
        worker processes, so it must be deterministic given its input.
    idname, gname
        Unit id and first treated period (0 = never treated); ``gname`` must
        be constant within each unit.
    strata
        Column constant within units (e.g. a state code): labels are only
        permuted among units of the same stratum. None: across all units.
    n_permutations
        Random re-assignments drawn when the assignments are too many to
        enumerate.
    seed
        Seed of the random re-assignments (required unless enumerated).
    enumerate_up_to
        Enumerate every assignment when there are at most this many; default
        ``n_permutations``.
    alternative
        See :func:`p_values`.
    names
        Names of the statistics; default the Series index or ``stat_0``, ...
    by_unit
        False (default): ``statistic(frame)`` as above. True:
        ``statistic(cohorts)`` with ``cohorts`` a Series of first treated
        periods indexed by unit id (sorted), for statistics that hold the
        outcomes themselves and only need the assignment (e.g.
        :class:`~analysis.robustness.fast_att.SimpleATT`), which saves
        rebuilding the frame on every draw.
    scheduler, n_jobs, progress
        Passed to :func:`~analysis.robustness.parallel.run_tasks`.

    Returns
    -------
    RandomizationResult
    """
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative={alternative!r} is not supported; use one "
                         f"of {ALTERNATIVES}.")
    units = _unit_table(data, idname, gname, strata)
    n_assignments = count_assignments(units[gname], _strata_values(units, strata))
    limit = n_permutations if enumerate_up_to is None else enumerate_up_to
    enumerate_all = n_assignments <= limit
    if not enumerate_all and (int(n_permutations) != n_permutations
                              or n_permutations < 1):
        raise ValueError(f"n_permutations={n_permutations!r} must be a positive "
                         "integer.")
    if not enumerate_all and seed is None:
        raise ValueError(
            f"{n_assignments:,} distinct assignments are too many to enumerate "
            f"(enumerate_up_to={limit}); pass seed= so the random draws can be "
            "reproduced."
        )

    reassign = _Reassign(data, statistic, idname, gname, units,
                         _strata_values(units, strata), names, by_unit)
    observed = reassign.evaluate(units[gname].to_numpy())
    reassign.names = list(observed.index)
    if enumerate_all:
        tasks = enumerate_assignments(units[gname].to_numpy(),
                                      _strata_values(units, strata))
        draws = run_tasks(reassign, tasks, scheduler=scheduler, n_jobs=n_jobs,
                          progress=progress, description="enumerating assignments")
    else:
        draws = run_tasks(reassign, range(int(n_permutations)), seed=seed,
                          scheduler=scheduler, n_jobs=n_jobs, progress=progress,
                          description="randomization inference")
    draws = pd.DataFrame(np.vstack(draws), columns=observed.index)

    notes = []
    failed = int(draws.isna().any(axis=1).sum())
    if failed:
        message = (f"{failed} of {len(draws)} re-assignments gave no statistic "
                   "(NaN); they are left out of the p-values.")
        warnings.warn(message, AnalysisWarning, stacklevel=2)
        notes.append(message)
    return RandomizationResult(
        observed=observed, draws=draws,
        method="enumeration" if enumerate_all else "permutation",
        n_assignments=n_assignments, alternative=alternative, strata=strata,
        seed=None if enumerate_all else seed, n_units=len(units), notes=notes,
    )


class _Reassign:
    """The statistic on ``data`` with re-assigned cohorts: a picklable task
    function called with an assignment (enumeration) or a task index and a
    generator (random permutation)."""

    def __init__(self, data, statistic, idname, gname, units, strata, names,
                 by_unit):
        self.data = None if by_unit else data
        self.statistic = statistic
        self.gname = gname
        self.unit_ids = pd.Index(units[idname], name=idname)
        self.cohorts = units[gname].to_numpy()
        self.row_unit = None if by_unit else self.unit_ids.get_indexer(data[idname])
        self.positions = list(_positions_by_stratum(self.cohorts, strata).values())
        self.names = names

    def evaluate(self, assignment: np.ndarray) -> pd.Series:
        """The statistic(s) under one assignment (aligned with the units)."""
        if self.data is None:
            value = self.statistic(pd.Series(assignment, index=self.unit_ids,
                                             name=self.gname))
        else:
            frame = self.data.copy()
            frame[self.gname] = assignment[self.row_unit]
            value = self.statistic(frame)
        return _as_series(value, self.names)

    def __call__(self, task, rng=None) -> np.ndarray:
        if rng is None:
            assignment = np.asarray(task)
        else:
            assignment = self.cohorts.copy()
            for index in self.positions:
                assignment[index] = rng.permutation(self.cohorts[index])
        return self.evaluate(assignment).to_numpy(float)


def _unit_table(data, idname, gname, strata) -> pd.DataFrame:
    columns = [idname, gname] + ([strata] if strata is not None else [])
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise ValueError(f"column(s) {missing} not in data; idname, gname and "
                         "strata must name columns.")
    if data[columns].isna().any().any():
        bad = data[columns].isna().any()
        raise ValueError(f"missing values in {list(bad[bad].index)}; every row "
                         "needs a unit, a cohort and (if used) a stratum.")
    for column in columns[1:]:
        varying = data.groupby(idname)[column].nunique()
        if (varying > 1).any():
            unit = varying[varying > 1].index[0]
            raise ValueError(
                f"{column!r} varies within unit {unit} ({idname}); cohorts and "
                "strata must be constant within units to be re-assigned."
            )
    units = data[columns].drop_duplicates(idname).sort_values(idname)
    return units.reset_index(drop=True)


def _strata_values(units, strata):
    return None if strata is None else units[strata].to_numpy()


def _positions_by_stratum(cohorts, strata) -> dict:
    if strata is None:
        return {None: np.arange(len(cohorts))}
    strata = np.asarray(strata)
    return {value: np.flatnonzero(strata == value)
            for value in pd.unique(strata)}


def _by_stratum(cohorts, strata) -> dict:
    return {key: cohorts[index]
            for key, index in _positions_by_stratum(cohorts, strata).items()}


def _distinct_permutations(labels: list):
    """Distinct orderings of a sorted multiset, each exactly once."""
    counts = Counter(labels)
    values = sorted(counts)
    current: list = []

    def extend():
        if len(current) == len(labels):
            yield tuple(current)
            return
        for value in values:
            if counts[value]:
                counts[value] -= 1
                current.append(value)
                yield from extend()
                current.pop()
                counts[value] += 1

    yield from extend()


def _as_series(value, names) -> pd.Series:
    if isinstance(value, pd.Series):
        series = value.astype(float)
        if names is not None:
            series.index = list(names)
        return series
    values = np.atleast_1d(np.asarray(value, dtype=float)).ravel()
    if names is None:
        names = ["statistic"] if len(values) == 1 else [
            f"stat_{i}" for i in range(len(values))]
    if len(names) != len(values):
        raise ValueError(f"the statistic returned {len(values)} values for "
                         f"{len(names)} names.")
    return pd.Series(values, index=list(names))
