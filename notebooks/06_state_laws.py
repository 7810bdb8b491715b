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
# # State laws limiting or mandating cooperation with immigration enforcement, and crime
#
# Since 2013 about a dozen states (Oregon already in 1987) limited their
# police's cooperation with federal immigration enforcement (California's
# TRUST and Values Acts, Illinois's TRUST Act, Washington's Keep Washington
# Working, New Jersey's Immigrant Trust Directive...), and since 2007 about
# sixteen mandated it or banned sanctuary policies (Oklahoma 2007, Arizona
# 2010, Alabama 2011, North Carolina 2015, Texas 2017, Florida 2019...). This
# report asks whether crime in those states changed after the law, relative
# to states without such a law, in **both directions with the same plan**:
#
# - `plans/state_laws_limits.toml` and `plans/state_laws_mandates.toml`
#   differ only in the direction, the seed and the single state studied;
# - outcomes are FBI state estimates of violent crime excluding rape,
#   property crime and homicide, as logs of rates per 100,000 (effects are
#   approximately proportional changes), 2000-2020;
# - the laws come from a hand-built, sourced file
#   (`data/raw/state_cooperation_laws`), each law dated under three rules.
#
# **Estimators.** Callaway and Sant'Anna (2021) group-time effects with
# never-treated comparison states (multiplier-bootstrap standard errors and
# uniform event-study bands); randomization inference over adoption dates
# (reassigning the observed adoption years across states), which stays valid
# with about a dozen treated states; two-way fixed effects with the wild
# cluster restricted bootstrap (Webb weights) as the conventional benchmark.
# One state per direction (California's SB 54, Texas's SB 4) is also studied
# alone by synthetic control and synthetic difference-in-differences with
# placebo-in-space inference. Every number below was computed by
# `python -m analysis.evaluate` and is only read here.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from analysis.plots import save_figure
from analysis.plots.event_study import plot_event_study
from analysis.store import load_result

pd.set_option("display.width", 170)
pd.set_option("display.max_colwidth", 70)
PLANS = {"limits": "state_laws_limits", "mandates": "state_laws_mandates"}
summaries = {d: load_result(p, "summary") for d, p in PLANS.items()}
plans = {d: s.record["plan"] for d, s in summaries.items()}
# The primary outcome first, then the others (saved plans lose TOML order).
_outcomes = plans["limits"]["outcomes"]
OUTCOMES = {k: _outcomes[k] for k in
            [plans["limits"]["primary"]] + sorted(set(_outcomes) -
                                                  {plans["limits"]["primary"]})}
PRIMARY_RULE = plans["limits"]["primary_rule"]
PRETREND_YEARS = plans["limits"]["pretrend_window"]


def pct(x):
    """Log points to percent change."""
    return 100 * (np.exp(x) - 1)


def side_by_side(name, index=None):
    """Concatenate one saved table of both plans with a direction column."""
    tables = [load_result(p, name).tidy().assign(direction=d)
              for d, p in PLANS.items()]
    table = pd.concat(tables, ignore_index=True)
    return table.set_index(["direction"] + (index or [])) if index else table


# %% [markdown]
# ## The plan, both directions

# %%
keys = ["direction", "first_year", "last_year", "rules", "primary_rule", "timing",
        "confidence", "policy_types", "exclude_states", "controls", "estimator",
        "inference", "seed", "n_boot", "n_wild", "n_ri", "alpha", "primary"]
table = pd.DataFrame({d: {k: plans[d].get(k) for k in keys} for d in PLANS})
table.loc["single_state"] = [f"{plans[d]['single_state']['state']} "
                             f"({plans[d]['single_state']['law_id']})" for d in PLANS]
table

# %% [markdown]
# ## The laws and how they are dated
#
# Each law is dated under three rules. **signed**: the day the governor
# signed (or the directive was issued, the court ruled); where no source gave
# that day, the effective date, then the year. **effective** (the primary
# rule): the scheduled effective date, ignoring injunctions. **in_force**:
# the day the law's cooperation provisions could first be enforced after
# injunctions, transcribed with a source per row from the file's injunction
# notes into `data/crosswalks/state_law_in_force.csv` (e.g. Arizona's status
# checks 2012, Utah 2014, Texas's detainer mandate 2017-09-25; Indiana's
# cooperation sections never took effect). A state's first treated year is
# its earliest law in the direction; with `timing = "activation"` a state is
# treated from the calendar year containing the date. `date_source` says
# which column (or fallback) gave each date.

# %%
laws = side_by_side("law_dates")
# The date, or the year where only the year is known.
laws["coded"] = laws["date"].fillna(laws["year"].astype("Int64").astype(str)
                                    + " (year)")
laws.loc[laws["in_force_status"].eq("never_in_force")
         & laws["rule"].eq("in_force"), "coded"] = "never in force"
dates = laws.pivot_table(index=["direction", "law_id", "short_name", "confidence"],
                         columns="rule", values="coded", aggfunc="first")
sources = laws[laws["rule"] == "in_force"].set_index(
    ["direction", "law_id"])["date_source"]
dates = dates.reset_index().merge(sources.rename("in_force_source").reset_index(),
                                  on=["direction", "law_id"])
dates.set_index(["direction", "law_id"])

# %% [markdown]
# The transcribed in-force dates, each with the note it reads and its source:

# %%
side_by_side("in_force", ["law_id"])[["status", "in_force_date", "in_force_year",
                                      "end_date", "provision", "reason", "source"]]

# %% [markdown]
# ### Rows of medium or low confidence
#
# The plans keep `high` and `medium` rows and exclude the two `low` rows
# (a passing mention only: Georgia SB 269 of 2016, Tennessee's 2009 law);
# the sensitivity table below also keeps `high` only.

# %%
side_by_side("low_confidence", ["law_id"])[["short_name", "confidence", "date_note"]]

# %% [markdown]
# ### Which states are treated, and when, under each rule

# %%
states = side_by_side("states")
states.pivot_table(index=["direction", "state_abbr"], columns="rule",
                   values="first_treated_year", aggfunc="first").astype("Int64")

# %%
counts = side_by_side("summary")
counts = counts[counts["outcome"] == plans["limits"]["primary"]].drop_duplicates(
    ["direction", "rule"])[["direction", "rule", "treated_states", "states", "years"]]
counts.set_index(["direction", "rule"])

# %% [markdown]
# ### Treatment timeline
#
# Each row is a state in the primary sample, each column a year. Dark: the
# law is in effect (primary rule); light: before the law; grey: comparison
# state (no law in either direction in the window). Oregon (a 1987 statute,
# treated before the window) and DC (not in the law file) are not in the
# samples; under the clean-control rule, states with a law in the other
# direction are not comparison states either. A marker shows where the
# `in_force` rule moves the first treated year.

# %%
tiles = side_by_side("treatment_tiles")
figure, axes = plt.subplots(1, 2, figsize=(15, 9))
for ax, direction in zip(axes, PLANS):
    rows = tiles[(tiles["direction"] == direction) & (tiles["rule"] == PRIMARY_RULE)]
    order = (rows.groupby("unit")["gname"].first().replace(0, 9999)
             .sort_values(kind="stable").index)
    grid = rows.pivot(index="unit", columns="year", values="treated").loc[order]
    ever = rows.groupby("unit")["gname"].first().loc[order] > 0
    image = np.where(grid.to_numpy() == 1, 2, np.where(ever.to_numpy()[:, None], 1, 0))
    ax.imshow(image, aspect="auto", cmap=plt.matplotlib.colors.ListedColormap(
        ["#d9d9d9", "#a6cee3", "#1f4e79"]), vmin=0, vmax=2)
    force = tiles[(tiles["direction"] == direction) & (tiles["rule"] == "in_force")]
    moved = force.groupby("unit")["gname"].first().reindex(order)
    primary = rows.groupby("unit")["gname"].first().reindex(order)
    years = list(grid.columns)
    for y, unit in enumerate(order):
        if moved[unit] != primary[unit] and pd.notna(moved[unit]):
            x = years.index(moved[unit]) if moved[unit] in years else None
            if x is not None:
                ax.plot(x, y, marker="x", color="#e31a1c", ms=7)
            else:
                ax.plot(len(years) - 0.5, y, marker=">", color="#e31a1c", ms=7)
    ax.set_yticks(range(len(order)), order, fontsize=7)
    ax.set_xticks(range(0, len(years), 2), years[::2], rotation=90, fontsize=8)
    ax.set_title(f"{direction} cooperation ({PRIMARY_RULE} dates; x = in_force "
                 "year, > = never in force)")
figure.tight_layout()
save_figure(figure, "state_laws_treatment_tiles");

# %% [markdown]
# ## Overall effects (primary rule)
#
# `att` is the average change in the log crime rate in treated state-years,
# relative to comparison states. The randomization interval is the set of
# constant effects the randomization test does not reject (so it has no
# standard error); the TWFE interval inverts the wild bootstrap test.
# `p_holm` adjusts each estimator's p-values across the three outcomes by
# Holm's step-down rule, as the plans specify (`multiplicity = "holm"`).

# %%
summary = side_by_side("summary")
main = summary[summary["rule"] == PRIMARY_RULE]
main.set_index(["outcome", "estimator", "direction"]).sort_index()[
    ["att", "se", "ci_lower", "ci_upper", "p_value", "p_holm", "treated_states",
     "states"]
].unstack("direction").round(4)

# %% [markdown]
# ### Pre-trends
#
# Tests that the Callaway-Sant'Anna pre-period estimates (each year against
# the year before it) are zero: the Wald test over the last five pre-period
# years (`pretrend_p`), the Wald test over all of them (`pretrend_p_all`:
# about twenty parameters with a covariance estimated from 34-40 states,
# ill-conditioned, so not trustworthy), and a randomization test of the sum
# of the five squared estimates (`pretrend_p_ri`), which, like the
# randomization inference for the effect, does not lean on a covariance
# estimated from 9-15 treated states. A small p-value warns that adopting
# states' crime was already moving differently; a large one is weak evidence
# of parallel trends when the test has little power.

# %%
main.drop_duplicates(["direction", "outcome"]).set_index(["outcome", "direction"])[
    ["pretrend_p", "pretrend_p_all", "pretrend_p_ri"]].unstack("direction").round(3)

# %%
flagged = main.drop_duplicates(["direction", "outcome"])
flagged = flagged[(flagged["pretrend_p"] < 0.10) | (flagged["pretrend_p_ri"] < 0.10)]
if len(flagged):
    display(Markdown(
        "Pre-trend warnings (either p < 0.10): " + "; ".join(
            f"{r.direction}, {OUTCOMES[r.outcome]} (Wald p = {r.pretrend_p:.3f}, "
            f"randomization p = {r.pretrend_p_ri:.3f})" for r in flagged.itertuples())
        + ". For these, the overall estimates above may partly reflect trends "
        "that began before the laws; read them with the event studies."))
else:
    display(Markdown("No pre-trend test has p < 0.10."))

# %%
cs = main[main["estimator"].str.startswith("Callaway-Sant'Anna (")]
tw = main[main["estimator"].str.startswith("TWFE")]
gaps = cs.merge(tw, on=["direction", "outcome"], suffixes=("_cs", "_twfe"))
display(Markdown(
    "TWFE differs from Callaway-Sant'Anna by "
    + ", ".join(f"{r.att_twfe - r.att_cs:+.3f} ({r.direction}, "
                f"{OUTCOMES[r.outcome]})" for r in gaps.itertuples())
    + ". With staggered adoption TWFE also compares later adopters with "
    "earlier ones and weights effects by treatment variance, so it is biased "
    "when effects change over time since adoption; the Callaway-Sant'Anna "
    "estimates are the primary ones."))

# %% [markdown]
# ## What effect sizes the data rule out
#
# `mde_80` = (z<sub>0.975</sub> + z<sub>0.80</sub>) x se = 2.80 x se: the
# effect a two-sided 5% test would detect with 80% power (not given for TWFE,
# whose bootstrap has no standard error). `equiv_lower`/`equiv_upper`: the
# 90% interval (for randomization inference and the wild bootstrap, the 90%
# interval from inverting the test); effects outside it are rejected by two
# one-sided 5% tests. These bounds assume the design is valid: where the
# pre-trend tests above reject, the comparison states are not a credible
# counterfactual and the bounds rule out nothing. All in log points; percent
# changes in the last columns.

# %%
bounds = main[["direction", "outcome", "estimator", "att", "mde_80", "equiv_lower",
               "equiv_upper"]].copy()
for column in ["att", "mde_80", "equiv_lower", "equiv_upper"]:
    bounds[f"{column} %"] = pct(bounds[column])
bounds.set_index(["direction", "outcome", "estimator"]).round(3)

# %%
lines = []
for direction in PLANS:
    rows = main[(main["direction"] == direction)
                & main["estimator"].str.contains("randomization")]
    for row in rows.itertuples():
        caveat = ""
        if min(row.pretrend_p, row.pretrend_p_ri) < 0.10:
            caveat = (f" **Caveat:** the pre-trend tests give p = "
                      f"{row.pretrend_p:.3f} (Wald, last {PRETREND_YEARS} years) "
                      f"and {row.pretrend_p_ri:.3f} (randomization), so this "
                      "bound holds only if the pre-law differences are ignorable.")
        lines.append(
            f"- **{direction}**, {OUTCOMES[row.outcome]}: estimate "
            f"{pct(row.att):+.1f}%; the randomization test rejects effects below "
            f"{pct(row.equiv_lower):+.1f}% and above {pct(row.equiv_upper):+.1f}% "
            f"(90% inverted interval; p = {row.p_value:.3f} for no effect)."
            + caveat)
display(Markdown("\n".join(lines)))

# %% [markdown]
# ## Event studies
#
# Callaway-Sant'Anna dynamic effects with uniform 95% bands (multiplier
# bootstrap); pre-periods compare each year with the year before it
# (varying base period), so they show year-on-year changes, not levels.

# %%
figure, axes = plt.subplots(2, len(OUTCOMES), figsize=(6 * len(OUTCOMES), 10),
                            squeeze=False)
for row, (direction, plan) in enumerate(PLANS.items()):
    for col, (outcome, label) in enumerate(OUTCOMES.items()):
        result = load_result(plan, f"{outcome}__cs_dynamic")
        plot_event_study(result, ax=axes[row, col],
                         title=f"{direction}: {label}")
figure.tight_layout()
save_figure(figure, "event_study_state_laws");

# %% [markdown]
# ## Sensitivity: date rule, timing, confidence, controls, leaving out each state
#
# Callaway-Sant'Anna simple ATT (analytic standard errors) under each
# variation of the plan. `controls: all` keeps states with a law in the other
# direction as comparison states; `statutes only` drops directives and court
# rulings (New Jersey's directives, Massachusetts's *Lunn*).

# %%
sensitivity = side_by_side("sensitivity")
checks = sensitivity[~sensitivity["check"].str.startswith("leave out")]
checks.set_index(["outcome", "check", "direction"])[
    ["att", "ci_lower", "ci_upper", "treated_states"]].unstack("direction").round(4)

# %%
figure, axes = plt.subplots(1, 2, figsize=(14, 6))
primary = plans["limits"]["primary"]
for ax, direction in zip(axes, PLANS):
    rows = sensitivity[(sensitivity["direction"] == direction)
                       & (sensitivity["outcome"] == primary)].reset_index(drop=True)
    y = np.arange(len(rows))[::-1]
    ax.errorbar(rows["att"], y, xerr=[rows["att"] - rows["ci_lower"],
                                      rows["ci_upper"] - rows["att"]],
                fmt="o", color="#1f4e79", capsize=2)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(y, rows["check"], fontsize=8)
    ax.set_xlabel("simple ATT, log points (95% interval)")
    ax.set_title(f"{direction}: {OUTCOMES[primary]}")
figure.tight_layout()
save_figure(figure, "state_laws_sensitivity");

# %% [markdown]
# ### The primary outcome under each date rule, every estimator

# %%
summary[summary["outcome"] == primary].set_index(
    ["direction", "rule", "estimator"])[["att", "ci_lower", "ci_upper", "p_value",
                                         "treated_states"]].round(4)

# %% [markdown]
# ## One state at a time: California SB 54 (2018) and Texas SB 4 (2017)
#
# Synthetic control matches the state's log crime rate in every pre-period
# with a convex combination of donor states (exact simplex-constrained
# weights); synthetic DiD (Arkhangelsky et al. 2021) adds an intercept and
# time weights; DiD weights all donors equally. Donors: states with no law in
# either direction in the window. Inference: each donor in turn is treated
# as if it had passed the law (placebo in space); `p_value` ranks the
# state's |estimate| among the placebos, `p_value_rmspe` ranks the
# post/pre-period RMSPE ratio (synthetic control), and `se` is the spread of
# the placebo estimates. California's 2014 TRUST Act lies in its pre-period:
# this is the effect of SB 54 on top of it. Synthetic DiD placebos (about a
# second each) are run for the primary outcome only, so the synthetic DiD rows
# of the other outcomes have an estimate but no `se` or `p_value`.

# %%
single = side_by_side("single_state")
single[single["rule"] == PRIMARY_RULE].set_index(
    ["direction", "state", "outcome", "method"])[
    ["first_treated_year", "donors", "pre_years", "att", "att_first_year", "se",
     "ci_lower", "ci_upper", "p_value", "p_value_rmspe", "pre_rmspe"]].round(4)

# %%
lines = []
for direction in PLANS:
    rows = single[(single["direction"] == direction) & (single["rule"] == PRIMARY_RULE)
                  & single["p_value"].notna()]
    tested = len(rows) + int(rows["p_value_rmspe"].notna().sum())
    for r in rows.itertuples():
        flags = [f"estimate-rank p = {r.p_value:.3f}"]
        if pd.notna(r.p_value_rmspe):
            flags.append(f"RMSPE-ratio p = {r.p_value_rmspe:.3f}")
        lines.append(f"- {direction}, {r.state}, {OUTCOMES[r.outcome]}, "
                     f"{r.method.upper()}: {r.att:+.3f} log points "
                     f"({', '.join(flags)}; {int(r.donors)} donors, so the "
                     f"smallest attainable p is {1 / (r.donors + 1):.3f}).")
    low = rows[(rows["p_value"] < 0.05) | (rows["p_value_rmspe"] < 0.05)]
    if len(low):
        lines.append(
            f"\n  For {direction}, {len(low)} of these {tested} placebo tests has "
            "p < 0.05. The RMSPE-ratio test rewards any post-period divergence "
            "(of either sign) relative to a good pre-period fit, and among "
            f"{tested} tests about {0.05 * tested:.1f} are expected below 0.05 "
            "by chance alone; read it together with the estimate-rank test and "
            "the other estimators.\n")
display(Markdown("\n".join(lines)))

# %%
figure, axes = plt.subplots(2, 2, figsize=(14, 9))
for row, (direction, plan) in enumerate(PLANS.items()):
    state = plans[direction]["single_state"]["state"]
    path = load_result(plan, f"single_state__{primary}__path").tidy()
    ax = axes[row, 0]
    ax.plot(path["period"], path["treated"], color="black", label=state)
    ax.plot(path["period"], path["synthetic_sc"], color="#1f78b4", ls="--",
            label=f"synthetic {state}")
    start = path.loc[path["post"], "period"].min()
    ax.axvline(start - 0.5, color="grey", lw=0.8)
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.set_title(f"{direction}: {state}, {OUTCOMES[primary]}")
    ax.set_ylabel("log rate per 100,000")
    ax.legend()
    ax = axes[row, 1]
    placebos = load_result(plan, f"single_state__{primary}__sc__placebos").tidy()
    fit = single[(single["direction"] == direction) & (single["method"] == "sc")
                 & (single["rule"] == PRIMARY_RULE) & (single["outcome"] == primary)]
    ax.hist(placebos["estimate"], bins=15, color="#bdbdbd", label="placebo states")
    ax.axvline(fit["att"].iloc[0], color="#e31a1c", lw=2, label=state)
    ax.set_xlabel("synthetic control estimate (mean post-period gap, log points)")
    ax.set_title(f"{direction}: placebo in space ({len(placebos)} donors, "
                 f"estimate-rank p = {fit['p_value'].iloc[0]:.2f})")
    ax.set_ylabel("placebo states")
    ax.legend()
figure.text(0.01, 0.005, "Left: the state and its synthetic control (donor-weighted "
            "states with no law in the window); the vertical line separates the "
            f"pre-law years from the first treated year ({PRIMARY_RULE} date "
            "rule). Right: the state's estimate among the placebo estimates of "
            "every donor treated as if it had passed the law.",
            fontsize=8, color="0.3", wrap=True)
figure.tight_layout(rect=(0, 0.04, 1, 1))
save_figure(figure, "state_laws_single_state");

# %% [markdown]
# ### Donor weights (primary outcome)

# %%
pd.concat({d: load_result(p, f"single_state__{primary}__weights").tidy()
           .set_index("unit").head(8) for d, p in PLANS.items()}, axis=1).round(3)

# %% [markdown]
# ### Under each date rule
#
# California's SB 54 was signed 2017-10-05 and took effect 2018-01-01, so the
# signed rule moves its first treated year to 2017; Texas's SB 4 is 2017
# under every rule.

# %%
single.set_index(["direction", "outcome", "method", "rule"])[
    ["first_treated_year", "att", "att_first_year"]].unstack("rule").round(4)

# %% [markdown]
# ## California 2018 compared with Kubrin and Bartos (2020)
#
# Kubrin and Bartos built a synthetic California from state crime rates
# 1970-2017 and read SB 54's effect as the 2018 gap; they report no effect
# distinguishable from zero for violent or property crime. The comparable
# numbers here are the first-year (2018) gaps of the synthetic control, in
# log points, with the placebo-in-space standard error and p-value of the
# whole post-period (2018-2020) estimate.

# %%
literature = load_result(PLANS["limits"], "literature").tidy()
ours = single[(single["direction"] == "limits") & (single["rule"] == PRIMARY_RULE)
              & (single["method"] == "sc")]
rows = [{"study": "This report (synthetic control, FBI state estimates 2000-2020)",
         "design": "Synthetic control, exact weights, donors without a law in "
                   "either direction; placebo-in-space inference",
         "outcome": f"{OUTCOMES[r.outcome]}, 2018 gap",
         "estimate": r.att_first_year, "se": np.nan,
         "note": f"mean gap 2018-2020 {r.att:+.3f} (placebo se {r.se:.3f}, "
                 f"p = {r.p_value:.3f}, RMSPE-ratio p = {r.p_value_rmspe:.3f})",
         "source": "results/state_laws_limits/single_state.csv"}
        for r in ours.itertuples()]
pd.concat([literature, pd.DataFrame(rows)], ignore_index=True)

# %%
lines = []
for r in ours.itertuples():
    verdict = ("not distinguishable from zero" if r.p_value >= 0.05 else
               "distinguishable from zero at 5%")
    # Kubrin and Bartos report violent and property crime, not homicide.
    compared = not r.outcome.startswith("homicide")
    agrees = (f"{'like' if r.p_value >= 0.05 else 'unlike'} Kubrin and Bartos, "
              f"{verdict}" if compared else
              f"{verdict} (not an outcome of Kubrin and Bartos)")
    lines.append(
        f"- California SB 54, {OUTCOMES[r.outcome]}: synthetic control 2018 gap "
        f"{pct(r.att_first_year):+.1f}%, mean 2018-2020 gap {pct(r.att):+.1f}%, "
        f"placebo p = {r.p_value:.3f} ({int(r.donors)} donors): {agrees}; placebo "
        f"95% interval [{pct(r.ci_lower):+.1f}%, {pct(r.ci_upper):+.1f}%].")
lines.append("\nThe placebo intervals are wide: one state with about 25 donors "
             "cannot rule out sizeable effects in either direction.")
display(Markdown("\n".join(lines)))

# %% [markdown]
# ## What the state data can and cannot show
#
# - **Imputed estimates.** The FBI's state figures are estimates that impute
#   agencies that did not report, sometimes whole state-years; they are not
#   sums of reported crimes and are revised after publication. A law that
#   changed reporting (e.g. immigrants' willingness to report crime) changes
#   the outcome without changing crime.
# - **Rape definition (2013).** Violent crime here excludes rape, whose
#   definition changed in 2013; the panel keeps both series and a flag.
# - **2021 break.** The window ends in 2020: in 2021 the FBI took only
#   incident-based reports and about 40% of agencies sent none. Laws of 2021
#   (Illinois's Way Forward Act, Oregon's Sanctuary Promise Act, Maryland's
#   Dignity Not Detention Act, Montana's HB 200) are therefore outside the
#   window, and states whose first law is after 2020 count as untreated.
# - **Few treated states.** About ten states limit and fifteen mandate
#   cooperation in the window (counts by rule above); randomization inference
#   and the wild bootstrap are built for that, but the intervals stay wide:
#   the "rule out" table above summarises what the data can reject, where
#   the pre-trend tests do not undermine the design.
# - **Treatment is coarse.** A law is coded 0/1 per state-year from its date:
#   laws differ greatly in strength (a DMV data rule vs. a ban on detainer
#   holds), many mandate laws were enjoined in part, and counties and cities
#   had their own policies before and after. The `in_force` rule and the
#   `statutes only` check address part of this; no intensity is coded.
# - **The law file is incomplete.** Several states were not researched (New
#   Mexico, Nevada, Maine, Minnesota, Rhode Island, Delaware, Hawaii for
#   limits; West Virginia, Louisiana, Idaho, Kansas, Virginia for mandates):
#   they are comparison states here, which is wrong if they had a law.
# - **State level only.** Any effect concentrated in the places where
#   cooperation actually changed (counties that had been honoring detainers)
#   is diluted in a state average.
# - **Two directions, one plan.** The directions are estimated separately
#   with clean comparison states; they are not a test of each other and the
#   treated states differ (coastal and northern vs southern and mountain).

# %% [markdown]
# ## Samples: rows used and rows dropped (primary rule)

# %%
for direction, plan in PLANS.items():
    sample = load_result(plan, f"{primary}__sample")
    ledger = pd.DataFrame(sample.record["ledger"])
    print(f"{direction}: {sample.tidy()['unit'].nunique()} states, years "
          f"{sample.tidy()['year'].min()}-{sample.tidy()['year'].max()}")
    display(ledger[["step", "action", "reason", "rows_in", "rows_out",
                    "rows_affected", "examples"]])

# %% [markdown]
# ## Design echo of the estimates (primary outcome, primary rule)

# %%
for direction, plan in PLANS.items():
    for key in ["cs_simple", "wild", "ri"]:
        record = load_result(plan, f"{primary}__{key}").record
        print(f"[{direction}] {record['summary']}\n")

# %% [markdown]
# ## Reproducibility
#
# Package versions when the estimates were computed, the seeds of the
# bootstrap, wild bootstrap and randomization draws (from the plans), and the
# sha256 of every raw file behind the estimates.

# %%
for direction, summary_result in summaries.items():
    plan = summary_result.record["plan"]
    print(f"{direction}: seed {plan['seed']}, {plan['n_boot']} multiplier "
          f"bootstrap draws, {plan['n_wild']} wild bootstrap draws, "
          f"{plan['n_ri']} randomization draws")
print(pd.Series(summaries["limits"].record["environment"]).to_string())
hashes = {}
for summary_result in summaries.values():
    hashes.update(summary_result.record["raw_sha256"])
pd.Series(hashes, name="sha256").to_frame()
