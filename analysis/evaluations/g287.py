"""287(g) agreements and reported crime: how many treated units, and the sample.

The shipped 287(g) regime (``regime_287g_county``) gives the first local
agreement per county (77 counties, signings 2005-2017). Whether an
evaluation is possible depends on how many treated units of each crime panel
have outcome data both before and after their county's signing:
:func:`treated_unit_counts` counts them for every candidate panel, and the
plan's ``min_treated_units`` decides, before any estimate, where estimation
is allowed. Counties absent from the regime file are never treated (the
regime's own rule); agreements signed after the window are untreated within
it.

``state_year`` has no treated units by construction: the regime is defined
for counties (local agreements), and a state with one 287(g) county is not a
treated state.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.evaluations.secure_communities import SCDesign
from analysis.io import Panel
from analysis.ledger import Ledger
from analysis.regimes import assign_cohorts

# Outcome columns used to decide whether a unit-year is observed.
PANEL_OUTCOMES = {
    "large_agency_year": ("ori", "violent_crime_ex_rape_per_100k", "full_year"),
    "ny_county_year": ("county_fips", "index_total_per_100k", None),
    "state_year": ("state_fips", "violent_crime_ex_rape_per_100k", None),
}


def _observed(frame: pd.DataFrame, outcome: str, full_year: str | None) -> pd.Series:
    usable = frame[outcome].notna() & (frame[outcome] > 0)
    if full_year is not None:
        usable &= frame[full_year].eq(True).fillna(False).astype(bool)
    return usable


def treated_unit_counts(
    panels: dict[str, Panel], regime: Panel, first_year: int, last_year: int
) -> pd.DataFrame:
    """Treated units with outcome data before and after signing, per panel.

    Parameters
    ----------
    panels
        Candidate panels by name (keys of :data:`PANEL_OUTCOMES`).
    regime
        The ``regime_287g_county`` panel.
    first_year, last_year
        The plan's window; only years inside it count.

    Returns
    -------
    pandas.DataFrame
        One row per panel: ``units`` (with any observed year in the window),
        ``units_in_287g_counties``, ``treated_with_pre_and_post`` and the
        ``treated_units`` listed, plus a ``note``.
    """
    signings = regime.frame[["county_fips", "first_treated_year"]]
    rows = []
    for name, panel in panels.items():
        unit, outcome, full_year = PANEL_OUTCOMES[name]
        frame = panel.frame
        frame = frame[(frame["year"] >= first_year) & (frame["year"] <= last_year)]
        frame = frame[_observed(frame, outcome, full_year)]
        if "county_fips" not in frame.columns:
            states = signings["county_fips"].str[:2].nunique()
            rows.append({
                "panel": name, "units": frame[unit].nunique(),
                "units_in_287g_counties": 0, "treated_with_pre_and_post": 0,
                "treated_units": "",
                "note": f"units are states; 287(g) agreements here are local "
                        f"(county) agreements, in {states} states; no state is "
                        "treated as a whole",
            })
            continue
        merged = frame.merge(signings, on="county_fips", how="inner")
        spans = merged.groupby(unit).agg(
            first=("first_treated_year", "first"),
            pre=("year", lambda y: (y < merged.loc[y.index, "first_treated_year"])
                 .sum()),
            post=("year", lambda y: (y >= merged.loc[y.index, "first_treated_year"])
                  .sum()),
        )
        both = spans[(spans["pre"] > 0) & (spans["post"] > 0)]
        label = "department_name" if "department_name" in frame else "county_name"
        names = frame.drop_duplicates(unit).set_index(unit)[label]
        rows.append({
            "panel": name, "units": frame[unit].nunique(),
            "units_in_287g_counties": len(spans),
            "treated_with_pre_and_post": len(both),
            "treated_units": "; ".join(f"{names[u]} ({int(g)})"
                                       for u, g in both["first"].items()),
            "note": "" if len(spans) else "no unit lies in a county with a "
                    "local 287(g) agreement in the shipped roster",
        })
    return pd.DataFrame(rows)


def prepare_sample(
    panel: Panel, regime: Panel, design: SCDesign, outcome: str
) -> tuple[pd.DataFrame, Ledger]:
    """Balanced agency-year sample with 287(g) cohorts (0 = never in window).

    Same outcome and balance rules as the Secure Communities sample
    (:func:`analysis.evaluations.secure_communities.prepare_sample`), but
    units outside 287(g) counties are kept as never treated and signings
    after the window are untreated within it.
    """
    ledger = Ledger(f"{design.name}:{outcome}")
    frame = panel.frame.copy()
    outside = (frame["year"] < design.first_year) | (frame["year"] > design.last_year)
    frame = ledger.drop(
        frame, outside, "window", f"outside {design.first_year}-{design.last_year}",
        id_columns=[design.unit_col, "year"], warn=False)
    frame = assign_cohorts(frame, regime.frame, unit_col="county_fips",
                           period_col="year", unmatched="never", ledger=ledger)
    late = frame["gname"] > design.last_year
    ledger.recode("cohort after window", f"signed after {design.last_year}: "
                  "untreated in window, gname 0", int(late.sum()), len(frame),
                  examples=sorted(frame.loc[late, design.unit_col].unique()),
                  warn=False)
    frame.loc[late, "gname"] = 0
    frame["cohort"] = frame["gname"]

    rate = frame[outcome].astype("float64")
    unusable = ~_observed(frame, outcome, design.full_year_column)
    ledger.recode("outcome", "partial year, zero or missing rate set to missing",
                  int(unusable.sum()), len(frame), warn=False)
    frame[f"log_{outcome}"] = np.log(rate.where(~unusable))

    incomplete = frame.groupby(design.unit_col)[f"log_{outcome}"].transform(
        lambda s: s.isna().any())
    frame = ledger.drop(frame, incomplete, "balance: outcome",
                        "unit with a missing outcome year",
                        id_columns=[design.unit_col])
    frame["unit"] = frame[design.unit_col]
    return frame.reset_index(drop=True), ledger
