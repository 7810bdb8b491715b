"""First stage of Secure Communities: did ICE detainers rise after activation?

Secure Communities sent the fingerprints of everyone booked into local
custody to ICE, so if it changed enforcement, ICE should have issued more
detainers to local jails after a county was activated. The Pennsylvania ICE
FOIA file lists every detainer issued to a Pennsylvania facility from October
2007 to July 2015, which brackets the Pennsylvania activations; Texas
detainer reports start in October 2011, after every Texas county was
activated, so they cannot show a before and after.

The sample is a county x quarter panel of detainers issued to local custody
(county jails and Philadelphia police lockups, mapped to counties by
``data/crosswalks/pa_facility_counties.csv``); state and federal prisons,
Marshals and ICE offices are left out because Secure Communities worked
through local bookings. As in the crime evaluations no county is never
activated, so the last activation cohort is the comparison group and the
window ends the quarter before it is activated.
"""

from __future__ import annotations

import pandas as pd

from analysis.did import att_gt, poisson_etwfe, pretrend_test
from analysis.io import Panel
from analysis.ledger import Ledger
from analysis.regimes import assign_cohorts
from analysis.sources._common import read_crosswalk

CROSSWALK = "pa_facility_counties.csv"
PER_RESIDENTS = 100_000
POPULATION_YEAR = 2010


def quarter_of_month(month_period: pd.Series) -> pd.Series:
    """Month period (``year * 12 + month - 1``) -> quarter (``year * 4 + q - 1``)."""
    return (month_period // 12) * 4 + (month_period % 12) // 3


def label_quarter(quarter: int) -> str:
    """``year * 4 + q - 1`` -> ``"2009Q3"``."""
    return f"{quarter // 4}Q{quarter % 4 + 1}"


def _local_custody(frame: pd.DataFrame, ledger: Ledger) -> pd.DataFrame:
    """Keep facility-months of local custody and attach the county."""
    crosswalk = read_crosswalk(CROSSWALK, ["det_facility", "county_fips", "custody"])
    local = frame["facility"].isin(crosswalk["det_facility"])
    dropped = frame.loc[~local].groupby("facility_kind")["detainers_issued"].sum()
    frame = ledger.drop(
        frame, ~local, "local custody",
        "state or federal prison, Marshals or ICE office, juvenile home or shelter: "
        "not local bookings (detainers left out: "
        + ", ".join(f"{kind} {int(n)}" for kind, n in dropped.items()) + ")",
        id_columns=["facility"], warn=False,
    )
    counties = crosswalk.set_index("det_facility")["county_fips"]
    return frame.assign(county_fips=frame["facility"].map(counties))


def prepare_sample(
    facility_months: Panel, regimes: Panel, population: pd.DataFrame, plan: dict
) -> tuple[pd.DataFrame, Ledger]:
    """County x quarter detainers for the first-stage event study.

    Parameters
    ----------
    facility_months
        The ``pa_facility_month`` panel.
    regimes
        The ``regime_sc_county`` panel.
    population
        County population with columns ``county_fips``, ``year``,
        ``population`` (Census Vintage 2019); the 2010 value is the exposure
        of every quarter (earlier years are not in the shipped file).
    plan
        The first-stage plan (``plans/sc_first_stage_pa.toml``).

    Returns
    -------
    sample, ledger
        Columns ``unit``, ``county_fips``, ``quarter``, ``year``,
        ``detainers``, ``population``, ``detainers_per_100k``, ``cohort``
        (activation quarter) and ``gname`` (0 for the comparison cohort).
    """
    ledger = Ledger(f"{plan['name']}:{plan['primary']}")
    frame = _local_custody(facility_months.frame, ledger)

    frame = frame.assign(quarter=quarter_of_month(frame["period"]))
    county_quarters = frame.groupby(["county_fips", "quarter"], as_index=False)[
        "detainers_issued"].sum().rename(columns={"detainers_issued": "detainers"})
    ledger.record("county-quarter", len(frame), len(county_quarters),
                  removed={"facility-months of one county and quarter summed":
                           len(frame) - len(county_quarters)}, action="collapse")
    county_quarters["year"] = county_quarters["quarter"] // 4

    outside = ((county_quarters["year"] < plan["first_year"])
               | (county_quarters["year"] > plan["last_year"]))
    county_quarters = ledger.drop(
        county_quarters, outside, "window",
        f"outside {plan['first_year']}-{plan['last_year']}",
        id_columns=["county_fips", "quarter"], warn=False)

    # Cohorts: the quarter containing the activation date (period 0 is
    # partly treated, which attenuates the first post estimate).
    frame = assign_cohorts(county_quarters, regimes.frame, unit_col="county_fips",
                           period_col="quarter", periods="month",
                           unmatched="error", ledger=ledger)
    frame["cohort"] = quarter_of_month(frame.pop("gname"))

    last = int(frame["cohort"].max())
    after = frame["quarter"] >= last
    frame = ledger.drop(
        frame, after, "comparison window",
        f"quarter >= {label_quarter(last)}, when the last cohort (the comparison "
        "group) is activated", id_columns=["county_fips", "quarter"], warn=False)
    frame["gname"] = frame["cohort"].where(frame["cohort"] != last, 0)
    ledger.recode("comparison group", f"cohort {label_quarter(last)} untreated in "
                  "window: gname 0", int((frame["gname"] == 0).sum()), len(frame),
                  warn=False)

    exposure = population.loc[population["year"] == POPULATION_YEAR,
                              ["county_fips", "population"]]
    frame = frame.merge(exposure, on="county_fips", how="left", validate="m:1")
    if frame["population"].isna().any():
        missing = sorted(frame.loc[frame["population"].isna(), "county_fips"].unique())
        raise ValueError(f"census_popest_county: no {POPULATION_YEAR} population "
                         f"for county FIPS {missing}; check the county crosswalk "
                         f"data/crosswalks/{CROSSWALK}.")
    frame["detainers_per_100k"] = frame["detainers"] / frame["population"] * (
        PER_RESIDENTS)
    frame["unit"] = frame["county_fips"]
    columns = ["unit", "county_fips", "quarter", "year", "detainers", "population",
               "detainers_per_100k", "cohort", "gname"]
    return frame[columns].sort_values(["unit", "quarter"], ignore_index=True), ledger


def estimate(sample: pd.DataFrame, plan: dict) -> dict:
    """Callaway-Sant'Anna on the rate (primary) and Poisson ETWFE on the counts."""
    common = dict(tname="quarter", idname="unit", gname="gname")
    cs = att_gt(sample, yname=plan["primary"], **common,
                control_group=plan["control_group"], est_method="dr",
                bootstrap=plan["n_boot"] > 0, n_boot=plan["n_boot"],
                seed=plan["seed"], alpha=plan["alpha"])
    poisson = poisson_etwfe(sample, yname="detainers", **common,
                            control_group=plan["control_group"], alpha=plan["alpha"])
    results = {
        "cs_dynamic": cs.aggregate("dynamic", na_rm=True),
        "cs_simple": cs.aggregate("simple", na_rm=True),
        "cs_group": cs.aggregate("group", na_rm=True),
        "poisson": poisson,
    }
    results["cs_pretrend"] = pretrend_test(results["cs_dynamic"])
    return results


def cohort_series(sample: pd.DataFrame) -> pd.DataFrame:
    """Mean detainers per 100,000 by activation cohort and quarter, for a figure."""
    table = sample.groupby(["cohort", "quarter"], as_index=False).agg(
        counties=("unit", "nunique"), detainers=("detainers", "sum"),
        mean_rate=("detainers_per_100k", "mean"))
    table["cohort_label"] = table["cohort"].map(label_quarter)
    table["quarter_label"] = table["quarter"].map(label_quarter)
    return table
