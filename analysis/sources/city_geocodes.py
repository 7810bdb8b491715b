"""Data Commons geocodes of the FBI city-table names (city -> Census code).

Google Data Commons geocoded every city name of the FBI's Table 8 to a
Census code (``data/raw/datacommons_fbi_city_geocodes``). Its key is the
city name in lower case with trailing digits and spaces removed, a space and
the state's postal code (``"abbeville al"``). ``city_geocodes.csv`` was made
by a geocoding script; ``manual_geocodes.csv`` holds hand fixes and takes
precedence for a key in both.

Codes are read by their length:

- 10 digits: state (2) + county (3) + county subdivision (5), a New England,
  New Jersey, New York, Pennsylvania or Michigan town or township: the county
  is in the code;
- 7 digits: state (2) + Census place (5), a city, town or village;
- 6 digits with the row's state: a 7-digit place code that lost its
  leading zero (``"ventura ca"``, ``665042``); restored;
- 5 digits starting with the row's state FIPS: a county (``"camden county
  police department nj"``); any other 5-digit code is a metropolitan (CBSA)
  code such as ``29820`` (Las Vegas) and gives no county;
- anything else (one 8-digit code) gives no usable code.
"""

from __future__ import annotations

import pandas as pd

from analysis.ledger import Ledger
from analysis.manifest import raw_file
from analysis.sources._common import read_crosswalk

SOURCE = "datacommons_fbi_city_geocodes"
AUTO_FILE = "city_geocodes.csv"
MANUAL_FILE = "manual_geocodes.csv"
KINDS = ("county_subdivision", "place", "county", "unusable")


def load_city_geocodes(*, ledger: Ledger | None = None) -> pd.DataFrame:
    """Load both geocode files into one table, one row per key.

    Returns
    -------
    pandas.DataFrame
        ``key`` (as in the file), ``name`` (the key without its state),
        ``state_postal``, ``state_fips``, ``geoid`` (as in the file),
        ``code_kind`` (one of :data:`KINDS`), ``county_fips`` (for county
        subdivision and county codes), ``place_fips`` (7 digits, for places)
        and ``geocode_file``.
    """
    ledger = ledger if ledger is not None else Ledger("city_geocodes")
    auto = pd.read_csv(raw_file(SOURCE, AUTO_FILE), header=None, dtype=str,
                       names=["key", "geoid"], keep_default_na=False)
    manual = pd.read_csv(raw_file(SOURCE, MANUAL_FILE), header=None, sep="\t",
                         dtype=str, names=["key", "geoid"], keep_default_na=False)
    for frame, file in [(auto, AUTO_FILE), (manual, MANUAL_FILE)]:
        repeated = frame["key"].duplicated()
        if repeated.any():
            raise ValueError(
                f"data/raw/{SOURCE}/{file}: keys repeat, e.g. "
                f"{frame.loc[repeated, 'key'].head(3).tolist()}."
            )
    auto["geocode_file"] = AUTO_FILE
    manual["geocode_file"] = MANUAL_FILE
    overridden = auto["key"].isin(manual["key"])
    table = pd.concat([manual, auto[~overridden]], ignore_index=True)
    ledger.record(
        "city_geocodes: stack files", len(auto) + len(manual), len(table),
        removed={"automatic geocode replaced by a manual one": int(overridden.sum())},
        examples={"automatic geocode replaced by a manual one":
                  auto.loc[overridden, "key"].tolist()},
        action="collapse",
    )

    table["key"] = table["key"].str.strip()
    table["geoid"] = table["geoid"].str.strip()
    table["state_postal"] = table["key"].str.extract(r"\s([a-z]{2})$")[0].str.upper()
    table["name"] = table["key"].str.replace(r"\s[a-z]{2}$", "", regex=True)
    states = read_crosswalk("us_state_fips.csv", ["state_fips", "state_postal"])
    table["state_fips"] = table["state_postal"].map(
        states.set_index("state_postal")["state_fips"]
    )
    unknown = table["state_fips"].isna()
    if unknown.any():
        raise ValueError(
            f"data/raw/{SOURCE}: keys without a known state postal code, e.g. "
            f"{table.loc[unknown, 'key'].head(3).tolist()}."
        )
    return _code_kinds(table, ledger).astype("string")


def _code_kinds(table: pd.DataFrame, ledger: Ledger) -> pd.DataFrame:
    """Read each code by its length and state (see the module notes)."""
    geoid, state = table["geoid"], table["state_fips"]
    length = geoid.str.len()
    digits = geoid.str.fullmatch(r"\d+")
    subdivision = digits & (length == 10)
    place = digits & (length == 7)
    lost_zero = digits & (length == 6) & ("0" + geoid).str[:2].eq(state)
    county = digits & (length == 5) & geoid.str[:2].eq(state)

    table["code_kind"] = "unusable"
    table.loc[subdivision, "code_kind"] = "county_subdivision"
    table.loc[place | lost_zero, "code_kind"] = "place"
    table.loc[county, "code_kind"] = "county"
    table["county_fips"] = geoid.str[:5].where(subdivision | county)
    table["place_fips"] = geoid.where(place, ("0" + geoid).where(lost_zero))

    unusable = table["code_kind"] == "unusable"
    ledger.recode(
        "city_geocodes: code kinds",
        "code is neither a place, a county subdivision nor a county of the "
        "key's state (metropolitan CBSA codes, one 8-digit code): no county",
        int(unusable.sum()), len(table),
        examples=table.loc[unusable, "key"].tolist(), warn=False,
    )
    ledger.recode(
        "city_geocodes: lost leading zero",
        "6-digit place code of a state whose FIPS starts with 0; zero restored",
        int(lost_zero.sum()), len(table),
        examples=table.loc[lost_zero, "key"].tolist(), warn=False,
    )
    return table
