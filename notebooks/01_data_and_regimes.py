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
# # Data, panels and regime timing
#
# This report lists every shipped source with its hash, every panel built from
# them with its audit ledger, and the timing of the two cooperation regimes
# (Secure Communities activation and 287(g) agreements). It reads the panels in
# `data/processed/` and the saved results; it estimates nothing.

# %%
import warnings

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from analysis.build import PANELS
from analysis.io import read_panel
from analysis.manifest import read_manifest
from analysis.plots import save_figure
from analysis.plots.rollout import plot_rollout
from analysis.store import load_result

pd.set_option("display.max_colwidth", 80)
pd.set_option("display.width", 160)
pd.set_option("display.max_columns", None)
pd.set_option("display.max_rows", 200)

# %% [markdown]
# ## Sources
#
# Each file under `data/raw/` is checked against this sha256 every time it is
# loaded; a changed file stops the build with an error naming it.

# %%
manifest = read_manifest()
files = manifest[["source", "file", "bytes"]].assign(
    sha256=manifest["sha256"].str[:16] + "..."
)
files.style.set_uuid("files").hide(axis="index")

# %%
sources = manifest.drop_duplicates("source")
sources[["source", "publisher", "licence", "coverage"]].style.set_uuid("sources").hide(
    axis="index"
)

# %% [markdown]
# ## Panels
#
# Every panel has a unique, non-missing key and carries the hashes of the raw
# files it was built from. Rows in and out of every step are in its ledger.

# %%
panels = {name: read_panel(name) for name in PANELS}
overview = pd.DataFrame(
    [
        {
            "panel": name,
            "rows": len(panel.frame),
            "key": ", ".join(panel.key),
            "raw files": ", ".join(sorted(panel.raw_sha256)),
            "ledger steps": len(panel.ledger),
        }
        for name, panel in panels.items()
    ]
)
overview

# %% [markdown]
# ### Design rules recorded with each panel

# %%
for name, panel in panels.items():
    lines = [f"**{name}**"] + [f"- *{k}*: {v}" for k, v in panel.notes.items()]
    display(Markdown("\n".join(lines)))

# %% [markdown]
# ### Audit ledgers
#
# `rows_in = rows_out + rows_affected` holds for every drop or collapse step
# (checked when the panel was written). Recodes change values, not rows.

# %%
ledgers = pd.concat([panel.ledger.to_frame() for panel in panels.values()])
removed = ledgers[ledgers["rows_affected"] > 0]
removed[["dataset", "step", "action", "reason", "rows_in", "rows_out",
         "rows_affected", "examples"]]

# %% [markdown]
# ## Coverage
#
# Missing is never zero. In the New York county panel an agency-year enters
# the county sum only with 12 months reported (or months not recorded, as in
# every row up to 2001); the share of agencies meeting the rule is below.
# Because the months are not recorded before 2002, the rule can only bite from
# 2002 on; the New York evaluation window starts in 2002 for that reason.

# %%
ny = panels["ny_county_year"].frame
coverage = ny.groupby("year").agg(
    agencies=("n_agencies", "sum"), in_sum=("n_agencies_in_sum", "sum")
)
coverage["share_in_sum"] = coverage["in_sum"] / coverage["agencies"]
coverage.round(3)

# %%
agencies = panels["large_agency_year"].frame
full = agencies.pivot_table(
    index="year", values="full_year",
    aggfunc=lambda s: int((s == False).sum()),  # noqa: E712 (nullable booleans)
)
full.columns = ["agencies with fewer than 12 months"]
full[full.iloc[:, 0] > 0]

# %% [markdown]
# ## Regime timing
#
# ### Secure Communities
#
# Activation dates come from Asad and Baer-Bositis (2025) via the replication
# package of Vargas-Nunez et al. (2026). A county's first treated year is the
# calendar year that contains its activation date. Eight counties carry two
# encodings of the date that disagree; the rule applied keeps `date_secure`.

# %%
sc = panels["regime_sc_county"].frame
cohort_sizes = sc["first_treated_year"].value_counts(dropna=False).sort_index()
cohort_sizes.rename("counties").to_frame().T

# %%
from analysis.sources.secure_communities import load_secure_communities

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # the conflict warning is this very table
    counties = load_secure_communities()
counties.loc[counties["dates_disagree"],
             ["county_fips", "date_secure", "component_date", "activation_date"]]

# %%
known = sc.set_index("county_fips").loc[["48201", "06037", "06075", "17031"]]
known[["start_date", "first_treated_year", "source_file", "source_row"]]

# %% [markdown]
# ### 287(g) agreements
#
# Local, high-confidence agreements with a county FIPS, earliest signing per
# county (the Deportation Data Project's own advice). How many treated units
# each crime panel holds, and the evaluation where there are enough, are in
# the 287(g) report (`reports/07_287g_crime.html`).

# %%
g287 = panels["regime_287g_county"].frame
g287["first_treated_year"].value_counts(dropna=False).sort_index().to_frame().T

# %% [markdown]
# ### Rollout in the evaluation samples
#
# Units by year, sorted by activation year. The last cohort is the comparison
# group: it is untreated throughout the window, which ends the year before its
# activation.

# %%
figure, axes = plt.subplots(1, 2, figsize=(12, 6))
for ax, (evaluation, outcome, title) in zip(
    axes,
    [
        ("sc_large_agencies", "violent_crime_ex_rape_per_100k", "of 68 agencies"),
        ("sc_ny_counties", "index_total_per_100k", "of 62 NY counties"),
    ],
):
    sample = load_result(evaluation, f"{outcome}__sample").tidy()
    units = sample["unit"].nunique()
    plot_rollout(sample, unit_col="unit", period_col="year", gname_col="cohort",
                 ax=ax, title=f"Secure Communities: {units} {title}")
figure.tight_layout()
save_figure(figure, "rollout_secure_communities");
