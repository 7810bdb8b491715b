"""MDE and equivalence bounds against hand-computed values."""

from __future__ import annotations

import math

import pytest

from analysis.robustness.power import (
    equivalence_bound,
    log_to_percent,
    minimum_detectable_effect,
    power_summary,
    tost_pvalue,
)

# Normal quantiles from printed tables (Abramowitz and Stegun 26.2):
# z_0.975 = 1.959964, z_0.80 = 0.841621, z_0.95 = 1.644854.
Z975, Z80, Z95 = 1.959964, 0.841621, 1.644854


def test_mde_is_2_80_standard_errors_at_80_power_and_5_percent():
    # (1.959964 + 0.841621) * 0.1 = 0.2801585
    assert minimum_detectable_effect(0.1) == pytest.approx(0.2801585, abs=1e-6)
    assert minimum_detectable_effect(0.023) == pytest.approx((Z975 + Z80) * 0.023,
                                                             abs=1e-6)
    # 90% power, 1% size: (2.575829 + 1.281552) * 0.05 = 0.1928691
    assert minimum_detectable_effect(0.05, alpha=0.01, power=0.9) == pytest.approx(
        0.1928691, abs=1e-6)


def test_equivalence_bound_is_largest_limit_of_the_90_percent_interval():
    # Alsan and Yang's 0.017 (se 0.023): 0.017 + 1.644854 * 0.023 = 0.0548316
    assert equivalence_bound(0.017, 0.023) == pytest.approx(0.0548316, abs=1e-6)
    # A negative estimate: the lower limit is the larger in absolute value.
    assert equivalence_bound(-0.04, 0.01) == pytest.approx(0.04 + Z95 * 0.01, abs=1e-6)


def test_tost_rejects_just_beyond_the_bound_and_not_inside_it():
    bound = equivalence_bound(0.017, 0.023)
    assert tost_pvalue(0.017, 0.023, bound) == pytest.approx(0.05, abs=1e-12)
    assert tost_pvalue(0.017, 0.023, bound * 1.01) < 0.05
    assert tost_pvalue(0.017, 0.023, bound * 0.99) > 0.05


def test_summary_and_percent_scale():
    summary = power_summary(0.017, 0.023)
    assert summary.ci90_upper == pytest.approx(0.0548316, abs=1e-6)
    assert summary.ci90_lower == pytest.approx(0.017 - Z95 * 0.023, abs=1e-6)
    assert summary.equivalence_bound == pytest.approx(summary.ci90_upper)
    assert log_to_percent(math.log(1.1)) == pytest.approx(10.0)


@pytest.mark.parametrize("se", [0.0, -1.0, float("nan")])
def test_bad_standard_error_raises(se):
    with pytest.raises(ValueError, match="standard error"):
        minimum_detectable_effect(se)
