"""Result objects of :func:`analysis.did.att_gt` and its aggregations.

Results describe themselves: the design (estimator, comparison group,
anticipation, base period, inference, units and clusters) prints with the
estimates, in a terminal and as HTML in a notebook, and ``tidy()`` gives a
DataFrame. The unit-level influence functions stay on the result so that
aggregation and bootstrap bands need no re-estimation.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis.ledger import Ledger

_CONTROL_LABELS = {"nevertreated": "never treated", "notyettreated": "not yet treated"}


@dataclass(frozen=True)
class Design:
    """The choices behind an estimate, echoed by every printout."""

    yname: str
    tname: str
    idname: str
    gname: str
    xformla: str | None
    control_group: str
    est_method: str
    anticipation: float
    base_period: str
    weightsname: str | None
    cluster_name: str | None
    bootstrap: bool
    n_boot: int
    boot_weights: str
    alpha: float
    seed: int
    n_units: int
    n_clusters: int
    periods: np.ndarray = field(repr=False)
    notes: list = field(default_factory=list)

    @property
    def label(self) -> str:
        control = _CONTROL_LABELS[self.control_group]
        return f"Callaway-Sant'Anna ({self.est_method}, {control})"

    @property
    def inference(self) -> str:
        clusters = f"clustered by {self.cluster_name}" if self.cluster_name else (
            f"clustered by {self.idname}")
        if self.bootstrap:
            return (f"multiplier bootstrap ({self.boot_weights} weights, "
                    f"{self.n_boot} draws, seed {self.seed}), {clusters}")
        return f"analytic (influence function), {clusters}"

    def lines(self) -> list[tuple[str, str]]:
        """(name, value) pairs describing the design."""
        rows = [
            ("Estimator", "Callaway & Sant'Anna (2021) ATT(g,t)"),
            ("Outcome", self.yname),
            ("est_method", {"dr": "dr (doubly robust)", "ipw": "ipw (standardised)",
                            "reg": "reg (outcome regression)"}[self.est_method]),
            ("Covariates", self.xformla or "none"),
            ("Control group", _CONTROL_LABELS[self.control_group]),
            ("Anticipation", f"{self.anticipation:g}"),
            ("Base period", self.base_period),
            ("Inference", self.inference),
            ("Units", f"{self.n_units:,}"),
            ("Clusters", f"{self.n_clusters:,}"),
            ("alpha", f"{self.alpha:g}"),
        ]
        if self.weightsname:
            rows.insert(4, ("Weights", self.weightsname))
        rows += [("Note", note) for note in self.notes]
        return rows


def _interval_columns(frame, alpha, critical=None):
    z = stats.norm.ppf(1 - alpha / 2)
    frame["ci_lower"] = frame["att"] - z * frame["se"]
    frame["ci_upper"] = frame["att"] + z * frame["se"]
    if critical is not None:
        frame["band_lower"] = frame["att"] - critical * frame["se"]
        frame["band_upper"] = frame["att"] + critical * frame["se"]
    return frame


def _text(title: str, design: Design, table: pd.DataFrame, head: list[str]) -> str:
    width = max(len(name) for name, _ in design.lines())
    lines = [title, "=" * len(title)]
    lines += [f"{name:<{width}} : {value}" for name, value in design.lines()]
    body = table.to_string(index=False, float_format=lambda v: f"{v:.4f}")
    lines += head + ["", body]
    return "\n".join(lines)


def _html(title: str, design: Design, table: pd.DataFrame, head: list[str]) -> str:
    rows = "".join(
        f"<tr><th style='text-align:left'>{html.escape(name)}</th>"
        f"<td style='text-align:left'>{html.escape(str(value))}</td></tr>"
        for name, value in design.lines()
    )
    extra = "".join(f"<p>{html.escape(line)}</p>" for line in head if line)
    body = table.to_html(index=False, float_format=lambda v: f"{v:.4f}", na_rep="")
    return f"<h4>{html.escape(title)}</h4><table>{rows}</table>{extra}{body}"


@dataclass
class ATTgtResult:
    """Group-time average treatment effects with their influence functions.

    Attributes
    ----------
    table
        One row per (group, time): ``base`` period, ``post``, unit counts,
        ``att`` and ``se``.
    influence
        ``(n_units, n_cells)`` influence functions, columns in table order.
    design
        The :class:`Design` echoed by printouts.
    critical_value
        Sup-t critical value of the uniform band from the bootstrap (None when
        analytic, or when R did's checks fell back to pointwise intervals).
    """

    table: pd.DataFrame
    influence: np.ndarray = field(repr=False)
    arrays: object = field(repr=False)
    design: Design = field(repr=False)
    critical_value: float | None = None

    @property
    def ledger(self) -> Ledger:
        """Rows dropped or recoded on the way in."""
        return self.arrays.ledger

    @property
    def label(self) -> str:
        return self.design.label

    @property
    def band(self) -> str:
        return "uniform" if self.critical_value is not None else "pointwise"

    def tidy(self) -> pd.DataFrame:
        """Columns group, time, event_time, base, post, n_treated, n_control,
        att, se, ci_lower, ci_upper (pointwise), and band_lower, band_upper
        (uniform sup-t) when bootstrapped; event_time counts periods, not
        calendar units; n_treated and n_control count the units of each 2x2
        comparison."""
        frame = self.table[["group", "time", "base", "post", "n_treated",
                            "n_control", "att", "se"]].copy()
        frame.insert(2, "event_time", _event_time(frame, self.design.periods))
        return _interval_columns(frame, self.design.alpha, self.critical_value)

    def aggregate(
        self,
        kind: str,
        *,
        min_e: float = -np.inf,
        max_e: float = np.inf,
        balance_e: int | None = None,
        na_rm: bool = False,
        bootstrap: bool | None = None,
        alpha: float | None = None,
    ) -> "AggregateResult":
        """Aggregate ATT(g, t) into ``kind`` = simple, group, calendar or dynamic.

        See :func:`analysis.did.aggregate.aggregate` for the options and the
        estimator.
        """
        from analysis.did.aggregate import aggregate

        return aggregate(self, kind, min_e=min_e, max_e=max_e, balance_e=balance_e,
                         na_rm=na_rm, bootstrap=bootstrap, alpha=alpha)

    def summary(self) -> str:
        shown = self.tidy().drop(columns=["base"])
        head = [f"Band: {self.band}"]
        return _text("Group-time average treatment effects", self.design, shown, head)

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        shown = self.tidy().drop(columns=["base"])
        return _html("Group-time average treatment effects", self.design, shown,
                     [f"Band: {self.band}"])


def _event_time(frame: pd.DataFrame, periods: np.ndarray) -> np.ndarray:
    """Event time in periods: position of t minus position of g's first period."""
    time_position = np.searchsorted(periods, frame["time"].to_numpy())
    group_position = np.searchsorted(periods, frame["group"].to_numpy(), side="left")
    return time_position - group_position


@dataclass
class AggregateResult:
    """An aggregation of ATT(g, t): overall effect and, except for ``simple``,
    one effect per event time, group or calendar period.

    Attributes
    ----------
    kind
        ``"simple"``, ``"group"``, ``"calendar"`` or ``"dynamic"``.
    overall_att, overall_se
        The overall summary parameter and its standard error.
    table
        Per-element estimates (empty for ``simple``).
    band
        ``"uniform"`` (bootstrap sup-t band) or ``"pointwise"``.
    reference_period
        Event time normalised to zero (dynamic with a universal base period),
        otherwise None.
    vcov
        ``kind="dynamic"``: covariance of the event-time estimates from their
        influence functions (cluster sums, the scaling of the analytic
        ``se``), indexed by event time; None for the other kinds.
    label
        E.g. ``"Callaway-Sant'Anna (dr, never treated)"``.
    """

    kind: str
    overall_att: float
    overall_se: float
    table: pd.DataFrame
    design: Design = field(repr=False)
    band: str = "pointwise"
    critical_value: float | None = None
    reference_period: int | None = None
    influence: np.ndarray | None = field(default=None, repr=False)
    overall_influence: np.ndarray | None = field(default=None, repr=False)
    options: dict = field(default_factory=dict)
    ledger: Ledger | None = field(default=None, repr=False)
    vcov: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return self.design.label

    @property
    def alpha(self) -> float:
        return self.options.get("alpha", self.design.alpha)

    @property
    def overall_ci(self) -> tuple[float, float]:
        z = stats.norm.ppf(1 - self.alpha / 2)
        return (self.overall_att - z * self.overall_se,
                self.overall_att + z * self.overall_se)

    @property
    def n_clusters(self) -> int:
        return self.design.n_clusters

    def tidy(self) -> pd.DataFrame:
        """Per-element rows (one row ``kind='simple'`` for the simple kind):
        the element column, att, se, ci_lower, ci_upper, and band_lower,
        band_upper when the band is uniform."""
        if self.kind == "simple":
            frame = pd.DataFrame({"kind": ["simple"], "att": [self.overall_att],
                                  "se": [self.overall_se]})
            return _interval_columns(frame, self.alpha)
        critical = self.critical_value if self.band == "uniform" else None
        return _interval_columns(self.table.copy(), self.alpha, critical)

    def summary(self) -> str:
        low, high = self.overall_ci
        head = [
            "",
            f"Aggregation: {self.kind}"
            + "".join(f", {k}={v}" for k, v in self.options.items() if k != "alpha"),
            f"Overall ATT: {self.overall_att:.4f} (se {self.overall_se:.4f}), "
            f"{100 * (1 - self.alpha):g}% CI [{low:.4f}, {high:.4f}]",
            f"Band: {self.band}"
            + (f"; reference period {self.reference_period}"
               if self.reference_period is not None else ""),
        ]
        return _text(f"Aggregated ATT ({self.kind})", self.design, self.tidy(), head)

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        low, high = self.overall_ci
        head = [f"Aggregation: {self.kind}. Overall ATT {self.overall_att:.4f} "
                f"(se {self.overall_se:.4f}), CI [{low:.4f}, {high:.4f}]. "
                f"Band: {self.band}."]
        return _html(f"Aggregated ATT ({self.kind})", self.design, self.tidy(), head)
