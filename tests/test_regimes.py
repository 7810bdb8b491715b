"""Tests of the regime-timing sources, regime tables, cohorts and rollout plot."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from analysis.errors import (  # noqa: E402
    CodingConflictWarning,
    DroppedRowsWarning,
    RecodedValuesWarning,
    SchemaValidationError,
)
from analysis.io import read_panel, write_panel  # noqa: E402
from analysis.ledger import Ledger  # noqa: E402
from analysis.manifest import raw_file  # noqa: E402
from analysis.plots.rollout import plot_rollout  # noqa: E402
from analysis.regimes import (  # noqa: E402
    assign_cohorts,
    build_287g_regime_table,
    build_sc_regime_table,
    first_treated_period,
    month_label,
)
from analysis.sources import g287  # noqa: E402
from analysis.sources import secure_communities as sc  # noqa: E402

CONFLICTS = {"41033", "36009", "29177", "32015", "36031", "36057", "36095", "41029"}


def _quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


@pytest.fixture(scope="module")
def sc_county():
    ledger = Ledger("sc")
    return _quiet(sc.load_secure_communities, ledger=ledger), ledger


@pytest.fixture(scope="module")
def sc_regime():
    return _quiet(build_sc_regime_table)


@pytest.fixture(scope="module")
def g_regime():
    return _quiet(build_287g_regime_table)


@pytest.fixture(scope="module")
def sc_raw():
    path = raw_file(sc.SOURCE, sc.FILE)
    return pd.read_stata(path, convert_dates=False, convert_categoricals=False)


@pytest.fixture(scope="module")
def g_raw():
    path = raw_file(g287.SOURCE, g287.FILE)
    return pd.read_csv(path, dtype=str, keep_default_na=False)


# Secure Communities -------------------------------------------------------


@pytest.mark.parametrize(
    "fips, date",
    [
        ("48201", "2008-10-27"),
        ("06037", "2009-08-27"),
        ("17031", "2013-01-22"),
        ("06075", "2010-06-08"),
        ("12086", "2009-02-24"),
        ("11001", "2012-06-05"),
    ],
)
def test_sc_known_counties(sc_county, fips, date):
    county, _ = sc_county
    row = county.set_index("county_fips").loc[fips]
    assert row["activation_date"] == pd.Timestamp(date)


@pytest.mark.parametrize("rule", ["date_secure", "components"])
def test_sc_counts_by_year_hold_under_both_encodings(rule):
    county = _quiet(sc.load_secure_communities, conflict_rule=rule)
    counts = county["activation_date"].dt.year.value_counts().sort_index()
    expected = {2008: 14, 2009: 91, 2010: 790, 2011: 1099, 2012: 1043, 2013: 106}
    assert counts.to_dict() == expected
    assert len(county) == 3147


def test_sc_conflicts_flagged_and_rule_applied():
    with pytest.warns(CodingConflictWarning) as caught:
        default = sc.load_secure_communities()
    message = str(caught[0].message)
    assert all(fips in message for fips in CONFLICTS)
    assert set(sc.secure_communities_conflicts(default)["county_fips"]) == CONFLICTS
    assert int(default["dates_disagree"].sum()) == 8

    flagged = default[default["dates_disagree"]]
    assert (flagged["activation_date"] == pd.Timestamp("2011-06-01")).all()
    other = _quiet(sc.load_secure_communities, conflict_rule="components")
    other = other[other["dates_disagree"]]
    assert (other["activation_date"] == pd.Timestamp("2011-01-06")).all()
    with pytest.raises(ValueError, match="conflict_rule"):
        sc.load_secure_communities(conflict_rule="latest")


def test_sc_ledger_and_missing_dates(sc_county):
    county, ledger = sc_county
    ledger.check()
    frame = ledger.to_frame().set_index("step")
    assert frame.loc["collapse county-years", "rows_in"] == 50352
    assert frame.loc["collapse county-years", "rows_out"] == 3147
    assert frame.loc["resolve date encodings", "rows_affected"] == 8
    assert frame.loc["counties without a date", "rows_affected"] == 4
    missing = county.loc[county["activation_date"].isna(), "county_fips"]
    assert set(missing) == {"02231", "12025", "30113", "41006"}


def test_sc_matches_derived_csv(sc_county):
    county, _ = sc_county
    derived = pd.read_csv(
        raw_file(sc.SOURCE, "sc_activation_by_county_derived.csv"), dtype=str
    )
    merged = county.merge(derived, on="county_fips", validate="1:1")
    ours = merged["activation_date"].dt.strftime("%Y-%m-%d")
    assert (ours.fillna("") == merged["sc_activation_date"].fillna("")).all()


def test_sc_source_row_points_at_first_dated_year(sc_county, sc_raw):
    county, _ = sc_county
    harris = county.set_index("county_fips").loc["48201"]
    row = sc_raw.iloc[harris["source_row"]]
    assert (row["county"], row["year"]) == (48201, 2008)


def test_sc_activation_timing_reproduces_panel_indicator(sc_regime, sc_raw):
    gname = sc_regime.frame.set_index("county_fips")["first_treated_year"]
    fips = sc_raw["county"].astype(str).str.zfill(5)
    first = fips.map(gname)
    known = first.notna()
    ours = sc_raw["year"][known] >= first[known].astype("int64")
    assert (ours == (sc_raw["secure"][known] == 1)).all()


def _small_dta(sc_raw, tmp_path, edit):
    subset = sc_raw[sc_raw["county"].isin([48201, 6037])].copy()
    subset = edit(subset)
    target = tmp_path / "sc.dta"
    subset.to_stata(target, write_index=False)
    return target


def test_sc_varying_date_raises(sc_raw, tmp_path):
    def edit(frame):
        row = (frame["county"] == 6037) & (frame["year"] == 2015)
        frame.loc[row, "date_secure"] += 1
        return frame

    path = _small_dta(sc_raw, tmp_path, edit)
    with pytest.raises(SchemaValidationError, match=r"6037.*date_secure"):
        _quiet(sc.load_secure_communities, path)


def test_sc_missing_column_raises(sc_raw, tmp_path):
    path = _small_dta(sc_raw, tmp_path, lambda f: f.drop(columns="day_secure"))
    with pytest.raises(SchemaValidationError, match="day_secure"):
        _quiet(sc.load_secure_communities, path)


# 287(g) --------------------------------------------------------------------


def test_287g_agreements_typed(g_raw):
    agreements = _quiet(g287.load_287g_agreements)
    assert len(agreements) == len(g_raw) == 229
    etowah = agreements[agreements["agency"] == "Etowah County Sheriff's Office"]
    assert etowah["first_signed_best"].iloc[0] == pd.Timestamp("2008-07-08")
    assert etowah["state_fips"].iloc[0] == "01"
    delaware = agreements.loc[agreements["state"] == "DELAWARE", "state_fips"]
    assert delaware.eq("10").all() and len(delaware) == 1


@pytest.mark.parametrize(
    "fips, start, end, n",
    [
        ("01055", "2008-07-08", None, 1),
        ("04013", "2007-02-07", None, 3),
        ("48201", "2008-07-20", "2017-01-29", 1),
        ("06037", "2005-02-01", "2015-03-31", 1),
    ],
)
def test_287g_known_counties(g_regime, fips, start, end, n):
    row = g_regime.frame.set_index("county_fips").loc[fips]
    assert row["start_date"] == pd.Timestamp(start)
    assert row["first_treated_year"] == pd.Timestamp(start).year
    if end is None:
        assert pd.isna(row["end_date"])
    else:
        assert row["end_date"] == pd.Timestamp(end)
    counts = _quiet(_county_dates)
    assert counts.set_index("county_fips").loc[fips, "n_agreements"] == n


def _county_dates(**kwargs):
    pairs = g287.agreement_counties(g287.load_287g_agreements())
    return g287.county_287g_dates(pairs, **kwargs)


def test_287g_split_and_rows_without_fips():
    ledger = Ledger("g")
    pairs = _quiet(
        g287.agreement_counties, _quiet(g287.load_287g_agreements), ledger=ledger
    )
    carrollton = pairs[pairs["agency"] == "Carrollton Police Department"]
    assert sorted(carrollton["county_fips"]) == ["48085", "48113", "48121"]
    durham = pairs[pairs["agency"] == "City of Durham Police Department"]
    assert durham["county_fips"].tolist() == ["37063"]
    washington = pairs[pairs["agency"] == "Washington County Sheriff's Office"]
    assert washington["county_fips"].tolist() == ["05143"]

    frame = ledger.to_frame().set_index("step")
    assert frame.loc["no county: statewide", "rows_affected"] == 13
    assert frame.loc["no county: unresolved", "rows_affected"] == 129
    assert frame.loc["no county: unresolved", "rows_out"] == 87
    assert len(pairs) == 89
    ledger.check()


def test_287g_confidence_filter_and_excluded_counties(g_raw, g_regime, tmp_path):
    # Default keeps only "high": the medium "Hartford" spelling of Harford is out.
    steps = g_regime.ledger.to_frame().set_index("step")
    assert steps.loc["filter confidence", "rows_affected"] == 1
    assert "Hartford" in steps.loc["filter confidence", "examples"]
    default = _quiet(_county_dates)
    assert default.set_index("county_fips").loc["24025", "n_agreements"] == 1
    wider = _quiet(_county_dates, confidence=("high", "medium"))
    assert wider.set_index("county_fips").loc["24025", "n_agreements"] == 2

    edited = g_raw.copy()
    etowah = edited["agency"] == "Etowah County Sheriff's Office"
    edited.loc[etowah, "confidence"] = "low"
    path = tmp_path / "agreements.csv"
    edited.to_csv(path, index=False)
    with pytest.warns(RecodedValuesWarning, match="01055"):
        panel = build_287g_regime_table(path)
    row = panel.frame.set_index("county_fips").loc["01055"]
    assert pd.isna(row["first_treated_year"]) and "failed the filters" in row["note"]


def test_287g_missing_column_raises(g_raw, tmp_path):
    path = tmp_path / "agreements.csv"
    g_raw.drop(columns="confidence").to_csv(path, index=False)
    with pytest.raises(SchemaValidationError, match="confidence"):
        _quiet(g287.load_287g_agreements, path)


def test_state_crosswalk_matches_census():
    census = pd.read_csv(
        raw_file("census_popest_county", "co-est2019-alldata.csv"),
        dtype=str, encoding="latin-1", usecols=["STATE", "STNAME"],
    ).drop_duplicates()
    crosswalk = g287.read_crosswalk(g287.STATE_CROSSWALK, ["state_fips", "state_name"])
    ours = dict(zip(crosswalk["state_fips"], crosswalk["state_name"]))
    theirs = dict(zip(census["STATE"].str.zfill(2), census["STNAME"]))
    assert ours == theirs


# Regime tables, timing and cohorts -----------------------------------------


def test_regime_tables_key_ledger_and_roundtrip(sc_regime, g_regime, tmp_path):
    for panel, rows in [(sc_regime, 3147), (g_regime, 77)]:
        assert len(panel.frame) == rows
        assert not panel.frame.duplicated(["county_fips", "regime"]).any()
        panel.check_key()
        panel.ledger.check()
        write_panel(panel, tmp_path)
        back = read_panel(panel.name, tmp_path)
        assert back.raw_sha256 == panel.raw_sha256 and len(back.frame) == rows
    assert sc_regime.frame["first_treated_year"].isna().sum() == 4
    assert (sc_regime.frame["first_treated_year"] > 0).sum() == 3143


def test_first_treated_period_hand_examples():
    dates = pd.Series(pd.to_datetime(["2008-10-27", "2010-01-01", "2011-12-31", None]))
    year = first_treated_period(dates, "year", "activation")
    assert year.tolist()[:3] == [2008, 2010, 2011] and pd.isna(year.iloc[3])
    full = first_treated_period(dates, "year", "first_full")
    assert full.tolist()[:3] == [2009, 2010, 2012] and pd.isna(full.iloc[3])
    month = first_treated_period(dates, "month")
    assert month.tolist()[:3] == [2008 * 12 + 9, 2010 * 12, 2011 * 12 + 11]
    month_full = first_treated_period(dates, "month", "first_full")
    assert month_full.tolist()[:3] == [2008 * 12 + 10, 2010 * 12, 2012 * 12]
    assert month_label(month).tolist()[:3] == ["2008-10", "2010-01", "2011-12"]
    with pytest.raises(ValueError, match="first_full"):
        first_treated_period(dates, "year", "first_full_year")


def test_assign_cohorts_reports_unmatched_and_unknown():
    regime = pd.DataFrame(
        {
            "county_fips": ["00001", "00002", "00003"],
            "first_treated_year": pd.array([2010, 0, None], dtype="Int64"),
        }
    )
    panel = pd.DataFrame(
        {
            "county_fips": np.repeat(["00001", "00002", "00003", "00004"], 2),
            "year": [2009, 2010] * 4,
        }
    )
    ledger = Ledger("cohorts")
    with pytest.warns(DroppedRowsWarning):
        out = assign_cohorts(panel, regime, ledger=ledger)
    assert dict(zip(out["county_fips"], out["gname"])) == {"00001": 2010, "00002": 0}
    ledger.check()
    assert ledger.to_frame()["rows_affected"].tolist() == [2, 2]

    with pytest.warns(RecodedValuesWarning, match="00004"):
        never = assign_cohorts(panel, regime, unmatched="never")
    assert never.loc[never["county_fips"] == "00004", "gname"].eq(0).all()
    with pytest.raises(ValueError, match="00004"):
        assign_cohorts(panel, regime, unmatched="error")


def test_assign_cohorts_rejects_bad_input():
    regime = pd.DataFrame(
        {"county_fips": ["00001", "00001"], "first_treated_year": [2010, 2011]}
    )
    panel = pd.DataFrame({"county_fips": ["00001"], "year": [2010]})
    with pytest.raises(ValueError, match="several rows.*00001"):
        assign_cohorts(panel, regime)
    numeric = pd.DataFrame({"county_fips": [1], "year": [2010]})
    with pytest.raises(ValueError, match="zfill"):
        assign_cohorts(numeric, regime.iloc[:1])


def test_plot_rollout_matrix_and_labels():
    cohorts = pd.DataFrame(
        {
            "county_fips": np.repeat(["00003", "00001", "00002"], 3),
            "year": [2010, 2011, 2012] * 3,
            "gname": np.repeat([0, 2012, 2011], 3),
        }
    )
    ax = plot_rollout(cohorts)
    image = ax.get_images()[0].get_array()
    expected = [[0, 1, 1], [0, 0, 1], [0, 0, 0]]
    assert image.filled(-1).tolist() == expected
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["2011 (n=1)", "2012 (n=1)", "never (n=1)"]

    # Row order must not matter; an absent unit-period is masked, not untreated.
    absent = (cohorts["county_fips"] == "00001") & (cohorts["year"] == 2012)
    shuffled = cohorts[~absent].sample(frac=1, random_state=1)
    again = plot_rollout(shuffled).get_images()[0].get_array()
    assert again.filled(-1).tolist() == [[0, 1, 1], [0, 0, -1], [0, 0, 0]]
    matplotlib.pyplot.close("all")
