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
# # Iowa: return to prison within three years, by district and release cohort
#
# Iowa Department of Corrections releases in state fiscal years 2010-2015,
# followed three years. Descriptive only: the data have no policy variation to
# evaluate. Releases paroled to an immigration (INS) detainer are shown apart;
# that release type is recorded only for FY2013 and FY2015 releases, so in
# other years they cannot be told apart from ordinary paroles.

# %%
import matplotlib.pyplot as plt
import pandas as pd

from analysis.plans import load_plan, plan_table
from analysis.plots import save_figure
from analysis.store import load_result

pd.set_option("display.max_colwidth", 120)
result = load_result("iowa", "district_year")
table = result.tidy()

# %% [markdown]
# ## Plan
#
# The descriptive plan `plans/iowa_recidivism.toml`, checked against the plan
# schema. Being descriptive, it has no estimator, control group or
# multiplicity adjustment to deviate from; the release years shown are
# checked against its window below.

# %%
plan = load_plan("iowa_recidivism")
years = sorted(table["release_fy"].unique())
outside = [y for y in years if not plan["first_year"] <= y <= plan["last_year"]]
print(f"release years in the data: {years[0]}-{years[-1]}; planned "
      f"{plan['first_year']}-{plan['last_year']}; outside the plan: "
      f"{outside or 'none'}")
plan_table(plan).set_index("field")

# %% [markdown]
# ## Return rates with Wilson 95% intervals

# %%
districts = table[(table["group"] == "all") & table["judicial_district"]]
figure, ax = plt.subplots(figsize=(10, 5))
for offset, (district, rows) in enumerate(districts.groupby("district")):
    x = rows["release_fy"] + (offset - 3.5) * 0.08
    error = [rows["rate"] - rows["rate_low"], rows["rate_high"] - rows["rate"]]
    ax.errorbar(x, rows["rate"], yerr=error, marker="o", ms=4, capsize=2,
                label=district)
ax.set_xlabel("state fiscal year of release")
ax.set_ylabel("share returned to prison within 3 years")
ax.set_title("Iowa: return to prison by supervising district (Wilson 95% intervals)")
ax.legend(ncol=4, fontsize=8)
left_out = table[(table["group"] == "all") & ~table["judicial_district"]]
shown = ", ".join(f"{name} ({int(count):,})" for name, count in
                  left_out.groupby("district")["releases"].sum().items())
figure.text(0.01, 0.01, "Judicial districts 1JD-8JD only. Not drawn (releases "
            f"FY2010-2015 in brackets): {shown}; see the tables below.",
            fontsize=8, color="0.3", wrap=True)
figure.tight_layout(rect=(0, 0.05, 1, 1))
save_figure(figure, "iowa_recidivism_by_district");

# %%
table[table["group"] == "all"].pivot_table(
    index="district", columns="release_fy", values="rate"
).round(3)

# %%
table[table["group"] == "all"].pivot_table(
    index="district", columns="release_fy", values="releases"
)

# %% [markdown]
# ## Releases paroled to an immigration detainer
#
# Shown apart from the district rates: a person paroled to an INS detainer
# leaves Iowa custody for federal immigration custody, so a low return rate
# says little about reoffending.

# %%
ins = table[table["group"] != "all"]
ins_by_year = ins.groupby("release_fy")[["releases", "returned"]].sum()
ins_by_year["rate"] = (ins_by_year["returned"] / ins_by_year["releases"]).round(3)
ins_by_year

# %% [markdown]
# The district rates above count every release, these included. Without them
# (saved counts minus the detainer releases, in the years the label exists):

# %%
keys = ["district", "release_fy"]
every = table[table["group"] == "all"].set_index(keys)[["releases", "returned"]]
detainer = ins.set_index(keys)[["releases", "returned"]].reindex(every.index,
                                                                 fill_value=0)
without = every - detainer
without["rate"] = without["returned"] / without["releases"]
without["rate_all"] = every["returned"] / every["releases"]
without.reset_index().pivot_table(index="district", columns="release_fy",
                                  values="rate").round(3)

# %%
ins[ins["releases"] > 0]

# %% [markdown]
# ## Rules applied to the data

# %%
for name, text in result.record["notes"].items():
    print(f"{name}: {text}")

# %% [markdown]
# ## Sources
#
# The raw files behind this report, with the sha256 the panel was built from
# (each checked against `data/manifest.csv` when the panel was read).

# %%
pd.DataFrame(sorted(result.record["raw_sha256"].items()), columns=["file", "sha256"])
