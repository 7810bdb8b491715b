"""Iowa DOC recidivism loader and the iowa_district_year panel.

Expected counts come from data/raw/iowa_doc_recidivism/PROVENANCE.md (quoted
in comments); known values quote raw lines of the FY2010-2015 file.
"""

from __future__ import annotations

import math
import warnings

import pytest

from analysis import paths
from analysis.errors import RecodedValuesWarning, SchemaValidationError
from analysis.ledger import Ledger
from analysis.panels import iowa as iowa_panel
from analysis.sources import iowa

RAW = paths.raw_dir() / iowa.SOURCE / iowa.FILE

# PROVENANCE.md, "Derived summary: N releases and share returned to prison".
PROVENANCE_TABLE = {
    "1JD": [(330, .34), (339, .34), (467, .35), (545, .41), (507, .46), (599, .49)],
    "2JD": [(224, .33), (248, .36), (313, .40), (381, .41), (360, .41), (462, .50)],
    "3JD": [(143, .41), (167, .37), (207, .35), (218, .45), (196, .45), (257, .46)],
    "4JD": [(100, .37), (94, .36), (99, .44), (107, .48), (114, .54), (153, .50)],
    "5JD": [(531, .44), (625, .40), (848, .45), (1023, .43), (943, .48),
            (1012, .47)],
    "6JD": [(118, .36), (166, .33), (178, .38), (235, .36), (176, .44), (225, .44)],
    "7JD": [(256, .31), (195, .31), (254, .33), (305, .32), (252, .41), (252, .41)],
    "8JD": [(224, .35), (211, .37), (261, .35), (281, .38), (276, .38), (303, .46)],
    "unsupervised_or_blank": [(1790, .23), (1563, .24), (1763, .25), (1592, .22),
                              (1762, .20), (1111, .10)],
}


@pytest.fixture(autouse=True)
def _quiet_expected_warnings():
    # Test copies warn that they skip the hash check; that is expected here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.fixture(scope="module")
def releases():
    ledger = Ledger("test")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = iowa.load_iowa_recidivism(ledger=ledger)
    # Merging labels warns with the count (659 = ISC 350 + Interstate Compact 309).
    messages = [str(w.message) for w in caught
                if issubclass(w.category, RecodedValuesWarning)]
    assert any("recoded 659 of 26020" in m for m in messages)
    return frame, ledger


@pytest.fixture(scope="module")
def panel():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return iowa_panel.build_iowa_district_year()


def test_rows_outcome_and_categories(releases):
    frame, ledger = releases
    # PROVENANCE: 26,020 rows; 8,681 Yes / 17,339 No; blank district 9,581;
    # ISC 350 + Interstate Compact 309; 134 "Paroled to Detainer - INS", 4 returned.
    assert len(frame) == 26020
    assert frame["returned_to_prison"].sum() == 8681
    districts = frame["district"].value_counts()
    assert districts["unsupervised_or_blank"] == 9581
    assert districts["interstate_compact"] == 350 + 309
    ins = frame[frame["paroled_to_ins_detainer"]]
    assert len(ins) == 134 and ins["returned_to_prison"].sum() == 4
    assert (ins["district"] == "unsupervised_or_blank").sum() == 113
    ledger.check()
    assert ledger.to_frame().query("action == 'drop'").empty


def test_known_raw_line_and_release_types(releases):
    frame = releases[0]
    # Raw line 2: 2010,2013,White - Non-Hispanic,,Under 25,D Felony,Violent,
    # Assault,Parole,4JD,Yes,Parole,16,,,,Yes,,,
    first = frame.iloc[0]
    assert (first["release_fy"], first["district"], first["returned_to_prison"],
            first["days_to_recidivism"], first["offense_subtype"]) == (
        2010, "4JD", True, 16.0, "Assault")
    # Raw line 12796: 2013,...,Paroled to Detainer - INS,5JD,Yes,...,250,...
    row = frame.iloc[12796 - 2]
    assert row["paroled_to_ins_detainer"] and row["days_to_recidivism"] == 250
    harmonised = frame.groupby("release_type_harmonised")["release_type"].unique()
    assert set(harmonised["parole"]) == {"Parole", "Parole Granted"}
    assert set(harmonised["discharged_end_of_sentence"]) == {
        "Discharged – End of Sentence", "Discharged - Expiration of Sentence"}


def test_vintages_agree_and_are_not_stacked(releases):
    comparison = iowa.compare_iowa_vintages()
    # PROVENANCE: "For FY2010-2014, the counts and return rates by district x FY
    # are identical in both files."
    assert comparison["match"].all()
    assert comparison["releases_old"].sum() == 21646
    assert len(releases[0]) == 26020  # not 26,020 + 21,646


def test_panel_matches_provenance_table(panel):
    frame = panel.frame.query("group == 'all'").set_index(["district", "release_fy"])
    for district, cells in PROVENANCE_TABLE.items():
        for year, (count, rate) in zip(range(2010, 2016), cells):
            row = frame.loc[(district, year)]
            assert row["releases"] == count, (district, year)
            assert round(row["rate"], 2) == rate, (district, year)
    assert frame.loc[("5JD", 2012), "releases"] == 848
    panel.check_key()
    panel.ledger.check()


def test_ins_detainer_group(panel):
    ins = panel.frame.query("group == 'ins_detainer'")
    # INS paroles are labelled only in FY2013 (81) and FY2015 (53) (PROVENANCE
    # release-type table); other years have no ins_detainer rows (not zeros).
    assert sorted(ins["release_fy"].unique()) == [2013, 2015]
    assert ins.groupby("release_fy")["releases"].sum().to_dict() == {2013: 81,
                                                                     2015: 53}
    assert ins["returned"].sum() == 4
    empty = ins[ins["releases"] == 0]
    assert empty["rate"].isna().all() and empty["rate_low"].isna().all()


def test_wilson_interval_by_hand(panel):
    # 5JD FY2012: 848 releases, 379 returned. Wilson: centre (p + z^2/2n)/(1 +
    # z^2/n), half-width z/(1 + z^2/n) * sqrt(p(1-p)/n + z^2/4n^2).
    n, k, z = 848, 379, 1.959963984540054
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    row = panel.frame.query("group == 'all' and district == '5JD' and "
                            "release_fy == 2012").iloc[0]
    assert row["returned"] == k
    assert row["rate_low"] == pytest.approx(centre - half, abs=1e-12)
    assert row["rate_high"] == pytest.approx(centre + half, abs=1e-12)
    assert (round(row["rate_low"], 4), round(row["rate_high"], 4)) == (0.4138,
                                                                       0.4806)
    low, high = iowa_panel.wilson_interval([0, 3], [0, 3])
    assert math.isnan(low[0]) and (low[1], high[1]) == pytest.approx((0.4385, 1),
                                                                      abs=1e-4)


def test_bad_input(tmp_path):
    text = RAW.read_text(encoding="utf-8")
    path = tmp_path / iowa.FILE
    path.write_text(text.replace("Main Supervising District", "District", 1),
                    encoding="utf-8")
    with pytest.raises(SchemaValidationError, match="Main Supervising District"):
        iowa.load_iowa_recidivism(path)
    path.write_text(text.replace(",4JD,Yes,", ",4JD,Maybe,", 1), encoding="utf-8")
    with pytest.raises(ValueError, match="Recidivism|returned_to_prison"):
        iowa.load_iowa_recidivism(path)
    path.write_text(text.replace(",4JD,", ",9JD,", 1), encoding="utf-8")
    with pytest.raises(ValueError, match="9JD"):
        iowa.load_iowa_recidivism(path)
    path.write_text(text.replace("2010,2013,", "2010,2014,", 1), encoding="utf-8")
    with pytest.raises(SchemaValidationError, match="release_fy"):
        iowa.load_iowa_recidivism(path)
