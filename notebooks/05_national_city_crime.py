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
# # Secure Communities and crime in US cities, from the FBI's city tables
#
# The FBI publishes every year the offenses known to each reporting city's
# police ("Crime in the United States", Table 8; Table 6 in 2016). This
# report reads fifteen of those tables (2005-2019), links each city to its
# principal county, and asks whether reported violent and property crime
# changed after Secure Communities was activated in the city's county
# (2008-2013).
#
# **Design.** A staggered difference-in-differences on a city x year panel:
# Callaway and Sant'Anna (2021) group-time effects (doubly robust,
# not-yet-treated cities as controls, uniform 95% bands from a seeded
# multiplier bootstrap), with two-way fixed effects (TWFE) beside it as the
# conventional benchmark. Outcomes are logs of rates per 100,000 residents.
# Violent crime **excludes rape**, as in the project's other Secure
# Communities plans, because the FBI changed its rape definition in 2013 and
# the tables carry two rape columns in 2013-2016. Each city takes the
# activation date of its principal county; standard errors are clustered by
# county (by state in one variant). Everything below was computed by
# `python -m analysis.evaluate` from `plans/sc_national_cities.toml` and is
# only read here.

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from analysis.deviations import deviations
from analysis.io import read_panel
from analysis.plans import plan_table
from analysis.plots import save_figure
from analysis.plots.event_study import plot_event_study
from analysis.robustness.power import power_summary
from analysis.sources._common import read_crosswalk
from analysis.store import load_result

pd.set_option("display.width", 160)
pd.set_option("display.max_colwidth", 70)
pd.set_option("display.max_columns", None)
pd.set_option("display.max_rows", 100)

PLAN = "sc_national_cities"
summary = load_result(PLAN, "summary")
plan = summary.record["plan"]
PRIMARY = plan["primary_variant"]
OUTCOMES = plan["outcomes"]

# %% [markdown]
# ## Summary, plan and deviations
#
# The primary estimate is the plan's primary variant (balanced panel,
# unweighted, clustered by county). The minimum detectable effect (80% power,
# two-sided 5% test) and the equivalence bound (largest limit of the 90%
# interval) follow `analysis.robustness.power`; the state-clustered variant
# shows how much the county-clustered interval depends on that choice.

# %%
results = summary.tidy()
robust_rows = results[results["estimator"].str.startswith("Callaway")]
lines = []
for outcome, label in OUTCOMES.items():
    row = robust_rows[(robust_rows["variant"] == PRIMARY)
                      & (robust_rows["outcome"] == outcome)].iloc[0]
    state = robust_rows[(robust_rows["variant"] == f"{PRIMARY}_state")
                        & (robust_rows["outcome"] == outcome)].iloc[0]
    power = power_summary(row["att"], row["se"], alpha=plan["alpha"])
    lines.append(
        f"- **{label}**: {row['att']:+.3f} log points (se {row['se']:.3f}; 95% "
        f"interval {row['ci_lower']:+.3f} to {row['ci_upper']:+.3f}; p = "
        f"{row['p_value']:.3f}, Holm {row['p_holm']:.3f}; {int(row['units']):,} "
        f"cities). Clustered by state: se {state['se']:.3f}, p = "
        f"{state['p_value']:.3f}. Minimum detectable effect {power.mde:.3f}; "
        f"equivalence bound {power.equivalence_bound:.3f}. Joint pre-trend "
        f"test p = {row['pretrend_p']:.3f}.")
display(Markdown(
    "**Primary variant, Callaway-Sant'Anna:**\n\n" + "\n".join(lines)
    + "\n\n**Not pre-specified.** The comparison cohort (2012 instead of the "
    "last cohort, 2013) and so the window (2005-2011) were set after a first "
    "run; that run's design is kept as the variant "
    "`balanced_unweighted_cohort2013` and shown below. Read the estimates with "
    "the pre-trend tests of every variant (end of this report): where they "
    "reject, the post-activation estimates are not effects of the program."))

# %%
display(plan_table({k: v for k, v in plan.items() if k != "variants"})
        .set_index("field"))
variant_plan = {k: v for k, v in plan.items() if k != "variants"}
variant_plan.update(plan["variants"][PRIMARY], name=f"{PLAN}_{PRIMARY}",
                    variant=PRIMARY)
deviations(variant_plan, evaluation=f"{PLAN}_{PRIMARY}")

# %% [markdown]
# ## The tables read
#
# One row per year: city rows read, states present, rows with a population
# (a handful of agencies, such as the Baltimore City Sheriff, have none: their
# residents are counted under another agency), the shipped source and the
# FBI's table number. 2005 and 2007 come from a scrape of the FBI's state
# pages; 2006 and 2008-2019 from the FBI's own spreadsheets.

# %%
load_result("national_cities", "rows_per_year").tidy()

# %% [markdown]
# ### Coverage: missing and thin state-years
#
# A state-year is *missing* when the table has no city of that state, and
# *thin* when it lists fewer than 60% of the state's usual (median) number
# of cities (`share_of_median` gives the ratio for any other cut).
# Both are missing data: a city absent from a year has no row in the panel
# and is never counted as zero crime.

# %%
load_result("national_cities", "coverage_gaps").tidy()

# %%
coverage = read_panel("city_coverage").frame
figure, ax = plt.subplots(figsize=(9, 4))
by_year = coverage.groupby("year")["cities"].sum()
ax.bar(by_year.index, by_year.values, color="#4c72b0")
gaps = coverage[coverage["status"] != "reported"]
for year, states in gaps.groupby("year")["state_postal"]:
    ax.text(year, by_year[year] * 0.97, "\n".join(states), ha="center", va="top",
            fontsize=7, color="white")
ax.set_xticks(by_year.index, by_year.index, rotation=90)
ax.set_xlabel("year")
ax.set_ylabel("cities in the FBI table")
ax.set_title("Cities per year in the FBI city tables (in the bars: states "
             "missing or thin that year)", fontsize=10)
figure.tight_layout()
save_figure(figure, "national_city_coverage");

# %% [markdown]
# ## From city names to counties
#
# The tables carry no agency code, only a state and a city name. Each
# spelling is linked to a county by the first route that gives one answer
# (`analysis.panels.city_county`): Data Commons' geocode of the FBI name to a
# Census county subdivision (the county is in the code) or to a Census place
# (then Kaplan's LEAIC crosswalk gives the county of that place's police
# department), then Kaplan's agency and place names, then a county named in
# the city name ("Spring Township, Centre County"). Names are normalised
# first (case, punctuation, St./Saint, Mt./Mount, Twp./Township, footnote
# marks). Shares are of city-year rows and of distinct cities.

# %%
load_result("national_cities", "match_rates").tidy().round(4)

# %%
load_result("national_cities", "match_rate_by_year").tidy().round(4)

# %% [markdown]
# Cities without a county are kept in the panel (with `county_fips`
# missing) and listed in `results/national_cities/unlinked_cities.csv`; they
# leave the evaluation because their activation date is unknown.

# %%
unlinked = load_result("national_cities", "unlinked_cities").tidy()
display(unlinked["link_status"].value_counts().rename("cities").to_frame().T)
unlinked.sort_values("n_years", ascending=False).head(15)[
    ["city_id", "link_status", "spellings", "county_candidates", "n_years"]
]

# %% [markdown]
# ### Where a city-year came from
#
# Every row keeps the shipped file and row it was read from and how its
# county was found. Three examples:

# %%
city_year = read_panel("city_year").frame
examples = city_year[
    city_year["city_id"].isin(["IL:chicago", "TX:houston", "PA:abington township"])
    & city_year["year"].isin([2006, 2012])
]
examples[["city_id", "year", "city_raw", "county_fips", "county_match_method",
          "population", "violent_crime_ex_rape", "property_crime", "source_file",
          "source_row"]]

# %% [markdown]
# ## Estimates
#
# One row per variant, outcome and estimator. `att` is the change in the log
# crime rate after activation (about a proportional change); `pretrend_p` is
# the joint Wald test that all pre-period estimates are zero. Variants:
# balanced panel (cities observed in every window year) or all cities
# (unbalanced); unweighted or weighted by the city's population; clustered by
# county or by state; cities of 10,000 residents or more; and the first
# run's design with the 2013 cohort as the comparison group (see below).
# `p_value` is the normal two-sided p-value of `att / se`; `p_holm` adjusts
# the two outcomes' p-values within each variant and estimator by Holm's
# step-down rule, as the plan specifies.

# %%
table = summary.tidy()
table.set_index(["variant", "outcome", "estimator"]).drop(
    columns=["label", "evaluation"]
).round(4)


# %%
def event_study_figure(evaluation, name):
    figure, axes = plt.subplots(1, len(OUTCOMES), figsize=(6 * len(OUTCOMES), 5.5),
                                squeeze=False)
    for ax, (outcome, label) in zip(axes[0], OUTCOMES.items()):
        cs = load_result(evaluation, f"{outcome}__cs_dynamic")
        tw = load_result(evaluation, f"{outcome}__twfe_es")
        plot_event_study([cs, tw], ax=ax, title=label)
    figure.tight_layout()
    save_figure(figure, name)
    return figure


event_study_figure(f"{PLAN}_{PRIMARY}", "event_study_sc_national_cities");

# %% [markdown]
# The figure shows the primary variant (balanced panel, unweighted,
# clustered by county). The overall estimates of every variant, beside the
# published county result of Alsan and Yang:

# %%
literature = read_crosswalk(
    "literature_secure_communities.csv",
    ["study", "design", "outcome", "estimate", "se", "note"],
)
robust = table[table["estimator"].str.startswith("Callaway")]
figure, ax = plt.subplots(figsize=(9, 6))
rows = []
for outcome, label in OUTCOMES.items():
    for r in robust[robust["outcome"] == outcome].itertuples():
        rows.append((f"{label.split(' (')[0]} / {r.variant}", r.att, r.ci_lower,
                     r.ci_upper, "#4c72b0"))
# Only published estimates on the same scale (log offenses) with a standard
# error can share these axes; the others are listed in the table below.
comparable = literature[(literature["estimate"] != "") & (literature["se"] != "")
                        & literature["outcome"].str.lower().str.startswith("log")]
for r in comparable.itertuples():
    estimate, se = float(r.estimate), float(r.se)
    rows.append((f"{r.study}: {r.outcome}", estimate, estimate - 1.96 * se,
                 estimate + 1.96 * se, "#c44e52"))
for position, (name, att, low, high, colour) in enumerate(reversed(rows)):
    ax.errorbar(att, position, xerr=[[att - low], [high - att]], fmt="o",
                color=colour, capsize=3)
ax.set_yticks(range(len(rows)), [r[0] for r in reversed(rows)], fontsize=8)
ax.axvline(0, color="grey", lw=0.8)
ax.set_xlabel("effect on log crime rate (95% interval)")
ax.set_title("Callaway-Sant'Anna overall effects by variant (blue) and the "
             "published county result (red)", fontsize=10)
figure.tight_layout()
save_figure(figure, "sc_national_cities_variants");

# %% [markdown]
# ### Effects by activation cohort (primary variant)

# %%
primary_outcome = plan["primary"]
load_result(f"{PLAN}_{PRIMARY}", f"{primary_outcome}__cs_group").tidy().round(4)

# %% [markdown]
# ### What TWFE averages over (primary variant)
#
# The Goodman-Bacon decomposition of the static TWFE coefficient (balanced,
# unweighted variants only: the decomposition needs both).

# %%
for outcome in OUTCOMES:
    print(load_result(f"{PLAN}_{PRIMARY}", f"{outcome}__bacon").record["summary"],
          "\n")

# %% [markdown]
# ## Samples: which cities were used and what was dropped
#
# The primary variant's ledger for the primary outcome, then the number of
# cities per activation cohort in each variant. A city-year with a rate of 0
# has no log and counts as missing; in the balanced variants a city with one
# such year leaves the sample, which removes many small towns (the 10,000+
# variant shows whether that matters).

# %%
sample = load_result(f"{PLAN}_{PRIMARY}", f"{primary_outcome}__sample")
ledger = pd.DataFrame(sample.record["ledger"])
display(ledger[["step", "action", "reason", "rows_in", "rows_out", "rows_affected",
                "examples"]])

# %%
cohorts = {}
for variant in plan["variants"]:
    frame = load_result(f"{PLAN}_{variant}", f"{primary_outcome}__sample").tidy()
    cohorts[variant] = frame.groupby("cohort")["unit"].nunique()
pd.DataFrame(cohorts).T.rename_axis("variant / cohort")

# %% [markdown]
# ## Design choices made after seeing results
#
# The plan's first run used the project's default rule: every county was
# eventually activated, so the last activation cohort (2013) is the
# comparison group and the window ends in 2012. The plan was then changed to
# use the 2012 cohort as the comparison group, with the window 2005-2011.
# This change was **not pre-specified**; the first run's design is kept as the
# variant `balanced_unweighted_cohort2013` so that both can be read. Why: the
# 2013 comparison cohort of that run, by state, and its mean log violent-crime
# rate by year next to the other cohorts' (the FBI footnotes Alabama's 2011
# figures for changed reporting practices):

# %%
first_run = load_result(f"{PLAN}_balanced_unweighted_cohort2013",
                        f"{primary_outcome}__sample").tidy()
comparison = first_run[first_run["cohort"] == first_run["cohort"].max()]
display(comparison.drop_duplicates("unit")["unit"].str[:2].value_counts()
        .rename("cities in the 2013 cohort").to_frame().T)
by_cohort = first_run.groupby(["cohort", "year"])[f"log_{primary_outcome}"]
by_cohort.mean().unstack().round(3)

# %% [markdown]
# ## How this compares with the published studies

# %%
literature[["study", "design", "outcome", "estimate", "se", "note"]]

# %%
primary_rows = table[(table["variant"] == PRIMARY)
                     & table["estimator"].str.startswith("Callaway")]
lines = [
    f"- {r.label}: {r.att:.3f} (se {r.se:.3f}, 95% CI {r.ci_lower:.3f} to "
    f"{r.ci_upper:.3f}; {r.units:,} cities, {r.years} years)"
    for r in primary_rows.itertuples()
]
display(Markdown("Primary variant, Callaway-Sant'Anna overall effects:\n\n"
                 + "\n".join(lines)))

# %% [markdown]
# Differences in design to keep in mind when reading the numbers side by side:
#
# - **Unit.** Miles and Cox, and Alsan and Yang, use counties; this panel uses
#   city police agencies (a city's row is its own police's offenses, not all
#   crime in the county), and counties' sheriffs are absent from the FBI's
#   city table.
# - **Outcome.** Alsan and Yang's 0.017 is on log offenses (counts); these
#   are log rates per 100,000, which differ by the log of population (fixed
#   effects absorb most of it). Violent crime here excludes rape.
# - **Estimator.** The published studies use two-way fixed effects; TWFE is
#   shown here beside the heterogeneity-robust estimator, with the
#   Goodman-Bacon decomposition of what it averages.
# - **Comparison group and window.** No county was never activated, so the
#   comparison is with later-activated cities, and the window ends before the
#   comparison cohort is treated (2011 in the primary design): effects more
#   than three years after activation are not estimated.
# - Miles and Cox and Treyger, Chalfin and Loeffler report no meaningful
#   change in crime; their headline coefficients are not transcribed in the
#   CSV (blank, not guessed), so they are compared here in direction only.
#
# ## Limitations
#
# - Reported crime is not victimization; a policy that changes immigrants'
#   willingness to report crime changes the outcome without changing crime.
# - The FBI city table lists agencies with complete reporting for the year;
#   a city leaving the table is missing, and coverage shifts (Illinois before
#   2009, Hawaii 2011-2014, Connecticut and Rhode Island 2007) change the
#   sample, most of all in the all-cities variants.
# - A city's id is its state and normalised name: a city whose printed name
#   changes beyond the normalisation rules (a county added to tell two
#   townships apart, a misspelt county) starts a new id, so its series
#   breaks; `city_county_link` lists every spelling of each id.
# - A city takes its principal county's date; a city spanning several
#   counties gets one of them. Cities with no county (about 1% of
#   city-years) are excluded.
# - The log of a zero rate is undefined: city-years with no offence are
#   missing, which selects larger cities in the balanced samples.
# - The comparison cohort was chosen after the first run (see above). The
#   intervals are not adjusted for the many variants and two outcomes shown.

# %%
tested = table.dropna(subset=["pretrend_p"])
rejected = tested[tested["pretrend_p"] < 0.05]
display(Markdown(
    f"The joint pre-trend test was run for {len(tested)} estimates and rejects "
    f"at the 5% level for {len(rejected)}: "
    + ", ".join(f"{r.variant} / {r.outcome} / {r.estimator.split(' (')[0]} "
                f"(p = {r.pretrend_p:.3f})" for r in rejected.itertuples())
    + ". Where it rejects, the post-activation estimates of that variant "
    "should not be read as effects of the program."
))

# %% [markdown]
# ## Reproducibility

# %%
print(f"{PLAN}: seed {plan['seed']}, {plan['n_boot']} bootstrap draws")
print(pd.Series(summary.record["environment"]).to_string())
panel = read_panel("city_year")
print(f"city_year: {len(panel.frame):,} rows; raw files: {len(panel.raw_sha256)}")
print(pd.Series(panel.notes).to_string())
