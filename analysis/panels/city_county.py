"""Link FBI city-table names to their principal county FIPS.

The FBI's city table has no agency code, only a state and a city name. Each
spelling of a city is linked to a county by the first route that gives one
answer, and the route is recorded in ``county_match_method``:

1. Geocode the name with Data Commons' geocodes
   (:mod:`analysis.sources.city_geocodes`), trying in turn the files' own key
   (``datacommons_key``: the name in lower case without trailing footnote
   digits, plus the state), the normalised name (``datacommons_name``:
   :func:`~analysis.panels.city_names.city_key`) and the name without words
   naming the kind of jurisdiction (``datacommons_base``:
   :func:`~analysis.panels.city_names.base_key`); the last two only where
   they pick one geocode in the state.
2. From the code to a county: a county-subdivision code holds its county
   (``+subdivision``); a place code goes through Kaplan's LEAIC crosswalk
   (``+kaplan_place``): the county of the local police departments whose
   Census place it is (LEAIC's principal county: a city spanning several
   counties gets the county of its department's headquarters), or of any
   agency of that place when no local police department has it. Several
   counties: the most frequent; a tie is *ambiguous*.
3. No geocode, or a code that gives no county: match the name's
   :func:`~analysis.panels.city_names.base_key` to Kaplan's local police
   departments of the state, by agency name (``kaplan_agency_name``: "X
   police department") or Census place name (``kaplan_census_name``: "x
   city"); one county only, several counties are *ambiguous*.

4. The FBI names the county of some townships in the city name to tell
   same-named townships apart (``"Spring Township, Centre County"``): the
   named county of the state is looked up in the Census county list
   (``name_gives_county``).

What is left is *unmatched*. Ambiguous and unmatched cities keep every row
with a missing ``county_fips``; they are counted in the ledger and listed in
the link table (panel ``city_county_link``).
"""

from __future__ import annotations

import warnings

import pandas as pd

from analysis.errors import CodingConflictWarning
from analysis.panels.city_names import base_key, city_key

# Routes in order of preference; the rank picks one spelling per city id.
METHODS = [
    "datacommons_key+subdivision",
    "datacommons_key+kaplan_place",
    "datacommons_name+subdivision",
    "datacommons_name+kaplan_place",
    "datacommons_base+subdivision",
    "datacommons_base+kaplan_place",
    "kaplan_agency_name",
    "kaplan_census_name",
    "name_gives_county",
]
STATUSES = ("matched", "ambiguous", "unmatched")
LOCAL_POLICE = "local police department"


def place_counties(kaplan: pd.DataFrame) -> pd.DataFrame:
    """One county per Census place from Kaplan's crosswalk.

    Returns a frame indexed by ``place_fips`` with ``county_fips`` (missing
    on a tie), ``county_candidates`` (distinct counties seen) and
    ``place_rule`` (whether local police departments decided).
    """
    agencies = kaplan.dropna(subset=["place_fips", "county_fips"])
    police = agencies[agencies["agency_type"] == LOCAL_POLICE]
    others = agencies[~agencies["place_fips"].isin(police["place_fips"])]
    return pd.concat(
        [_modal_county(police, "place_fips").assign(place_rule="local police"),
         _modal_county(others, "place_fips").assign(place_rule="any agency")]
    )


def name_counties(kaplan: pd.DataFrame, column: str) -> pd.DataFrame:
    """Counties of local police departments by (state, base key of ``column``)."""
    police = kaplan[(kaplan["agency_type"] == LOCAL_POLICE)].dropna(
        subset=["county_fips", column]
    )
    police = police.assign(
        name_key=[f"{s}|{base_key(n)}" for s, n in
                  zip(police["state_fips"], police[column])]
    )
    counties = police.groupby("name_key")["county_fips"].agg(
        lambda s: sorted(set(s))
    )
    return pd.DataFrame(
        {
            "county_fips": counties.map(lambda c: c[0] if len(c) == 1 else pd.NA),
            "county_candidates": counties.map(len),
        }
    )


def link_spellings(
    spellings: pd.DataFrame,
    geocodes: pd.DataFrame,
    kaplan: pd.DataFrame,
    counties: pd.DataFrame,
) -> pd.DataFrame:
    """Link each distinct (state, city spelling) to a county.

    Parameters
    ----------
    spellings
        Columns ``state_postal``, ``state_fips`` and ``city`` (footnote marks
        removed), one row per distinct spelling.
    geocodes
        :func:`analysis.sources.city_geocodes.load_city_geocodes`.
    kaplan
        :func:`analysis.sources.kaplan.load_kaplan_places`.
    counties
        ``state_fips``, ``county_fips`` and ``county_name`` of every county
        (the Census county list).

    Returns
    -------
    pandas.DataFrame
        ``spellings`` with ``geocode_key``, ``geoid``, ``code_kind``,
        ``county_fips``, ``county_candidates``, ``county_match_method`` and
        ``link_status`` (one of :data:`STATUSES`).
    """
    out = spellings.reset_index(drop=True).copy()
    for column in ["geocode_key", "geoid", "code_kind", "county_fips",
                   "county_match_method"]:
        out[column] = pd.Series(pd.NA, index=out.index, dtype="string")
    out["county_candidates"] = 0
    out["link_status"] = "unmatched"

    geocode_routes = {
        "datacommons_key": (
            geocodes["key"],
            out["city"].str.lower().str.strip() + " " + out["state_postal"].str.lower(),
        ),
        "datacommons_name": (
            geocodes["state_postal"] + "|" + geocodes["name"].map(city_key),
            out["state_postal"] + "|" + out["city"].map(city_key),
        ),
        "datacommons_base": (
            geocodes["state_postal"] + "|" + geocodes["name"].map(base_key),
            out["state_postal"] + "|" + out["city"].map(base_key),
        ),
    }
    places = place_counties(kaplan)
    for route, (geocode_keys, city_keys) in geocode_routes.items():
        # Only keys that pick one geocode: a base name shared by a town and
        # a township of the same state decides nothing.
        unique = ~geocode_keys.duplicated(keep=False)
        lookup = geocodes[unique].set_index(geocode_keys[unique])
        todo = out["link_status"].ne("matched") & city_keys.isin(lookup.index)
        hit = lookup.loc[city_keys[todo]].set_axis(out.index[todo])

        subdivision = hit["county_fips"].notna()
        in_places = hit["place_fips"].isin(places.index)
        place_row = places.reindex(hit["place_fips"]).set_axis(hit.index)
        decided = subdivision | (in_places & place_row["county_fips"].notna())
        tied = ~subdivision & in_places & place_row["county_fips"].isna()
        county = hit["county_fips"].fillna(place_row["county_fips"])
        method = pd.Series(f"{route}+kaplan_place", index=hit.index).mask(
            subdivision, f"{route}+subdivision"
        )
        candidates = place_row["county_candidates"].fillna(0).astype(int).mask(
            subdivision, 1
        )
        for rows, status in [(decided, "matched"), (tied, "ambiguous")]:
            index = rows[rows].index
            out.loc[index, "geocode_key"] = hit.loc[index, "key"]
            out.loc[index, "geoid"] = hit.loc[index, "geoid"]
            out.loc[index, "code_kind"] = hit.loc[index, "code_kind"]
            if status == "matched":
                out.loc[index, "county_fips"] = county[index]
            out.loc[index, "county_match_method"] = method[index]
            out.loc[index, "county_candidates"] = candidates[index]
            out.loc[index, "link_status"] = status

    for method, column in [("kaplan_agency_name", "crosswalk_agency_name"),
                           ("kaplan_census_name", "census_name")]:
        lookup = name_counties(kaplan, column)
        keys = out["state_fips"] + "|" + out["city"].map(base_key)
        todo = out["link_status"].eq("unmatched") & keys.isin(lookup.index)
        hit = lookup.loc[keys[todo]].set_axis(out.index[todo])
        found = hit["county_fips"].notna()
        out.loc[hit.index, "county_fips"] = hit["county_fips"]
        out.loc[hit.index, "county_candidates"] = hit["county_candidates"]
        out.loc[hit.index, "county_match_method"] = method
        out.loc[hit.index, "link_status"] = found.map(
            {True: "matched", False: "ambiguous"}
        )

    named = out["city"].str.extract(r",\s*(.+?)\s+county\s*$", flags=2)[0]
    county_keys = counties["state_fips"] + "|" + counties["county_name"].str.replace(
        r"\s+County$", "", regex=True).map(city_key)
    lookup = counties.drop_duplicates().set_index(county_keys)["county_fips"]
    lookup = lookup[~lookup.index.duplicated(keep=False)]
    keys = out["state_fips"] + "|" + named.fillna("").map(city_key)
    todo = out["link_status"].ne("matched") & named.notna() & keys.isin(lookup.index)
    out.loc[todo, "county_fips"] = keys[todo].map(lookup)
    out.loc[todo, "county_candidates"] = 1
    out.loc[todo, "county_match_method"] = "name_gives_county"
    out.loc[todo, "link_status"] = "matched"
    return out


def link_cities(rows: pd.DataFrame, geocodes, kaplan, counties) -> pd.DataFrame:
    """One link per city id from the links of its spellings.

    Parameters
    ----------
    rows
        City-year rows with ``city_id``, ``state_postal``, ``state_fips``,
        ``city`` and ``year``.

    Returns
    -------
    pandas.DataFrame
        One row per ``city_id``: the chosen spelling's link (best route,
        then most rows, then latest year), ``spellings`` (every spelling,
        ``" | "``-separated), ``county_conflict`` (spellings matched to
        different counties) and the years the city appears.
    """
    counts = rows.groupby(["city_id", "state_postal", "state_fips", "city"],
                          as_index=False).agg(rows=("year", "size"),
                                              last=("year", "max"))
    linked = link_spellings(counts, geocodes, kaplan, counties)
    rank = linked["county_match_method"].map({m: i for i, m in enumerate(METHODS)})
    linked["status_rank"] = linked["link_status"].map(
        {s: i for i, s in enumerate(STATUSES)}
    )
    linked["method_rank"] = rank.fillna(len(METHODS))
    linked = linked.sort_values(["city_id", "status_rank", "method_rank", "rows",
                                 "last"], ascending=[True, True, True, False, False])

    counties = linked.dropna(subset=["county_fips"]).groupby("city_id")[
        "county_fips"].nunique()
    spellings = linked.groupby("city_id")["city"].agg(
        lambda s: " | ".join(sorted(set(s)))
    )
    years = rows.groupby("city_id")["year"].agg(["min", "max", "nunique"])
    best = linked.drop_duplicates("city_id").set_index("city_id")
    link = pd.DataFrame(
        {
            "state_postal": best["state_postal"],
            "state_fips": best["state_fips"],
            "city_name": best["city"],
            "spellings": spellings,
            "county_fips": best["county_fips"],
            "county_match_method": best["county_match_method"],
            "link_status": best["link_status"],
            "county_candidates": best["county_candidates"].astype("int64"),
            "county_conflict": counties.reindex(best.index).fillna(0).gt(1),
            "geocode_key": best["geocode_key"],
            "geoid": best["geoid"],
            "code_kind": best["code_kind"],
            "first_year": years["min"],
            "last_year": years["max"],
            "n_years": years["nunique"],
        }
    ).rename_axis("city_id").reset_index()

    conflicts = link.loc[link["county_conflict"], "city_id"].tolist()
    if conflicts:
        warnings.warn(
            f"city_county_link: {len(conflicts)} cities have spellings linked to "
            f"different counties, e.g. {conflicts[:3]}; the best route's county "
            "is used (county_conflict is true).",
            CodingConflictWarning,
            stacklevel=2,
        )
    return link


def _modal_county(agencies: pd.DataFrame, by: str) -> pd.DataFrame:
    """Most frequent county per ``by`` value; missing on a tie."""
    counts = agencies.groupby([by, "county_fips"]).size().rename("n").reset_index()
    counts = counts.sort_values([by, "n"], ascending=[True, False])
    top = counts.groupby(by)["n"].transform("max")
    leaders = counts[counts["n"] == top].groupby(by)["county_fips"].agg(list)
    return pd.DataFrame(
        {
            "county_fips": leaders.map(lambda c: c[0] if len(c) == 1 else pd.NA),
            "county_candidates": counts.groupby(by)["county_fips"].nunique(),
        }
    )
