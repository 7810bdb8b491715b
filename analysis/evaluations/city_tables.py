"""Tables about the national city panel that the city report shows.

Built from the ``city_year``, ``city_county_link`` and ``city_coverage``
panels in memory; :func:`analysis.evaluate.run_city_tables` saves them under
``results/national_cities/``.
"""

from __future__ import annotations

import pandas as pd


def match_rates(city_year: pd.DataFrame) -> pd.DataFrame:
    """City-year rows and cities by county match method, with shares.

    Unmatched and ambiguous cities appear as their own rows (method
    ``"none: unmatched"`` / ``"none: ambiguous"``).
    """
    method = city_year["county_match_method"].astype("object").where(
        city_year["link_status"] == "matched",
        "none: " + city_year["link_status"].astype("object"),
    )
    table = city_year.assign(method=method).groupby("method").agg(
        city_years=("year", "size"), cities=("city_id", "nunique")
    )
    table["share_of_city_years"] = table["city_years"] / len(city_year)
    table["share_of_cities"] = table["cities"] / city_year["city_id"].nunique()
    return table.sort_values("city_years", ascending=False).reset_index()


def match_rate_by_year(city_year: pd.DataFrame) -> pd.DataFrame:
    """Share of each year's city rows with a county, and of its population."""
    matched = city_year["link_status"] == "matched"
    frame = city_year.assign(
        matched=matched,
        population_matched=city_year["population"].where(matched, 0),
    )
    table = frame.groupby("year").agg(
        rows=("city_id", "size"),
        rows_with_county=("matched", "sum"),
        population=("population", "sum"),
        population_with_county=("population_matched", "sum"),
    )
    table["share_rows"] = table["rows_with_county"] / table["rows"]
    table["share_population"] = (
        table["population_with_county"].astype("float64")
        / table["population"].astype("float64")
    )
    return table.reset_index()


def unlinked_cities(link: pd.DataFrame) -> pd.DataFrame:
    """Every ambiguous or unmatched city, with its spellings and years."""
    columns = ["city_id", "link_status", "state_postal", "city_name", "spellings",
               "county_match_method", "county_candidates", "geocode_key", "geoid",
               "code_kind", "first_year", "last_year", "n_years"]
    unlinked = link.loc[link["link_status"] != "matched", columns]
    return unlinked.sort_values(["link_status", "city_id"]).reset_index(drop=True)


def coverage_gaps(coverage: pd.DataFrame) -> pd.DataFrame:
    """State-years that are missing or thin, with the state's usual city count."""
    gaps = coverage[coverage["status"] != "reported"]
    columns = ["state_postal", "state_name", "year", "status", "cities",
               "median_cities", "share_of_median"]
    return gaps[columns].sort_values(["state_postal", "year"]).reset_index(drop=True)


def rows_per_year(city_year: pd.DataFrame) -> pd.DataFrame:
    """City rows per year, the file kind they came from and the FBI table number."""
    source = city_year["source_file"].astype("object").str.split("/").str[0]
    return city_year.assign(source=source).groupby("year").agg(
        rows=("city_id", "size"),
        states=("state_postal", "nunique"),
        with_population=("population", "count"),
        source=("source", "first"),
        fbi_table=("fbi_table", "first"),
    ).reset_index()
