"""Rambachan-Roth sensitivity (honest_did) against published HonestDiD output,
closed forms and independent computations; and the event-time covariance of
Callaway-Sant'Anna dynamic aggregations that it (and pretrend_test) uses.

Published reference: the Medicaid-expansion example of the HonestDiD README
(R, asheshrambachan/HonestDiD) and of the Stata port's README
(mcaceresb/stata-honestdid), cached with betahat and sigma in
``tests/reference/honest_did_medicaid.json`` by
``tests/reference/make_honest_medicaid.py`` (whose docstring explains the
small-sample factor of the cached sigma). Tolerances:

- relative magnitudes (C-LF): one step of HonestDiD's theta grid (40 standard
  errors / 999 = 3.7e-4) plus half the last printed digit. The
  least-favourable critical value is simulated with a different generator
  than R's, which moves a bound by at most one grid step;
- smoothness (FLCI): 2e-4 (HonestDiD optimises by a numerical-derivative
  bisection; ours is exact), plus half the last printed digit.
"""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.optimize import linprog

from analysis.did import (
    att_gt,
    honest_did,
    pretrend_test,
    sun_abraham,
    twfe,
    two_stage,
)
from analysis.did._arp import MomentProblem
from analysis.did._flci import second_difference_map
from analysis.errors import FewClustersWarning

REFERENCE = Path(__file__).parent / "reference"
MEDICAID = json.loads((REFERENCE / "honest_did_medicaid.json").read_text())
PUBLISHED = MEDICAID["published"]
MPDTA = "data/raw/mpdta/mpdta.csv"
ARGS = ("lemp", "year", "countyreal", "first.treat")
Z = stats.norm.ppf(0.975)


def medicaid(**options):
    return honest_did(betahat=MEDICAID["betahat"], sigma=MEDICAID["sigma"],
                      num_pre=5, num_post=2, **options)


def grid_step(l_vec=(1.0, 0.0)):
    l_vec = np.asarray(l_vec)
    sigma = np.asarray(MEDICAID["sigma"])[5:, 5:]
    return 40 * np.sqrt(l_vec @ sigma @ l_vec) / 999


@pytest.fixture(scope="module")
def mpdta():
    return pd.read_csv(MPDTA)


def test_cached_event_study_reproduces_published_original_interval():
    # The generator's own event study, loaded by path (tests is no package).
    spec = importlib.util.spec_from_file_location(
        "make_honest_medicaid", REFERENCE / "make_honest_medicaid.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    result = generator.event_study()
    assert np.abs(result.tidy()["att"] - MEDICAID["betahat"]).max() < 1e-12
    # Our twfe(small_sample="fixest") covariance equals the one HonestDiD's
    # README example takes from R fixest (K counts all 8 year effects).
    assert np.allclose(result.vcov.to_numpy(), MEDICAID["sigma"], atol=1e-15)
    _, low, high = medicaid(mbar_grid=[0]).original
    assert low == pytest.approx(PUBLISHED["original_first_post"]["lb"], abs=5e-4)
    assert high == pytest.approx(PUBLISHED["original_first_post"]["ub"], abs=5e-4)


def test_relative_magnitudes_match_r_readme():
    published = PUBLISHED["rm_first_post"]
    table = medicaid(mbar_grid=published["Mbar"]).table
    tolerance = grid_step() + 5e-5
    assert np.abs(table["lb"] - published["lb"]).max() <= tolerance
    assert np.abs(table["ub"] - published["ub"]).max() <= tolerance
    assert (table["method"] == "C-LF").all()


def test_relative_magnitudes_average_match_stata_readme():
    published = PUBLISHED["rm_average"]
    table = medicaid(mbar_grid=published["Mbar"], l_vec=[0.5, 0.5]).table
    tolerance = grid_step([0.5, 0.5]) + 5e-4
    assert np.abs(table["lb"] - published["lb"]).max() <= tolerance
    assert np.abs(table["ub"] - published["ub"]).max() <= tolerance


def test_smoothness_flci_matches_r_readme():
    published = PUBLISHED["sd_first_post"]
    result = medicaid(method="smoothness", m_grid=published["M"])
    table = result.table
    assert np.abs(table["lb"] - published["lb"]).max() <= 2e-4 + 5e-5
    assert np.abs(table["ub"] - published["ub"]).max() <= 2e-4 + 5e-4
    # The README: "the breakdown value for a significant effect is M = 0.03"
    # (the interval at 0.02 excludes zero, the one at 0.03 does not).
    assert result.breakdown == pytest.approx(0.02)


def test_smoothness_m0_is_linear_extrapolation():
    # With M = 0 and independent coefficients the bias is an exact linear
    # trend through the reference period; the shortest unbiased interval
    # extrapolates the weighted least-squares slope of the pre-periods.
    rng = np.random.default_rng(5)
    betahat = rng.normal(size=6)
    variances = rng.uniform(0.5, 2.0, size=6)
    t_pre, t_post = np.arange(-4, 0), np.arange(1, 3)
    l_vec = np.array([0.3, 0.7])
    precision = t_pre**2 / variances[:4]
    slope = (t_pre * betahat[:4] / variances[:4]).sum() / precision.sum()
    centre = l_vec @ betahat[4:] - (l_vec @ t_post) * slope
    variance = l_vec**2 @ variances[4:] + (l_vec @ t_post) ** 2 / precision.sum()
    result = honest_did(betahat=betahat, sigma=np.diag(variances), num_pre=4,
                        num_post=2, method="smoothness", m_grid=[0], l_vec=l_vec)
    row = result.table.iloc[0]
    assert row["lb"] == pytest.approx(centre - Z * np.sqrt(variance), abs=1e-9)
    assert row["ub"] == pytest.approx(centre + Z * np.sqrt(variance), abs=1e-9)


def test_worst_case_bias_formula_matches_linear_programme():
    # sup v'delta over |second differences| <= M equals M * ||B'v||_1.
    num_pre, num_post, m = 3, 3, 0.7
    trend, B = second_difference_map(num_pre, num_post)
    rng = np.random.default_rng(2)
    v = rng.normal(size=num_pre + num_post)
    v -= trend * (trend @ v) / (trend @ trend)
    full = np.zeros((num_pre + num_post - 1, num_pre + num_post + 1))
    for row in range(len(full)):
        full[row, row:row + 3] = [1, -2, 1]
    second = np.delete(full, num_pre, axis=1)
    solved = linprog(-v, A_ub=np.vstack([second, -second]),
                     b_ub=np.full(2 * len(second), m),
                     bounds=[(None, None)] * len(v), method="highs")
    assert -solved.fun == pytest.approx(m * np.abs(B.T @ v).sum(), rel=1e-9)


def test_relative_magnitude_zero_is_the_original_interval():
    # One pre and one post period, the pre-trend far below zero: Mbar = 0
    # forces delta_post = 0 and the conditional test of |beta_1 - theta| is
    # a half-normal one, i.e. the usual interval (to one grid step).
    betahat, sigma = np.array([-10.0, 0.4]), np.diag([0.01, 0.04])
    result = honest_did(betahat=betahat, sigma=sigma, num_pre=1, num_post=1,
                        mbar_grid=[0.0], rm_method="Conditional")
    step = 40 * 0.2 / 999
    assert result.table["lb"].iloc[0] == pytest.approx(0.4 - Z * 0.2, abs=step)
    assert result.table["ub"].iloc[0] == pytest.approx(0.4 + Z * 0.2, abs=step)


def test_vertex_statistic_equals_linear_programme():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(6, 2))
    root = rng.normal(size=(6, 6))
    sigma = root @ root.T + np.eye(6)
    problem = MomentProblem(X, sigma)
    sd = np.sqrt(np.diag(sigma))
    for _ in range(5):
        y = rng.normal(size=6)
        solved = linprog(np.r_[1.0, 0.0, 0.0], A_ub=-np.column_stack([sd, X]),
                         b_ub=-y, bounds=[(None, None)] * 3, method="highs")
        assert problem.eta(y)[0] == pytest.approx(solved.fun, abs=1e-10)


def primal_truncation(y, X, sigma):
    """ARP's primal formulas (HonestDiD's non-degenerate branch): the binding
    moments B from the LP dual, then the truncation points of v_B'y."""
    sd = np.sqrt(np.diag(sigma))
    k = X.shape[1]
    solved = linprog(np.r_[1.0, np.zeros(k)], A_ub=-np.column_stack([sd, X]),
                     b_ub=-y, bounds=[(None, None)] * (k + 1), method="highs")
    binding = -solved.ineqlin.marginals > 1e-6
    assert binding.sum() == k + 1
    select = np.eye(len(y))
    inverse = np.linalg.inv(np.column_stack([sd[binding], X[binding]]))
    gamma = (np.column_stack([sd[~binding], X[~binding]]) @ inverse
             @ select[binding] - select[~binding])
    v = inverse[0] @ select[binding]
    rho = gamma @ sigma @ v / (v @ sigma @ v)
    bound = -(gamma @ y) / rho + v @ y
    low = bound[rho > 0].max() if (rho > 0).any() else -np.inf
    high = bound[rho < 0].min() if (rho < 0).any() else np.inf
    return solved.fun, low, high


def test_truncation_equals_arp_primal_formulas():
    rng = np.random.default_rng(4)
    X = np.array([[1.0], [-1.0], [0.5], [-2.0], [1.5]])
    root = rng.normal(size=(5, 5))
    sigma = root @ root.T + np.eye(5)
    problem = MomentProblem(X, sigma)
    for _ in range(10):
        y = rng.normal(size=5)
        eta, best = problem.eta(y)
        gamma = problem.vertices[best]
        variance = np.array([gamma @ sigma @ gamma])
        low, high = problem._truncation(y[None], gamma[None], variance)
        expected = primal_truncation(y, X, sigma)
        assert np.allclose([eta, low[0], high[0]], expected, atol=1e-9)


def test_breakdown_and_tidy():
    result = medicaid(mbar_grid=[0.5, 1, 1.5, 2])
    assert result.breakdown == 1.5
    table = result.tidy()
    assert table.columns.tolist() == ["Mbar", "lb", "ub", "method"]
    assert table["method"].iloc[0] == "Original"
    assert "breakdown Mbar" in repr(result) and "<table" in result._repr_html_()


def test_accepts_event_study_results(mpdta):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewClustersWarning)
        results = [
            att_gt(mpdta, *ARGS, base_period="universal").aggregate("dynamic"),
            twfe(mpdta, *ARGS, event_study=True),
            two_stage(mpdta, *ARGS, event_study=True),
            sun_abraham(mpdta, *ARGS),
        ]
    for result in results:
        table = result.tidy().set_index("event_time")
        times = [e for e in (-4, -3, -2, 0, 1, 2, 3) if e in table.index]
        by_hand = honest_did(
            betahat=table.loc[times, "att"].to_numpy(float),
            sigma=result.vcov.loc[times, times].to_numpy(), num_pre=3,
            num_post=4, method="smoothness", m_grid=[0, 0.01])
        direct = honest_did(result, method="smoothness", m_grid=[0, 0.01])
        assert np.allclose(direct.table[["lb", "ub"]], by_hand.table[["lb", "ub"]])
        assert direct.num_pre == 3 and direct.num_post == 4


def test_refuses_results_it_cannot_read(mpdta):
    varying = att_gt(mpdta, *ARGS).aggregate("dynamic")
    with pytest.raises(ValueError, match="base_period='universal'"):
        honest_did(varying)
    with pytest.raises(ValueError, match="reference=-1"):
        honest_did(twfe(mpdta, *ARGS, event_study=True, reference=-2))
    with pytest.raises(ValueError, match="without gaps"):
        honest_did(_gappy(mpdta))


def _gappy(mpdta):
    # An event study whose covariance lacks event time -3.
    result = twfe(mpdta, *ARGS, event_study=True)
    result.vcov = result.vcov.drop(index=-3, columns=-3)
    return result


@pytest.mark.parametrize("options, message", [
    ({"method": "both"}, "method="),
    ({"rm_method": "FLCI"}, "rm_method="),
    ({"l_vec": [1.0]}, "l_vec has 1"),
    ({"mbar_grid": [-1]}, "mbar_grid"),
    ({"alpha": 0}, "alpha"),
    ({"grid_points": 1}, "grid_points"),
])
def test_bad_options(options, message):
    with pytest.raises(ValueError, match=message):
        medicaid(**options)


def test_bad_vectors():
    with pytest.raises(ValueError, match="num_pre"):
        honest_did(betahat=[1, 2, 3], sigma=np.eye(3), num_pre=2, num_post=2)
    with pytest.raises(ValueError, match="pass betahat"):
        honest_did(betahat=[1, 2], num_pre=1, num_post=1)


def test_dynamic_aggregate_vcov_matches_influence_functions(mpdta):
    result = att_gt(mpdta, *ARGS, base_period="universal").aggregate("dynamic")
    table = result.tidy().set_index("event_time")
    influence = result.influence
    by_hand = influence.T @ influence / influence.shape[0] ** 2
    assert np.allclose(result.vcov.to_numpy(), by_hand, atol=1e-15)
    estimated = table["se"].notna()
    assert np.allclose(np.sqrt(np.diag(result.vcov))[estimated.to_numpy()],
                       table.loc[estimated, "se"], atol=1e-12)
    assert result.vcov.index.tolist() == table.index.tolist()

    test = pretrend_test(result)
    assert test.pre_periods == (-4, -3, -2)
    pre = [-4, -3, -2]
    beta = table.loc[pre, "att"].to_numpy()
    wald = beta @ np.linalg.solve(result.vcov.loc[pre, pre].to_numpy(), beta)
    assert test.statistic == pytest.approx(wald, rel=1e-12)
    assert att_gt(mpdta, *ARGS).aggregate("group").vcov is None


def test_plot_marks_original_interval_and_breakdown():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from analysis.plots.honest import plot_honest

    result = medicaid(mbar_grid=[0.5, 1, 1.5, 2])
    ax = plot_honest(result)
    labels = ax.get_legend_handles_labels()[1]
    assert "Original 95% CI (parallel trends)" in labels
    assert "Robust 95% CI (C-LF)" in labels
    assert "Breakdown Mbar = 1.5" in labels
    breakdown_lines = [line for line in ax.get_lines()
                       if list(line.get_xdata()) == [1.5, 1.5]]
    assert len(breakdown_lines) == 1
    # The robust bars span exactly the table's intervals.
    bars = ax.containers[1].lines[2][0].get_segments()
    assert np.allclose([segment[:, 1] for segment in bars],
                       result.table[["lb", "ub"]].to_numpy())
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="honest_did"):
        plot_honest(object())
