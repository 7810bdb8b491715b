"""Randomisation inference and placebo dates: hand-enumerated designs,
p-value conventions, strata, and placebo estimates on known processes."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from analysis.did import att_gt, twfe
from analysis.errors import DroppedRowsWarning
from analysis.robustness import (
    count_assignments,
    enumerate_assignments,
    fit_overall,
    p_values,
    placebo_data,
    placebo_tests,
    randomization_inference,
)

# Four units, two periods; units a and b adopt in period 2. The changes
# y2 - y1 are 3, 1, 0 and -2.
CHANGES = {"a": 3.0, "b": 1.0, "c": 0.0, "d": -2.0}


def _two_by_two():
    rows = []
    for unit, change in CHANGES.items():
        rows += [{"unit": unit, "t": 1, "y": 10.0, "g": 2 if unit in "ab" else 0},
                 {"unit": unit, "t": 2, "y": 10.0 + change,
                  "g": 2 if unit in "ab" else 0}]
    return pd.DataFrame(rows)


def _cs(frame, control_group="nevertreated"):
    result = att_gt(frame, yname="y", tname="t", idname="unit", gname="g",
                    control_group=control_group)
    return result.aggregate("simple").overall_att


def test_enumeration_matches_the_hand_computation():
    # The six ways to pick two adopters, and their difference in mean changes:
    # ab: 2 - (-1) = 3, ac: 1.5 - (-0.5) = 2, ad: 0.5 - 0.5 = 0,
    # bc: 0.5 - 0.5 = 0, bd: -0.5 - 1.5 = -2, cd: -1 - 2 = -3.
    # |T| >= 3 for ab (observed) and cd: p = 2/6.
    result = randomization_inference(_two_by_two(), _cs, idname="unit", gname="g",
                                     n_permutations=99, progress=False)

    assert result.method == "enumeration"
    assert result.n_assignments == 6
    assert result.observed.iloc[0] == pytest.approx(3.0, abs=1e-12)
    np.testing.assert_allclose(np.sort(result.draws["statistic"]),
                               [-3, -2, 0, 0, 2, 3], atol=1e-12)
    assert result.p_values.iloc[0] == pytest.approx(2 / 6, abs=1e-15)
    assert "observed one included" in result.convention

    one_sided = randomization_inference(_two_by_two(), _cs, idname="unit",
                                        gname="g", alternative="greater",
                                        progress=False)
    assert one_sided.p_values.iloc[0] == pytest.approx(1 / 6, abs=1e-15)


def test_counting_and_enumerating_assignments():
    cohorts = np.array([0, 0, 2, 2, 3])
    # 5! / (2! 2! 1!) = 30 ways.
    assert count_assignments(cohorts) == 30
    every = enumerate_assignments(cohorts)
    assert len(every) == 30
    assert len({tuple(a) for a in every}) == 30
    assert all(sorted(a) == sorted(cohorts) for a in every)

    # Within strata {0, 1, 2} and {3, 4}: 3!/(2!1!) * 2!/(1!1!) = 6.
    strata = np.array(["x", "x", "x", "y", "y"])
    assert count_assignments(cohorts, strata) == 6
    stratified = enumerate_assignments(cohorts, strata)
    assert len({tuple(a) for a in stratified}) == 6
    for assignment in stratified:
        assert sorted(assignment[:3]) == [0, 0, 2]
        assert sorted(assignment[3:]) == [2, 3]


def test_p_value_conventions_by_hand():
    draws = np.array([[1.0, -4.0], [-2.0, 1.0], [0.5, 2.0], [2.0, 0.0]])
    # Column 1: |draws| >= 2 twice; with the observed counted, (1 + 2) / 5.
    # Column 2: |draws| >= 3 once: (1 + 1) / 5.
    np.testing.assert_allclose(
        p_values([2.0, -3.0], draws, include_observed=True), [3 / 5, 2 / 5])
    # As a full enumeration: 2 / 4 and 1 / 4.
    np.testing.assert_allclose(
        p_values([2.0, -3.0], draws, include_observed=False), [2 / 4, 1 / 4])
    np.testing.assert_allclose(
        p_values([2.0, -3.0], draws, include_observed=True, alternative="less"),
        [5 / 5, 2 / 5])
    # A failed draw (NaN) leaves the count and the total.
    with_nan = np.array([[np.nan], [3.0], [1.0]])
    np.testing.assert_allclose(p_values([2.0], with_nan, include_observed=True),
                               [2 / 3])
    with pytest.raises(ValueError, match="alternative"):
        p_values([1.0], draws[:, :1], include_observed=True, alternative="both")


def _staggered(effect, seed=5, n_per_cohort=5, anticipation=0.0):
    rng = np.random.default_rng(seed)
    rows = []
    unit = 0
    for cohort in (0, 4, 5, 6):
        for _ in range(n_per_cohort):
            level, state = rng.normal(), f"s{unit % 3}"
            for year in range(1, 8):
                post = cohort > 0 and year >= cohort
                lead = cohort > 0 and year == cohort - 1
                rows.append({"unit": unit, "year": year, "g": cohort,
                             "state": state, "pop": 1000 + 10 * unit,
                             "y": level + 0.2 * year + effect * post
                             + anticipation * lead + rng.normal(0, 0.05)})
            unit += 1
    return pd.DataFrame(rows)


def _cs_staggered(frame):
    result = att_gt(frame, yname="y", tname="year", idname="unit", gname="g",
                    control_group="notyettreated")
    return result.aggregate("simple").overall_att


def test_sampled_permutations_reject_a_large_effect_and_are_reproducible():
    panel = _staggered(effect=1.0)
    result = randomization_inference(panel, _cs_staggered, idname="unit",
                                      gname="g", n_permutations=49, seed=3,
                                      n_jobs=1, progress=False)
    assert result.method == "permutation"
    assert result.n_assignments == math.factorial(20) // math.factorial(5) ** 4
    # Nothing permuted comes near a true effect of 1 with noise sd 0.05.
    assert result.p_values.iloc[0] == pytest.approx(1 / 50)
    again = randomization_inference(panel, _cs_staggered, idname="unit",
                                    gname="g", n_permutations=49, seed=3,
                                    n_jobs=1, progress=False)
    pd.testing.assert_frame_equal(result.draws, again.draws)

    null = randomization_inference(_staggered(effect=0.0), _cs_staggered,
                                   idname="unit", gname="g", n_permutations=49,
                                   seed=3, n_jobs=1, progress=False)
    assert null.p_values.iloc[0] > 0.05
    with pytest.raises(ValueError, match="seed"):
        randomization_inference(panel, _cs_staggered, idname="unit", gname="g",
                                n_permutations=49)


def test_strata_keep_each_stratum_cohorts():
    panel = _staggered(effect=0.0)

    def cohorts_by_unit(frame):
        return frame.groupby("unit")["g"].first()

    result = randomization_inference(panel, cohorts_by_unit, idname="unit",
                                     gname="g", strata="state", n_permutations=30,
                                     seed=8, n_jobs=1, progress=False)
    state = panel.groupby("unit")["state"].first()
    observed = panel.groupby("unit")["g"].first()
    for _, draw in result.draws.iterrows():
        draw.index = draw.index.astype(int)
        for value in state.unique():
            members = state.index[state == value]
            assert sorted(draw[members]) == sorted(observed[members])
    # Units do move between cohorts.
    assert (result.draws.to_numpy() != observed.to_numpy()).any()


def test_several_statistics_share_the_draws():
    panel = _staggered(effect=0.3)

    def two(frame):
        return pd.Series({"cs": _cs_staggered(frame),
                          "twfe": twfe(frame, "y", "year", "unit", "g")
                          .tidy()["att"].iloc[0]})

    result = randomization_inference(panel, two, idname="unit", gname="g",
                                     n_permutations=19, seed=4, n_jobs=1,
                                     progress=False)
    assert list(result.draws.columns) == ["cs", "twfe"]
    assert list(result.tidy()["statistic"]) == ["cs", "twfe"]
    # Both estimators see the same re-assignments, so their draws correlate.
    assert result.draws.corr().iloc[0, 1] > 0.5


def test_input_errors_name_the_problem():
    panel = _staggered(effect=0.0)
    panel.loc[3, "g"] = 5
    with pytest.raises(ValueError, match="varies within unit 0"):
        randomization_inference(panel, _cs_staggered, idname="unit", gname="g",
                                n_permutations=5, seed=1)
    with pytest.raises(ValueError, match="not in data"):
        randomization_inference(panel, _cs_staggered, idname="unit",
                                gname="cohort", seed=1)


def test_placebo_data_by_hand():
    panel = _staggered(effect=1.0)
    frame = placebo_data(panel, idname="unit", tname="year", gname="g", shift=2)

    # Real post-treatment rows are gone; cohorts 4, 5, 6 become 2, 3, 4.
    assert set(frame["g"]) == {0, 2, 3, 4}
    real = frame["unit"].map(panel.groupby("unit")["g"].first())
    assert ((real == 0) | (frame["year"] < real)).all()
    assert len(frame) == 5 * 7 + 5 * (3 + 4 + 5)

    # Shifting by 3 moves cohort 4 to the first period: those units go.
    with pytest.warns(DroppedRowsWarning, match="placebo: no fake pre-period"):
        shifted = placebo_data(panel, idname="unit", tname="year", gname="g",
                               shift=3)
    assert set(shifted["g"]) == {0, 2, 3}
    with pytest.raises(ValueError, match="shift"):
        placebo_data(panel, idname="unit", tname="year", gname="g", shift=0)


def test_placebo_estimates_zero_without_anticipation_and_detect_it():
    def estimator(frame):
        return fit_overall(frame, estimator="cs_dr", yname="y", tname="year",
                           idname="unit", gname="g", allow_unbalanced_panel=True)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        clean = placebo_tests(_staggered(effect=1.0), estimator, idname="unit",
                              tname="year", gname="g", shifts=[1, 2])
        leaking = placebo_tests(_staggered(effect=1.0, anticipation=0.5), estimator,
                                idname="unit", tname="year", gname="g", shifts=[1])

    # Parallel trends hold before adoption: placebo effects are noise (sd
    # 0.05 per row), far below the real effect of 1.
    assert list(clean["shift"]) == [1, 2]
    assert (clean["estimate"].abs() < 0.1).all()
    assert (clean["treated_units"] == 15).all()
    # A 0.5 jump one period before adoption shows up as a placebo effect.
    assert leaking["estimate"].iloc[0] == pytest.approx(0.5, abs=0.1)
    assert leaking["p_value"].iloc[0] < 0.01
