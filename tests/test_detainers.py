"""Census county, Texas TCJS and Pennsylvania ICE detainer loaders and panels.

Expected counts come from the raw files (the shell command or PROVENANCE.md
line that gives each is in a comment); known values quote the raw line.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from analysis import paths
from analysis.errors import (
    DroppedRowsWarning,
    RecodedValuesWarning,
    SchemaValidationError,
)
from analysis.io import read_panel, write_panel
from analysis.ledger import Ledger
from analysis.panels import detainers
from analysis.sources import census as census_source
from analysis.sources import pennsylvania, texas

TX_RAW = paths.raw_dir() / texas.SOURCE / texas.FILE
PA_RAW = paths.raw_dir() / pennsylvania.SOURCE / pennsylvania.FILE


@pytest.fixture(autouse=True)
def _quiet_expected_warnings():
    # Drops and recodes warn by design; tests that need a warning ask for it.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _texas_copy(tmp_path, extra_lines=(), edit=None):
    """Copy the TCJS CSV to tmp_path, appending lines or editing the text."""
    text = TX_RAW.read_text(encoding="utf-8")
    text = edit(text) if edit else text
    target = tmp_path / texas.FILE
    target.write_text(text + "".join(line + "\n" for line in extra_lines),
                      encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def census():
    ledger = Ledger("test")
    return census_source.load_census_counties(ledger=ledger), ledger


@pytest.fixture(scope="module")
def tx(census):
    ledger = Ledger("test")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = texas.load_texas_detainers(ledger=ledger, census=census[0])
    return frame, ledger


@pytest.fixture(scope="module")
def tx_panel():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return detainers.build_tx_county_month()


@pytest.fixture(scope="module")
def pa():
    ledger = Ledger("test")
    with pytest.warns(RecodedValuesWarning, match="Lifted - Lack of Funds"):
        frame = pennsylvania.load_pa_detainers(ledger=ledger)
    return frame, ledger


@pytest.fixture(scope="module")
def pa_panel():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return detainers.build_pa_facility_month()


# --- Census ------------------------------------------------------------------


def test_census_rows_and_state_rows_ledgered(census):
    frame, ledger = census
    # PROVENANCE: 3,142 county rows (SUMLEV 50) and 51 state rows (SUMLEV 40);
    # 10 years (POPESTIMATE2010..2019) each.
    assert len(frame) == 3142 * 10
    assert frame["county_fips"].str.len().eq(5).all()
    drops = ledger.to_frame().query("action == 'drop'")
    assert drops["rows_affected"].tolist() == [51]
    assert len(census_source.load_census_states()) == 51 * 10


def test_census_known_values(census):
    frame = census[0].set_index(["county_fips", "year"])
    # Raw line 2630: 50,3,7,48,123,Texas,DeWitt County,20097,20097,20054,20205,...
    assert frame.loc[("48123", 2010), "population"] == 20054
    assert frame.loc[("48123", 2011), "county_name"] == "DeWitt County"
    # Raw line 2671: ...,Texas,Hartley County,...,5611,5576,... (2018, 2019)
    assert frame.loc[("48205", 2019), "population"] == 5576
    # Autauga (raw line 3), fields 60-62 INTERNATIONALMIG2010..2012: 25,4,-14
    # (`sed -n 3p file | cut -d, -f60-62`).
    assert frame.loc[("01001", 2010), "international_migration"] == 25


# --- Texas -------------------------------------------------------------------


def test_texas_rows_and_repeated_month(tx):
    frame, ledger = tx
    # PROVENANCE: 18,640 rows; `grep -c ',2017,february,'` = 253 rows whose
    # values repeat Feb 2016 (raw line 2380 harris,2017,february,534,13062,979650
    # equals line 5415 harris,2016,february,534,13062,979650).
    assert len(frame) == 18640 - 253
    assert not ((frame["year"] == 2017) & (frame["month"] == 2)).any()
    ledger.check()
    table = ledger.to_frame()
    assert table.loc[table["action"] == "drop", "rows_affected"].sum() == 253
    assert frame.duplicated(["tcjs_name", "period"]).sum() == 0


def test_texas_known_values(tx):
    frame = tx[0].set_index(["tcjs_name", "period"])
    # Raw line 16684: dewitt,2012,may,3,13,343.33,...
    row = frame.loc[("dewitt", 2012 * 12 + 4)]
    assert (row["county_fips"], row["inmates"], row["inmate_days"]) == ("48123", 3, 13)
    assert row["cost_dollars"] == pytest.approx(343.33)
    # Raw line 8161: falls,2015,march,0,0,NA,... -> cost missing, not zero.
    assert np.isnan(frame.loc[("falls", 2015 * 12 + 2), "cost_dollars"])
    assert tx[0]["cost_dollars"].isna().sum() == 4  # PROVENANCE: "cost missing in 4"


def test_texas_name_variants(census):
    cases = ["dewitt", "val verde (private facility)", "deaf smith", "mcculloch",
             "burnet (private facility - 1)", "dewit"]
    matched = texas.match_texas_names(cases, census[0]).set_index("tcjs_name")
    assert matched.loc["dewitt", "county_fips"] == "48123"
    assert matched.loc["val verde (private facility)", "county_fips"] == "48465"
    assert matched.loc["val verde (private facility)", "matched_by"] == "crosswalk"
    assert matched.loc["deaf smith", "county_name"] == "Deaf Smith County"
    assert matched.loc["mcculloch", "county_fips"] == "48307"
    assert matched.loc["burnet (private facility - 1)", "county_fips"] == "48053"
    assert matched.loc["dewit", "matched_by"] == "unmatched"


def test_every_texas_name_and_county_matched_or_listed(census, tx_panel):
    names = pd.read_csv(TX_RAW, usecols=["county"])["county"].unique()
    matched = texas.match_texas_names(names, census[0])
    # PROVENANCE: 257 distinct names; 247 match a county directly, the 10
    # "(private facility)" names through the crosswalk.
    assert len(matched) == 257
    assert matched["matched_by"].value_counts().to_dict() == {"name": 247,
                                                             "crosswalk": 10}
    # 254 Texas counties: every one is matched or named as never reporting.
    texas_counties = census[0].query("state_fips == '48'")["county_fips"].nunique()
    assert texas_counties == 254
    unmatched = set(census[0].query("state_fips == '48'")["county_name"]) - set(
        matched["county_name"])
    assert unmatched == {"Hartley County"}
    assert "Hartley County" in tx_panel.notes["never_reported"]


def test_texas_unmatched_name_is_dropped_and_listed(tmp_path, census):
    url = "https://www.tcjs.state.tx.us//docs/x.pdf"
    path = _texas_copy(tmp_path, [f"dewit,2017,november,1,2,3,{url}"])
    ledger = Ledger("test")
    with pytest.warns(DroppedRowsWarning, match="dewit"):
        frame = texas.load_texas_detainers(path, ledger=ledger, census=census[0])
    assert len(frame) == 18640 - 253
    step = ledger.to_frame().query("step == 'texas: match counties'")
    assert step["rows_affected"].tolist() == [1]
    assert "dewit" in step["examples"].iloc[0]


def test_texas_duplicate_rules(tmp_path, census):
    line = ("anderson,2017,november,3,15,330,https://www.tcjs.state.tx.us//docs/"
            "ImmigrationDetainerReports/./Immigration Detainer Report Nov 2017.pdf")
    old = line.replace("15,330", "99,999").replace("Report Nov", "Report Old Nov")
    conflict = line.replace("15,330", "99,999")

    ledger = Ledger("test")
    path = _texas_copy(tmp_path, [line, old])
    frame = texas.load_texas_detainers(path, ledger=ledger, census=census[0])
    assert len(frame) == 18640 - 253
    removed = ledger.to_frame().set_index("step")["rows_affected"]
    assert removed["texas: repeated facility-month"] == 1
    assert removed["texas: superseded facility-month"] == 1
    kept = frame.query("tcjs_name == 'anderson' and year == 2017 and month == 11")
    assert kept["inmate_days"].tolist() == [15]

    path = _texas_copy(tmp_path, [conflict])
    with pytest.raises(ValueError, match="anderson"):
        texas.load_texas_detainers(path, census=census[0])


def test_texas_bad_input(tmp_path, census):
    path = _texas_copy(tmp_path, edit=lambda t: t.replace("num_of_inmate_days",
                                                          "inmate_days", 1))
    with pytest.raises(SchemaValidationError, match="num_of_inmate_days"):
        texas.load_texas_detainers(path, census=census[0])
    path = _texas_copy(tmp_path, edit=lambda t: t.replace(
        "anderson,2017,november,3,", "anderson,2017,november,-3,", 1))
    with pytest.raises(SchemaValidationError, match="inmates"):
        texas.load_texas_detainers(path, census=census[0])
    path = _texas_copy(tmp_path, edit=lambda t: t.replace(",november,", ",novembre,",
                                                          1))
    with pytest.raises(ValueError, match="month"):
        texas.load_texas_detainers(path, census=census[0])


def test_tx_panel(tx_panel, tmp_path):
    frame = tx_panel.frame.set_index(["county_fips", "period"])
    # 254 counties x 74 months (Oct 2011 - Nov 2017: 3 + 5 * 12 + 11).
    assert len(frame) == 254 * 74
    tx_panel.check_key()
    tx_panel.ledger.check()
    # Feb 2017 repeats Feb 2016 and is not a report: missing, not zero.
    feb17 = frame.xs(2017 * 12 + 1, level="period")
    assert not feb17["reported"].any() and feb17["inmates"].isna().all()
    # Raw lines 123-124: jefferson 16,259,14245 and jefferson (private facility)
    # 0,0,0 in Nov 2017 -> summed.
    row = frame.loc[("48245", 2017 * 12 + 10)]
    assert (row["inmates"], row["facilities_reporting"]) == (16, 2)
    # Raw line 8161 (falls, Mar 2015, cost NA): reported, cost missing.
    row = frame.loc[("48145", 2015 * 12 + 2)]
    assert row["reported"] and np.isnan(row["cost_dollars"])
    # Rate: DeWitt May 2012, 3 inmates / population 20358 (census line 2630).
    row = frame.loc[("48123", 2012 * 12 + 4)]
    assert row["inmates_per_100k"] == pytest.approx(3 / 20358 * 1e5)
    # Missing county-months are NaN, never 0.
    assert frame.loc[~frame["reported"], "inmates"].isna().all()
    written = read_panel(tx_panel.name, write_panel(tx_panel, tmp_path).parent)
    assert written.raw_sha256 == tx_panel.raw_sha256 and len(written.ledger)


# --- Pennsylvania ------------------------------------------------------------


def test_pa_rows_and_outcomes(pa):
    frame, ledger = pa
    # PROVENANCE: 32,757 rows; "Detainer Declined by LEA" 225; empty 11,229.
    assert len(frame) == 32757
    counts = frame["outcome"].value_counts()
    assert counts["declined_by_lea"] == 225
    assert counts["pending_or_none"] == 11229
    # `grep -c ',Lifted' pa_detainers.csv` = 1,232 (1,220 + 8 + 4 sub-labels).
    assert counts["lifted"] == 1232
    ledger.check()
    assert ledger.to_frame().query("action == 'drop'").empty


def test_pa_known_values_and_kinds(pa):
    frame = pa[0]
    # Raw line 2: 2007-10-02 00:00:00,Case Closed,"MONTGOMERY CNTY JAIL, PA",...
    first = frame.iloc[0]
    assert (first["facility"], first["outcome"], first["period"]) == (
        "MONTGOMERY CNTY JAIL, PA", "case_closed", 2007 * 12 + 9)
    kinds = frame.groupby("facility")["facility_kind"].first()
    assert kinds["MOSHANNON VALLEY CORRECTIONAL"] == "federal_prison"
    assert kinds["SCI ALBION"] == "state_prison"
    assert kinds["CURRAN FROMHOLD CORR.FAC."] == "county_jail"
    assert kinds["BERKS CO. JUVENILE"] == "other"
    # PROVENANCE: Moshannon Valley 7,948 rows; 117 facilities.
    assert (frame["facility"] == "MOSHANNON VALLEY CORRECTIONAL").sum() == 7948
    assert frame["facility"].nunique() == 117
    assert frame["detainer_type"].value_counts()["I-247D"] == 38


def test_pa_bad_input(tmp_path):
    text = PA_RAW.read_text(encoding="utf-8")
    path = tmp_path / pennsylvania.FILE
    path.write_text(text.replace("lift_reason", "reason", 1), encoding="utf-8")
    with pytest.raises(SchemaValidationError, match="lift_reason"):
        pennsylvania.load_pa_detainers(path)
    path.write_text(text.replace(",Case Closed,", ",Vanished,", 1), encoding="utf-8")
    with pytest.raises(ValueError, match="Vanished"):
        pennsylvania.load_pa_detainers(path)


def test_pa_panel(pa_panel):
    frame = pa_panel.frame
    pa_panel.check_key()
    pa_panel.ledger.check()
    # 117 facilities x 94 months (Oct 2007 - Jul 2015).
    assert len(frame) == 117 * 94
    assert frame["detainers_issued"].sum() == 32757
    assert frame["outcome_declined_by_lea"].sum() == 225
    assert frame["outcome_pending_or_none"].sum() == 11229
    outcome_columns = [c for c in frame if c.startswith("outcome_")]
    assert (frame[outcome_columns].sum(axis=1) == frame["detainers_issued"]).all()
    # `grep '^2007-10.*"MONTGOMERY CNTY JAIL, PA"' | cut -d, -f2 | sort | uniq -c`:
    # 13 detainers, 6 Case Closed, 5 Booked into Detention, 2 empty.
    row = frame.set_index(["facility", "period"]).loc[
        ("MONTGOMERY CNTY JAIL, PA", 2007 * 12 + 9)]
    assert (row["detainers_issued"], row["outcome_case_closed"],
            row["outcome_booked_into_detention"],
            row["outcome_pending_or_none"]) == (13, 6, 5, 2)
    assert frame.loc[frame["period"] == 2015 * 12 + 6, "partial_month"].all()
