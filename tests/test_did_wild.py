"""Wild cluster restricted bootstrap against wildboottest, and its size.

Reference: wildboottest 0.3.2 ``WildboottestCL`` (WCR, "11") on the static
TWFE regression with explicit unit and year dummies, cached in
tests/reference/wild_bootstrap.json by tests/reference/make_wild_reference.py.
With 10 state clusters all 1,024 Rademacher sign vectors are enumerated, so
p-values must agree exactly; the 95% interval (bisection on wildboottest's
p-value) to 1e-6.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.did.attgt import att_gt
from analysis.did.bootstrap import draw_weights
from analysis.did.wild import wild_bootstrap_twfe, wild_cluster_bootstrap
from analysis.errors import FewClustersWarning

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "reference"
ARGS = ("y", "year", "unit", "first_treat")


@pytest.fixture(scope="module")
def states():
    return pd.read_csv(REFERENCE / "wild_bootstrap.csv")


@pytest.fixture(scope="module")
def reference():
    return json.loads((REFERENCE / "wild_bootstrap.json").read_text())


def bootstrap_quietly(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewClustersWarning)
        return wild_bootstrap_twfe(*args, **kwargs)


def test_p_values_and_interval_match_wildboottest(states, reference):
    for null, expected in zip(reference["nulls"], reference["p_value"]):
        result = bootstrap_quietly(states, *ARGS, clustervars="state", seed=0,
                                   null=null)
        assert result.enumerated and result.n_boot == reference["draws"]
        assert result.p_value == expected
    assert result.estimate == pytest.approx(reference["estimate"], abs=1e-12)
    np.testing.assert_allclose([result.ci_lower, result.ci_upper],
                               reference["ci_95"], rtol=0, atol=1e-6)


def test_interval_is_where_the_p_value_crosses_alpha(states):
    result = bootstrap_quietly(states, *ARGS, clustervars="state", seed=0)
    gap = 1e-6
    for bound, outward in ((result.ci_lower, -1), (result.ci_upper, 1)):
        inside = bootstrap_quietly(states, *ARGS, clustervars="state", seed=0,
                                   null=bound - outward * gap)
        outside = bootstrap_quietly(states, *ARGS, clustervars="state", seed=0,
                                    null=bound + outward * gap)
        assert inside.p_value > 0.05 >= outside.p_value
    at_estimate = bootstrap_quietly(states, *ARGS, clustervars="state", seed=0,
                                    null=result.estimate)
    assert at_estimate.p_value == 1.0


def test_enumeration_ignores_the_seed_and_webb_follows_it(states):
    first = bootstrap_quietly(states, *ARGS, clustervars="state", seed=1)
    second = bootstrap_quietly(states, *ARGS, clustervars="state", seed=2)
    assert first.tidy().equals(second.tidy())

    webb = [bootstrap_quietly(states, *ARGS, clustervars="state", weights="webb",
                              n_boot=999, seed=seed) for seed in (5, 5, 6)]
    assert not webb[0].enumerated and webb[0].n_boot == 999
    assert webb[0].tidy().equals(webb[1].tidy())
    assert webb[0].p_value != webb[2].p_value
    # Six-point weights give more distinct draws than 2**10 signs, but the
    # same test: p-values within Monte Carlo error of the enumeration.
    assert abs(webb[0].p_value - first.p_value) < 0.05


def test_few_clusters_warn_in_the_analytic_path_and_inputs_are_checked(states):
    with pytest.warns(FewClustersWarning, match="clusters"):
        wild_bootstrap_twfe(states, *ARGS, clustervars="state", seed=0)
    with pytest.raises(ValueError, match="weights"):
        bootstrap_quietly(states, *ARGS, clustervars="state", seed=0,
                          weights="mammen")
    with pytest.raises(ValueError, match="weightsname"):
        bootstrap_quietly(states, *ARGS, clustervars="state", seed=0,
                          weightsname="y")
    assert "test inversion" in repr(
        bootstrap_quietly(states, *ARGS, clustervars="state", seed=0))


def test_rejects_about_five_percent_with_eight_clusters_under_the_null():
    # 8 states x 4 counties x 8 years, no effect, state-year shocks; 500
    # replications put the binomial standard error of a 5% rate near 1%.
    rng = np.random.default_rng(2026)
    n_states, per_state, n_periods, n_replications = 8, 4, 8, 500
    unit = np.repeat(np.arange(n_states * per_state), n_periods)
    period = np.tile(np.arange(n_periods), n_states * per_state)
    state = unit // per_state
    cohort = np.array([0, 0, 0, 3, 3, 4, 5, 6])[state]
    treated = ((cohort > 0) & (period >= cohort)).astype(float)
    rejections = []
    for _ in range(n_replications):
        shock = rng.normal(size=(n_states, n_periods))[state, period]
        y = (rng.normal(size=n_states * per_state)[unit] + shock
             + rng.normal(size=len(unit)))
        result = wild_cluster_bootstrap(
            y, treated[:, None], state, fixed_effects=(unit, period),
            n_boot=999, seed=0,
        )
        rejections.append(result.p_value <= 0.05)
    assert 0.03 <= np.mean(rejections) <= 0.075


def test_webb_weights_have_unit_variance_and_six_points():
    draws = draw_weights(np.random.default_rng(0), (60_000, 4), "webb")
    values, counts = np.unique(np.round(draws, 12), return_counts=True)
    np.testing.assert_allclose(values, np.sqrt([1.5, 1, 0.5, 0.5, 1, 1.5])
                               * np.repeat([-1, 1], 3))
    assert abs(counts / draws.size - 1 / 6).max() < 0.01
    assert abs(draws.mean()) < 0.01 and abs((draws**2).mean() - 1) < 0.01


def test_att_gt_multiplier_bootstrap_accepts_webb_weights():
    mpdta = pd.read_csv(ROOT / "data/raw/mpdta/mpdta.csv")
    mpdta["state"] = mpdta["countyreal"] % 40
    runs = []
    for seed in (7, 7, 8):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            runs.append(att_gt(
                mpdta, "lemp", "year", "countyreal", "first.treat",
                clustervars=["countyreal", "state"], bootstrap=True,
                boot_weights="webb", n_boot=499, seed=seed,
            ))
    assert runs[0].tidy().equals(runs[1].tidy())
    assert not np.allclose(runs[0].tidy()["se"], runs[2].tidy()["se"])
    assert runs[0].design.boot_weights == "webb"
    assert "webb" in repr(runs[0])
