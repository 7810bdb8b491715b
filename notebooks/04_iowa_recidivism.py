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

from analysis.plots import save_figure
from analysis.store import load_result

result = load_result("iowa", "district_year")
table = result.tidy()

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
figure.tight_layout()
save_figure(figure, "iowa_recidivism_by_district")

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

# %%
ins = table[table["group"] != "all"]
ins.groupby("release_fy")[["releases", "returned"]].sum()

# %%
ins[ins["releases"] > 0]

# %% [markdown]
# ## Rules applied to the data

# %%
for name, text in result.record["notes"].items():
    print(f"{name}: {text}")
