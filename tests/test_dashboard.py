"""The compliance dashboard page: content, honesty about missing data, browser.

The fast tests read the HTML (parsed with BeautifulSoup) built from panels
made in a scratch folder; totals are checked against the raw files counted
here by hand (csv module), not only against the panels. The tests marked
``slow`` render the page in headless Chromium: the script runs without
error, clicking headers sorts, and the screenshot (kept as
``reports/compliance_dashboard.png``) is not blank.
"""

from __future__ import annotations

import csv
import math
import re
import shutil
import warnings
from dataclasses import replace

import numpy as np
import pytest
from bs4 import BeautifulSoup

from analysis import paths
from analysis.dashboard import browser, provenance, write_dashboard
from analysis.dashboard.model import format_cell, sparkline
from analysis.io import write_panel
from analysis.manifest import read_manifest
from analysis.panels import detainers
from analysis.sources import pennsylvania, texas

TX_RAW = paths.raw_dir() / texas.SOURCE / texas.FILE
PA_RAW = paths.raw_dir() / pennsylvania.SOURCE / pennsylvania.FILE
MAX_PAGE_BYTES = 4_000_000


@pytest.fixture(scope="module")
def panels(tmp_path_factory):
    folder = tmp_path_factory.mktemp("processed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # drops and recodes warn by design
        tx = detainers.build_tx_county_month()
        pa = detainers.build_pa_facility_month()
    write_panel(tx, folder)
    write_panel(pa, folder)
    return folder, tx, pa


@pytest.fixture(scope="module")
def page(panels, tmp_path_factory):
    target = tmp_path_factory.mktemp("dashboard") / "compliance_dashboard.html"
    return write_dashboard(target, processed=panels[0])


@pytest.fixture(scope="module")
def soup(page):
    return BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")


def _rows(soup, table_id):
    return soup.find("table", id=table_id).tbody.find_all("tr", recursive=False)


def _column(soup, table_id, key):
    """The cells of one column, found by its header's data-key."""
    table = soup.find("table", id=table_id)
    keys = [th["data-key"] for th in table.thead.find_all("th")]
    index = keys.index(key)
    return [row.find_all(["td", "th"], recursive=False)[index]
            for row in _rows(soup, table_id)]


def _number(cell) -> float:
    """A cell's sort value, NaN when it is a missing cell."""
    if "na" in (cell.get("class") or []):
        return math.nan
    raw = cell.get("data-v", cell.get_text(strip=True))
    return float(re.sub(r"[^0-9eE+\-.]", "", raw))


def _texas_raw_inmates():
    """Sum of num_of_inmates in the raw CSV, without the 2017-02 copy of 2016-02.

    The loader drops that month (its table repeats February 2016 exactly; see
    the panel's ledger), so the page must show the remaining total.
    """
    total, rows = 0, 0
    with open(TX_RAW, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["year"] == "2017" and row["month"] == "february":
                continue
            total += int(row["num_of_inmates"])
            rows += 1
    return total, rows


def _pa_raw():
    with open(PA_RAW, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# --- structure -------------------------------------------------------------


def test_tables_have_one_row_per_county_facility_and_month(soup, panels):
    _, tx, pa = panels
    expected = {
        "tx-counties": 254,  # every Texas county, including one that never reported
        "tx-matrix": 254,
        "tx-months": 74,  # Oct 2011 - Nov 2017
        "pa-facilities": 117,  # PROVENANCE: 117 facilities
        "pa-matrix": 117,
        "pa-months": 94,  # Oct 2007 - Jul 2015
        "pa-outcomes": len([c for c in pa.frame if c.startswith("outcome_")]),
        "pa-declined": int(((pa.frame["outcome_declined_by_lea"] > 0)
                            | (pa.frame["outcome_lifted"] > 0)).sum()),
        "tx-ledger": len(tx.ledger.to_frame()),
        "pa-ledger": len(pa.ledger.to_frame()),
    }
    for table_id, n in expected.items():
        table = soup.find("table", id=table_id)
        assert table is not None, table_id
        assert len(_rows(soup, table_id)) == n, table_id
        assert table["data-rows"] == str(n), table_id
        assert "sortable" in table["class"], table_id
    # Matrices: a unit column plus one column per month.
    assert len(soup.find("table", id="tx-matrix").thead.find_all("th")) == 1 + 74
    assert len(soup.find("table", id="pa-matrix").thead.find_all("th")) == 1 + 94
    months = [th.get_text() for th in soup.find("table", id="tx-matrix").thead("th")]
    assert months[1] == "2011-10" and months[-1] == "2017-11"


def test_numeric_columns_sort_as_numbers(soup):
    table = soup.find("table", id="tx-counties")
    sorts = {th["data-key"]: th["data-sort"] for th in table.thead("th")}
    assert sorts["county_name"] == "text"
    assert sorts["inmate_months"] == "num"
    assert sorts["trend"] == "none"
    # Every formatted number carries its plain value for the script.
    for cell in _column(soup, "tx-counties", "inmate_months"):
        assert "na" in cell.get("class", []) or re.fullmatch(
            r"-?[0-9.]+(e[+-]?\d+)?", cell["data-v"]), cell


# --- totals ----------------------------------------------------------------


def test_texas_totals_on_page_equal_the_raw_file(soup, panels):
    raw_total, raw_rows = _texas_raw_inmates()
    assert raw_total == 349_540 and raw_rows == 18_387
    frame = panels[1].frame
    assert frame.loc[frame["reported"], "inmates"].sum() == raw_total

    stat = soup.find("li", attrs={"data-stat": "tx-inmate-months"})
    assert float(stat["data-value"]) == raw_total
    assert stat.find(class_="value").get_text() == "349,540"
    by_county = np.nansum([_number(c) for c in
                           _column(soup, "tx-counties", "inmate_months")])
    by_month = np.nansum([_number(c) for c in _column(soup, "tx-months", "inmates")])
    matrix = np.nansum([_number(td) for row in _rows(soup, "tx-matrix")
                        for td in row.find_all("td")])
    assert by_county == by_month == matrix == raw_total
    days = np.nansum([_number(c) for c in _column(soup, "tx-counties", "inmate_days")])
    assert days == frame["inmate_days"].sum()


def test_pennsylvania_totals_on_page_equal_the_raw_file(soup):
    raw = _pa_raw()
    # PROVENANCE.md: 32,757 detainers, 225 declined by LEA, 11,229 empty.
    assert len(raw) == 32_757
    declined = sum(r["lift_reason"] == "Detainer Declined by LEA" for r in raw)
    pending = sum(r["lift_reason"] == "" for r in raw)
    lifted = sum(r["lift_reason"].startswith("Lifted") for r in raw)
    assert (declined, pending) == (225, 11_229)

    def total(table_id, key):
        return sum(_number(c) for c in _column(soup, table_id, key))

    for table_id in ["pa-facilities", "pa-months"]:
        assert total(table_id, "detainers_issued") == len(raw)
        assert total(table_id, "outcome_declined_by_lea") == declined
        assert total(table_id, "outcome_pending_or_none") == pending
        assert total(table_id, "outcome_lifted") == lifted
    assert sum(_number(td) for row in _rows(soup, "pa-matrix")
               for td in row.find_all("td")) == len(raw)
    stats = {li["data-stat"]: float(li["data-value"])
             for li in soup.find_all("li", attrs={"data-stat": True})}
    assert stats["pa-detainers"] == len(raw)
    assert stats["pa-declined-by-lea"] == declined
    # Rows by year, from PROVENANCE.md.
    per_year = {"2007": 546, "2008": 5_326, "2009": 4_897, "2010": 4_829,
                "2011": 4_842, "2012": 4_181, "2013": 4_171, "2014": 2_751,
                "2015": 1_214}
    months = [th.get_text() for th in _column(soup, "pa-months", "month")]
    issued = [_number(c) for c in _column(soup, "pa-months", "detainers_issued")]
    for year, n in per_year.items():
        assert sum(v for m, v in zip(months, issued) if m.startswith(year)) == n


def test_outcome_definitions_come_from_the_crosswalk(soup, panels):
    rows = {row.th.get_text(): row for row in _rows(soup, "pa-outcomes")}
    assert "'Detainer Declined by LEA'" in rows["declined by lea"].get_text()
    assert "(empty)" in rows["pending or none"].get_text()
    assert "Lifted - Lack of Funds" in rows["lifted"].get_text()
    counts = {row.th.get_text(): _number(row.find_all("td")[1])
              for row in _rows(soup, "pa-outcomes")}
    assert counts["declined by lea"] == 225 and counts["pending or none"] == 11_229
    assert sum(counts.values()) == 32_757


# --- missing is not zero ---------------------------------------------------


def test_texas_missing_months_are_shown_as_missing_not_zero(soup, panels):
    frame = panels[1].frame
    missing = soup.find("table", id="tx-matrix").find_all("td", class_="na")
    assert len(missing) == int((~frame["reported"]).sum()) == 416
    assert all(td.get_text() == "n/r" for td in missing)

    # February 2017: no county has a report (the file's table is a copy).
    column = _column(soup, "tx-matrix", "2017-02")
    assert len(column) == 254 and all(td.get_text() == "n/r" for td in column)
    months = {row.th.get_text(): row for row in _rows(soup, "tx-months")}
    feb = months["2017-02"].find_all("td")
    assert feb[0].get_text() == "0" and feb[2].get_text() == "n/r"

    # Hartley County never reported: every month and its totals are missing.
    rows = {row.th.get_text(): row for row in _rows(soup, "tx-matrix")}
    assert all(td.get_text() == "n/r" for td in rows["Hartley County"]("td"))
    counties = {row.th.get_text(): row for row in _rows(soup, "tx-counties")}
    hartley = dict(zip([th["data-key"] for th in
                        soup.find("table", id="tx-counties").thead("th")][1:],
                       counties["Hartley County"].find_all("td")))
    assert hartley["inmate_months"].get_text() == "n/r"
    assert hartley["months_reported"].get_text() == "0"

    # A reported zero stays a zero (raw line: archer,2011,october,0,0,0,...).
    archer = rows["Archer County"].find_all("td")[0]
    assert archer.get_text() == "0" and "na" not in archer.get("class", [])


def test_days_check_flags_impossible_county_months(soup, panels):
    frame = panels[1].frame
    failing = frame["reported"] & (frame["inmate_days"] > 31 * frame["inmates"])
    assert len(_rows(soup, "tx-days-check")) == int(failing.sum()) == 118
    flagged = soup.find("table", id="tx-matrix").find_all("td", class_="flag")
    assert len(flagged) == int(failing.sum())
    # Raw line 8189: harris,2015,march,1,17221,1291575,...
    rows = {row.th.get_text(): row for row in _rows(soup, "tx-matrix")}
    months = [th.get_text() for th in soup.find("table", id="tx-matrix").thead("th")]
    harris = rows["Harris County"].find_all(["th", "td"])[months.index("2015-03")]
    assert harris.get_text() == "1" and "flag" in harris["class"]
    assert "17221 inmate-days" in harris["title"]


# --- provenance --------------------------------------------------------------


def test_sources_hashes_and_ledger_are_on_the_page(soup, page, panels):
    _, tx, pa = panels
    manifest = read_manifest().set_index(["source", "file"])["sha256"]
    shown = {td["data-sha256"] for td in soup.find_all(attrs={"data-sha256": True})}
    for panel in (tx, pa):
        for key, sha256 in panel.raw_sha256.items():
            assert sha256 in shown, key
            assert manifest[tuple(key.split("/", 1))] == sha256
    text = page.read_text(encoding="utf-8")
    assert "table of 2017-02 repeats 2016-02 exactly" in text
    steps = [row.th.get_text() for row in _rows(soup, "tx-ledger")]
    assert "texas: repeated month" in steps
    affected = dict(zip(steps, (_number(c) for c in
                                _column(soup, "tx-ledger", "rows_affected"))))
    assert affected["texas: repeated month"] == 253  # the dropped 2017-02 rows
    assert soup.find(id="definitions") and soup.find(id="coverage")


def test_stale_panel_is_refused(panels):
    _, tx, _ = panels
    stale = replace(tx, raw_sha256={k: "0" * 64 for k in tx.raw_sha256})
    with pytest.raises(ValueError, match="stale.*make panels"):
        provenance.source_rows([stale])


def test_missing_panels_say_how_to_build_them(tmp_path):
    with pytest.raises(FileNotFoundError, match="make panels"):
        write_dashboard(tmp_path / "page.html", processed=tmp_path)


# --- self-contained, reproducible -----------------------------------------


def test_page_is_self_contained(page, soup):
    text = page.read_text(encoding="utf-8")
    # No attribute may load or link to anything outside the page.
    for tag in soup.find_all(True):
        for name, value in tag.attrs.items():
            if name in ("src", "href", "xlink:href", "action", "poster", "data"):
                assert isinstance(value, str)
                ok = value.startswith("#") or value.startswith("data:")
                citation = tag.name == "a" and "citation" in tag.get("class", [])
                assert ok or citation, (tag.name, name, value[:80])
    assert not soup.find_all(["link", "iframe", "object", "embed", "img"])
    assert not re.search(r"url\(\s*['\"]?\s*(https?:)?//", text)
    assert "@import" not in text
    for script in soup.find_all("script"):
        assert not script.get("src")
        assert "http" not in script.get_text()
    policy = soup.find("meta", attrs={"http-equiv": "Content-Security-Policy"})
    assert "default-src 'none'" in policy["content"]
    assert page.stat().st_size < MAX_PAGE_BYTES
    assert len(soup.find_all("svg", class_="figure")) == 5


def test_rebuild_is_byte_identical(page, panels, tmp_path):
    again = write_dashboard(tmp_path / "again.html", processed=panels[0])
    assert again.read_bytes() == page.read_bytes()


# --- building blocks --------------------------------------------------------


def test_sparkline_leaves_gaps_for_missing_months():
    line = sparkline([0.0, 2.0, math.nan, 4.0, math.nan, math.nan, 1.0], "x",
                     width=62, height=12)
    segments = line.path.split("M")[1:]
    assert len(segments) == 3  # before, between and after the gaps
    # Hand-computed: step = 60 / 6 = 10; y = 11 - v / 4 * 10.
    assert segments[0].strip() == "1.0 11.0 L11.0 6.0"
    assert segments[1].strip() == "31.0 1.0 h1"
    assert line.label == "x; maximum 4"


def test_missing_value_is_never_formatted_as_zero():
    cell = format_cell(math.nan, "int", "n/r", "not reported")
    assert (cell.text, cell.missing, cell.value) == ("n/r", True, "")
    zero = format_cell(0.0, "int", "n/r", "not reported")
    assert (zero.text, zero.missing, zero.value) == ("0", False, "0")
    assert format_cell(1234567.891, "money", "", "").text == "$1,234,568"
    assert format_cell(0.0312, "pct", "", "").text == "3.1%"


# --- in the browser (slow) ---------------------------------------------------


def _chromium_or_fail():
    try:
        return browser.find_chromium()
    except FileNotFoundError as error:
        pytest.fail(f"the dashboard browser test needs Chromium: {error}")


@pytest.mark.slow
def test_page_renders_in_chromium_without_script_errors(page, soup):
    _chromium_or_fail()
    run = browser.dump_dom(page)
    assert run.console == [], run.console  # no error, no CSP refusal, no log
    dom = BeautifulSoup(run.stdout, "html.parser")
    assert dom.html.get("data-dashboard") == "ready"  # the script ran to its end
    assert not dom.html.has_attr("data-js-errors"), dom.html.get(
        "data-js-error-message")
    for table in soup.find_all("table", class_="sortable"):
        rendered = dom.find("table", id=table["id"])
        assert len(rendered.tbody.find_all("tr", recursive=False)) == int(
            table["data-rows"])
        # The script numbered the rows, so sorting can keep ties stable.
        assert rendered.tbody.tr.has_attr("data-i")
    assert len(dom.find_all("svg", class_="figure")) == 5


@pytest.mark.slow
def test_clicking_headers_sorts_numbers_as_numbers(page, panels):
    _chromium_or_fail()
    # Ascending on a numeric column needs two clicks (the first sorts the
    # largest first), so this also checks that a second click reverses.
    specs = ["tx-counties:inmate_months:asc", "pa-facilities:facility:desc",
             "tx-matrix:2017-11:desc", "tx-months:inmates:desc"]
    run = browser.dump_dom(page, fragment="sort=" + ",".join(specs))
    assert run.console == [], run.console
    dom = BeautifulSoup(run.stdout, "html.parser")
    for spec in specs:
        table_id, key, direction = spec.split(":")
        assert dom.find("table", id=table_id)["data-sorted-by"] == f"{key}:{direction}"
        header = dom.find("table", id=table_id).find("th", attrs={"data-key": key})
        assert header["aria-sort"] == {"asc": "ascending", "desc": "descending"}[
            direction]

    values = [_number(c) for c in _column(dom, "tx-counties", "inmate_months")]
    present = [v for v in values if not math.isnan(v)]
    assert present == sorted(present)  # numeric order, not text order
    assert present[-1] == 72_512  # Harris County, largest
    assert math.isnan(values[-1])  # Hartley County (never reported) sorts last
    assert _rows(dom, "tx-counties")[-1].th.get_text() == "Hartley County"

    names = [c.get_text() for c in _column(dom, "pa-facilities", "facility")]
    assert names == sorted(names, key=str.lower, reverse=True)

    frame = panels[1].frame
    last = frame[frame["period"] == frame["period"].max()]
    expected = last.sort_values("inmates", ascending=False, kind="stable")
    column = [_number(c) for c in _column(dom, "tx-matrix", "2017-11")]
    shown = [v for v in column if not math.isnan(v)]
    assert shown == expected["inmates"].dropna().tolist()
    assert all(math.isnan(v) for v in column[len(shown):])

    # 2017-02 (no county reported) sorts after every month with a total.
    months = [row.th.get_text() for row in _rows(dom, "tx-months")]
    assert months[-1] == "2017-02"


@pytest.mark.slow
def test_screenshot_is_not_blank_and_is_kept(page, tmp_path):
    _chromium_or_fail()
    from PIL import Image

    shot = browser.screenshot(page, tmp_path / "dashboard.png", size=(1400, 2000))
    image = np.asarray(Image.open(shot).convert("RGB"))
    assert image.shape == (2000, 1400, 3)
    ink = (image < 200).any(axis=2)
    assert ink.mean() > 0.03  # text, tables and the figure, not a white page
    # Ink in the top band (title), the middle (figure) and the bottom (table).
    for band in (slice(0, 200), slice(700, 1300), slice(1400, 2000)):
        assert ink[band].mean() > 0.01, band
    colours = np.unique(image.reshape(-1, 3), axis=0)
    assert len(colours) > 100
    # The build artifact listed in the README.
    artifact = paths.reports_dir() / "compliance_dashboard.png"
    artifact.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, artifact)
