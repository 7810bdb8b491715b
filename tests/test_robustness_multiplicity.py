"""Holm against statsmodels; Romano-Wolf on hand-computed and known cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from analysis.robustness.multiplicity import holm, multiplicity_table, romano_wolf
from analysis.robustness.randomization import RandomizationResult, p_values


@pytest.mark.parametrize("p", [
    [0.01, 0.04, 0.03, 0.20],
    [0.001, 0.5, 0.02, 0.02, 0.049, 0.9],
    [0.3],
    np.random.default_rng(1).uniform(0, 0.2, size=25),
])
def test_holm_matches_statsmodels(p):
    expected = multipletests(p, method="holm")[1]
    np.testing.assert_allclose(holm(p), expected, rtol=0, atol=1e-15)


def test_holm_by_hand_and_bad_input():
    # Sorted 0.01, 0.03, 0.04, 0.20 times 4, 3, 2, 1: 0.04, 0.09, 0.08 -> 0.09
    # (monotone), 0.20.
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.20]),
                               [0.04, 0.09, 0.09, 0.20], atol=1e-15)
    with pytest.raises(ValueError, match="p-values"):
        holm([0.1, np.nan])


def test_romano_wolf_by_hand():
    # Two hypotheses, four draws under the null, no studentization.
    observed = np.array([3.0, 1.5])
    draws = np.array([[1.0, 2.0], [-3.5, 0.5], [0.5, -1.0], [2.0, 1.6]])
    # Step 1 (hypothesis 0, t = 3): row maxima of |draws| over both columns
    # are 2, 3.5, 1, 2; one is >= 3: p = (1 + 1) / 5 = 0.4.
    # Step 2 (hypothesis 1, t = 1.5): |column 1| = 2, .5, 1, 1.6; two are
    # >= 1.5: p = (1 + 2) / 5 = 0.6; already >= 0.4.
    adjusted = romano_wolf(observed, draws, studentize=False)
    np.testing.assert_allclose(adjusted, [0.4, 0.6], atol=1e-15)
    # As an enumeration (observed among the draws): 1/4 and 2/4.
    np.testing.assert_allclose(
        romano_wolf(observed, draws, studentize=False, include_observed=False),
        [0.25, 0.5], atol=1e-15)


def test_romano_wolf_special_cases():
    rng = np.random.default_rng(42)
    draws = rng.normal(size=(4000, 1))
    single = romano_wolf([1.7], draws)
    np.testing.assert_allclose(single, p_values([1.7], draws, include_observed=True))

    # Identical outcomes: the maximum adds nothing, no adjustment.
    twins = np.hstack([draws, draws])
    np.testing.assert_allclose(romano_wolf([1.7, 1.7], twins), [single[0]] * 2)

    # Independent outcomes: the first step is Sidak's 1 - (1 - p)^k.
    independent = rng.normal(size=(40_000, 3))
    observed = np.array([2.4, 0.3, -0.2])
    raw = p_values(observed, independent, include_observed=True)
    adjusted = romano_wolf(observed, independent, studentize=False)
    assert adjusted[0] == pytest.approx(1 - (1 - raw[0]) ** 3, abs=0.004)
    # Adjusted p-values never fall below the unadjusted ones.
    assert (adjusted >= raw - 1e-12).all()

    with pytest.raises(ValueError, match="one column per"):
        romano_wolf([1.0, 2.0], draws)


def test_multiplicity_table_from_a_randomization_result():
    rng = np.random.default_rng(0)
    common = rng.normal(size=(199, 1))
    draws = pd.DataFrame(common + 0.3 * rng.normal(size=(199, 3)),
                         columns=["a", "b", "c"])
    result = RandomizationResult(
        observed=pd.Series({"a": 2.5, "b": 0.4, "c": -1.9}), draws=draws,
        method="permutation", n_assignments=10**9, seed=0, n_units=40)
    table = multiplicity_table(result, analytic_p={"a": 0.01, "b": 0.6, "c": 0.04})

    assert list(table["outcome"]) == ["a", "b", "c"]
    np.testing.assert_allclose(table["p_randomization"], result.p_values)
    np.testing.assert_allclose(table["p_analytic_holm"], [0.03, 0.6, 0.08])
    # Correlated outcomes: Romano-Wolf is between the raw and Holm p-values.
    assert (table["p_romano_wolf"] >= table["p_randomization"] - 1e-12).all()
    assert (table["p_romano_wolf"] <= table["p_randomization_holm"] + 1e-12).all()
