"""Loaders of the FBI state, Marshall, Kaplan crosswalk and NY DCJS files.

Expected counts come from the raw files (the shell command or PROVENANCE.md
line that gives each is in a comment) and known values quote the raw line.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from analysis import paths
from analysis.errors import (
    CodingConflictWarning,
    DataIntegrityError,
    SchemaValidationError,
    UnverifiedDataWarning,
)
from analysis.ledger import Ledger
from analysis.manifest import raw_file
from analysis.sources import fbi_state, kaplan, marshall, nys


@pytest.fixture(autouse=True)
def _quiet_expected_warnings():
    # Drops and recodes warn by design; tests that need a warning ask for it.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _copy(tmp_path, source, file, edit=None):
    """Copy a shipped file to tmp_path, optionally editing its text."""
    target = tmp_path / file
    text = (paths.raw_dir() / source / file).read_text(encoding="utf-8")
    target.write_text(edit(text) if edit else text, encoding="utf-8")
    return target


# --- FBI state estimates ---------------------------------------------------


@pytest.fixture(scope="module")
def fbi():
    ledger = Ledger("test")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = fbi_state.load_fbi_state(ledger=ledger)
    return frame, ledger


def test_fbi_rows_keys_and_national_rows(fbi):
    frame, ledger = fbi
    # PROVENANCE.md: "2,336 data rows"; 45 years x 51 states + 41 national rows
    # (`grep -c '^[0-9]*,,' file` = 41: 2017-2020 have none).
    assert len(frame) == 2336
    assert frame["national"].sum() == 41
    assert frame.loc[frame["national"], "state_abbr"].isna().all()
    states = frame[~frame["national"]]
    assert not states.duplicated(["state_abbr", "year"]).any()
    assert (states.groupby("year").size() == 51).all()
    assert states["state_name"].notna().all()
    ledger.check()


def test_fbi_thousands_separators_and_filled_names_in_2023(fbi):
    frame, _ = fbi
    # Raw: 2023,WY,,"584,057","1,116",18,,314,67,717,"8,585","1,185","6,631",769
    row = frame[(frame["state_abbr"] == "WY") & (frame["year"] == 2023)].iloc[0]
    assert row["population"] == 584057
    assert row["violent_crime"] == 1116
    assert row["property_crime"] == 8585
    assert row["state_name"] == "Wyoming"
    assert pd.isna(row["rape_legacy"]) and row["rape_revised"] == 314


def test_fbi_known_1979_values(fbi):
    frame, _ = fbi
    # Raw: 1979,AK,Alaska,406000,1994,54,292,,445,1203,23193,5616,15076,2501
    row = frame[(frame["state_abbr"] == "AK") & (frame["year"] == 1979)].iloc[0]
    assert list(row[["population", "violent_crime", "homicide", "rape"]]) == [
        406000,
        1994,
        54,
        292,
    ]
    assert row["motor_vehicle_theft"] == 2501


def test_fbi_rape_rule_and_comparable_series(fbi):
    frame, _ = fbi
    # Raw: 2013,AK,Alaska,737259,4709,34,657,925,623,3127,21211,2917,16599,1695
    row = frame[(frame["state_abbr"] == "AK") & (frame["year"] == 2013)].iloc[0]
    assert row["rape_legacy"] == 657 and row["rape_revised"] == 925
    assert row["rape"] == 925
    assert row["violent_crime_ex_rape"] == 34 + 623 + 3127
    assert row["violent_crime"] == 4709
    assert frame.loc[frame["nibrs_transition_year"], "year"].unique().tolist() == [2021]


def test_fbi_north_dakota_2022_filed_under_nc_is_recoded():
    # Raw line 2269: 2022,NC,     North Dakota,"779,261","2,226",29,,...
    with pytest.warns(CodingConflictWarning, match="NC->ND"):
        frame = fbi_state.load_fbi_state()
    nd = frame[(frame["state_abbr"] == "ND") & (frame["year"] == 2022)]
    assert nd["population"].tolist() == [779261]
    nc = frame[(frame["state_abbr"] == "NC") & (frame["year"] == 2022)]
    assert nc["state_name"].tolist() == ["North Carolina"]


def test_fbi_missing_column_is_named(tmp_path):
    copy = _copy(
        tmp_path,
        fbi_state.SOURCE,
        fbi_state.FILE,
        lambda t: t.replace(",robbery,", ",robbery_count,", 1),
    )
    with pytest.raises(SchemaValidationError, match="robbery"):
        fbi_state.load_fbi_state(copy)


def test_fbi_repeated_state_year_raises(tmp_path):
    extra = "1979,AK,Alaska,406000,1994,54,292,,445,1203,23193,5616,15076,2501\n"
    copy = _copy(tmp_path, fbi_state.SOURCE, fbi_state.FILE, lambda t: t + extra)
    with pytest.raises(ValueError, match=r"\(state_abbr, year\) repeats"):
        fbi_state.load_fbi_state(copy)


def test_fbi_text_in_a_count_raises_naming_column(tmp_path):
    copy = _copy(
        tmp_path,
        fbi_state.SOURCE,
        fbi_state.FILE,
        lambda t: t.replace("1979,AK,Alaska,406000,1994", "1979,AK,Alaska,406000,n/a"),
    )
    with pytest.raises(ValueError, match="'violent_crime'.*n/a"):
        fbi_state.load_fbi_state(copy)


def test_explicit_path_warns_unverified(tmp_path):
    copy = _copy(tmp_path, fbi_state.SOURCE, fbi_state.FILE)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=CodingConflictWarning)
        with pytest.warns(UnverifiedDataWarning):
            fbi_state.load_fbi_state(copy)


@pytest.mark.parametrize(
    "loader, source, file",
    [
        (fbi_state.load_fbi_state, fbi_state.SOURCE, fbi_state.FILE),
        (marshall.load_marshall, marshall.SOURCE, marshall.FILE),
        (kaplan.load_kaplan_crosswalk, kaplan.SOURCE, kaplan.FILE),
        (nys.load_nys_crimes, nys.SOURCE, nys.CRIME_FILE),
        (nys.load_nys_population, nys.SOURCE, nys.POPULATION_FILE),
    ],
)
def test_corrupted_copy_is_refused_naming_the_file(
    tmp_path, monkeypatch, loader, source, file
):
    (tmp_path / source).mkdir()
    target = tmp_path / source / file
    data = (paths.raw_dir() / source / file).read_bytes()
    target.write_bytes(data.replace(b"1", b"7", 1))
    with pytest.raises(DataIntegrityError, match=file):
        raw_file(source, file, root=tmp_path)

    # A loader's default (path=None) goes through the same check.
    monkeypatch.setattr(paths, "raw_dir", lambda: tmp_path)
    with pytest.raises(DataIntegrityError, match=file):
        loader()


# --- Marshall Project ------------------------------------------------------


@pytest.fixture(scope="module")
def marshall_frame():
    ledger = Ledger("test")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = marshall.load_marshall(ledger=ledger)
    return frame, ledger


def test_marshall_rows_keys_and_national_dropped(marshall_frame):
    frame, ledger = marshall_frame
    # PROVENANCE.md: 2,829 rows = 41 years x (68 agencies + 1 National row).
    assert len(frame) == 68 * 41
    assert frame["ori"].nunique() == 68
    assert not frame.duplicated(["ori", "year"]).any()
    assert not frame["department_name"].eq("National").any()
    ledger.check()
    table = ledger.to_frame()
    national = table[table["step"] == "marshall: national rows"].iloc[0]
    assert (national["rows_in"], national["rows_out"]) == (2829, 2788)
    assert national["rows_in"] == national["rows_out"] + national["rows_affected"]


def test_marshall_known_values_and_missing_not_zero(marshall_frame):
    frame, _ = marshall_frame
    # Raw: "NM00101",1975,"Albuquerque, N.M.",286238,30,181,819,1353,2383,12,...
    row = frame[(frame["ori"] == "NM00101") & (frame["year"] == 1975)].iloc[0]
    assert list(row[["population", "homicide", "violent_crime"]]) == [286238, 30, 2383]
    assert row["full_year"]
    # Raw: "WASPD00",1977,"Seattle",5e+05,35,370,1764,1987,4156,12,...
    seattle = frame[(frame["ori"] == "WASPD00") & (frame["year"] == 1977)]
    assert seattle["population"].tolist() == [500000]
    # Raw: "FL02902",1988,"Tampa, Fla.",293732,NA,NA,NA,NA,NA,0,...
    tampa = frame[(frame["ori"] == "FL02902") & (frame["year"] == 1988)].iloc[0]
    assert pd.isna(tampa["violent_crime"]) and tampa["months_reported"] == 0
    assert not tampa["full_year"]
    # 2015 rows come from "Crime in the U.S. 2015" without months: unknown.
    assert frame.loc[frame["year"] == 2015, "full_year"].isna().all()


def test_marshall_zero_count_with_zero_months_becomes_missing(tmp_path):
    line = '"NM00101",1975,"Albuquerque, N.M.",286238,30,181,819,1353,2383,12,'
    zeroed = '"NM00101",1975,"Albuquerque, N.M.",286238,0,181,819,1353,2383,0,'
    copy = _copy(
        tmp_path, marshall.SOURCE, marshall.FILE, lambda t: t.replace(line, zeroed)
    )
    ledger = Ledger("test")
    frame = marshall.load_marshall(copy, ledger=ledger)
    row = frame[(frame["ori"] == "NM00101") & (frame["year"] == 1975)].iloc[0]
    assert pd.isna(row["homicide"]) and row["rape"] == 181
    recode = ledger.to_frame().query("step == 'marshall: zero months'")
    assert recode["rows_affected"].tolist() == [1]


def test_marshall_duplicated_key_and_missing_column(tmp_path):
    first = '"NM00101",1975,"Albuquerque, N.M.",286238,30,181,819,1353,2383,12,'
    first += "832.523983538174,10.4807887142867,63.2340919095298,286.125531900027,"
    first += "472.683571014331,NA,NA\n"
    copy = _copy(tmp_path, marshall.SOURCE, marshall.FILE, lambda t: t + first)
    with pytest.raises(SchemaValidationError, match="ori"):
        marshall.load_marshall(copy)

    copy = _copy(
        tmp_path,
        marshall.SOURCE,
        marshall.FILE,
        lambda t: t.replace('"months_reported"', '"months"', 1),
    )
    with pytest.raises(SchemaValidationError, match="months_reported"):
        marshall.load_marshall(copy)


# --- Kaplan crosswalk -----------------------------------------------------


def test_kaplan_rows_and_known_values():
    ledger = Ledger("test")
    frame = kaplan.load_kaplan_crosswalk(ledger=ledger)
    # PROVENANCE.md: "ori (7-char UCR ORI, unique, 23,916 rows)".
    assert len(frame) == 23916 and frame["ori"].is_unique
    # Raw: NY03030,NY0303000,36,061,36061,51000,local police department,...
    assert frame.set_index("ori").loc["NY03030", "county_fips"] == "36061"
    # Raw: KSKDOC,,20,,20na,... -> the malformed county code is missing.
    assert pd.isna(frame.set_index("ori").loc["KSKDOC", "county_fips"])
    ledger.check()


# --- NY DCJS --------------------------------------------------------------


@pytest.fixture(scope="module")
def ny():
    ledger = Ledger("test")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        crimes = nys.load_nys_crimes(ledger=ledger)
        population = nys.load_nys_population(ledger=ledger)
    return crimes, population, ledger


def test_nys_crime_rows_keys_and_months(ny):
    crimes, _, ledger = ny
    # PROVENANCE.md: "22,048 data rows"; 62 counties x 33 years of County Total
    # rows (`grep -c ',County Total,' file` = 2046).
    assert len(crimes) == 22048
    assert crimes["is_county_total"].sum() == 62 * 33
    assert not crimes.duplicated(["county_name", "agency", "year"]).any()
    # PROVENANCE.md: 9,844 agency-years under 12 months = 9,557 blank
    # (`awk -F, '$4==""'`) + 287 with 1-11 months.
    assert crimes["months_reported"].isna().sum() == 9557
    assert (crimes["months_reported"] < 12).sum() == 287
    assert crimes.loc[crimes["year"] <= 2001, "months_reported"].isna().all()
    ledger.check()


def test_nys_known_crime_line(ny):
    crimes, _, _ = ny
    # Raw: Albany,Albany City PD,2022,12,4746,944,14,70,233,627,3802,566,2670,566,...
    row = crimes[
        (crimes["agency"] == "Albany City PD") & (crimes["year"] == 2022)
    ].iloc[0]
    assert list(row[["index_total", "violent_total", "murder", "larceny"]]) == [
        4746,
        944,
        14,
        2670,
    ]
    assert row["full_year"]


def test_nys_population_program_rule(ny):
    _, population, ledger = ny
    # 3,717 raw rows; 378 county-years carry two program types (63 places x
    # census years 1970-2000 and 2010, 2020), one of each pair is dropped.
    assert len(population) == 3717 - 378
    assert not population.duplicated(["county_fips", "year"]).any()
    indexed = population.set_index(["county_fips", "year"])
    # Raw: 36089,St. Lawrence County,2010,Postcensal Population Estimate,111821
    # beside 36089,St. Lawrence County,2010,Census Base Population,111941
    assert indexed.loc[("36089", 2010), "population"] == 111821
    # Raw: 36047,Kings County,2022,Postcensal Population Estimate,2590516
    assert indexed.loc[("36047", 2022), "population"] == 2590516
    dropped = ledger.to_frame().query("step == 'nys_population: one program type'")
    assert dropped["rows_affected"].tolist() == [378]


def test_nys_county_names_match_fips(ny):
    crimes, population, _ = ny
    names = pd.Series(["St Lawrence", "Kings", "New York", "Richmond", "Albany"])
    fips = nys.match_county_fips(names, population)
    assert fips.tolist() == ["36089", "36047", "36061", "36085", "36001"]
    assert nys.match_county_fips(crimes["county_name"], population).nunique() == 62
    with pytest.raises(ValueError, match="Atlantis"):
        nys.match_county_fips(pd.Series(["Atlantis"]), population)


def test_nys_duplicated_key_and_missing_column(tmp_path):
    line = "Albany,Albany City PD,2022,12,4746,944,14,70,233,627,3802,566,2670,566,"
    line += "Non-New York City\n"
    copy = _copy(tmp_path, nys.SOURCE, nys.CRIME_FILE, lambda t: t + line)
    with pytest.raises(SchemaValidationError, match="county_name|agency"):
        nys.load_nys_crimes(copy)

    copy = _copy(
        tmp_path,
        nys.SOURCE,
        nys.POPULATION_FILE,
        lambda t: t.replace("Program Type", "Program", 1),
    )
    with pytest.raises(SchemaValidationError, match="Program Type"):
        nys.load_nys_population(copy)
