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

# %% tags=["parameters"]
# The evaluation this report presents; analysis.report runs the notebook once
# per Secure Communities plan with this parameter set.
EVALUATION = "sc_large_agencies"

# %%
import pandas as pd
from IPython.display import Markdown, display

from analysis import report_sections as sections
from analysis.store import load_result

pd.set_option("display.width", 160)
pd.set_option("display.max_colwidth", 120)
pd.set_option("display.max_columns", 30)
plan = load_result(EVALUATION, "summary").record["plan"]
text = plan["report"]
display(Markdown(
    f"# {plan['title']}\n\n{text['intro']} It follows the plan "
    f"`plans/{EVALUATION}.toml`, fixed before the estimates. Every number below "
    "was computed by `python -m analysis.evaluate` from the estimator objects "
    "and is only read here; the plan, the deviations from it, the data "
    "decisions and the first stage come before the crime results."))

# %% [markdown]
# ## Summary

# %%
sections.show_summary(EVALUATION)

# %% [markdown]
# Effects are changes in the log of the crime rate per 100,000 residents, so
# 0.05 is about a 5% change. The minimum detectable effect (MDE) is
# (z<sub>0.975</sub> + z<sub>0.80</sub>) x se; the equivalence bound is the
# smallest symmetric bound that two one-sided 5% tests reject, the largest
# absolute limit of the 90% interval (`analysis.robustness.power`).
#
# ## Plan and deviations

# %%
sections.show_plan(EVALUATION)

# %%
sections.show_deviations(EVALUATION)

# %% [markdown]
# ## Treatment
#
# Secure Communities sent the fingerprints of everyone booked into a local
# jail to immigration authorities (DHS IDENT), so that ICE could issue a
# detainer for anyone it wished to take into custody. ICE activated it county
# by county from October 2008 to January 2013; it was suspended in November
# 2014. Activation dates come from ICE's activated-jurisdictions lists as
# compiled by Asad and Baer-Bositis (2025) and shipped with the replication
# data of Vargas-Núñez et al. (2026, PNAS)
# (`data/raw/secure_communities_asad_vargasnunez/PROVENANCE.md`). Every
# county was eventually activated, so the last cohort is the comparison group
# and the window ends the year before it is activated.

# %%
display(Markdown(text["treatment_note"]))
sections.show_rollout(EVALUATION, f"rollout_{EVALUATION}", text["rollout_title"]);

# %% [markdown]
# ## Data

# %%
sections.show_data(EVALUATION, label_col=text["label_col"])

# %% [markdown]
# ## First stage: did activation change enforcement?
#
# If Secure Communities changed enforcement, ICE should have issued more
# detainers to local jails after activation. The shipped data allow this test
# in one state only. The ICE FOIA file of detainers issued to Pennsylvania
# facilities (October 2007 - July 2015) brackets the Pennsylvania activations:
# in the shipped activation data, Bucks and Montgomery counties were activated
# on 2008-12-16, Philadelphia on 2009-07-21 and the other 64 counties on
# 2012-05-30. The Texas detainer reports start in October 2011, after every
# Texas county was activated, so they have no before period; no other state's
# detainer data ship with the project. Facilities were mapped to counties by
# `data/crosswalks/pa_facility_counties.csv` (county jails and Philadelphia
# police lockups; state and federal prisons left out), plan
# `plans/sc_first_stage_pa.toml`.

# %%
sections.show_first_stage()

# %%
sections.show_deviations("sc_first_stage_pa")

# %%
display(Markdown(text["first_stage_note"]))

# %% [markdown]
# ## Main results
#
# Event studies for each outcome: Callaway and Sant'Anna (2021) group-time
# effects aggregated by years since activation (doubly robust, not-yet-treated
# controls, uniform bands from the seeded multiplier bootstrap where shown)
# beside the binned TWFE event study (pointwise intervals, reference year -1).

# %%
sections.event_study_figure(EVALUATION, f"event_study_{EVALUATION}");

# %%
sections.event_time_table(EVALUATION)

# %%
sections.thin_cells(EVALUATION)

# %% [markdown]
# Overall effects of every outcome and estimator (`pretrend_p`: joint Wald
# test that all pre-period estimates are zero).

# %%
sections.overall_table(EVALUATION)

# %% [markdown]
# Effects by activation cohort (primary outcome, Callaway-Sant'Anna):

# %%
load_result(EVALUATION, f"{plan['primary']}__cs_group").tidy().round(4)

# %% [markdown]
# ## Diagnostics

# %%
sections.show_diagnostics(EVALUATION)

# %% [markdown]
# ## Robustness, placebo tests and multiple outcomes

# %%
sections.show_robustness(EVALUATION)

# %% [markdown]
# ## How this compares with published studies
#
# Each row cites its source; a number appears only where the cited page gives
# it. The published studies differ from this one in units (all counties,
# cities, survey respondents), window and estimator, so the comparison is of
# direction and size, not a replication.

# %%
sections.show_literature(EVALUATION)

# %% [markdown]
# ## Limitations
#
# - Reported crime is not victimization: if the programme made immigrants
#   less willing to report crimes, reported crime can stay flat while crime
#   rises (Gonçalves, Jácome and Weisburst report exactly this pattern for
#   Hispanic victims, see above).
# - No never-treated units: every county was activated, so the comparison
#   group is the last cohort and the window ends before it is treated; the
#   long-run effect is not identified.
# - The intervals above are not adjusted for the plan's several outcomes (the
#   plan's adjustment is in the multiplicity section); with few clusters,
#   cluster-robust inference rests on moderate numbers.

# %%
display(Markdown("\n".join(f"- {item}" for item in text["limitations"])))

# %% [markdown]
# ## Reproducibility

# %%
sections.show_reproducibility(EVALUATION)
