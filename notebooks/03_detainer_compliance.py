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
# # Detainer compliance: Texas jails and Pennsylvania facilities
#
# How often local jails hold people on ICE detainers, and what becomes of the
# detainers. Texas: county-month reports to the Texas Commission on Jail
# Standards, October 2011 to November 2017. Pennsylvania: every detainer ICE
# issued to a Pennsylvania facility, October 2007 to July 2015 (ICE FOIA via
# NPR). These are measures of cooperation, not of crime. The tables were
# computed by `analysis.evaluate`; this report only displays them.

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display
from matplotlib.ticker import MaxNLocator

from analysis.plots import save_figure
from analysis.store import load_result

pd.set_option("display.width", 160)

# %% [markdown]
# ## Texas: inmates held on ICE detainers
#
# Totals are over the counties that reported that month; a county-month with
# no report is missing, not zero. February 2017 is missing for every county:
# the shipped file repeats February 2016 for it, and the loader drops the copy.

# %%
texas = load_result("detainers", "texas_statewide_month")
monthly = texas.tidy()
monthly["date"] = pd.to_datetime(monthly["date"])
figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True,
                                     height_ratios=[3, 1])
top.plot(monthly["date"], monthly["inmates"], marker=".", color="tab:blue")
top.set_ylabel("inmates held on detainers")
top.set_title("Texas county jails: inmates held on ICE detainers per month")
bottom.plot(monthly["date"], monthly["counties_reporting"], color="tab:gray",
            marker=".")
bottom.set_ylabel("counties\nreporting")
bottom.set_xlabel("month of report")
bottom.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
figure.text(0.01, 0.01, "Inmates held on an ICE detainer at any time during the "
            "month (TCJS num_of_inmates), summed over the counties that reported; "
            "a month with no report is a gap, not zero.", fontsize=8, color="0.3")
figure.tight_layout(rect=(0, 0.04, 1, 1))
save_figure(figure, "texas_detainer_holds");

# %%
gaps = monthly[monthly["counties_reporting"] == 0]
display(Markdown(
    "Months with no report from any county (gaps in the line): "
    + (", ".join(gaps["date"].dt.strftime("%Y-%m")) or "none") + "."
))

# %% [markdown]
# Counties with the most inmate-months on detainers. `inmate_months_total`
# sums monthly counts: a person held three months counts three times.

# %%
load_result("detainers", "texas_top_counties").tidy().round(1)

# %% [markdown]
# Rules the Texas loader applied (from the panel's notes):

# %%
for name, text in texas.record["notes"].items():
    print(f"{name}: {text}\n")

# %% [markdown]
# ## Pennsylvania: detainers issued and their outcomes

# %%
outcomes = load_result("detainers", "pennsylvania_outcomes_by_year").tidy()
by_year = outcomes.groupby("year").sum(numeric_only=True)
columns = [c for c in by_year.columns if c.startswith("outcome_")]
shares = by_year[columns].div(by_year["detainers_issued"], axis=0)
figure, ax = plt.subplots(figsize=(10, 5))
labels = {c: c.removeprefix("outcome_").replace("_", " ") for c in columns}
shares.rename(columns=labels).plot.bar(
    stacked=True, ax=ax, colormap="tab20", width=0.8
)
ax.set_ylabel("share of detainers issued")
ax.set_title("Pennsylvania: outcome of ICE detainers by year issued")
ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
figure.text(0.01, 0.01, "2007 (from October) and 2015 (to July) are partial years. "
            "Outcomes of detainers issued in 2013-2015 are censored at the 2015 "
            "extract, so their 'pending or none' share is not a change in practice.",
            fontsize=8, color="0.3")
figure.tight_layout(rect=(0, 0.05, 1, 1))
save_figure(figure, "pennsylvania_detainer_outcomes");

# %%
by_year[["detainers_issued", "outcome_declined_by_lea",
         "outcome_pending_or_none"]].astype(int)

# %%
kinds = outcomes.pivot_table(index="year", columns="facility_kind",
                             values="detainers_issued", aggfunc="sum")
kinds

# %%
load_result("detainers", "pennsylvania_top_facilities").tidy().round(3)

# %% [markdown]
# ## What these data cannot show
#
# - Outcomes of recent detainers are censored: a detainer issued in 2014 or
#   2015 had often not been resolved when ICE extracted the data in 2015, so
#   the "pending or none" share rises in the last years. That rise is a
#   property of the extract, not a change in behaviour.
# - "Declined by LEA" is recorded by ICE: it counts declines ICE noted, not
#   local policy. 2007 and 2015 are partial years.
# - Texas figures are self-reported by counties and parsed from PDFs.
# - Neither file says whether a detainer changed anyone's time in custody
#   or any crime outcome.

# %% [markdown]
# ## Sources
#
# The raw files behind these tables, with the sha256 each panel was built
# from (checked against `data/manifest.csv` when the panel was read).

# %%
pd.DataFrame(
    sorted({**texas.record["raw_sha256"],
            **load_result("detainers", "pennsylvania_outcomes_by_year")
            .record["raw_sha256"]}.items()),
    columns=["file", "sha256"],
)
