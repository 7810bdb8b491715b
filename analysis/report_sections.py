"""Report sections shared by the evaluation notebooks.

Each function displays one section of an evaluation report (Markdown, tables
and figures) from the plan and the saved results, so that every evaluation's
notebook reads the same way and prints numbers through the same code
(:mod:`analysis.report_tables`). Figures are saved with
:func:`analysis.plots.save_figure` (byte-stable) and returned for display.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator
import pandas as pd
from IPython.display import Markdown, display

from analysis.deviations import deviations
from analysis.io import read_panel
from analysis.plans import load_plan, plan_table
from analysis.plots import save_figure
from analysis.plots.event_study import plot_event_study
from analysis.plots.rollout import plot_rollout
from analysis.report_tables import (
    cohort_sizes,
    coverage_grid,
    literature_table,
    plain_summary,
    primary_estimates,
    sources_table,
)
from analysis.store import list_results, load_result


def _md(text: str) -> None:
    display(Markdown(text))


def show_plan(evaluation: str) -> pd.DataFrame:
    """The plan file as a table."""
    plan = load_plan(evaluation)
    _md(f"**Plan** `plans/{evaluation}.toml` (checked against the plan schema, "
        "`analysis.plans`):")
    return plan_table(plan).set_index("field")


def show_deviations(evaluation: str) -> pd.DataFrame:
    """Every check of the saved results against the plan, deviations first."""
    table = deviations(load_plan(evaluation))
    flagged = table[table["deviates"]]
    _md(f"**Deviations from the plan: {len(flagged)} of {len(table)} checks.** "
        + ("; ".join(f"`{c}`" for c in flagged["check"]) if len(flagged) else
           "None.") + " Each row compares what the plan fixed with what the "
        "saved results show (`analysis.deviations`).")
    return table.sort_values("deviates", ascending=False, kind="stable").set_index(
        "check")


def show_summary(evaluation: str) -> pd.DataFrame:
    """Plain-words summary and the primary estimates with MDE and bounds."""
    _md(plain_summary(evaluation))
    plan = load_result(evaluation, "summary").record["plan"]
    saved = set(list_results(evaluation))
    notes = []
    if "multiplicity" in saved:
        table = load_result(evaluation, "multiplicity").tidy().set_index("outcome")
        row = table.loc[plan["primary"]]
        notes.append(f"randomization-inference p-value {row['p_randomization']:.3f} "
                     f"(Holm-adjusted over the plan's {len(table)} outcomes "
                     f"{row['p_randomization_holm']:.3f}; analytic p "
                     f"{row['p_analytic']:.3f}, Holm {row['p_analytic_holm']:.3f})")
    if f"{plan['primary']}__spec_curve" in saved:
        summary = load_result(evaluation, f"{plan['primary']}__spec_curve").record[
            "summary"]
        notes.append(f"across {summary['n_estimated']} specifications the estimate "
                     f"ranges from {summary['min']:+.3f} to {summary['max']:+.3f} "
                     f"(median {summary['median']:+.3f})")
    if notes:
        _md("**Robustness in brief:** " + "; ".join(notes)
            + " (details in the robustness section).")
    return primary_estimates(evaluation).set_index("estimator").round(4)


def show_rollout(evaluation: str, figure_name: str, title: str) -> plt.Figure:
    """Rollout heat map of the primary estimation sample, and cohort sizes."""
    plan = load_result(evaluation, "summary").record["plan"]
    sample = load_result(evaluation, f"{plan['primary']}__sample").tidy()
    time = "quarter" if plan.get("period") == "quarter" else "year"
    figure, ax = plt.subplots(figsize=(8, 6))
    fmt = (lambda q: f"{q // 4}Q{q % 4 + 1}") if time == "quarter" else None
    plot_rollout(sample, unit_col="unit", period_col=time, gname_col="cohort",
                 ax=ax, title=title, period_format=fmt)
    figure.tight_layout()
    save_figure(figure, figure_name)
    display(cohort_sizes(evaluation).set_index("cohort"))
    return figure


def show_data(evaluation: str, label_col: str | None = None) -> None:
    """Sources with hashes, a unit x year coverage grid, and the audit ledger."""
    plan = load_result(evaluation, "summary").record["plan"]
    _md("**Sources.** Every raw file behind the estimates, with the sha256 the "
        "estimates were computed from and whether it matches the manifest.")
    display(sources_table(evaluation).set_index("file"))

    sample = load_result(evaluation, f"{plan['primary']}__sample")
    if plan.get("period", "year") == "year":
        _md(f"**Coverage of the primary outcome** (`{plan['primary']}`), "
            f"{plan['first_year']}-{plan['last_year']}: `ok` usable, `partial` "
            "fewer than 12 months reported, `missing` no positive rate; "
            "`in_sample` says whether the unit entered the balanced sample.")
        panel = read_panel(plan["panel"]).frame
        grid = coverage_grid(panel, plan, set(sample.tidy()["unit"]), label_col)
        with pd.option_context("display.max_rows", 200):
            display(grid)
    _md("**Audit ledger** of the primary estimation sample: every row removed "
        "or recoded on the way from the panel, with the reason.")
    ledger = pd.DataFrame(sample.record["ledger"])
    display(ledger[["step", "action", "reason", "rows_in", "rows_out",
                    "rows_affected", "examples"]])


def event_study_figure(evaluation: str, figure_name: str) -> plt.Figure:
    """Robust event study beside TWFE for every outcome of the plan."""
    plan = load_result(evaluation, "summary").record["plan"]
    # Saved records sort their keys: put the primary outcome first again.
    order = [plan["primary"], *plan["secondary"]]
    order += [o for o in plan["outcomes"] if o not in order]
    outcomes = {outcome: plan["outcomes"][outcome] for outcome in order}
    figure, axes = plt.subplots(1, len(outcomes), figsize=(6 * len(outcomes), 5.5),
                                squeeze=False)
    for ax, (outcome, label) in zip(axes[0], outcomes.items()):
        results = [load_result(evaluation, f"{outcome}__cs_dynamic")]
        if f"{outcome}__twfe_es" in list_results(evaluation):
            results.append(load_result(evaluation, f"{outcome}__twfe_es"))
        plot_event_study(results, ax=ax, title=label)
    figure.tight_layout()
    save_figure(figure, figure_name)
    return figure


def event_time_table(evaluation: str) -> pd.DataFrame:
    """Primary event study by event time: pointwise interval and uniform band."""
    plan = load_result(evaluation, "summary").record["plan"]
    dynamic = load_result(evaluation, f"{plan['primary']}__cs_dynamic")
    table = dynamic.tidy().rename(columns={
        "ci_lower": "pointwise_lower", "ci_upper": "pointwise_upper",
        "band_lower": "uniform_lower", "band_upper": "uniform_upper"})
    _md(f"`{plan['primary']}`, {dynamic.label}: {1 - plan['alpha']:.0%} pointwise "
        f"intervals and {dynamic.band} bands (sup-t, {plan['n_boot']} bootstrap "
        f"draws, seed {plan['seed']}) by event time.")
    return table.set_index("event_time").round(4)


def thin_cells(evaluation: str, floor: int = 5) -> pd.DataFrame:
    """Group-time effects of the primary outcome that rest on few units.

    A not-yet-treated comparison group shrinks to the last cohort in the last
    window years, and small cohorts are thin on the treated side; the floor
    is R ``did``'s (5 plus the number of covariates; there are none here).
    Says so in words and returns those cells with their unit counts.
    """
    plan = load_result(evaluation, "summary").record["plan"]
    name = f"{plan['primary']}__cs_attgt"
    if name not in list_results(evaluation):
        _pending("Unit counts per group-time cell", name, evaluation)
        return pd.DataFrame()
    cells = load_result(evaluation, name).tidy()
    estimated = cells["att"].notna() & (cells["time"] != cells["base"])
    thin = estimated & ((cells["n_treated"] < floor) | (cells["n_control"] < floor))
    post = thin & cells["post"]
    _md(f"**Unit counts behind the group-time effects** (`{plan['primary']}`): "
        f"{int(thin.sum())} of {int(estimated.sum())} estimated ATT(g, t) rest on "
        f"fewer than {floor} treated or comparison units, {int(post.sum())} of "
        "them after activation. Their estimates depend on a handful of units "
        "(with a not-yet-treated comparison, the last cohort alone in the last "
        "window year), and the aggregated effects average over them. "
        "The smallest comparison group of any post-activation cell has "
        f"{int(cells.loc[estimated & cells['post'], 'n_control'].min())} unit(s).")
    return cells.loc[thin, ["group", "time", "event_time", "n_treated",
                            "n_control", "att", "se"]].round(4)


def overall_table(evaluation: str) -> pd.DataFrame:
    """Overall effects of every outcome and estimator (the saved summary)."""
    table = load_result(evaluation, "summary").tidy()
    return table.set_index(["outcome", "estimator"]).drop(
        columns=[c for c in ["label"] if c in table]).round(4)


def _pending(title: str, name: str, evaluation: str) -> None:
    _md(f"**{title}: pending.** The result `{name}` is not among the saved "
        f"results of `{evaluation}` (the robustness stage, "
        "`analysis.evaluations.sc_robustness`, did not run for this plan); the "
        "deviation table above flags the step if the plan requires it.")


def show_diagnostics(evaluation: str) -> None:
    """Goodman-Bacon weights, pre-trend tests with their power, HonestDiD."""
    plan = load_result(evaluation, "summary").record["plan"]
    primary = plan["primary"]
    saved = set(list_results(evaluation))
    bacon = load_result(evaluation, f"{primary}__bacon")
    comparisons = bacon.tidy()
    weight = float(bacon.record["forbidden_weight"])
    _md(f"**Goodman-Bacon decomposition** of the static TWFE estimate "
        f"({bacon.record['twfe_estimate']:.4f}): {weight:.1%} of its weight is on "
        "comparisons that use already-treated units as controls (problematic when "
        "effects change over time). By comparison type (estimate: weighted mean "
        "of the 2x2 estimates). No unit here is never treated: 'never treated' "
        "names the comparison cohort, untreated throughout the window.")
    if "type" in comparisons:
        by_type = comparisons.assign(
            product=comparisons["weight"] * comparisons["estimate"]).groupby(
            "type").agg(comparisons=("weight", "size"), weight=("weight", "sum"),
                        product=("product", "sum"))
        # The weighted mean of each type's 2x2 estimates.
        by_type["estimate"] = by_type.pop("product") / by_type["weight"]
        display(by_type.round(4))

    pretrend = load_result(evaluation, f"{primary}__twfe_pretrend")
    _md(f"**Pre-trend test (TWFE leads):** `{pretrend.record['summary']}`.")
    name = f"{primary}__honest"
    if name not in saved:
        _pending("Pre-trend power and HonestDiD bounds", name, evaluation)
        return
    honest = load_result(evaluation, name)
    test = honest.record["pretrend"]
    power = pd.DataFrame(honest.record["power"])
    slopes = ", ".join(f"{row.slope_per_year:.4f} per year with {row.power:.0%} "
                       "probability" for row in power.itertuples())
    _md(f"**Pre-trend test (Callaway-Sant'Anna, universal base period, event "
        f"times {honest.record['event_window'][0]} to -2):** chi2({test['df']}) = "
        f"{test['statistic']:.3f}, p = {test['p_value']:.3f}. **Its power:** it "
        f"would detect a linear pre-trend of slope {slopes} (log points per "
        "year). A test that does not reject says little about trends smaller "
        "than these. (The summary table's `pretrend_p` is another test: all "
        "pre-period estimates of the main, varying-base event study.)")
    breakdown = honest.record["breakdown"]
    _md("**HonestDiD relative-magnitude bounds** (Rambachan and Roth) for the "
        "mean post-activation effect of the universal-base event study (the "
        "equal-weight mean over its post-activation event times, the 'Original' "
        "row; not the primary simple ATT, which weights group-time cells by "
        "cohort size): intervals that stay valid when post-activation "
        "violations of parallel trends are up to Mbar times the largest "
        "pre-activation one. Breakdown value: "
        + (f"Mbar = {breakdown}" if breakdown is not None else
           "none (the original interval already contains zero, so no Mbar is "
           "needed to include it)") + ".")
    display(honest.tidy().round(4))


def show_robustness(evaluation: str, figure_name: str | None = None) -> None:
    """Specification curve, placebo dates, randomization inference, multiplicity.

    Each comes from the robustness stage's saved results; a missing one is
    shown as pending, never silently left out.
    """
    from analysis.plots.spec_curve import plot_specification_curve

    plan = load_result(evaluation, "summary").record["plan"]
    primary = plan["primary"]
    saved = set(list_results(evaluation))

    name = f"{primary}__spec_curve"
    if name in saved:
        curve = load_result(evaluation, name)
        axes = list(curve.record["axes"])
        order = ["estimator", "control_group", "transform", "weighting",
                 "coverage", "first_year"]
        axes = [a for a in order if a in axes] + [a for a in axes if a not in order]
        summary = curve.record["summary"]
        _md(f"**Specification curve** ({summary['n_estimated']} of "
            f"{summary['n_specs']} specifications estimated) over "
            + ", ".join(f"{a} ({len(curve.record['axes'][a])})" for a in axes)
            + ". Log and Poisson estimates are log points; rate-level estimates "
            "are divided by the treated units' mean pre-activation rate, so all "
            "are approximate proportional changes; the planned specification is "
            f"marked. Median {summary['median']:+.4f}, range "
            f"{summary['min']:+.4f} to {summary['max']:+.4f}; "
            f"{summary['share_significant_negative']:.0%} significantly negative "
            f"and {summary['share_significant_positive']:.0%} significantly "
            "positive at 5%.")
        figure = plot_specification_curve(
            curve.tidy(), axes, estimate="relative_estimate",
            lower="relative_ci_lower", upper="relative_ci_upper",
            ylabel="Approx. proportional effect", title=f"{evaluation}: {primary}",
            caption="95% pointwise intervals, each estimator's own inference.")
        save_figure(figure, figure_name or f"spec_curve_{evaluation}")
        display(figure)
        plt.close(figure)
    else:
        _pending("Specification curve", name, evaluation)

    name = f"{primary}__placebo"
    if name in saved:
        _md("**Placebo activation dates:** every cohort moved earlier by the "
            "plan's shifts, on pre-activation years only; a clearly non-zero "
            "estimate would signal diverging trends before activation.")
        table = load_result(evaluation, name).tidy()
        display(table[["shift", "estimate", "se", "ci_lower", "ci_upper",
                       "p_value", "rows", "treated_units"]].set_index("shift")
                .round(4))
    else:
        _pending("Placebo activation dates", name, evaluation)

    if "randomization" in saved:
        result = load_result(evaluation, "randomization")
        _md("**Randomization inference:** the observed activation cohorts are "
            "re-assigned across units (cohort sizes kept) and the primary "
            f"estimator re-run on every outcome. p-value: "
            f"{result.record['convention']}.")
        display(result.tidy().set_index("statistic").round(4))
    else:
        _pending("Randomization inference", "randomization", evaluation)

    if "multiplicity" in saved:
        result = load_result(evaluation, "multiplicity")
        _md(f"**Multiple outcomes** (plan: `{plan['multiplicity']}`): "
            f"{result.record['method']}.")
        display(result.tidy().set_index("outcome").round(4))
    else:
        _pending("Multiple outcomes (adjusted p-values)", "multiplicity",
                 evaluation)


def show_literature(evaluation: str) -> pd.DataFrame:
    """Published estimates with citations, and this report's primary estimate."""
    table = literature_table()
    mine = primary_estimates(evaluation).iloc[0]
    plan = load_result(evaluation, "summary").record["plan"]
    own = pd.DataFrame([{
        "study": f"This report ({evaluation})", "design": mine["estimator"],
        "outcome": plan["outcomes"][plan["primary"]], "estimate": mine["att"],
        "se": mine["se"], "note": f"{int(mine['units'])} units, "
        f"{plan['first_year']}-{plan['last_year']} planned window",
        "source": f"results/{evaluation}/{plan['primary']}__cs_simple.json"}])
    if plan["transform"] == "log_rate":
        comparable = table[table["outcome"].str.startswith("Log")
                           & table["estimate"].notna()]
        lines = []
        for row in comparable.itertuples():
            inside = mine["ci_lower"] <= row.estimate <= mine["ci_upper"]
            lines.append(
                f"{row.study}'s {row.estimate:+.3f} (se {row.se:.3f}, "
                f"{row.outcome.lower()}) lies {'inside' if inside else 'outside'} "
                f"this report's 95% interval [{mine['ci_lower']:+.3f}, "
                f"{mine['ci_upper']:+.3f}] for {plan['outcomes'][plan['primary']]}")
        if lines:
            _md("**Numbers on the same (log) scale:** " + "; ".join(lines)
                + ". The outcomes differ (all offenses in all counties there, "
                "this report's outcome and units here), so agreement is of size "
                "and direction only.")
    return pd.concat([table, own], ignore_index=True).set_index("study")


def show_reproducibility(evaluation: str) -> None:
    """Package versions, seeds, draws, raw hashes."""
    record = load_result(evaluation, "summary").record
    plan = record["plan"]
    _md(f"Seed {plan['seed']}, {plan['n_boot']} bootstrap draws (from the plan). "
        "Package versions when the estimates were computed:")
    display(pd.Series(record["environment"], name="version").to_frame())
    display(pd.Series(record["raw_sha256"], name="sha256").to_frame())


FIRST_STAGE = "sc_first_stage_pa"


def first_stage_figure(figure_name: str) -> plt.Figure:
    """Detainer rates by activation cohort, and the first-stage event study."""
    series = load_result(FIRST_STAGE, "cohort_series").tidy()
    dynamic = load_result(FIRST_STAGE, "detainers_per_100k__cs_dynamic")
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    for cohort, rows in series.groupby("cohort"):
        counties = int(rows['counties'].iloc[0])
        label = (f"activated {rows['cohort_label'].iloc[0]} "
                 f"({counties} {'county' if counties == 1 else 'counties'})")
        line = left.plot(rows["quarter"], rows["mean_rate"], marker=".",
                         label=label)[0]
        if cohort <= series["quarter"].max():
            left.axvline(cohort, color=line.get_color(), linestyle=":")
    ticks = sorted(series["quarter"].unique())[::4]
    left.set_xticks(ticks, [f"{q // 4}Q{q % 4 + 1}" for q in ticks], rotation=45)
    left.set_ylabel("mean detainers per 100,000 residents per quarter")
    left.set_title("Pennsylvania local custody: detainers by activation cohort")
    left.legend(fontsize=8)
    plot_event_study([dynamic], ax=right, title="First-stage event study "
                     "(quarters since activation)")
    right.set_ylabel("change in detainers per 100,000 per quarter")
    right.xaxis.set_major_locator(MaxNLocator(integer=True))
    treated = int(series.loc[series["cohort"] <= series["quarter"].max(),
                             "counties"].groupby(series["cohort"]).first().sum())
    figure.text(0.01, 0.005, f"Only {treated} treated counties: the intervals "
                "rest on few treated units whatever the number of clusters. "
                "Dotted lines: activation quarters within the window.",
                fontsize=8, color="0.3")
    figure.tight_layout(rect=(0, 0.04, 1, 1))
    save_figure(figure, figure_name)
    return figure


def show_first_stage(figure_name: str = "first_stage_pa_detainers") -> None:
    """The Pennsylvania first stage: numbers, figure, plan checks, in words."""
    summary = load_result(FIRST_STAGE, "summary").tidy()
    robust, poisson = summary.iloc[0], summary.iloc[1]
    cohorts = cohort_sizes(FIRST_STAGE)
    treated = cohorts.loc[cohorts["role"] == "treated", "units"].sum()
    pre_p = robust["pretrend_p"]
    pre_text = "p < 0.001" if pre_p < 0.001 else f"p = {pre_p:.3f}"
    direction = "fell" if robust["ci_upper"] < 0 else (
        "rose" if robust["ci_lower"] > 0 else "did not change detectably")
    _md(
        f"Relative to the not-yet-activated counties, detainers issued to local "
        f"custody in the {treated} early-activated counties {direction}: "
        f"{robust['att']:+.2f} per 100,000 residents per quarter (95% interval "
        f"{robust['ci_lower']:+.2f} to {robust['ci_upper']:+.2f}); on the count "
        f"scale (Poisson ETWFE) {100 * poisson['att']:+.1f}% (95% interval "
        f"{100 * poisson['ci_lower']:+.1f}% to {100 * poisson['ci_upper']:+.1f}%). "
        f"The joint test of the pre-activation estimates rejects ({pre_text}), so "
        "the early counties were already on a different path before activation, "
        "and with only "
        f"{treated} treated counties this comparison cannot carry a causal "
        "first stage. **The Pennsylvania data do not show that activation raised "
        "detainers issued to local custody; they cannot show that it did not.**")
    first_stage_figure(figure_name)
    display(summary.set_index("estimator").round(4))
    display(cohorts.set_index("cohort").rename(
        index=lambda q: f"{q // 4}Q{q % 4 + 1}"))
