"""First-stage sample (PA detainers by county and quarter) and 287(g) counts.

Expected values are computed independently from the raw files with the csv
module, or read off the shipped activation dates (Bucks and Montgomery
2008-12-16, Philadelphia 2009-07-21, the other 64 Pennsylvania counties
2012-05-30 in sc_activation_by_county_derived.csv).
"""

from __future__ import annotations

import csv
import warnings

import pandas as pd
import pytest

from analysis import paths
from analysis.build import build_one
from analysis.evaluations import first_stage, g287
from analysis.plans import load_plan
from analysis.sources import census


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.fixture(scope="module")
def first_stage_sample():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = load_plan("sc_first_stage_pa")
        sample, ledger = first_stage.prepare_sample(
            build_one("pa_facility_month"), build_one("regime_sc_county"),
            census.load_census_counties(), plan)
    return plan, sample, ledger


def test_quarters_by_hand():
    months = pd.Series([2008 * 12 + 11, 2009 * 12 + 6, 2012 * 12 + 4, 2007 * 12 + 9])
    assert first_stage.quarter_of_month(months).tolist() == [
        2008 * 4 + 3, 2009 * 4 + 2, 2012 * 4 + 1, 2007 * 4 + 3]
    assert first_stage.label_quarter(2009 * 4 + 2) == "2009Q3"


def test_crosswalk_covers_every_county_jail_of_the_file():
    crosswalk = pd.read_csv(paths.project_root() / "data" / "crosswalks"
                            / first_stage.CROSSWALK, dtype=str)
    assert crosswalk["source"].str.len().gt(0).all()
    assert crosswalk["det_facility"].is_unique
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        panel = build_one("pa_facility_month").frame
    jails = set(panel.loc[panel["facility_kind"] == "county_jail", "facility"])
    assert jails <= set(crosswalk["det_facility"])
    assert crosswalk["county_fips"].str.match(r"^42\d{3}$").all()


def test_sample_cohorts_and_window(first_stage_sample):
    _, sample, _ = first_stage_sample
    units = sample.drop_duplicates("unit")
    cohorts = units.groupby("cohort").size().rename(first_stage.label_quarter)
    assert cohorts.to_dict() == {"2008Q4": 2, "2009Q3": 1, "2012Q2": 54}
    early = set(units.loc[units["gname"] > 0, "county_fips"])
    assert early == {"42017", "42091", "42101"}  # Bucks, Montgomery, Philadelphia
    assert first_stage.label_quarter(sample["quarter"].min()) == "2007Q4"
    assert first_stage.label_quarter(sample["quarter"].max()) == "2012Q1"
    assert sample.groupby("unit").size().eq(18).all()  # balanced, 18 quarters


def test_sample_detainers_match_a_count_of_the_raw_file(first_stage_sample):
    _, sample, _ = first_stage_sample
    crosswalk = pd.read_csv(paths.project_root() / "data" / "crosswalks"
                            / first_stage.CROSSWALK, dtype=str)
    counties = dict(zip(crosswalk["det_facility"], crosswalk["county_fips"]))
    raw = paths.raw_dir() / "ice_detainers_pa_npr" / "pa_detainers.csv"
    counts: dict[str, int] = {}
    with open(raw, newline="") as handle:
        for row in csv.DictReader(handle):
            # Window: through March 2012, before the last cohort's quarter.
            if row["det_facility"] in counties and row["date"] < "2012-04-01":
                fips = counties[row["det_facility"]]
                counts[fips] = counts.get(fips, 0) + 1
    got = sample.groupby("county_fips")["detainers"].sum()
    assert got[got > 0].to_dict() == counts
    # awk -F, '/MONTGOMERY CNTY JAIL/ && $1 < "2012-04-01"' pa_detainers.csv | wc -l
    assert counts["42091"] == 1202


def test_sample_ledger_balances(first_stage_sample):
    _, _, ledger = first_stage_sample
    ledger.check()
    steps = ledger.to_frame()
    local = steps[steps["step"] == "local custody"].iloc[0]
    assert "federal_prison 14869" in local["reason"]


def test_287g_treated_unit_counts_per_panel():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        panels = {name: build_one(name) for name in
                  ["large_agency_year", "ny_county_year", "state_year"]}
        regime = build_one("regime_287g_county")
    counts = g287.treated_unit_counts(panels, regime, 2000, 2014).set_index("panel")
    # Hand list: the agencies of regime_287g_county counties with full-year
    # data on both sides of signing (Arlington and Fort Worth signed in 2017).
    assert counts.loc["large_agency_year", "units_in_287g_counties"] == 17
    assert counts.loc["large_agency_year", "treated_with_pre_and_post"] == 15
    assert "Fort Worth" not in counts.loc["large_agency_year", "treated_units"]
    assert counts.loc["ny_county_year", "treated_with_pre_and_post"] == 0
    assert counts.loc["state_year", "treated_with_pre_and_post"] == 0
    assert "21 states" in counts.loc["state_year", "note"]
