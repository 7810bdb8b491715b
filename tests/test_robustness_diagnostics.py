"""Pre-trend power by hand, Bacon shares, and the generic specification grid."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.did import bacon, twfe
from analysis.robustness.diagnostics import (
    bacon_shares,
    pretrend_power,
    slope_for_power,
)
from analysis.robustness.spec_curve import (
    specification_curve,
    specification_grid,
    summarise_curve,
)


class OnePreResult:
    """An event study with one free pre-period (-2) and reference -1."""

    reference_period = -1

    def __init__(self, variance):
        self.vcov = pd.DataFrame([[variance]], index=[-2], columns=[-2])

    def tidy(self):
        return pd.DataFrame({"event_time": [-2, -1, 0], "att": [0.0, 0.0, 0.1]})


def test_pretrend_power_with_one_pre_period_is_the_normal_power():
    # One coefficient: the Wald test is a two-sided z test. A slope s gives
    # delta = s * (-2 - (-1)) = -s, so power = Phi(-z + s/sd) + Phi(-z - s/sd).
    result = OnePreResult(variance=0.04)
    z = stats.norm.ppf(0.975)
    for slope in (0.0, 0.1, 0.3):
        expected = stats.norm.cdf(-z + slope / 0.2) + stats.norm.cdf(-z - slope / 0.2)
        assert pretrend_power(result, slope) == pytest.approx(expected, abs=1e-10)
    # The inverse: the slope detected with 80% power is about 2.80 sd.
    slope = slope_for_power(result, 0.8)
    assert pretrend_power(result, slope) == pytest.approx(0.8, abs=1e-8)
    assert slope == pytest.approx(0.2 * (z + stats.norm.ppf(0.8)), abs=1e-3)


def test_pretrend_power_on_a_twfe_event_study():
    rng = np.random.default_rng(2)
    rows = []
    for unit in range(60):
        cohort = [0, 5, 6][unit % 3]
        level = rng.normal()
        for year in range(1, 9):
            rows.append({"unit": unit, "year": year, "g": cohort,
                         "y": level + 0.1 * year + rng.normal(0, 0.1)})
    result = twfe(pd.DataFrame(rows), "y", "year", "unit", "g", event_study=True)
    # Power rises with the slope, starting at the test's size.
    powers = [pretrend_power(result, s) for s in (0.0, 0.02, 0.05, 0.2)]
    assert powers[0] == pytest.approx(0.05, abs=1e-12)
    assert np.all(np.diff(powers) > 0) and powers[-1] > 0.99
    with pytest.raises(ValueError, match="power"):
        slope_for_power(result, 0.01)


def test_bacon_shares_flag_forbidden_comparisons():
    rng = np.random.default_rng(3)
    rows = []
    for unit in range(30):
        cohort = [0, 4, 6][unit % 3]
        for year in range(1, 9):
            rows.append({"unit": unit, "year": year, "g": cohort,
                         "y": unit + year + (year >= cohort > 0) * (year - cohort + 1)
                         + rng.normal(0, 0.1)})
    result = bacon(pd.DataFrame(rows), "y", "year", "unit", "g")
    shares = bacon_shares(result)
    assert shares["weight"].sum() == pytest.approx(1, abs=1e-12)
    assert set(shares.loc[shares["forbidden"], "type"]) == {"later vs earlier treated"}
    assert shares.loc[shares["forbidden"], "weight"].sum() == pytest.approx(
        result.forbidden_weight, abs=1e-15)


def test_specification_grid_and_curve():
    grid = specification_grid({"a": [1, 2], "b": ["x", "y", "z"]},
                              valid=lambda spec: not (spec["a"] == 2
                                                      and spec["b"] == "z"))
    assert grid[["a", "b"]].values.tolist() == [[1, "x"], [1, "y"], [1, "z"],
                                                [2, "x"], [2, "y"]]
    assert list(grid["spec_id"]) == [0, 1, 2, 3, 4]

    def run(spec):
        if spec["b"] == "y" and spec["a"] == 2:
            raise ValueError("cannot estimate")
        return {"estimate": spec["a"] * 10 + len(spec["b"]), "p_value": 0.01}

    curve = specification_curve(grid, run, n_jobs=1, progress=False)
    assert list(curve["estimate"].iloc[:4]) == [11, 11, 11, 21]
    assert np.isnan(curve["estimate"].iloc[4])
    assert curve["error"].iloc[4] == "ValueError: cannot estimate"
    summary = summarise_curve(curve)
    assert summary["n_failed"] == 1 and summary["n_estimated"] == 4
    assert summary["max"] == 21 and summary["share_significant_positive"] == 1.0

    with pytest.raises(ValueError, match="axes"):
        specification_curve(grid, lambda spec: {"estimate": 1.0, "a": 3}, n_jobs=1)
    with pytest.raises(ValueError, match="at least one value"):
        specification_grid({"a": []})
