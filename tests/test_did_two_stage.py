"""Gardner two-stage DiD against hand computations, imputation and pyfixest.

References:

- pyfixest 0.60.0 ``did2s`` (numbers cached in
  ``tests/reference/did_two_stage_pyfixest.json`` by
  ``tests/reference/make_did_two_stage_pyfixest.py``). Its stage 1 demeans
  iteratively to a tolerance, so its point estimates carry errors of about
  1e-5; ours solve the normal equations exactly and are checked against a
  dense least-squares imputation to 1e-10. Standard errors (same GMM
  formula, no small-sample factor) agree to 1e-6.
- The imputation estimator of Borusyak, Jaravel and Spiess computed by hand
  with dense dummies.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.did import pretrend_test, two_stage
from analysis.errors import DroppedRowsWarning, FewClustersWarning

REFERENCE = Path(__file__).parent / "reference"
MPDTA = "data/raw/mpdta/mpdta.csv"
ARGS = ("lemp", "year", "countyreal", "first.treat")
SYNTHETIC = ("y", "t", "id", "g")


@pytest.fixture(scope="module")
def mpdta():
    return pd.read_csv(MPDTA)


@pytest.fixture(scope="module")
def pyfixest_numbers():
    return json.loads((REFERENCE / "did_two_stage_pyfixest.json").read_text())


def quiet(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewClustersWarning)
        return two_stage(*args, **kwargs)


def imputation_by_hand(frame, yname, tname, idname, gname, weights=None):
    """BJS imputation: dense dummy regression on untreated rows, then residuals."""
    unit = pd.factorize(frame[idname], sort=True)[0]
    period = pd.factorize(frame[tname], sort=True)[0]
    dummies = np.zeros((len(frame), unit.max() + period.max() + 2))
    dummies[np.arange(len(frame)), unit] = 1
    dummies[np.arange(len(frame)), unit.max() + 1 + period] = 1
    cohort = frame[gname].to_numpy()
    treated = (cohort > 0) & (frame[tname].to_numpy() >= cohort)
    root_w = np.ones(len(frame)) if weights is None else np.sqrt(weights)
    y = frame[yname].to_numpy(float)
    effects = np.linalg.lstsq((dummies * root_w[:, None])[~treated],
                              (y * root_w)[~treated], rcond=None)[0]
    return y - dummies @ effects, treated


def test_tiny_panel_by_hand():
    # Unit 1 (never treated) and unit 2 (treated from period 3) differ by 1
    # before treatment, so stage 1 fits exactly: unit 2's untreated outcome
    # in period 3 is 3 + 1 = 4 and its effect 10 - 4 = 6. Unit 3 adds noise
    # to stage 1 so that the effect is a mean of imputed residuals.
    frame = pd.DataFrame({
        "id": [1, 1, 1, 2, 2, 2],
        "t": [1, 2, 3, 1, 2, 3],
        "g": [0, 0, 0, 3, 3, 3],
        "y": [1.0, 2.0, 3.0, 2.0, 3.0, 10.0],
    })
    static = quiet(frame, *SYNTHETIC)
    assert static.tidy()["att"].iloc[0] == pytest.approx(6.0, abs=1e-12)

    frame = pd.concat([frame, pd.DataFrame({"id": [3, 3, 3], "t": [1, 2, 3],
                                            "g": [0, 0, 0], "y": [0.0, 2.0, 1.0]})])
    # Stage 1 (7 untreated rows, 3 units, 3 periods) is solved in the test
    # by least squares; period effects are identified from all three units.
    y_tilde, treated = imputation_by_hand(frame, *SYNTHETIC)
    result = quiet(frame, *SYNTHETIC)
    assert result.tidy()["att"].iloc[0] == pytest.approx(y_tilde[treated][0], abs=1e-12)


def test_post_periods_equal_imputation_on_mpdta(mpdta):
    y_tilde, treated = imputation_by_hand(mpdta, *ARGS)
    event = (mpdta["year"] - mpdta["first.treat"]).to_numpy()
    static = two_stage(mpdta, *ARGS).tidy()
    dynamic = two_stage(mpdta, *ARGS, event_study=True).tidy().set_index("event_time")

    assert static["att"].iloc[0] == pytest.approx(y_tilde[treated].mean(), abs=1e-10)
    for e in range(4):
        expected = y_tilde[treated & (event == e)].mean()
        assert dynamic.loc[e, "att"] == pytest.approx(expected, abs=1e-10)


def test_weighted_imputation_on_unbalanced_panel():
    frame = pd.read_csv(REFERENCE / "did_two_stage_synthetic.csv")
    y_tilde, treated = imputation_by_hand(frame, *SYNTHETIC,
                                          weights=frame["w"].to_numpy())
    result = quiet(frame, *SYNTHETIC, weightsname="w")
    w = frame["w"].to_numpy()[treated]
    expected = (w * y_tilde[treated]).sum() / w.sum()
    assert result.tidy()["att"].iloc[0] == pytest.approx(expected, abs=1e-10)


def test_mpdta_matches_pyfixest(mpdta, pyfixest_numbers):
    frame = mpdta[mpdta["first.treat"] != 2004]
    for case, options in (("mpdta_static", {}), ("mpdta_event", {"event_study": True})):
        table = two_stage(frame, *ARGS, **options).tidy()
        expected = pyfixest_numbers[case]
        assert np.abs(table["se"] - expected["se"]).max() < 1e-6
        assert np.abs(table["att"] - expected["att"]).max() < 5e-5


def test_synthetic_clusters_and_weights_match_pyfixest(pyfixest_numbers):
    frame = pd.read_csv(REFERENCE / "did_two_stage_synthetic.csv")
    weighted = quiet(frame, *SYNTHETIC, event_study=True, weightsname="w",
                     clustervars=["id", "state"]).tidy()
    expected = pyfixest_numbers["synthetic_event_state_weighted"]
    terms = [f"rel::{float(e)}" for e in weighted["event_time"]]
    assert terms == expected["terms"]
    assert np.abs(weighted["se"] - expected["se"]).max() < 1e-6
    assert np.abs(weighted["att"] - expected["att"]).max() < 5e-5

    static = quiet(frame, *SYNTHETIC, clustervars="state").tidy()
    expected = pyfixest_numbers["synthetic_static_state"]
    assert static["se"].iloc[0] == pytest.approx(expected["se"][0], abs=1e-6)


def heterogeneous_panel(seed, n_units=120, noise=1.0):
    rng = np.random.default_rng(seed)
    periods = np.arange(1, 9)
    unit = np.repeat(np.arange(n_units), len(periods))
    period = np.tile(periods, n_units)
    cohort = rng.choice([0, 3, 5, 7], n_units)[unit]
    event = period - cohort
    # Effects grow with event time and differ by cohort: TWFE is biased here.
    effect = np.where((cohort > 0) & (event >= 0), (1 + event) * cohort / 3.0, 0.0)
    y = (rng.normal(size=n_units)[unit] + np.sin(period) + effect
         + noise * rng.normal(size=len(unit)))
    return pd.DataFrame({"id": unit, "t": period, "g": cohort, "y": y,
                         "effect": effect})


def test_heterogeneous_effects_recovered_exactly_without_noise():
    frame = heterogeneous_panel(3, noise=0.0)
    result = two_stage(frame, *SYNTHETIC, event_study=True).tidy()
    treated = (frame["g"] > 0) & (frame["t"] >= frame["g"])
    truth = frame[treated].groupby(frame["t"] - frame["g"])["effect"].mean()
    post = result[result["event_time"] >= 0].set_index("event_time")["att"]
    assert np.abs(post - truth.loc[post.index]).max() < 1e-10
    leads = result[result["event_time"] < 0]["att"]
    assert np.abs(leads).max() < 1e-10


def test_standard_errors_match_monte_carlo_spread():
    # The static estimate's sampling spread over 300 panels against the
    # mean reported SE; dropping the stage-1 term gives a ratio of about 0.71.
    estimates, ses = [], []
    for seed in range(300):
        table = quiet(heterogeneous_panel(seed, n_units=60), *SYNTHETIC).tidy()
        estimates.append(table["att"].iloc[0])
        ses.append(table["se"].iloc[0])
    ratio = np.mean(ses) / np.std(estimates)
    assert 0.9 < ratio < 1.1


def test_result_interface_and_pretrend(mpdta):
    result = two_stage(mpdta, *ARGS, event_study=True, leads=3, lags=2)
    table = result.tidy()
    assert table["event_time"].tolist() == [-3, -2, 0, 1, 2]
    assert {"term", "att", "se", "ci_lower", "ci_upper"} <= set(table)
    assert list(result.vcov.index) == [-3, -2, 0, 1, 2]
    assert result.reference_period == -1 and result.band == "pointwise"
    assert "Gardner" in repr(result) and "500 (countyreal)" in repr(result)
    assert "<table>" in result._repr_html_()
    test = pretrend_test(result)
    assert test.pre_periods == (-3, -2) and test.df == 2


def test_units_without_untreated_rows_are_dropped(mpdta):
    frame = mpdta.copy()
    # Counties first treated in 2003 are treated in every year: no unit effect.
    frame.loc[frame["first.treat"] == 2004, "first.treat"] = 2003
    with pytest.warns(DroppedRowsWarning, match="dropped 100 of 2500") as caught:
        result = two_stage(frame, *ARGS)
    assert result.n_obs == 2400
    # The warning points at the caller's line, not at library internals.
    assert caught[0].filename == __file__


@pytest.mark.parametrize("options, message", [
    ({"alpha": 1.5}, "alpha"),
    ({"leads": -1, "event_study": True}, "leads"),
    ({"reference": -2}, "reference applies to event_study=True"),
    ({"event_study": True, "lags": 0, "leads": 0, "reference": 0}, "widen"),
])
def test_bad_input(mpdta, options, message):
    with pytest.raises(ValueError, match=message):
        two_stage(mpdta, *ARGS, **options)
