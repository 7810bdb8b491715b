"""Goodman-Bacon decomposition: exact reconstruction and hand-computed 2x2s."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from analysis.did.bacon import bacon
from analysis.did.twfe import twfe

ARGS = ("lemp", "year", "countyreal", "first.treat")


@pytest.fixture(scope="module")
def mpdta():
    return pd.read_csv("data/raw/mpdta/mpdta.csv")


def staggered_panel(seed=3, n_units=120, n_periods=10):
    # Cohort 1 is treated from the first period (always treated); cohort 12
    # starts after the last period and so is never treated in the sample.
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(n_units), n_periods)
    period = np.tile(np.arange(1, n_periods + 1), n_units)
    cohort = rng.choice([0, 1, 3, 5, 8, 12], n_units)[unit]
    effect = ((cohort > 0) & (period >= cohort)) * (period - cohort + 1) * 0.5
    outcome = rng.normal(size=len(unit)) + 0.2 * period + effect
    return pd.DataFrame({"id": unit, "t": period, "g": cohort, "y": outcome})


def twfe_coefficient(frame, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return twfe(frame, *args).tidy()["att"].iloc[0]


def test_mpdta_weights_sum_to_one_and_reconstruct_twfe(mpdta):
    result = bacon(mpdta, *ARGS)

    assert abs(result.comparisons["weight"].sum() - 1) < 1e-10
    assert abs(result.weighted_sum - twfe_coefficient(mpdta, *ARGS)) < 1e-10
    assert abs(result.twfe_estimate - twfe_coefficient(mpdta, *ARGS)) < 1e-10
    # 3 cohorts: 3 treated-vs-never plus 2 comparisons for each of 3 pairs.
    assert result.comparisons["type"].value_counts().to_dict() == {
        "treated vs never treated": 3,
        "earlier vs later treated": 3,
        "later vs earlier treated": 3,
    }


def test_synthetic_panel_with_always_and_late_cohorts():
    frame = staggered_panel()
    result = bacon(frame, "y", "t", "id", "g")

    assert abs(result.comparisons["weight"].sum() - 1) < 1e-10
    expected = twfe_coefficient(frame, "y", "t", "id", "g")
    assert abs(result.weighted_sum - expected) < 1e-10
    assert 12 not in set(result.comparisons["treated_cohort"])
    forbidden = result.comparisons["type"].isin(
        ["later vs earlier treated", "later vs always treated"]
    )
    assert result.forbidden_weight == pytest.approx(
        result.comparisons.loc[forbidden, "weight"].sum(), abs=1e-15
    )
    assert "later vs always treated" in set(result.comparisons["type"])


def test_two_by_two_estimates_by_hand(mpdta):
    comparisons = bacon(mpdta, *ARGS).comparisons.set_index(
        ["treated_cohort", "control_cohort"]
    )
    means = mpdta.pivot_table(index="first.treat", columns="year", values="lemp")

    # 2004 vs never treated: 2004-2007 against 2003.
    by_hand = (means.loc[2004, 2004:2007].mean() - means.loc[2004, 2003]) - (
        means.loc[0, 2004:2007].mean() - means.loc[0, 2003]
    )
    assert abs(comparisons.loc[(2004, 0), "estimate"] - by_hand) < 1e-12

    # 2004 (earlier) vs 2006 (later, not yet treated): 2004-2005 vs 2003.
    by_hand = (means.loc[2004, 2004:2005].mean() - means.loc[2004, 2003]) - (
        means.loc[2006, 2004:2005].mean() - means.loc[2006, 2003]
    )
    assert abs(comparisons.loc[(2004, 2006), "estimate"] - by_hand) < 1e-12

    # 2007 (later) vs 2006 (already treated): 2007 against 2006.
    by_hand = (means.loc[2007, 2007] - means.loc[2007, 2006]) - (
        means.loc[2006, 2007] - means.loc[2006, 2006]
    )
    assert abs(comparisons.loc[(2007, 2006), "estimate"] - by_hand) < 1e-12


def test_weight_of_one_pair_by_hand(mpdta):
    # s_kU for k = 2004 (20 counties, treated 4 of 5 years), U = 309 never
    # treated, over the variance of the two-way demeaned treatment dummy.
    comparisons = bacon(mpdta, *ARGS).comparisons
    n_k, n_u, d_k = 20 / 500, 309 / 500, 4 / 5
    share = n_k / (n_k + n_u)
    numerator = (n_k + n_u) ** 2 * share * (1 - share) * d_k * (1 - d_k)

    year, cohort = mpdta["year"], mpdta["first.treat"]
    treatment = ((cohort > 0) & (year >= cohort)).astype(float)
    demeaned = (
        treatment
        - treatment.groupby(mpdta["countyreal"]).transform("mean")
        - treatment.groupby(year).transform("mean")
        + treatment.mean()
    )
    expected = numerator / np.mean(demeaned**2)
    weight = comparisons.query("treated_cohort == 2004 and control_cohort == 0")
    assert abs(weight["weight"].iloc[0] - expected) < 1e-12


def test_unbalanced_panel_names_units(mpdta):
    gappy = mpdta.drop(index=[0, 7])
    with pytest.raises(ValueError, match=r"balanced panel; 2 unit\(s\).*8001"):
        bacon(gappy, *ARGS)


def test_no_comparison_raises(mpdta):
    never = mpdta.assign(**{"first.treat": 0})
    with pytest.raises(ValueError, match="no 2x2 comparison"):
        bacon(never, *ARGS)


def test_printing(mpdta):
    result = bacon(mpdta, *ARGS)
    text = repr(result)
    assert "Goodman-Bacon" in text and "already-treated" in text
    assert "<table" in result._repr_html_()
    assert result.by_type()["weight"].sum() == pytest.approx(1, abs=1e-12)
