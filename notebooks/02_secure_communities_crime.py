# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Secure Communities activation and reported crime
#
# Secure Communities sent the fingerprints of everyone booked into a local
# jail to immigration authorities. ICE activated it county by county between
# October 2008 and January 2013. This report asks whether reported crime
# changed after activation, in two samples built from shipped public files:
#
# 1. the Marshall Project's 68 large police agencies (FBI UCR Return A),
#    violent crime, 2000-2012;
# 2. New York's 62 counties (DCJS agency reports summed to counties), index
#    crime, 2002-2011.
#
# **Estimator.** Callaway and Sant'Anna (2021) group-time effects, doubly
# robust, with not-yet-treated units as controls, aggregated by event time
# (uniform 95% bands from a seeded multiplier bootstrap) and overall (cohort-
# size weights). Two-way fixed effects (TWFE) is shown beside it as the
# conventional benchmark, known to be biased when effects differ by cohort.
# Outcomes are logs of rates per 100,000, so effects are approximately
# proportional changes. The numbers below were computed by
# `python -m analysis.evaluate` and are only read here.

# %%

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from analysis.plots import save_figure
from analysis.plots.event_study import plot_event_study
from analysis.store import load_result

pd.set_option("display.width", 160)
pd.set_option("display.max_colwidth", 90)
EVALUATIONS = ["sc_large_agencies", "sc_ny_counties"]


def show_plan(evaluation):
    plan = load_result(evaluation, "summary").record["plan"]
    outcomes = plan.pop("outcomes")
    lines = [f"**Plan `{evaluation}`** (plans/{evaluation}.toml)"]
    lines += [f"- {key}: {value}" for key, value in plan.items()]
    lines += [f"- outcome `{key}`: {value}" for key, value in outcomes.items()]
    display(Markdown("\n".join(lines)))


# %% [markdown]
# ## Overall effects
#
# One row per outcome and estimator. `att` is the change in log crime rate
# after activation; `pretrend_p` is the joint Wald test that all pre-period
# estimates are zero (TWFE: coefficients relative to event time -1;
# Callaway-Sant'Anna: the pre-period event-time averages, each against the
# year before it).

# %%
summaries = {e: load_result(e, "summary") for e in EVALUATIONS}
pd.concat(
    [s.tidy().assign(evaluation=e) for e, s in summaries.items()]
).set_index(["evaluation", "outcome", "estimator"]).drop(columns="label").round(4)

# %% [markdown]
# ## Large-city agencies

# %%
show_plan("sc_large_agencies")


# %%
def event_study_figure(evaluation, outcomes, name):
    figure, axes = plt.subplots(1, len(outcomes), figsize=(6 * len(outcomes), 5.5),
                                squeeze=False)
    for ax, (outcome, label) in zip(axes[0], outcomes.items()):
        cs = load_result(evaluation, f"{outcome}__cs_dynamic")
        tw = load_result(evaluation, f"{outcome}__twfe_es")
        plot_event_study([cs, tw], ax=ax, title=label)
    figure.tight_layout()
    save_figure(figure, name)
    return figure


plan = summaries["sc_large_agencies"].record["plan"]
event_study_figure(
    "sc_large_agencies", plan["outcomes"], "event_study_sc_large_agencies"
);

# %% [markdown]
# ### Effects by activation cohort (Callaway-Sant'Anna, group aggregation)

# %%
primary = plan["primary"]
load_result("sc_large_agencies", f"{primary}__cs_group").tidy().round(4)

# %% [markdown]
# ### Diagnostics: what TWFE averages over, and pre-trends
#
# The Goodman-Bacon decomposition splits the static TWFE coefficient into 2x2
# comparisons. Weight on "later vs earlier treated" uses already-treated units
# as controls, which biases TWFE when effects change over time.

# %%
for evaluation in EVALUATIONS:
    primary = summaries[evaluation].record["plan"]["primary"]
    bacon = load_result(evaluation, f"{primary}__bacon")
    pretrend = load_result(evaluation, f"{primary}__twfe_pretrend")
    print(f"{evaluation} / {primary}")
    print(bacon.record["summary"])
    print(pretrend.record["summary"], "\n")

# %% [markdown]
# ## New York counties

# %%
show_plan("sc_ny_counties")

# %%
plan = summaries["sc_ny_counties"].record["plan"]
event_study_figure("sc_ny_counties", plan["outcomes"], "event_study_sc_ny_counties");

# %% [markdown]
# New York counties were activated in 2011 and 2012 only. With the 2012
# cohort as the comparison group, the robust estimator has a single
# post-activation year (2011): the estimate is an impact effect, not a
# long-run one.

# %% [markdown]
# ## Samples: which rows were used and what was dropped

# %%
for evaluation in EVALUATIONS:
    primary = summaries[evaluation].record["plan"]["primary"]
    sample = load_result(evaluation, f"{primary}__sample")
    ledger = pd.DataFrame(sample.record["ledger"])
    print(f"{evaluation} / {primary}: {sample.tidy()['unit'].nunique()} units, "
          f"years {sample.tidy()['year'].min()}-{sample.tidy()['year'].max()}")
    display(ledger[["step", "action", "reason", "rows_in", "rows_out",
                    "rows_affected", "examples"]])
    cohorts = sample.tidy().groupby("gname")["unit"].nunique()
    display(cohorts.rename("units").to_frame().T)

# %% [markdown]
# ## Design echo of each estimate

# %%
for evaluation in EVALUATIONS:
    primary = summaries[evaluation].record["plan"]["primary"]
    for key in ["cs_simple", "twfe_static"]:
        print(load_result(evaluation, f"{primary}__{key}").record["summary"], "\n")

# %% [markdown]
# ## How this compares with published studies
#
# - Miles and Cox (2014, *Journal of Law and Economics*) and Treyger, Chalfin
#   and Loeffler (2014, *Journal of Empirical Legal Studies*) use national
#   county and city panels and report no meaningful change in crime after
#   activation.
# - Alsan and Yang (2022) report 0.017 (se 0.023) on log offenses at the
#   county level.
#
# The samples here are much smaller (68 large agencies; 62 New York counties)
# and differ in unit and window, so the comparison is of direction and
# rough size, not a replication. Whether the published intervals and the ones
# above overlap is visible from the overall table.
#
# ## Limitations
#
# - Reported crime is not victimization: a policy that changes immigrants'
#   willingness to report crime changes the outcome without changing crime.
# - UCR coverage: agency-years with fewer than 12 months reported are treated
#   as missing, and agencies with any missing year leave the balanced sample
#   (see the ledgers above).
# - Every county was eventually activated, so the comparison group is the last
#   cohort; the window ends before it is treated.
# - Activation dates are county-level; a city agency takes the date of its
#   principal county. New York City maps to New York County only.
# - With about 60 agencies or counties, cluster-robust inference rests on
#   moderate numbers of clusters.
# - Each sample has three outcomes and two estimators; the intervals above
#   are not adjusted for multiple comparisons, so one interval excluding zero
#   among six is weak evidence on its own. The plan names one primary outcome
#   per sample for that reason.

# %%
table = pd.concat([s.tidy().assign(evaluation=e) for e, s in summaries.items()])
tested = table.dropna(subset=["pretrend_p"])
rejected = tested[tested["pretrend_p"] < 0.05]
lines = [
    f"The joint pre-trend test was run for {len(tested)} estimate(s); "
    f"it rejects at the 5% level for {len(rejected)}"
    + (": " + ", ".join(f"{r.evaluation} / {r.outcome} / {r.estimator} "
                        f"(p = {r.pretrend_p:.3f})"
                        for r in rejected.itertuples()) if len(rejected) else "")
    + ". A test that does not reject is weak evidence of parallel trends when "
    "its power is low (see the intervals of the pre-period estimates)."
]
display(Markdown(" ".join(lines)))

# %% [markdown]
# ## Reproducibility
#
# Package versions when the estimates were computed, the bootstrap seeds from
# the plans, and the sha256 of every raw file behind the estimates.

# %%
for evaluation, summary in summaries.items():
    record = summary.record
    print(f"{evaluation}: seed {record['plan']['seed']}, "
          f"{record['plan']['n_boot']} bootstrap draws")
print(pd.Series(summaries[EVALUATIONS[0]].record["environment"]).to_string())
hashes = {}
for summary in summaries.values():
    hashes.update(summary.record["raw_sha256"])
pd.Series(hashes, name="sha256").to_frame()

# %% [markdown]
# ## Robustness, placebo and multiplicity
#
# Saved by `analysis.evaluations.sc_robustness` with the choices of each
# plan's `[robustness]` table; read here, never re-estimated.
#
# **Specification curve.** The primary outcome under every valid
# combination of estimator, comparison group, outcome transform, population
# weighting, coverage rule and window start. Log and Poisson estimates are
# log points; rate-level estimates are divided by the treated units' mean
# pre-activation rate, so all are approximate proportional changes. The
# pre-specified specification is in red. "nevertreated" compares with the
# last activation cohort only (`comparison_units` gives how many units).

# %%
from analysis.plots.spec_curve import plot_specification_curve  # noqa: E402

SPEC_AXES = ["estimator", "control_group", "transform", "weighting", "coverage",
             "first_year"]
for evaluation in EVALUATIONS:
    primary = summaries[evaluation].record["plan"]["primary"]
    curve = load_result(evaluation, f"{primary}__spec_curve")
    figure = plot_specification_curve(
        curve.tidy(), SPEC_AXES, estimate="relative_estimate",
        lower="relative_ci_lower", upper="relative_ci_upper",
        ylabel="Approx. proportional effect",
        title=f"{evaluation}: {primary}",
        caption="95% pointwise intervals, each estimator's own inference.")
    save_figure(figure, f"spec_curve_{evaluation}")
    plt.show()
    display(pd.Series(curve.record["summary"], name=evaluation).to_frame().T)

# %% [markdown]
# **Randomization inference.** The observed activation cohorts are re-assigned
# across units (cohort sizes kept) and the primary estimator re-run on every
# outcome; the p-value is the share of re-assignments with an estimate at
# least as large in absolute value, the observed assignment counted as one.

# %%
for evaluation in EVALUATIONS:
    randomization = load_result(evaluation, "randomization")
    print(randomization.record["summary"], "\n")

# %% [markdown]
# **Placebo activation dates.** Every cohort moved 1-3 years earlier, using
# pre-activation years only; a clearly non-zero estimate would signal
# diverging trends before activation.

# %%
for evaluation in EVALUATIONS:
    primary = summaries[evaluation].record["plan"]["primary"]
    placebo = load_result(evaluation, f"{primary}__placebo").tidy()
    print(f"{evaluation} / {primary}")
    display(placebo[["shift", "estimate", "se", "ci_lower", "ci_upper", "p_value",
                     "rows", "treated_units"]].round(4))

# %% [markdown]
# **HonestDiD (relative magnitudes) and pre-trend power.** Intervals for the
# mean post-activation effect when post-activation violations of parallel
# trends may be up to Mbar times the largest pre-activation one; the
# breakdown value is the largest Mbar at which the interval still excludes
# zero (none when the original interval already includes zero). Power: the
# linear pre-trend slope per year that the joint pre-trend test would detect
# with 50% and 80% probability.

# %%
for evaluation in EVALUATIONS:
    primary = summaries[evaluation].record["plan"]["primary"]
    honest = load_result(evaluation, f"{primary}__honest")
    print(honest.record["summary"])
    print("pre-trend test (universal base):", honest.record["pretrend"])
    display(pd.DataFrame(honest.record["power"]).round(4))

# %% [markdown]
# **Goodman-Bacon weights by comparison type** (forbidden: already-treated
# units as controls) and **multiplicity-adjusted p-values** across each
# plan's outcomes (Holm; Romano-Wolf step-down on the joint randomization
# draws).

# %%
for evaluation in EVALUATIONS:
    primary = summaries[evaluation].record["plan"]["primary"]
    print(f"{evaluation} / {primary}")
    display(load_result(evaluation, f"{primary}__bacon_shares").tidy().round(4))
    display(load_result(evaluation, "multiplicity").tidy().round(4))
