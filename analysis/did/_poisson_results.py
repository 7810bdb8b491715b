"""Result objects of :func:`analysis.did.poisson.poisson_etwfe`.

ATT(g, t) of a Poisson ETWFE fit on three scales, and their averages. Every
reported effect is a smooth function of the cell coefficients, so its
standard error comes from one gradient matrix and the cells' covariance.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
from scipy import stats

SCALES = ("log", "proportional", "count")
KINDS = ("simple", "group", "calendar", "dynamic")
_ELEMENT = {"group": "group", "calendar": "time", "dynamic": "event_time"}
_SCALE_TEXT = {
    "log": "log coefficient",
    "proportional": "proportional effect mu1/mu0 - 1",
    "count": "average effect on the expected count (treated rows)",
}


def _effects(cells: pd.DataFrame, vcov: np.ndarray, member: np.ndarray) -> dict:
    """Estimates and covariances of the averages picked out by ``member``.

    Notes
    -----
    For the cells :math:`c` in a set :math:`S` with :math:`n_c` treated rows,
    fitted treated means summing to :math:`M_c` and
    :math:`M^0_c = M_c e^{-\\beta_c}`: the log effect is
    :math:`\\sum n_c \\beta_c / \\sum n_c`, the count effect
    :math:`\\sum (M_c - M^0_c) / \\sum n_c` and the proportional effect
    :math:`\\sum M_c / \\sum M^0_c - 1` (exactly :math:`e^{\\beta_c} - 1`
    for one cell). Holding the fixed effects at their estimates,
    :math:`\\partial M_c / \\partial \\beta_c = M_c`, so the gradients are
    :math:`n_c / \\sum n`, :math:`M_c / \\sum n` and :math:`M_c / \\sum M^0`.
    """
    b = cells["coefficient"].to_numpy(float)
    n = cells["n_obs"].to_numpy(float)
    fitted = cells["fitted_treated"].to_numpy(float)
    untreated = fitted * np.exp(-b)
    rows = member @ n
    gradients = {
        "log": member * n / rows[:, None],
        "count": member * fitted / rows[:, None],
        "proportional": member * fitted / (member @ untreated)[:, None],
    }
    estimates = {
        "log": gradients["log"] @ b,
        "count": member @ (fitted - untreated) / rows,
        "proportional": (member @ fitted) / (member @ untreated) - 1,
    }
    return {
        scale: (estimates[scale], gradients[scale] @ vcov @ gradients[scale].T)
        for scale in SCALES
    }


class _PoissonTables:
    """Printing and tidying shared by cell-level and aggregated results."""

    band = "pointwise"
    reference_period = None

    def tidy(self, scale: str = "log") -> pd.DataFrame:
        """Estimates on ``scale`` ("log", "proportional" or "count") with
        columns att, se, ci_lower, ci_upper (normal, pointwise) and p_value."""
        if scale not in SCALES:
            raise ValueError(f"scale={scale!r} is not supported; use one of {SCALES}.")
        table = self._keys.copy()
        table["att"] = self._estimates[scale]
        table["se"] = self._ses[scale]
        z = stats.norm.ppf(1 - self.alpha / 2)
        table["ci_lower"] = table["att"] - z * table["se"]
        table["ci_upper"] = table["att"] + z * table["se"]
        table["p_value"] = 2 * stats.norm.sf(np.abs(table["att"] / table["se"]))
        return table.reset_index(drop=True)

    def covariance(self, scale: str = "log") -> pd.DataFrame:
        """Covariance of the estimates on ``scale``, rows in tidy() order."""
        if scale not in SCALES:
            raise ValueError(f"scale={scale!r} is not supported; use one of {SCALES}.")
        index = pd.Index(self._labels, name="term")
        return pd.DataFrame(self._vcovs[scale], index=index, columns=index)

    @property
    def vcov(self) -> pd.DataFrame:
        """Covariance of the log-scale estimates."""
        return self.covariance("log")

    def _combined(self) -> pd.DataFrame:
        table = self._keys.copy()
        for scale, short in (("log", "log"), ("proportional", "prop"),
                             ("count", "count")):
            table[short] = self._estimates[scale]
            table[f"{short}_se"] = self._ses[scale]
        return table

    def _header_items(self) -> list[tuple[str, str]]:
        d = self.design
        items = [
            ("outcome", d["yname"]),
            ("offset", f"log({d['exposure']})" if d["exposure"] else "none"),
            ("fixed effects", f"{d['fixed_effects']} + {d['tname']}"),
            ("control group", d["control_group"]
             + (f" (cells relative to period {d['first_period']})"
                if d["control_group"] == "nevertreated" else "")),
            ("controls", d["xformla"] or "none"),
            ("clusters", f"{d['n_clusters']} ({d['cluster']}), CR1"),
            ("small sample", d["small_sample"]),
            ("observations", f"{d['n_obs']:,}"),
            ("units", f"{d['n_units']:,}"),
            ("periods", f"{d['n_periods']}"),
            ("intervals", f"{1 - self.alpha:.0%} pointwise, normal"),
        ]
        items += [("note", note) for note in d["notes"]]
        return items

    def summary(self) -> str:
        """The design header and the estimates on all three scales, as text."""
        lines = [self._title(), "=" * len(self._title())]
        lines += [f"  {key:<16}{value}" for key, value in self._header_items()]
        lines.append("scales: log = coefficient, prop = mu1/mu0 - 1, "
                     "count = mean(mu1 - mu0) on treated rows")
        lines.append(self._combined().to_string(index=False, float_format="%.5f"))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        header = "".join(
            f"<tr><th style='text-align:left'>{html.escape(key)}</th>"
            f"<td style='text-align:left'>{html.escape(str(value))}</td></tr>"
            for key, value in self._header_items()
        )
        table = self._combined().to_html(index=False, float_format="%.5f",
                                         na_rep="")
        return (f"<div><b>{html.escape(self._title())}</b><table>{header}</table>"
                f"{table}</div>")


class PoissonETWFEResult(_PoissonTables):
    """Cell-level ATT(g, t) of a Poisson ETWFE fit.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per cohort x period cell: ``group``, ``time``, ``event_time``
        (in periods), ``post``, ``n_obs`` (treated rows), ``coefficient``
        (NaN when not estimable) and ``fitted_treated`` (sum of fitted means).
    vcov : pandas.DataFrame
        Covariance of the log coefficients (``covariance(scale)`` for the
        other scales).
    band, reference_period, label
        ``"pointwise"``; None (no omitted event time); ``"Poisson ETWFE"``.
    design : dict
        The call's choices, echoed by ``repr``.
    ledger : analysis.ledger.Ledger
        Rows dropped on the way to the estimation sample.
    fit : analysis.did._poisson.PoissonFit
        All coefficients (period effects, cells, controls) and their
        covariance, named by ``names``.
    """

    label = "Poisson ETWFE"

    def __init__(self, *, table, vcov_cells, design, alpha, ledger, fit, names):
        self.table = table
        self.design = design
        self.alpha = alpha
        self.ledger = ledger
        self.fit = fit
        self.names = names
        self.n_clusters = design["n_clusters"]
        estimated = table["coefficient"].notna().to_numpy()
        self._estimated = estimated
        self._vcov_cells = vcov_cells
        self._keys = table[["group", "time", "event_time", "post", "n_obs"]]
        self._labels = [f"ATT({g},{t})" for g, t in zip(table["group"],
                                                         table["time"])]
        self._fill(np.eye(len(table), dtype=bool)[:, estimated])

    def _fill(self, member):
        cells = self.table[self._estimated]
        usable = member.any(axis=1)
        effects = _effects(cells, self._vcov_cells, member[usable].astype(float))
        self._estimates, self._ses, self._vcovs = {}, {}, {}
        for scale, (estimate, vcov) in effects.items():
            full = np.full(len(member), np.nan)
            full[usable] = estimate
            cov = np.full((len(member), len(member)), np.nan)
            cov[np.ix_(usable, usable)] = vcov
            self._estimates[scale] = full
            self._vcovs[scale] = cov
            self._ses[scale] = np.sqrt(np.diag(cov))

    def _title(self) -> str:
        return f"{self.design['estimator']}: ATT(g,t)"

    def aggregate(self, kind: str) -> PoissonAggregateResult:
        """Average the cells: ``simple`` (all post-treatment cells), ``group``
        (per cohort), ``calendar`` (per period) or ``dynamic`` (per event
        time, including the placebo cells under ``nevertreated``).

        Cells are weighted by their treated rows, so ``simple`` is the mean
        over treated unit-periods, as etwfe's ``emfx``; not-estimable cells
        are left out.
        """
        if kind not in KINDS:
            raise ValueError(f"kind={kind!r} is not supported; use one of {KINDS}.")
        return PoissonAggregateResult(self, kind)


class PoissonAggregateResult(_PoissonTables):
    """Aggregated Poisson ETWFE effects on the log, proportional and count
    scales; ``tidy(scale)`` gives one row per element (cohort, period or
    event time), or one row for ``simple``."""

    def __init__(self, cells_result: PoissonETWFEResult, kind: str):
        self.kind = kind
        self.design = cells_result.design
        self.alpha = cells_result.alpha
        self.ledger = cells_result.ledger
        self.label = cells_result.label
        self.n_clusters = cells_result.n_clusters
        table = cells_result.table[cells_result._estimated]
        keep = table["post"].to_numpy() if kind != "dynamic" else np.ones(
            len(table), bool)
        if kind == "simple":
            values = np.array(["simple"])
            column = pd.Series(["simple"] * len(table), index=table.index)
        else:
            column = table[_ELEMENT[kind]]
            values = np.sort(column[keep].unique())
        member = (column.to_numpy()[None, :] == values[:, None]) & keep[None, :]
        counts = member @ table["n_obs"].to_numpy()
        name = "kind" if kind == "simple" else _ELEMENT[kind]
        self._keys = pd.DataFrame({name: values, "n_obs": counts})
        self._labels = [f"{name}::{v}" for v in values]
        effects = _effects(table, cells_result._vcov_cells, member.astype(float))
        self._estimates = {s: e for s, (e, _) in effects.items()}
        self._vcovs = {s: v for s, (_, v) in effects.items()}
        self._ses = {s: np.sqrt(np.diag(v)) for s, v in self._vcovs.items()}

    def _title(self) -> str:
        return f"{self.design['estimator']}: {self.kind} aggregation"
