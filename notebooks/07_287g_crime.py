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
# # 287(g) agreements and reported crime
#
# Under a 287(g) agreement ICE delegates immigration enforcement powers to a
# local agency, most often a sheriff's jail (the jail model). This report
# follows the plan `plans/g287_large_agencies.toml`, fixed before any
# estimate: first count, in every crime panel, the treated units observed
# both before and after their county's first agreement; estimate only in a
# panel with at least the plan's `min_treated_units`; say so where there are
# too few. Agreements come from the Deportation Data Project's roster
# (`data/raw/deportationdata_287g_pre2018`), local high-confidence agreements
# only, earliest signing per county (77 counties).

# %%
import pandas as pd
from IPython.display import Markdown, display

from analysis import report_sections as sections
from analysis.store import load_result

pd.set_option("display.width", 160)
pd.set_option("display.max_colwidth", 200)
pd.set_option("display.max_columns", 30)
EVALUATION = "g287_large_agencies"

# %% [markdown]
# ## Treated units in each crime panel

# %%
counts = load_result(EVALUATION, "treated_units")
plan = counts.record["plan"]
table = counts.tidy().set_index("panel")
lines = [
    f"- `{panel}`: {row.treated_with_pre_and_post} treated units with outcome "
    f"data before and after signing, of {row.units} units"
    + (f" ({row.note})" if isinstance(row.note, str) and row.note else "")
    + ("; **estimated**" if row.estimated else "; not estimated")
    for panel, row in table.iterrows()
]
display(Markdown(
    f"The plan allows estimation with at least {plan['min_treated_units']} "
    f"treated units, in `{plan['panel']}` "
    f"({plan['first_year']}-{plan['last_year']}):\n\n" + "\n".join(lines)))
table

# %% [markdown]
# ## Summary

# %%
sections.show_summary(EVALUATION)

# %% [markdown]
# ## Plan and deviations

# %%
sections.show_plan(EVALUATION)

# %%
sections.show_deviations(EVALUATION)

# %% [markdown]
# ## Treatment
#
# Agencies take the first 287(g) signing in their principal county; agencies
# in counties without a local agreement in the roster are never treated
# within the window, and the two Texas agencies whose county signed in 2017
# are untreated within it (ledger below). Many agreements were jail
# agreements with the sheriff: they screen everyone booked into the county
# jail, including a city police department's arrestees.

# %%
sections.show_rollout(EVALUATION, "rollout_287g_large_agencies",
                      "287(g) in the large-agency sample");

# %% [markdown]
# ## Data

# %%
sections.show_data(EVALUATION, label_col="department_name")

# %% [markdown]
# ## Main results
#
# The shipped data hold no measure of 287(g) enforcement before and after
# signing (the Pennsylvania detainer file has no 287(g) county, and the Texas
# reports start in 2011), so there is no first stage for this evaluation.

# %%
sections.event_study_figure(EVALUATION, "event_study_287g_large_agencies");

# %%
sections.event_time_table(EVALUATION)

# %%
sections.thin_cells(EVALUATION)

# %%
sections.overall_table(EVALUATION)

# %% [markdown]
# ## Diagnostics

# %%
sections.show_diagnostics(EVALUATION)

# %% [markdown]
# ## Limitations
#
# - Few treated units (see the count above): with about a dozen treated
#   agencies, each cohort's estimate rests on a handful of cities, and the
#   intervals are wide; the minimum detectable effect in the summary says how
#   large an effect these data could have seen.
# - Secure Communities reached every county between 2008 and 2013, so
#   post-2008 years mix the two programmes; 287(g) counties were among the
#   early Secure Communities activations.
# - The roster is the Deportation Data Project's best guess of pre-2018
#   agreements; agreements that ended (many task-force agreements ended in
#   2012) are treated as if still in force (first signing only).
# - Reported crime is not victimization, and UCR coverage rules drop agencies
#   with partial years (ledger above).
#
# ## Reproducibility

# %%
sections.show_reproducibility(EVALUATION)
