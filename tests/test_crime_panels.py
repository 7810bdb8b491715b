"""The crime panels: state_year, large_agency_year, ny_agency_year, ny_county_year.

Expected sizes are derived from the raw files (see each comment); known
values quote the raw line they come from.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from analysis import paths
from analysis.errors import RecodedValuesWarning
from analysis.io import read_panel, write_panel
from analysis.ledger import Ledger
from analysis.panels import marshall as marshall_panel
from analysis.panels.marshall import build_large_agency_year
from analysis.panels.ny import build_ny_agency_year, build_ny_county_year
from analysis.panels.state import build_state_year


def _build(builder):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return builder()


@pytest.fixture(scope="module")
def state():
    return _build(build_state_year)


@pytest.fixture(scope="module")
def agencies():
    return _build(build_large_agency_year)


@pytest.fixture(scope="module")
def ny_agency():
    return _build(build_ny_agency_year)


@pytest.fixture(scope="module")
def ny_county():
    return _build(build_ny_county_year)


def _first_rows_in(panel, step):
    return int(panel.ledger.to_frame().query("step == @step")["rows_in"].iloc[0])


def _removed(panel, skip_prefix=None):
    """Rows dropped or collapsed along the panel's chain (lookup tables skipped)."""
    table = panel.ledger.to_frame()
    chain = table[table["action"].isin(["drop", "collapse"])]
    if skip_prefix:
        chain = chain[~chain["step"].str.startswith(skip_prefix)]
    return int(chain["rows_affected"].sum())


# --- state_year -----------------------------------------------------------


def test_state_year_shape_key_and_fips(state):
    frame = state.frame
    # 51 states + DC x 34 years (1990-2023): every state appears every year.
    assert len(frame) == 51 * 34
    state.check_key()
    assert frame["year"].min() == 1990 and frame["year"].max() == 2023
    assert frame["state_fips"].str.fullmatch(r"\d{2}").all()
    assert frame["state_abbr"].notna().all()
    ny = frame[frame["state_abbr"] == "NY"]
    assert set(ny["state_fips"]) == {"36"}
    assert frame.groupby("state_fips")["state_abbr"].nunique().eq(1).all()
    assert "fbi_cde_state_estimates/estimated_crimes_1979_2023.csv" in state.raw_sha256


def test_state_year_values_and_rates(state):
    frame = state.frame.set_index(["state_abbr", "year"])
    # Raw: 1990,NY,New York,17990455,212458,2605,5368,,112380,92105,932416,...
    row = frame.loc[("NY", 1990)]
    assert row["violent_crime"] == 212458
    assert row["violent_crime_per_100k"] == pytest.approx(212458 / 17990455 * 1e5)
    # Raw: 2021,NY,New York,19857492,61227,871,,4920,18000,37436,...
    row = frame.loc[("NY", 2021)]
    assert row["nibrs_transition_year"] and row["rape"] == 4920
    assert row["violent_crime_ex_rape"] == 871 + 18000 + 37436
    assert not frame.loc[("NY", 2020), "nibrs_transition_year"]


def test_state_year_ledger_balances(state):
    state.ledger.check()
    # 2,336 rows read = 1,734 kept + 41 national + 561 outside 1990-2023.
    assert _first_rows_in(state, "fbi_state: read file") == 2336
    assert 2336 == len(state.frame) + _removed(state)


# --- large_agency_year ------------------------------------------------------


def test_large_agency_year_shape_key_and_county(agencies):
    frame = agencies.frame
    # 68 agencies x 41 years (1975-2015), balanced (PROVENANCE.md).
    assert len(frame) == 68 * 41
    agencies.check_key()
    assert frame["county_fips"].str.fullmatch(r"\d{5}").all()
    assert (frame["county_match_method"] == marshall_panel.MATCH_EXACT).all()
    # Kaplan raw: NY03030,NY0303000,36,061,36061,... (New York County only).
    nyc = frame.loc[frame["ori"] == "NY03030", "county_fips"].unique().tolist()
    assert nyc == ["36061"]
    agencies.ledger.check()
    assert 2829 == len(frame) + _removed(agencies)


def test_large_agency_year_rates_match_the_file(agencies):
    raw = pd.read_csv(
        paths.raw_dir() / "marshall_city_crime" / "ucr_crime_1975_2015.csv",
        usecols=["ORI", "year", "violent_per_100k", "homs_per_100k"],
    ).dropna(subset=["ORI"])
    merged = agencies.frame.merge(
        raw, left_on=["ori", "year"], right_on=["ORI", "year"]
    )
    both = merged.dropna(subset=["violent_per_100k", "violent_crime_per_100k"])
    # Seattle 1977 is published rounded to 0.1 ("831.2"); all others agree.
    assert len(both) > 2700
    ours = both["violent_crime_per_100k"].astype(float)
    gap = (ours - both["violent_per_100k"]).abs()
    assert (gap < 0.06).all()


def test_unmatched_ori_keeps_the_row_warns_and_is_ledgered(agencies):
    frame = agencies.frame[["ori", "year"]]
    crosswalk = pd.DataFrame(
        {"ori": ["NM00101"], "county_fips": ["35001"]}, dtype="string"
    )
    ledger = Ledger("test")
    with pytest.warns(RecodedValuesWarning, match="county_fips left missing"):
        out = marshall_panel.attach_county(frame, crosswalk, ledger)
    assert len(out) == len(frame)
    assert out.loc[out["ori"] == "NM00101", "county_fips"].eq("35001").all()
    unmatched = out[out["ori"] != "NM00101"]
    assert unmatched["county_fips"].isna().all()
    assert (unmatched["county_match_method"] == marshall_panel.MATCH_NONE).all()
    recode = ledger.to_frame().query("action == 'recode'").iloc[0]
    assert recode["rows_affected"] == len(unmatched)
    # Every unmatched ORI is named in the ledger, not only the first five.
    assert all(ori in recode["reason"] for ori in set(unmatched["ori"]))


# --- ny_agency_year / ny_county_year ----------------------------------------


def test_ny_agency_year_drops_only_double_counting_totals(ny_agency):
    frame = ny_agency.frame
    # 22,048 raw rows - (2,046 County Total rows - 165 NYC borough rows, 5 x 33,
    # which are the boroughs' only rows) = 20,167.
    assert len(frame) == 22048 - (2046 - 165)
    ny_agency.check_key()
    totals = frame[frame["is_county_total"]]
    assert set(totals["county_fips"]) == {"36005", "36047", "36061", "36081", "36085"}
    assert len(totals) == 165
    ny_agency.ledger.check()
    assert 22048 == len(frame) + _removed(ny_agency, skip_prefix="nys_population")


def test_ny_agency_year_coverage_flag(ny_agency):
    frame = ny_agency.frame
    partial = frame["months_reported"].between(1, 11)
    assert not frame.loc[partial, "in_county_sum"].any()
    assert frame.loc[frame["full_year"].fillna(False), "in_county_sum"].all()
    assert frame.loc[frame["months_reported"].isna(), "in_county_sum"].all()


def test_ny_county_year_shape_values_and_coverage(ny_county, ny_agency):
    frame = ny_county.frame
    # 62 counties x 33 years (1990-2022).
    assert len(frame) == 62 * 33
    ny_county.check_key()
    indexed = frame.set_index(["county_fips", "year"])
    # Raw: Kings,County Total,2022,12,62416,17123,140,729,4479,11775,...
    # and 36047,Kings County,2022,Postcensal Population Estimate,2590516
    kings = indexed.loc[("36047", 2022)]
    assert kings["index_total"] == 62416 and kings["population"] == 2590516
    assert kings["index_total_per_100k"] == pytest.approx(62416 / 2590516 * 1e5)

    # A county-year with a partial-year agency sums only the covered ones.
    agencies = ny_agency.frame
    partial = frame[frame["share_agencies_in_sum"] < 1].iloc[0]
    members = agencies[
        (agencies["county_fips"] == partial["county_fips"])
        & (agencies["year"] == partial["year"])
    ]
    assert partial["n_agencies"] == len(members)
    assert partial["n_agencies_in_sum"] == members["in_county_sum"].sum()
    covered = members.loc[members["in_county_sum"], "index_total"].sum()
    assert partial["index_total"] == covered


def test_ny_county_sums_match_dcjs_totals_when_fully_covered(ny_county):
    frame = ny_county.frame
    full = frame[frame["share_agencies_in_sum"] == 1]
    differs = full[full["index_total"] != full["dcjs_county_total_index"]]
    # The file's own exceptions: Albany 1990-1997 and Nassau 1990 totals exceed
    # their agencies' sum (found by comparing the raw County Total rows).
    found = sorted(zip(differs["county_name"], differs["year"]))
    assert found == [("Albany", y) for y in range(1990, 1998)] + [("Nassau", 1990)]


def test_ny_county_year_ledger_balances(ny_county):
    ny_county.ledger.check()
    collapse = ny_county.ledger.to_frame().query("action == 'collapse'").iloc[0]
    assert collapse["rows_in"] == 20167 and collapse["rows_out"] == 2046


def test_panels_round_trip_through_parquet(tmp_path, state, ny_county):
    for panel in (state, ny_county):
        write_panel(panel, tmp_path)
        back = read_panel(panel.name, tmp_path)
        pd.testing.assert_frame_equal(back.frame, panel.frame)
        assert back.key == panel.key and back.notes == panel.notes
