"""State cooperation laws: loader, in-force transcription, date rules, treatment.

Known rows are quoted from data/raw/state_cooperation_laws/state_laws.csv.
"""

from __future__ import annotations

import shutil
import warnings

import pandas as pd
import pytest

from analysis.errors import CodingConflictWarning, SchemaValidationError
from analysis.evaluate import read_plan
from analysis.evaluations.state_laws import design_from_plan, treatment_frame
from analysis.ledger import Ledger
from analysis.manifest import raw_file
from analysis.sources import state_laws as sl
from analysis.state_regimes import (
    build_state_law_regimes,
    first_treated_year,
    law_dates,
    load_in_force,
    state_first_treated,
    state_year_treatment,
)


def state_year_frame():
    """The state-year panel built from the shipped files (not data/processed,
    which a fresh clone does not have before `make panels`)."""
    from analysis.panels.state import build_state_year

    return _quiet(build_state_year).frame


def _quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


@pytest.fixture(scope="module")
def laws():
    return _quiet(sl.load_state_laws)


@pytest.fixture(scope="module")
def in_force(laws):
    return load_in_force(laws)


def _law(table, state, bill_start):
    rows = table[(table["state_abbr"] == state)
                 & table["bill_or_citation"].str.startswith(bill_start)]
    assert len(rows) == 1, (state, bill_start)
    return rows.iloc[0]


# --- loader -----------------------------------------------------------------

def test_counts_match_provenance(laws):
    # PROVENANCE.md: 37 rows; 17 limits in 11 states, 20 mandates in 16 states;
    # confidence 24 high, 11 medium, 2 low; 22 signed dates, 23 exact effective
    # dates, 36 effective years.
    assert len(laws) == 37
    by = laws.groupby("direction")["state_abbr"]
    assert by.size().to_dict() == {"limits_cooperation": 17, "mandates_cooperation": 20}
    assert by.nunique().to_dict() == {"limits_cooperation": 11,
                                      "mandates_cooperation": 16}
    assert laws["confidence"].value_counts().to_dict() == {"high": 24, "medium": 11,
                                                           "low": 2}
    assert laws["signed_date"].notna().sum() == 22
    assert laws["effective_date"].notna().sum() == 23
    assert laws["effective_year"].notna().sum() == 36
    assert laws["law_id"].is_unique and laws["state_fips"].str.len().eq(2).all()


def test_known_rows(laws):
    sb54 = _law(laws, "CA", "Cal. SB 54")
    assert str(sb54["signed_date"].date()) == "2017-10-05"
    assert str(sb54["effective_date"].date()) == "2018-01-01"
    assert sb54["law_id"] == "CA-6" and sb54["state_fips"] == "06"
    maryland = _law(laws, "MD", "Md. HB 16")
    assert pd.isna(maryland["effective_year"]) and pd.isna(maryland["signed_date"])


def test_missouri_year_conflict_is_flagged_and_warned():
    with pytest.warns(CodingConflictWarning, match="effective_year"):
        laws = sl.load_state_laws()
    flagged = laws[laws["effective_year_conflict"]]
    assert flagged["law_id"].tolist() == ["MO-18"]
    assert flagged["effective_year"].iloc[0] == 2008


def test_confidence_report_lists_low_first(laws):
    report = sl.confidence_report(laws)
    assert len(report) == 13
    assert report["confidence"].head(2).tolist() == ["low", "low"]
    assert set(report.head(2)["law_id"]) == {"GA-29", "TN-21"}


@pytest.fixture
def copy_of_laws(tmp_path):
    target = tmp_path / "state_laws.csv"
    shutil.copy(raw_file(sl.SOURCE, sl.FILE), target)
    return target


def test_bad_date_names_column_and_row(copy_of_laws):
    frame = pd.read_csv(copy_of_laws, dtype=str, keep_default_na=False)
    frame.loc[3, "signed_date"] = "Aug 28 2017"
    frame.to_csv(copy_of_laws, index=False)
    with pytest.raises(ValueError, match=r"'signed_date'.*rows \[3\]"):
        _quiet(sl.load_state_laws, copy_of_laws)


def test_unknown_direction_and_missing_column(copy_of_laws):
    frame = pd.read_csv(copy_of_laws, dtype=str, keep_default_na=False)
    frame.loc[0, "direction"] = "limits"
    frame.to_csv(copy_of_laws, index=False)
    with pytest.raises(SchemaValidationError, match="direction"):
        _quiet(sl.load_state_laws, copy_of_laws)
    frame.drop(columns="confidence").to_csv(copy_of_laws, index=False)
    with pytest.raises(SchemaValidationError, match="confidence"):
        _quiet(sl.load_state_laws, copy_of_laws)


def test_effective_before_signed_is_rejected(copy_of_laws):
    frame = pd.read_csv(copy_of_laws, dtype=str, keep_default_na=False)
    frame.loc[6, "effective_date"] = "2017-01-01"
    frame.loc[6, "effective_year"] = "2017"
    frame.to_csv(copy_of_laws, index=False)
    with pytest.raises(SchemaValidationError, match="before signed_date"):
        _quiet(sl.load_state_laws, copy_of_laws)


# --- in-force dates transcribed from the injunction notes --------------------

def test_in_force_dates_come_from_the_notes(laws, in_force):
    notes = laws.set_index("law_id")
    assert len(in_force) == 10 and in_force["source"].str.len().gt(0).all()
    for row in in_force.itertuples():
        law = notes.loc[row.law_id]
        assert str(law.source_row) in row.source and "injunction_note" in row.source
        if pd.notna(row.in_force_date):
            text = str(row.in_force_date.date())
            # Either a date written in the note or the scheduled effective date.
            assert text in str(law.injunction_note) or (
                law.effective_date == row.in_force_date), row.law_id
        if pd.notna(row.end_date):
            assert str(row.end_date.date()) in str(law.injunction_note)
        assert str(row.in_force_year if pd.notna(row.in_force_year) else "") in (
            str(law.injunction_note) + str(row.in_force_date))


def test_in_force_row_must_match_a_law(laws, in_force, monkeypatch):
    import analysis.state_regimes as sr

    original = sr.read_crosswalk

    def broken(name, columns):
        table = original(name, columns)
        table.loc[0, "bill_or_citation"] = "no such bill"
        return table

    monkeypatch.setattr(sr, "read_crosswalk", broken)
    with pytest.raises(ValueError, match="match no law"):
        sr.load_in_force(laws)


# --- date rules on known rows -------------------------------------------------

@pytest.mark.parametrize("rule, law_id, date, source", [
    ("signed", "CA-6", "2017-10-05", "signed_date"),
    ("effective", "CA-6", "2018-01-01", "effective_date"),
    ("in_force", "CA-6", "2018-01-01", "effective_date (no injunction row)"),
    ("signed", "TX-31", "2017-05-07", "signed_date"),
    ("effective", "TX-31", "2017-09-01", "effective_date"),
    ("in_force", "TX-31", "2017-09-25", "in_force_date of data/crosswalks/"
                                        "state_law_in_force.csv"),
    ("effective", "AZ-22", "2010-07-29", "effective_date"),
    ("in_force", "AZ-22", "2012-09-05", "in_force_date of data/crosswalks/"
                                        "state_law_in_force.csv"),
    ("in_force", "UT-26", "2014-06-18", "in_force_date of data/crosswalks/"
                                        "state_law_in_force.csv"),
    # No signing day seen: the signed rule falls back to the effective date.
    ("signed", "CT-2", "2014-01-01", "effective_date (no signed_date)"),
])
def test_rule_dates(laws, in_force, rule, law_id, date, source):
    table = law_dates(laws, rule, in_force).set_index("law_id")
    assert str(table.loc[law_id, "date"].date()) == date
    assert table.loc[law_id, "date_source"] == source
    assert table.loc[law_id, "precision"] == "day"


def test_year_only_and_never_in_force(laws, in_force):
    effective = law_dates(laws, "effective", in_force).set_index("law_id")
    # Illinois TRUST Act: signed 2017-08-28, no effective day seen.
    assert effective.loc["IL-3", "precision"] == "year"
    assert effective.loc["IL-3", "year"] == 2017
    assert effective.loc["MD-16", "year"] == 2021  # transcribed override year
    force = law_dates(laws, "in_force", in_force).set_index("law_id")
    assert force.loc["IN-25", "in_force_status"] == "never_in_force"
    assert pd.isna(force.loc["IN-25", "year"])


def test_timing_rules(laws, in_force):
    table = law_dates(laws, "effective", in_force)
    active = first_treated_year(table, "activation").set_axis(table["law_id"])
    full = first_treated_year(table, "first_full").set_axis(table["law_id"])
    assert active["TX-31"] == 2017 and full["TX-31"] == 2018  # 2017-09-01
    assert active["CA-6"] == 2018 and full["CA-6"] == 2018  # starts 1 January
    assert active["MA-4"] == 2017 and full["MA-4"] == 2018  # year only


def test_state_first_treated_and_confidence_filter(laws, in_force):
    table = law_dates(laws, "effective", in_force)
    states = state_first_treated(table, "mandates_cooperation",
                                 confidence=("high", "medium")).set_index("state_abbr")
    # Tennessee's low-confidence 2009 law is left out: its 2019 law counts.
    assert states.loc["TN", "first_treated_year"] == 2019
    assert states.loc["TN", "law_id"] == "TN-34"
    assert states.loc["GA", "first_treated_year"] == 2009  # SB 20 (2009)
    everything = state_first_treated(table, "mandates_cooperation").set_index(
        "state_abbr")
    assert everything.loc["TN", "first_treated_year"] == 2009
    high = state_first_treated(table, "mandates_cooperation",
                               confidence=("high",)).set_index("state_abbr")
    assert high.loc["FL", "status"] == "excluded_laws_only"
    force = state_first_treated(law_dates(laws, "in_force", in_force),
                                "mandates_cooperation").set_index("state_abbr")
    assert force.loc["IN", "status"] == "never_in_force"
    assert force.loc["AZ", "first_treated_year"] == 2012


def test_state_year_treatment_codes_edges():
    frame = pd.DataFrame({
        "state_fips": ["41"] * 3 + ["24"] * 3 + ["06"] * 3 + ["11"] * 3,
        "state_abbr": ["OR"] * 3 + ["MD"] * 3 + ["CA"] * 3 + ["DC"] * 3,
        "year": [2018, 2019, 2020] * 4,
    })
    states = pd.DataFrame({
        "state_fips": ["41", "24", "06"], "state_abbr": ["OR", "MD", "CA"],
        "first_treated_year": pd.array([1987, 2021, 2019], dtype="Int64"),
        "status": ["treated"] * 3,
    })
    ledger = Ledger("t")
    out = _quiet(state_year_treatment, frame, states, first_year=2018,
                 last_year=2020, exclude_states=("DC",), ledger=ledger)
    assert sorted(out["state_abbr"].unique()) == ["CA", "MD"]  # OR always treated
    assert out.groupby("state_abbr")["gname"].first().to_dict() == {"CA": 2019,
                                                                    "MD": 0}
    assert out.loc[out["state_abbr"] == "CA", "treated"].tolist() == [0, 1, 1]
    reasons = ledger.to_frame().set_index("step")["rows_affected"]
    assert reasons["treatment: always treated"] == 3
    assert reasons["treatment: excluded states"] == 3


def test_regime_panel_and_plans(laws):
    panel = _quiet(build_state_law_regimes)
    assert len(panel.frame) == 3 * len(laws)
    panel.check_key()
    limits = read_plan("state_laws_limits")
    mandates = read_plan("state_laws_mandates")
    # Same plan structure in both directions.
    assert set(limits) == set(mandates)
    assert set(limits["outcomes"]) == set(mandates["outcomes"])
    assert design_from_plan(limits).direction == "limits_cooperation"
    assert design_from_plan(mandates).other_direction == "limits_cooperation"


def test_clean_controls_drop_other_direction(laws, in_force):
    state_year = state_year_frame()
    design = design_from_plan(read_plan("state_laws_limits"))
    frame, ledger, _ = _quiet(treatment_frame, state_year, laws, in_force, design,
                              "effective")
    assert not frame["state_abbr"].isin(["TX", "AZ", "OR", "DC"]).any()
    # Montana's mandate law (2021) is after the window: Montana stays a control.
    assert (frame.loc[frame["state_abbr"] == "MT", "gname"] == 0).all()
    treated = frame.loc[frame["gname"] > 0].groupby("state_abbr")["gname"].first()
    assert treated.to_dict() == {"CA": 2014, "CO": 2019, "CT": 2014, "IL": 2017,
                                 "MA": 2017, "NJ": 2019, "NY": 2019, "VT": 2017,
                                 "WA": 2019}


def test_ruled_out_formula():
    from analysis.evaluations.state_laws import ruled_out

    bounds = ruled_out(0.10, 0.05)
    # (z_0.975 + z_0.80) = 1.95996 + 0.84162
    assert bounds["mde_80"] == pytest.approx(2.80159 * 0.05, abs=1e-6)
    assert bounds["equiv_lower"] == pytest.approx(0.10 - 1.6448536 * 0.05, abs=1e-7)
    assert bounds["equiv_upper"] == pytest.approx(0.10 + 1.6448536 * 0.05, abs=1e-7)


def test_plan_missing_key_is_named():
    plan = read_plan("state_laws_limits")
    plan.pop("single_state")
    with pytest.raises(ValueError, match="single_state"):
        design_from_plan(plan)
    plan = read_plan("state_laws_limits")
    plan["controls"] = "everyone"
    with pytest.raises(ValueError, match="controls"):
        design_from_plan(plan)


def test_single_state_matrix_for_california(laws, in_force):
    from analysis.evaluations.state_laws import single_state_matrix

    state_year = state_year_frame()
    design = design_from_plan(read_plan("state_laws_limits"))
    Y, N0, T0, units, periods, _, start = _quiet(
        single_state_matrix, state_year, laws, in_force, design, "effective",
        design.primary)
    assert units[-1] == "CA" and start == 2018 and T0 == 18
    assert periods[0] == 2000 and periods[-1] == 2020
    # Donors: no law in either direction in the window.
    assert not set(units[:N0]) & {"NY", "WA", "TX", "AZ", "OR", "DC", "CA"}
    assert {"MD", "MT"} <= set(units[:N0])  # laws of 2021, after the window
    signed = _quiet(single_state_matrix, state_year, laws, in_force, design,
                    "signed", design.primary)
    assert signed[-1] == 2017  # SB 54 signed 2017-10-05
