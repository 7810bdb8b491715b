"""Rates per 100,000 residents, shared by the crime panels."""

from __future__ import annotations

import pandas as pd

PER = 100_000


def add_rates(frame: pd.DataFrame, counts: list[str], population: str) -> pd.DataFrame:
    """Return ``frame`` with ``<count>_per_100k`` for each column of ``counts``.

    A rate is missing where the count or the population is missing or the
    population is not positive; it is never computed from a blank as zero.
    """
    denominator = frame[population].astype("Float64")
    denominator = denominator.where(denominator > 0)
    rates = {
        f"{column}_per_100k": frame[column].astype("Float64") / denominator * PER
        for column in counts
    }
    return frame.assign(**rates)


def flag_outliers(
    frame: pd.DataFrame, unit: list[str], column: str, factor: float = 3.0
) -> pd.Series:
    """Flag values more than ``factor`` times above or below their neighbours.

    The reference is the median of the same unit's values in the three rows
    before and the three after (at least three of them present, so one odd
    neighbour cannot move it); rows must be one per unit and year. Flags are
    for review: nothing is dropped or changed. Returns a boolean Series
    aligned with ``frame``.
    """
    ordered = frame.sort_values([*unit, "year"])
    values = ordered[column].astype("Float64")
    groups = values.groupby([ordered[c] for c in unit], sort=False)
    neighbours = pd.concat([groups.shift(k) for k in (-3, -2, -1, 1, 2, 3)], axis=1)
    reference = neighbours.median(axis=1, skipna=True).where(
        neighbours.notna().sum(axis=1) >= 3
    )
    ratio = values / reference.where(reference > 0)
    flagged = ((ratio > factor) | (ratio < 1 / factor)).fillna(False).astype(bool)
    return flagged.reindex(frame.index)
