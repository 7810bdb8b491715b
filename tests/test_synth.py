"""analysis.synth: simplex weights, synthetic control, synthetic DiD, placebo and
randomization inference, against known answers, published numbers and hand
computations (references in tests/reference/prop99_synthdid.json).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from analysis import paths
from analysis.did import att_gt, twfe
from analysis.robustness import SimpleATT
from analysis.synth._simplex import frank_wolfe, simplex_least_squares
from analysis.synth.placebo import placebo_in_space, rank_p_value
from analysis.synth.ri import (
    CSAdoptionStatistic,
    CSPretrendStatistic,
    pretrend_randomization,
    randomization_interval,
    staggered_randomization,
)
from analysis.synth.sc import synthetic_control
from analysis.synth.sdid import panel_matrix, synthdid_estimate
from analysis.synth.staggered import (
    balanced_matrix,
    cs_simple_att,
    treatment_matrix,
    twfe_static,
)

ROOT = paths.project_root()
REFERENCE = json.loads((ROOT / "tests/reference/prop99_synthdid.json").read_text())


@pytest.fixture(scope="module")
def prop99():
    df = pd.read_csv(ROOT / "data/raw/prop99/california_prop99.csv", sep=";")
    return panel_matrix(df, "State", "Year", "PacksPerCapita", "treated")


@pytest.fixture(scope="module")
def mpdta():
    return pd.read_csv(ROOT / "data/raw/mpdta/mpdta.csv")


# --- simplex least squares ---------------------------------------------------

def test_exact_convex_combination_is_recovered():
    rng = np.random.default_rng(7)
    donors = rng.normal(size=(20, 8))  # 20 periods x 8 donors
    truth = np.array([0.5, 0.3, 0.2, 0, 0, 0, 0, 0])
    weights = simplex_least_squares(donors, donors @ truth)
    np.testing.assert_allclose(weights, truth, atol=1e-10)


def test_kkt_conditions_and_better_than_slsqp():
    rng = np.random.default_rng(11)
    A, b = rng.normal(size=(15, 12)), rng.normal(size=15)
    w = simplex_least_squares(A, b, ridge=0.1)
    assert w.min() >= 0 and abs(w.sum() - 1) < 1e-12
    gradient = A.T @ (A @ w - b) + 0.1 * w
    support = w > 1e-12
    mu = gradient[support].mean()
    # Equal gradient on the support, no smaller off it (first-order optimality).
    np.testing.assert_allclose(gradient[support], mu, atol=1e-9)
    assert (gradient[~support] >= mu - 1e-9).all()

    def objective(v):
        return 0.5 * np.sum((A @ v - b) ** 2) + 0.05 * v @ v

    slsqp = optimize.minimize(
        objective, np.full(12, 1 / 12), method="SLSQP", bounds=[(0, 1)] * 12,
        constraints={"type": "eq", "fun": lambda v: v.sum() - 1},
        options={"ftol": 1e-14, "maxiter": 500},
    )
    assert objective(w) <= slsqp.fun + 1e-10
    np.testing.assert_allclose(w, slsqp.x, atol=1e-5)


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="m x n"):
        simplex_least_squares(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="ridge"):
        simplex_least_squares(np.ones((3, 2)), np.ones(3), ridge=-1)


# --- synthetic control ---------------------------------------------------------

def test_synthetic_control_known_answer():
    rng = np.random.default_rng(3)
    donors = rng.normal(size=(6, 25)).cumsum(axis=1)  # 6 donors x 25 periods
    truth = np.array([0.0, 0.6, 0.0, 0.25, 0.15, 0.0])
    treated = truth @ donors
    treated[18:] += 2.0  # a constant effect from period 18
    fit = synthetic_control(np.vstack([donors, treated]), 6, 18, ridge_scale=0.0)
    np.testing.assert_allclose(fit.weights_, truth, atol=1e-9)
    assert fit.pre_rmspe < 1e-9
    assert fit.estimate == pytest.approx(2.0, abs=1e-9)
    np.testing.assert_allclose(fit.gaps[18:], 2.0, atol=1e-9)


def test_synthetic_control_prop99_against_table1(prop99):
    Y, N0, T0, units, periods = prop99
    paper = REFERENCE["paper_table1"]
    exact = synthetic_control(Y, N0, T0, units=units, periods=periods)
    fw = synthdid_estimate(Y, N0, T0, method="sc", units=units)
    # The exact minimiser attains a lower objective than Frank-Wolfe's stopped
    # iterate, so the two estimates differ slightly (-19.51 vs -19.62); both
    # round to the published -19.6 within 0.15.
    A, b = Y[:N0, :T0].T, Y[N0:, :T0].mean(axis=0)

    def objective(w):
        return 0.5 * np.sum((A @ w - b) ** 2) + 0.5 * exact.ridge * w @ w

    assert objective(exact.weights_) <= objective(fw.omega) + 1e-9
    assert exact.estimate == pytest.approx(paper["sc"], abs=0.15)
    assert exact.weights()["unit"].iloc[0] == "Utah"


# --- synthetic DiD against the published Prop 99 numbers -----------------------

@pytest.mark.parametrize("method", ["sdid", "sc", "did"])
def test_prop99_estimates(prop99, method):
    Y, N0, T0, units, periods = prop99
    fit = synthdid_estimate(Y, N0, T0, method=method, units=units, periods=periods)
    r, paper = REFERENCE["r_synthdid"], REFERENCE["paper_table1"]
    assert fit.estimate == pytest.approx(r[method], abs=r["tolerance"])
    assert fit.estimate == pytest.approx(paper[method], abs=paper["tolerance"])


def test_prop99_sdid_weights(prop99):
    Y, N0, T0, units, periods = prop99
    fit = synthdid_estimate(Y, N0, T0, units=units, periods=periods)
    r = REFERENCE["r_synthdid"]
    omega = fit.weights().set_index("unit")["omega"]
    expected = r["sdid_unit_weights_3dp"].copy()
    expected.pop("source")
    for unit, weight in expected.items():
        assert omega[unit] == pytest.approx(weight, abs=r["weights_tolerance"]), unit
    lam = fit.time_weights().set_index("period")["lambda"]
    for year, weight in r["sdid_time_weights_3dp"].items():
        assert lam[int(year)] == pytest.approx(weight, abs=r["weights_tolerance"])
    assert abs(fit.omega.sum() - 1) < 1e-12 and abs(fit.lambda_.sum() - 1) < 1e-12
    assert fit.effect_path.mean() == pytest.approx(fit.estimate, abs=1e-10)


def test_sdid_recovers_a_simulated_effect():
    rng = np.random.default_rng(5)
    n0, t0, t1 = 40, 20, 6
    factors = rng.normal(size=(n0 + 1, 2)) @ rng.normal(size=(2, t0 + t1))
    Y = factors + rng.normal(size=(n0 + 1, 1)) + np.linspace(0, 3, t0 + t1)
    Y = Y + 0.05 * rng.normal(size=Y.shape)
    Y[n0, t0:] += 1.5
    fit = synthdid_estimate(Y, n0, t0)
    assert fit.estimate == pytest.approx(1.5, abs=0.25)


def test_frank_wolfe_objective_never_increases():
    rng = np.random.default_rng(2)
    Y = rng.normal(size=(12, 9))
    values = []
    for steps in [1, 5, 20, 100]:
        w = frank_wolfe(Y, 0.3, max_iter=steps, min_decrease=0)
        Yc = Y - Y.mean(axis=0)
        err = Yc[:, :8] @ w - Yc[:, 8]
        values.append(0.09 * w @ w + err @ err / 12)
    assert all(b <= a + 1e-12 for a, b in zip(values, values[1:]))


def test_panel_matrix_rejects_staggered_treatment():
    df = pd.DataFrame({"u": [1, 1, 2, 2, 3, 3], "t": [1, 2] * 3,
                       "y": [1.0, 2, 3, 4, 5, 6], "d": [0, 1, 1, 1, 0, 0]})
    with pytest.raises(ValueError, match="not a block"):
        panel_matrix(df, "u", "t", "y", "d")


# --- placebo-in-space ------------------------------------------------------------

def test_rank_p_value_by_hand():
    assert rank_p_value(3.0, np.array([1.0, 2.0, 3.0, 4.0])) == pytest.approx(3 / 5)
    assert rank_p_value(5.0, np.array([1.0, 2.0])) == pytest.approx(1 / 3)


def test_placebo_in_space_uses_every_donor_once(prop99):
    Y, N0, T0, units, _ = prop99
    Y = np.vstack([Y[:6], Y[N0:]])  # 6 donors + California: small and fast

    def estimator(M, n0, t0):
        return synthetic_control(M, n0, t0)

    result = placebo_in_space(Y, 6, T0, estimator, units=units[:6] + ["California"])
    assert result.placebos["unit"].tolist() == units[:6]
    # Donor j's placebo equals a direct fit with j moved last.
    direct = synthetic_control(np.vstack([Y[1:6], Y[0]]), 5, T0).estimate
    assert result.placebos["estimate"].iloc[0] == pytest.approx(direct, abs=1e-12)
    by_hand = (1 + (result.placebos["estimate"].abs()
                    >= abs(result.estimate)).sum()) / 7
    assert result.p_value == pytest.approx(by_hand)
    deviations = result.placebos["estimate"] - result.placebos["estimate"].mean()
    assert result.se == pytest.approx(np.sqrt(np.mean(deviations ** 2)))


# --- closed-form staggered statistics ---------------------------------------------

def test_cs_simple_att_equals_att_gt(mpdta):
    Y, g, periods, _ = balanced_matrix(mpdta, "countyreal", "year", "lemp",
                                       "first.treat")
    reference = att_gt(mpdta, yname="lemp", tname="year", idname="countyreal",
                       gname="first.treat", control_group="nevertreated",
                       est_method="reg").aggregate("simple").overall_att
    assert cs_simple_att(Y, g, periods) == pytest.approx(reference, abs=1e-12)
    static = twfe(mpdta, "lemp", "year", "countyreal", "first.treat").tidy()
    assert twfe_static(Y, g, periods) == pytest.approx(static["att"].iloc[0],
                                                       abs=1e-12)


def test_adoption_statistic_matches_closed_form_and_simple_att(mpdta):
    df = mpdta.rename(columns={"countyreal": "unit", "first.treat": "gname"})
    statistic = CSAdoptionStatistic(df, "lemp")
    Y, g, periods, units = balanced_matrix(df, "unit", "year", "lemp", "gname")
    # The shared module's fast ATT on the outcome and the treatment column.
    df["d_obs"] = treatment_matrix(g, periods)[
        pd.Index(units).get_indexer(df["unit"]), np.searchsorted(periods, df["year"])]
    shared = SimpleATT(df, ["lemp", "d_obs"], tname="year", idname="unit",
                       control_group="nevertreated")
    rng = np.random.default_rng(0)
    for _ in range(5):
        cohorts = pd.Series(rng.permutation(g), index=units)
        att, slope = statistic(cohorts)
        assert att == pytest.approx(cs_simple_att(Y, cohorts.to_numpy(), periods),
                                    abs=1e-13)
        assert slope == pytest.approx(cs_simple_att(treatment_matrix(g, periods),
                                                    cohorts.to_numpy(), periods),
                                      abs=1e-13)
        np.testing.assert_allclose([att, slope], shared(cohorts).to_numpy(),
                                   atol=1e-12)


# --- randomization inference on designs enumerable by hand --------------------------

def _two_period_panel(changes, gnames):
    rows = []
    for unit, (change, g) in enumerate(zip(changes, gnames)):
        rows += [{"unit": unit, "year": 1, "y": 0.0, "gname": g},
                 {"unit": unit, "year": 2, "y": change, "gname": g}]
    return pd.DataFrame(rows)


def test_ri_one_treated_of_four_by_hand():
    # Unit 0 treated in period 2. Changes 5, 1, 2, 3. Placing the treatment on
    # unit i gives change_i minus the mean change of the other three:
    # 3, -7/3, -1, 1/3. Only the observed |3| is at least 3: p = 1/4.
    sample = _two_period_panel([5, 1, 2, 3], [2, 0, 0, 0])
    result, intervals = staggered_randomization(sample, "y", n_permutations=999,
                                                seed=None, levels=(0.5,))
    assert result.method == "enumeration" and result.n_draws == 4
    assert result.statistic == pytest.approx(3.0)
    assert result.p_value == pytest.approx(0.25)
    # With 4 assignments no p-value falls below 1/4: a 95% interval is the
    # whole line, while at alpha = 0.5 it is bounded.
    assert result.ci_lower == -np.inf and result.ci_upper == np.inf
    lower, upper = intervals[0.5]
    assert np.isfinite(lower) and np.isfinite(upper) and lower < 3 < upper


def test_ri_two_treated_of_five_by_hand():
    # Units 0 and 1 treated. Changes 4, 2, 0, 1, -1 (total 6). Treating the
    # pair S gives mean change over S minus mean over the other three:
    # T(S) = sum_S / 2 - (6 - sum_S) / 3. Only S = {0, 1} reaches |T| >= 3.
    changes = [4, 2, 0, 1, -1]
    sample = _two_period_panel(changes, [2, 2, 0, 0, 0])
    result, _ = staggered_randomization(sample, "y", n_permutations=999, seed=None)
    pairs = [(i, j) for i in range(5) for j in range(i + 1, 5)]
    stats = [(changes[i] + changes[j]) / 2 - (6 - changes[i] - changes[j]) / 3
             for i, j in pairs]
    observed = stats[0]  # pair (0, 1): 3 - 0 = 3
    assert result.statistic == pytest.approx(observed) and observed == 3
    expected = np.mean(np.abs(stats) >= abs(observed) - 1e-12)
    assert result.n_draws == 10 and result.p_value == pytest.approx(expected)
    assert expected == pytest.approx(0.1)


def test_randomization_interval_inverts_the_test():
    # Linear statistic: a_b = b, c_b = 0 for draws, observed a0 = 0.5, c0 = 1.
    a = np.linspace(-1, 1, 21)
    c = np.zeros(21)
    lower, upper = randomization_interval(0.5, 1.0, a, c, include_observed=False,
                                          alpha=0.1)
    # p(tau) = share of the 21 draws with |a_b| >= |0.5 - tau|. It exceeds 0.1
    # (at least 3 draws) while |0.5 - tau| <= 0.9 (4 draws: +-0.9, +-1) and
    # falls to 2/21 beyond: tau in [-0.4, 1.4].
    assert lower == pytest.approx(-0.4, abs=1e-6)
    assert upper == pytest.approx(1.4, abs=1e-6)


def test_placebo_in_space_same_on_two_processes(prop99):
    Y, N0, T0, units, _ = prop99
    Y = np.vstack([Y[:5], Y[N0:]])

    def estimator(M, n0, t0):
        return synthetic_control(M, n0, t0)

    serial = placebo_in_space(Y, 5, T0, estimator)
    parallel = placebo_in_space(Y, 5, T0, estimator, n_jobs=2)
    pd.testing.assert_frame_equal(serial.placebos, parallel.placebos)


def test_pretrend_statistic_matches_att_gt_and_hand_design(mpdta):
    df = mpdta.rename(columns={"countyreal": "unit", "first.treat": "gname"})
    statistic = CSPretrendStatistic(df, "lemp", 3)
    cohorts = df.groupby("unit")["gname"].first()
    estimates = statistic.event_estimates(cohorts.reindex(statistic.units).to_numpy())
    dynamic = att_gt(df, yname="lemp", tname="year", idname="unit", gname="gname",
                     control_group="nevertreated", est_method="reg").aggregate(
        "dynamic").tidy().set_index("event_time")["att"]
    np.testing.assert_allclose(estimates, dynamic.loc[-3:-1].to_numpy(), atol=1e-12)

    # Unit 0 adopts in period 3; changes from period 1 to 2 are 4, 0, 1, 2.
    # Placing the cohort on unit i gives (change_i - mean of the others)^2:
    # 9, 49/9, 1, 1/9. Only the observed 9 is at least 9: p = 1/4.
    rows = []
    for unit, change in enumerate([4.0, 0.0, 1.0, 2.0]):
        g = 3 if unit == 0 else 0
        rows += [{"unit": unit, "year": 1, "y": 0.0, "gname": g},
                 {"unit": unit, "year": 2, "y": change, "gname": g},
                 {"unit": unit, "year": 3, "y": change, "gname": g}]
    result = pretrend_randomization(pd.DataFrame(rows), "y", window=1,
                                    n_permutations=999, seed=None)
    assert result.method == "enumeration"
    assert result.observed.iloc[0] == pytest.approx(9.0)
    assert result.p_values.iloc[0] == pytest.approx(0.25)
