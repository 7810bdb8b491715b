"""The FBI city tables 2005-2019 and the Data Commons geocodes.

Expected row counts are independent of the loader: the "rows" column of the
coverage tables in each source's PROVENANCE.md (city rows with a numeric
population, counted when the files were collected) plus the rows whose
population cell is blank, named one by one below. Known values quote the
raw row (spreadsheet cells as xlrd reads them, or the CSV line).
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
import xlrd

from analysis import paths
from analysis.ledger import Ledger
from analysis.sources import city_geocodes, fbi_city


@pytest.fixture(autouse=True)
def _quiet_expected_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.fixture(scope="module")
def tables():
    ledger = Ledger("test")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame, without_rows = fbi_city.load_city_tables(ledger=ledger)
    return frame, without_rows, ledger


# PROVENANCE.md coverage tables: 2005 and 2007 from fbi_cius_table8_odde_2005_2014
# ("8,170", "8,537"); 2006 from fbi_cius_table8_2006_xls ("8,252 data rows",
# one of them the Baltimore City Sheriff with no population); 2008-2019 from
# fbi_cius_table8_datacommons_2008_2019.
WITH_POPULATION = {
    2005: 8170, 2006: 8251, 2007: 8537, 2008: 8772, 2009: 9144, 2010: 9306,
    2011: 9311, 2012: 9490, 2013: 9289, 2014: 9345, 2015: 9395, 2016: 9576,
    2017: 9577, 2018: 9248, 2019: 8103,
}
# Agencies listed with a blank population (their residents are counted under
# another agency), by year.
BLANK_POPULATION = {
    2005: ["Baltimore City Sheriff", "Lake Royale", "Black Butte", "Sunriver"],
    2006: ["Baltimore City Sheriff"],
    2007: ["Black Butte", "Sunriver"],
    2009: ["Baltimore City Sheriff", "Camp Grayling"],
    2010: ["Baltimore City Sheriff", "Lake Royale", "Black Butte", "Sunriver"],
    2011: ["Baltimore City Sheriff", "Black Butte", "Sunriver"],
    2012: ["Baltimore City Sheriff"],
    2013: ["Baltimore City Sheriff", "Black Butte", "Sunriver"],
    2014: ["Baltimore City Sheriff", "Sunriver"],
    2016: ["Baltimore City Sheriff", "Black Butte", "Sunriver"],
    2017: ["Baltimore City Sheriff", "Sunriver"],
    2018: ["Baltimore City Sheriff", "Black Butte", "Sunriver"],
    2019: ["Baltimore City Sheriff", "Sunriver"],
}


def test_each_year_parses_to_the_expected_rows(tables):
    frame, _, _ = tables
    for year, expected in WITH_POPULATION.items():
        rows = frame[frame["year"] == year]
        blank = BLANK_POPULATION.get(year, [])
        assert rows["population"].notna().sum() == expected, year
        assert len(rows) == expected + len(blank), year
        assert sorted(rows.loc[rows["population"].isna(), "city"]) == sorted(blank)
        assert not rows.duplicated(["state_postal", "city"]).any(), year


def test_states_per_year_and_states_without_rows(tables):
    frame, without_rows, _ = tables
    states = frame.groupby("year")["state_postal"].nunique()
    # Hawaii absent 2011-2014; Iowa listed without cities in 2018 ("IOWA7");
    # Connecticut and Rhode Island files of the 2007 scrape are empty.
    assert states[2011] == states[2014] == 50
    assert "HI" not in set(frame.loc[frame["year"].between(2011, 2014), "state_postal"])
    assert states[2007] == 49
    assert without_rows[2007] == ["CONNECTICUT", "RHODE ISLAND"]
    assert without_rows[2018] == ["IOWA"]
    assert "IA" not in set(frame.loc[frame["year"] == 2018, "state_postal"])
    assert states[2019] == 51
    # Illinois: 7 cities in 2005 (the FBI's own table), 112 in 2009.
    illinois = frame[frame["state_postal"] == "IL"].groupby("year").size()
    assert illinois[2005] == 7 and illinois[2009] == 112


def test_known_values_2005_scrape_with_separators_and_blanks(tables):
    frame, _, _ = tables
    # output/2005/Illinois.csv line 3:
    # "Chicago","2,873,441"," ","448"," ","15,964","17,943","131,183","25,314",
    # "83,373","22,496","682"
    row = frame[(frame["year"] == 2005) & (frame["city"] == "Chicago")].iloc[0]
    assert row["population"] == 2873441
    assert pd.isna(row["violent_crime"]) and pd.isna(row["rape_legacy"])
    assert row["murder"] == 448 and row["robbery"] == 15964
    assert row["aggravated_assault"] == 17943 and row["property_crime"] == 131183
    assert row["burglary"] == 25314 and row["larceny_theft"] == 83373
    assert row["motor_vehicle_theft"] == 22496 and row["arson"] == 682
    assert row["source_file"] == (
        "fbi_cius_table8_odde_2005_2014/output/2005/Illinois.csv")
    assert row["source_row"] == 3
    # output/2005/Alabama.csv line 2:
    # "Abbeville","3,004","17","0","3","1","13","141","35","99","7"," "
    row = frame[(frame["year"] == 2005) & (frame["city"] == "Abbeville")
                & (frame["state_postal"] == "AL")].iloc[0]
    assert list(row[["population", "violent_crime", "murder", "rape_legacy",
                     "robbery", "aggravated_assault", "property_crime", "burglary",
                     "larceny_theft", "motor_vehicle_theft"]]) == [
        3004, 17, 0, 3, 1, 13, 141, 35, 99, 7]
    assert pd.isna(row["arson"]) and pd.isna(row["rape_revised"])


def test_known_values_from_the_spreadsheets(tables):
    frame, _, _ = tables

    def row(year, state, city):
        found = frame[(frame["year"] == year) & (frame["state_postal"] == state)
                      & (frame["city"] == city)]
        assert len(found) == 1
        return found.iloc[0]

    # 06tbl08.xls row 1006: ['CONNECTICUT', 'Ansonia', 18715.0, 22.0, 0.0, 3.0,
    # 6.0, 13.0, 383.0, 52.0, 297.0, 34.0, 2.0, '', '']  (Connecticut 2006)
    r = row(2006, "CT", "Ansonia")
    assert (r["population"], r["violent_crime"], r["rape_legacy"], r["robbery"],
            r["property_crime"], r["arson"]) == (18715, 22, 3, 6, 383, 2)
    assert r["source_row"] == 1006
    # table8_city_2013.xls row 5: ['ALABAMA', 'Abbeville', 2645.0, 11.0, 1.0, 1.0,
    # '', 2.0, 7.0, 63.0, 21.0, 39.0, 3.0, '', ...]  (two rape columns)
    r = row(2013, "AL", "Abbeville")
    assert r["rape_revised"] == 1 and pd.isna(r["rape_legacy"])
    assert (r["robbery"], r["aggravated_assault"], r["property_crime"]) == (2, 7, 63)
    assert pd.isna(r["arson"]) and r["source_row"] == 5
    # table8_city_2017.xls row 5696: ['NORTH CAROLINA7', 'Aberdeen', 7707.0, '',
    # 1.0, '', 9.0, 8.0, 275.0, 37.0, 232.0, 6.0, 2.0, ...]  (blank violent, rape)
    r = row(2017, "NC", "Aberdeen")
    assert pd.isna(r["violent_crime"]) and pd.isna(r["rape_revised"])
    assert r["state_footnote"] == "7" and r["state_raw"] == "NORTH CAROLINA7"
    assert (r["murder"], r["robbery"], r["aggravated_assault"]) == (1, 9, 8)
    # table8_city_2019.xls row 5: ['ALABAMA3', 'Hoover', 85670.0, 114.0, 4.0,
    # 15.0, 27.0, 68.0, 1922.0, 128.0, 1694.0, 100.0, 2.0]
    r = row(2019, "AL", "Hoover")
    assert (r["population"], r["violent_crime"], r["rape_revised"],
            r["larceny_theft"], r["arson"]) == (85670, 114, 15, 1694, 2)
    assert r["state_footnote"] == "3"
    # 2016 is Table 6; every other year Table 8.
    assert set(frame.loc[frame["year"] == 2016, "fbi_table"]) == {"Table 6"}
    assert set(frame.loc[frame["year"] != 2016, "fbi_table"]) == {"Table 8"}


def test_every_row_points_back_to_its_source_row(tables):
    frame, _, _ = tables
    sample = frame[frame["source_file"].str.endswith(".xls")].sample(40, random_state=5)
    books = {}
    for r in sample.itertuples():
        path = paths.raw_dir() / r.source_file
        if path not in books:
            books[path] = xlrd.open_workbook(str(path)).sheet_by_index(0)
        cells = books[path].row_values(r.source_row - 1)
        assert str(cells[1]).replace("\xa0", " ") == r.city_raw
        assert cells[2] == ("" if pd.isna(r.population) else float(r.population))


def test_2006_spreadsheet_agrees_with_the_2006_scrape(tables):
    # The 2006 HTML scrape (not used by the panel) is an independent copy of
    # the same FBI table: every value of its 8,181 rows must match.
    frame, _, _ = tables
    spreadsheet = frame[frame["year"] == 2006]
    scraped = []
    for _, file in fbi_city.year_files(2005):
        path = paths.raw_dir() / fbi_city.SOURCE_ODDE / file.replace("2005", "2006")
        raw = fbi_city._read_odde(path, str(path))
        raw["state_raw"] = path.stem.replace("_", " ").upper()
        raw["source_file"] = str(path)
        scraped.append(raw)
    scrape, _ = fbi_city._tidy(pd.concat(scraped, ignore_index=True), 2006,
                               Ledger("t"))
    assert len(scrape) == 8181
    merged = scrape.merge(spreadsheet, on=["state_postal", "city"],
                          suffixes=("_html", "_xls"), validate="one_to_one")
    assert len(merged) == 8181
    assert set(spreadsheet["state_postal"]) - set(scrape["state_postal"]) == {"CT"}
    for column in fbi_city.COUNT_COLUMNS:
        html, xls = merged[f"{column}_html"], merged[f"{column}_xls"]
        assert ((html == xls).fillna(False) | (html.isna() & xls.isna())).all(), column


def test_ledger_balances_and_counts_footnotes(tables):
    frame, _, ledger = tables
    ledger.check()
    table = ledger.to_frame()
    steps = table[table["step"].str.endswith("rows below the header")]
    out = steps.drop_duplicates("step")["rows_out"].sum()
    assert out == len(frame)
    # 2019's sheet has eight footnote lines below the table, rows 8110-8117
    # ("1 The figures shown in this column for the offense ..." to "8Arson
    # offenses are reported by the Toledo Fire De...").
    footnotes = steps[(steps["step"] == "fbi_cius_city 2019: rows below the header")
                      & (steps["reason"] == "footnote text below the table")]
    assert footnotes["rows_affected"].iloc[0] == 8
    separators = table[table["step"] == "fbi_cius_city 2005: thousands separators"]
    assert separators["rows_affected"].iloc[0] > 1000


def test_footnote_marks_are_split_from_names():
    assert fbi_city.split_footnote("ALABAMA3") == ("ALABAMA", "3")
    assert fbi_city.split_footnote("ILLINOIS6, 7") == ("ILLINOIS", "6,7")
    assert fbi_city.split_footnote("MONTANA2 ") == ("MONTANA", "2")
    assert fbi_city.split_footnote("Mobile3") == ("Mobile", "3")
    assert fbi_city.split_footnote("Abington Township, Montgomery County") == (
        "Abington Township, Montgomery County", "")
    key = fbi_city.header_key("Rape\n(revised\ndefinition)1")
    assert key == "rapereviseddefinition"
    assert fbi_city.HEADERS[fbi_city.header_key("Larceny- theft")] == "larceny_theft"
    assert fbi_city.HEADERS[fbi_city.header_key("Arson3")] == "arson"


def _scrape(tmp_path, text):
    path = tmp_path / "Alabama.csv"
    path.write_text(text, encoding="utf-8")
    raw = fbi_city._read_odde(path, str(path))
    raw["state_raw"] = "ALABAMA"
    raw["source_file"] = str(path)
    return raw


HEADER = ('"City","Population","Violent crime","Murder and nonnegligent '
          'manslaughter","Forcible rape","Robbery","Aggravated assault","Property '
          'crime","Burglary","Larceny-theft","Motor vehicle theft","Arson1"\n')


def test_moving_header_row_and_junk_lines_are_handled(tmp_path):
    text = ('"Criminal Justice Information Services Division"\n"Feedback"\n'
            + HEADER + '"Abbeville3","3,004","17","0","3","1","13","141","35",'
            '"99","7"," "\n')
    table, _ = fbi_city._tidy(_scrape(tmp_path, text), 2005, Ledger("t"))
    assert table["city"].tolist() == ["Abbeville"]
    assert table["city_footnote"].tolist() == ["3"]
    assert table["population"].tolist() == [3004]
    assert table["source_row"].tolist() == [4]


def test_text_in_a_count_cell_raises_naming_file_and_row(tmp_path):
    text = (HEADER + '"Abbeville","3,004","n/a","0","3","1","13","141","35","99",'
            '"7",""\n')
    with pytest.raises(ValueError, match=r"violent_crime.*Alabama.csv', 2\]"):
        fbi_city._tidy(_scrape(tmp_path, text), 2005, Ledger("t"))


def test_unknown_header_raises(tmp_path):
    text = HEADER.replace('"Robbery"', '"Carjacking"') + '"A","1","1","1","1","1",' \
        '"1","1","1","1","1",""\n'
    with pytest.raises(ValueError, match="Carjacking"):
        _scrape(tmp_path, text)


def test_two_columns_read_as_one_raise(tmp_path):
    text = HEADER.replace('"Forcible rape"', '"Rape"').replace(
        '"Robbery"', '"Rape (revised definition)"') + '"A","1","1","1","1","1",' \
        '"1","1","1","1","1",""\n'
    with pytest.raises(ValueError, match="rape_revised"):
        _scrape(tmp_path, text)


def test_value_in_a_column_without_header_raises(tmp_path):
    text = HEADER.rstrip("\n") + ',""\n"A","1","1","1","1","1","1","1","1","1",' \
        '"1","","99"\n'
    with pytest.raises(ValueError, match="without a header"):
        _scrape(tmp_path, text)


def test_geocodes_read_by_code_length():
    geocodes = city_geocodes.load_city_geocodes().set_index("key")
    # city_geocodes.csv: "abbeville al,0100124" (place);
    # "aastad township mn,2711100100" (county subdivision: county 27111).
    assert geocodes.loc["abbeville al", "place_fips"] == "0100124"
    assert geocodes.loc["aastad township mn", "county_fips"] == "27111"
    # manual_geocodes.csv: "ventura ca<TAB>665042" (lost zero),
    # "camden county police department nj<TAB>34007" (county),
    # "las vegas metropolitan police department nv<TAB>29820" (CBSA: unusable).
    assert geocodes.loc["ventura ca", "place_fips"] == "0665042"
    assert geocodes.loc["camden county police department nj", "county_fips"] == "34007"
    assert geocodes.loc["las vegas metropolitan police department nv",
                        "code_kind"] == "unusable"
    assert geocodes.loc["honolulu hi", "geocode_file"] == "manual_geocodes.csv"
    # 34,235 automatic keys + 101 manual, minus the automatic keys a manual
    # one replaces.
    assert 34_235 <= len(geocodes) <= 34_235 + 101
