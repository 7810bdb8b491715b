"""State-year crime panel from the FBI's estimated crimes, 1990-2023.

Build with :func:`build_state_year`; registered as ``state_year`` in
:data:`analysis.build.PANELS`.
"""

from __future__ import annotations

import pandas as pd

from analysis.io import Panel
from analysis.ledger import Ledger
from analysis.manifest import raw_file, source_hashes
from analysis.panels._rates import add_rates
from analysis.sources import fbi_state

NAME = "state_year"
# The panel window: the first year of the NY DCJS series (so state and NY
# panels share a start) through the last year the FBI file covers.
FIRST_YEAR, LAST_YEAR = 1990, 2023

CENSUS_SOURCE = "census_popest_county"
CENSUS_FILE = "co-est2019-alldata.csv"

RATE_COLUMNS = [
    "violent_crime",
    "violent_crime_ex_rape",
    "homicide",
    "rape",
    "rape_legacy",
    "rape_revised",
    "robbery",
    "aggravated_assault",
    "property_crime",
    "burglary",
    "larceny",
    "motor_vehicle_theft",
]

NOTES = {
    "unit": "state-year, 50 states + DC, 1990-2023; key (state_fips, year).",
    "counts": "FBI CDE estimates (non-reporting agencies imputed by the FBI), "
    "not sums of reported counts; revised after publication.",
    "national_rows": "the file's national rows (empty state_abbr) are dropped "
    "and ledgered; 2017-2020 have none in the file.",
    "rape": "rape = rape_revised where published (2013 on), else rape_legacy: "
    "the definition the FBI's violent_crime uses for states from 2013. "
    "Series crossing 2013 are not comparable; use violent_crime_ex_rape "
    "(homicide + robbery + aggravated assault) for long series.",
    "violent_crime_sum_mismatch": "true where the published violent_crime "
    "differs from homicide + rape + robbery + aggravated assault; kept as "
    "published, never recomputed.",
    "nibrs_transition_year": "true for 2021, when the FBI took NIBRS reports "
    "only and about 40% of agencies sent none: treat 2021 as a break.",
    "rates": "<count>_per_100k = count / population * 100,000 with the FBI's "
    "population; missing where the count is missing.",
    "state_fips": "from the Census co-est2019-alldata.csv STATE/STNAME columns, "
    "matched on the state name.",
    "abbreviation_fix": "2022 North Dakota is filed under NC in the raw file; "
    "the abbreviation is taken from the name (CodingConflictWarning).",
}


def build_state_year() -> Panel:
    """Build the state-year panel of FBI estimated crimes and rates.

    Returns
    -------
    analysis.io.Panel
        ``state_year``: one row per (``state_fips``, ``year``) for 1990-2023,
        with counts, ``rape`` and ``violent_crime_ex_rape``, rates per
        100,000, and the flags ``violent_crime_sum_mismatch`` and
        ``nibrs_transition_year``. See ``NOTES`` for every rule.

    Raises
    ------
    ValueError
        A state name has no Census FIPS code.
    """
    ledger = Ledger(NAME)
    frame = fbi_state.load_fbi_state(ledger=ledger)

    frame = ledger.drop(
        frame,
        frame["national"],
        "state_year: national rows",
        "national total, not a state",
        id_columns=["year"],
    )
    outside = ~frame["year"].between(FIRST_YEAR, LAST_YEAR)
    frame = ledger.drop(
        frame,
        outside,
        "state_year: panel window",
        f"year outside {FIRST_YEAR}-{LAST_YEAR}",
        id_columns=["state_abbr", "year"],
        warn=False,
    )

    fips = state_fips_table()
    frame = frame.merge(fips, on="state_name", how="left", validate="many_to_one")
    unmatched = frame["state_fips"].isna()
    if unmatched.any():
        names = sorted(set(frame.loc[unmatched, "state_name"].astype(str)))
        raise ValueError(
            f"state_year: state name(s) {names} from {fbi_state.FILE} have no match "
            f"in {CENSUS_SOURCE}/{CENSUS_FILE} STNAME; check the spelling."
        )
    ledger.record("state_year: attach state_fips", len(frame), len(frame))

    frame = add_rates(frame, RATE_COLUMNS, "population")
    frame = frame.drop(columns="national")
    leading = ["state_fips", "state_abbr", "state_name", "year"]
    frame = frame[leading + [c for c in frame.columns if c not in leading]]
    frame = frame.sort_values(["state_fips", "year"]).reset_index(drop=True)

    panel = Panel(
        name=NAME,
        frame=frame,
        key=["state_fips", "year"],
        raw_sha256={
            **source_hashes(fbi_state.SOURCE),
            f"{CENSUS_SOURCE}/{CENSUS_FILE}": source_hashes(CENSUS_SOURCE)[
                f"{CENSUS_SOURCE}/{CENSUS_FILE}"
            ],
        },
        ledger=ledger,
        notes=NOTES,
    )
    panel.check_key()
    return panel


def state_fips_table() -> pd.DataFrame:
    """Return ``state_name``, ``state_fips`` (2-digit string) for 50 states + DC.

    Read from the two columns STATE and STNAME of the hash-checked Census
    county estimates file, so no list of states lives in code.
    """
    path = raw_file(CENSUS_SOURCE, CENSUS_FILE)
    # latin-1: the file's county names carry accents; these two columns do not.
    table = pd.read_csv(
        path, usecols=["STATE", "STNAME"], dtype=str, encoding="latin-1"
    )
    table = table.drop_duplicates().rename(
        columns={"STATE": "state_fips", "STNAME": "state_name"}
    )
    # This copy drops leading zeros ("1" for Alabama): pad back to 2 digits.
    table = table.astype("string")
    if not table["state_fips"].str.fullmatch(r"\d{1,2}").all():
        raise ValueError(f"{path}: column STATE holds values that are not FIPS codes.")
    table["state_fips"] = table["state_fips"].str.zfill(2)
    if table["state_name"].duplicated().any() or table["state_fips"].duplicated().any():
        raise ValueError(
            f"{path}: STATE and STNAME do not pair one to one; cannot derive "
            "state FIPS codes from it."
        )
    return table.reset_index(drop=True)
