"""Two-way fixed-effects estimators against linearmodels and known truths.

References: linearmodels 7.1 ``PanelOLS(y, X, entity_effects=True,
time_effects=True).fit(cov_type="clustered", cluster_entity=True,
group_debias=True)`` with the regressors built independently here. Its
default counts the absorbed effects (our ``small_sample="absorbed"``); adding
``auto_df=False, count_effects=False`` counts the regressors only (our
``"regressors"``). Coefficients to 1e-10, standard errors to 1e-8.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from linearmodels import PanelOLS

from analysis.did.pretrend import pretrend_test
from analysis.did.sun_abraham import sun_abraham
from analysis.did.twfe import twfe
from analysis.errors import DroppedRowsWarning, FewClustersWarning

MPDTA = "data/raw/mpdta/mpdta.csv"
ARGS = ("lemp", "year", "countyreal", "first.treat")


@pytest.fixture(scope="module")
def mpdta():
    return pd.read_csv(MPDTA)


def synthetic_panel(seed=1, n_units=60, n_periods=8, drop_share=0.0):
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(n_units), n_periods)
    period = np.tile(np.arange(2000, 2000 + n_periods), n_units)
    cohort = rng.choice([0, 2003, 2005, 2006], n_units)[unit]
    effect = ((cohort > 0) & (period >= cohort)) * (1 + 0.2 * (period - cohort))
    outcome = (
        rng.normal(size=n_units)[unit]
        + 0.1 * (period - 2000)
        + rng.normal(size=len(unit))
        + effect
    )
    frame = pd.DataFrame(
        {
            "id": unit,
            "t": period,
            "g": cohort,
            "y": outcome,
            "w": rng.uniform(0.5, 2, n_units)[unit],
            "state": unit % 35,
        }
    )
    return frame[rng.uniform(size=len(frame)) >= drop_share].reset_index(drop=True)


def reference_fit(frame, yname, tname, idname, gname, *, event_times=None,
                  weightsname=None, clusters=None):
    """linearmodels fits with independently built regressors."""
    indexed = frame.set_index([idname, tname])
    period = indexed.index.get_level_values(1)
    cohort = indexed[gname]
    if event_times is None:
        regressors = pd.DataFrame(
            {"D": ((cohort > 0) & (period >= cohort)).astype(float)}
        )
    else:
        lowest, highest = min(event_times), max(event_times)
        relative = np.clip(period - cohort, lowest, highest)
        regressors = pd.DataFrame(
            {
                f"e{e}": ((cohort > 0) & (relative == e)).astype(float)
                for e in event_times
            }
        )
    regressors.index = indexed.index
    weights = indexed[weightsname] if weightsname else None
    model = PanelOLS(
        indexed[yname], regressors, entity_effects=True, time_effects=True,
        weights=weights,
    )
    cluster_options = (
        {"clusters": indexed[[clusters]]} if clusters else {"cluster_entity": True}
    )
    counted = model.fit(cov_type="clustered", group_debias=True, **cluster_options)
    uncounted = model.fit(
        cov_type="clustered", group_debias=True, auto_df=False,
        count_effects=False, **cluster_options,
    )
    return counted, uncounted


def test_static_mpdta_matches_linearmodels(mpdta):
    counted, uncounted = reference_fit(mpdta, *ARGS)
    absorbed = twfe(mpdta, *ARGS, small_sample="absorbed").tidy()
    regressors = twfe(mpdta, *ARGS, small_sample="regressors").tidy()

    assert abs(absorbed["att"].iloc[0] - counted.params.iloc[0]) < 1e-10
    assert abs(absorbed["se"].iloc[0] - counted.std_errors.iloc[0]) < 1e-8
    assert abs(regressors["se"].iloc[0] - uncounted.std_errors.iloc[0]) < 1e-8
    # The published TWFE number for this panel (e.g. R did's vignette).
    assert round(absorbed["att"].iloc[0], 4) == -0.0365


def test_fixest_convention_counts_period_effects_only(mpdta):
    # With unit clusters the unit effects are nested and dropped from K with
    # their normalisation, as R fixest does: all T = 5 period effects stay, so
    # K = 1 + 5 and N = 2500, G = 500. (The same rule reproduces HonestDiD's
    # published covariance: tests/test_did_honest.py.)
    regressors = twfe(mpdta, *ARGS, small_sample="regressors").tidy()["se"].iloc[0]
    nested = twfe(mpdta, *ARGS, small_sample="fixest").tidy()["se"].iloc[0]

    expected = regressors * np.sqrt((2500 - 1) / (2500 - 6))
    assert abs(nested - expected) < 1e-12


def test_event_study_mpdta_matches_linearmodels(mpdta):
    result = twfe(mpdta, *ARGS, event_study=True, small_sample="absorbed")
    counted, _ = reference_fit(mpdta, *ARGS, event_times=[-4, -3, -2, 0, 1, 2, 3])
    table = result.tidy()

    assert table["event_time"].tolist() == [-4, -3, -2, 0, 1, 2, 3]
    assert np.abs(table["att"].to_numpy() - counted.params.to_numpy()).max() < 1e-10
    assert np.abs(table["se"].to_numpy() - counted.std_errors.to_numpy()).max() < 1e-8
    reference_cov = counted.cov.to_numpy()
    assert np.abs(result.vcov.to_numpy() - reference_cov).max() < 1e-10
    assert list(result.vcov.index) == [-4, -3, -2, 0, 1, 2, 3]


@pytest.mark.parametrize("drop_share", [0.0, 0.15])
@pytest.mark.parametrize("weightsname", [None, "w"])
def test_synthetic_panels_match_linearmodels(drop_share, weightsname):
    frame = synthetic_panel(drop_share=drop_share)
    args = ("y", "t", "id", "g")
    for event_times in (None, [-3, -2, 0, 1, 2]):
        options = {"weightsname": weightsname}
        if event_times:
            options.update(event_study=True, leads=3, lags=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FewClustersWarning)
            absorbed = twfe(frame, *args, small_sample="absorbed", **options).tidy()
            plain = twfe(frame, *args, small_sample="regressors", **options).tidy()
        counted, uncounted = reference_fit(
            frame, *args, event_times=event_times, weightsname=weightsname
        )

        assert np.abs(absorbed["att"] - counted.params.to_numpy()).max() < 1e-10
        assert np.abs(absorbed["se"] - counted.std_errors.to_numpy()).max() < 1e-8
        assert np.abs(plain["se"] - uncounted.std_errors.to_numpy()).max() < 1e-8


def test_coarser_clusters_match_linearmodels():
    frame = synthetic_panel(n_units=90)
    result = twfe(frame, "y", "t", "id", "g", clustervars=["id", "state"],
                  small_sample="absorbed")
    counted, _ = reference_fit(frame, "y", "t", "id", "g", clusters="state")

    assert result.n_clusters == 35
    assert abs(result.tidy()["se"].iloc[0] - counted.std_errors.iloc[0]) < 1e-8


def test_event_study_recovers_homogeneous_dynamic_effects():
    # Without noise and with effects that depend on event time only, the
    # fully dynamic specification is exactly right.
    frame = synthetic_panel(n_units=80)
    truth = {-4: 0.0, -3: 0.0, -2: 0.0, 0: 1.0, 1: 1.5, 2: 2.5, 3: 2.0, 4: 3.0}
    relative = frame["t"] - frame["g"]
    effect = np.where(frame["g"] > 0, relative.map(truth).fillna(0.0), 0.0)
    frame["y"] = frame["id"] * 0.3 + np.sin(frame["t"]) + effect
    table = twfe(frame, "y", "t", "id", "g", event_study=True).tidy()

    expected = table["event_time"].map(lambda e: truth.get(e, 0.0))
    assert np.abs(table["att"] - expected).max() < 1e-10


def test_binning_and_dropping_endpoints(mpdta):
    binned = twfe(mpdta, *ARGS, event_study=True, leads=2, lags=1)
    table = binned.tidy()
    assert table["event_time"].tolist() == [-2, 0, 1]
    assert table["binned"].tolist() == [True, False, True]

    # Rows of treated counties outside [-2, 1] are dropped: cohort 2004 (20
    # counties) at event times 2 and 3, 2006 (40) at -3, 2007 (131) at -4
    # and -3 -> 2 * 20 + 40 + 2 * 131 = 342 rows.
    with pytest.warns(DroppedRowsWarning, match="dropped 342 of 2500"):
        dropped = twfe(mpdta, *ARGS, event_study=True, leads=2, lags=1,
                       bin_endpoints=False)
    assert dropped.n_obs == 2500 - 342
    assert not dropped.tidy()["binned"].any()


def test_few_clusters_warning():
    frame = synthetic_panel(n_units=25)
    with pytest.warns(FewClustersWarning, match="25 clusters"):
        twfe(frame, "y", "t", "id", "g")


@pytest.mark.parametrize(
    "options, message",
    [
        ({"small_sample": "stata"}, "small_sample='stata'"),
        ({"event_study": True, "leads": 2, "reference": -3}, "outside the event"),
        ({"clustervars": ["a", "b"]}, "one-way clustering"),
        ({"alpha": 1.5}, "alpha"),
    ],
)
def test_bad_options_raise(mpdta, options, message):
    with pytest.raises(ValueError, match=message):
        twfe(mpdta, *ARGS, **options)


def test_bad_data_raise(mpdta):
    with pytest.raises(ValueError, match="not in data"):
        twfe(mpdta, "employment", "year", "countyreal", "first.treat")
    repeated = pd.concat([mpdta, mpdta.head(1)])
    with pytest.raises(ValueError, match="repeated"):
        twfe(repeated, *ARGS)
    changing = mpdta.copy()
    changing.loc[0, "first.treat"] = 2004
    with pytest.raises(ValueError, match="changes within"):
        twfe(changing, *ARGS)


def test_collinear_event_study_without_never_treated(mpdta):
    treated_only = mpdta[mpdta["first.treat"] > 0]
    with pytest.raises(ValueError, match="collinear"):
        twfe(treated_only, *ARGS, event_study=True)


def test_missing_outcomes_dropped_with_count(mpdta):
    holes = mpdta.copy()
    holes.loc[[0, 5, 9], "lemp"] = np.nan
    with pytest.warns(DroppedRowsWarning, match="dropped 3 of 2500") as caught:
        result = twfe(holes, *ARGS)
    # The warning points at the caller's line, not at library internals.
    assert caught[0].filename == __file__
    assert result.n_obs == 2497
    assert result.ledger.to_frame()["rows_affected"].sum() == 3


def test_result_describes_itself(mpdta):
    result = twfe(mpdta, *ARGS, event_study=True)
    text = repr(result)
    for expected in ("TWFE event study", "countyreal + year", "500 (countyreal)",
                     "fixest (K = 12", "2,500", "reference period", "pointwise"):
        assert expected in text
    assert "<table>" in result._repr_html_()
    assert result.band == "pointwise" and result.reference_period == -1
    table = result.tidy()
    assert {"term", "event_time", "att", "se", "ci_lower", "ci_upper"} <= set(table)
    assert (table["ci_lower"] < table["att"]).all()


def test_pretrend_wald_by_hand(mpdta):
    result = twfe(mpdta, *ARGS, event_study=True)
    test = pretrend_test(result)
    leads = result.tidy().set_index("event_time").loc[[-4, -3, -2], "att"]
    cov = result.vcov.loc[[-4, -3, -2], [-4, -3, -2]].to_numpy()

    by_hand = leads.to_numpy() @ np.linalg.solve(cov, leads.to_numpy())
    assert test.df == 3
    assert abs(test.statistic - by_hand) < 1e-10
    assert 0 <= test.pvalue <= 1
    single = pretrend_test(result, pre_periods=[-2])
    z_squared = leads[-2] ** 2 / result.vcov.loc[-2, -2]
    assert abs(single.statistic - z_squared) < 1e-10
    with pytest.raises(ValueError, match="-7"):
        pretrend_test(result, pre_periods=[-7])


# Sun-Abraham -----------------------------------------------------------------


def heterogeneous_panel(cohorts=(0, 2004, 2006, 2008), noise=0.0, seed=5):
    """Noise-free (by default) panel whose effects differ by cohort."""
    rng = np.random.default_rng(seed)
    n_units, periods = 90, np.arange(2000, 2011)
    unit = np.repeat(np.arange(n_units), len(periods))
    period = np.tile(periods, n_units)
    cohort = np.asarray(cohorts)[np.arange(n_units) % len(cohorts)][unit]
    slope = pd.Series({2004: 0.5, 2006: 1.0, 2008: 2.0, 2010: 3.0})
    relative = period - cohort
    effect = np.where(
        (cohort > 0) & (relative >= 0),
        slope.reindex(cohort).fillna(0).to_numpy() * (relative + 1),
        0.0,
    )
    outcome = (
        rng.normal(size=n_units)[unit] + np.cos(period) + effect
        + noise * rng.normal(size=len(unit))
    )
    truth = pd.DataFrame({"cohort": cohort, "event_time": relative, "effect": effect})
    return pd.DataFrame({"id": unit, "t": period, "g": cohort, "y": outcome}), truth


def interaction_weighted_truth(truth, controls):
    treated = truth[~truth["cohort"].isin(controls)]
    return treated.groupby("event_time")["effect"].mean()


def test_sun_abraham_recovers_heterogeneous_effects_twfe_does_not():
    frame, truth = heterogeneous_panel()
    result = sun_abraham(frame, "y", "t", "id", "g")
    table = result.tidy().set_index("event_time")
    expected = interaction_weighted_truth(truth, [0]).drop(-1)

    assert list(table.index) == list(expected.index)
    assert np.abs(table["att"] - expected).max() < 1e-10
    biased = twfe(frame, "y", "t", "id", "g", event_study=True).tidy()
    bias = biased.set_index("event_time")["att"] - expected
    assert np.abs(bias).max() > 0.5


def test_sun_abraham_last_treated_control():
    frame, truth = heterogeneous_panel(cohorts=(2004, 2006, 2008, 2010))
    with pytest.warns(DroppedRowsWarning, match="on or after 2010"):
        result = sun_abraham(frame, "y", "t", "id", "g", control="last")
    table = result.tidy().set_index("event_time")
    kept = truth[frame["t"] < 2010]
    expected = interaction_weighted_truth(kept, [2010]).drop(-1)

    assert np.abs(table["att"] - expected).max() < 1e-10
    assert "last treated cohort (2010)" in repr(result)


def test_sun_abraham_mpdta_by_hand_and_published(mpdta):
    result = sun_abraham(mpdta, *ARGS)
    cohorts = result.cohort_effects.set_index(["cohort", "event_time"])
    means = mpdta.pivot_table(index="first.treat", columns="year", values="lemp")

    # Saturated with never-treated controls, each coefficient is the 2x2 DiD
    # of cohort means against the never treated, base year e - 1.
    for (cohort, event), estimate in cohorts["estimate"].items():
        year, base = cohort + event, cohort - 1
        by_hand = (means.loc[cohort, year] - means.loc[cohort, base]) - (
            means.loc[0, year] - means.loc[0, base]
        )
        assert abs(estimate - by_hand) < 1e-10
    # Post-period values equal R did's dynamic aggregation with never-treated
    # controls (did README / vignette: -0.0199, -0.0510, -0.1373, -0.1008).
    post = result.tidy().set_index("event_time").loc[[0, 1, 2, 3], "att"]
    assert post.round(4).tolist() == [-0.0199, -0.0510, -0.1373, -0.1008]


def test_sun_abraham_standard_errors_match_linearmodels(mpdta):
    result = sun_abraham(mpdta, *ARGS, small_sample="absorbed",
                         share_uncertainty=False)
    cells = result.cohort_effects
    indexed = mpdta.set_index(["countyreal", "year"])
    cohort = indexed["first.treat"]
    relative = indexed.index.get_level_values(1) - cohort
    dummies = pd.DataFrame(
        {
            f"c{c}e{e}": ((cohort == c) & (relative == e)).astype(float)
            for c, e in zip(cells["cohort"], cells["event_time"])
        },
        index=indexed.index,
    )
    reference = PanelOLS(indexed["lemp"], dummies, entity_effects=True,
                         time_effects=True).fit(
        cov_type="clustered", cluster_entity=True, group_debias=True
    )
    weights = np.zeros((len(result.vcov), len(cells)))
    rows = np.searchsorted(result.vcov.index, cells["event_time"])
    weights[rows, np.arange(len(cells))] = cells["weight"]

    assert np.abs(cells["estimate"] - reference.params.to_numpy()).max() < 1e-10
    assert np.abs(cells["se"] - reference.std_errors.to_numpy()).max() < 1e-8
    aggregated = np.sqrt(np.diag(weights @ reference.cov.to_numpy() @ weights.T))
    assert np.abs(result.tidy()["se"].to_numpy() - aggregated).max() < 1e-8
    # Shares of cohorts at event time 0: 20, 40 and 131 counties.
    at_zero = cells[cells["event_time"] == 0]["weight"].to_numpy()
    assert np.allclose(at_zero, np.array([20, 40, 131]) / 191, atol=1e-15)


def test_sun_abraham_errors(mpdta):
    treated_only = mpdta[mpdta["first.treat"] > 0]
    with pytest.raises(ValueError, match="control='last'"):
        sun_abraham(treated_only, *ARGS)
    with pytest.raises(ValueError, match="control='first'"):
        sun_abraham(mpdta, *ARGS, control="first")
    one_cohort = mpdta[mpdta["first.treat"].isin([0, 2006])]
    with pytest.raises(ValueError, match="two treated cohorts"):
        sun_abraham(one_cohort, *ARGS, control="last")


def test_pretrend_on_sun_abraham_rejects_a_built_in_pretrend():
    frame, _ = heterogeneous_panel(noise=0.05)
    clean = pretrend_test(sun_abraham(frame, "y", "t", "id", "g"))
    trending = frame.assign(y=frame["y"] + np.where(frame["g"] > 0, 0.3, 0)
                            * (frame["t"] - 2000))
    broken = pretrend_test(sun_abraham(trending, "y", "t", "id", "g"))

    assert clean.pvalue > 0.01
    assert broken.pvalue < 1e-6
    assert clean.df == len([e for e in clean.pre_periods if e < -1])


@pytest.mark.parametrize("weighted", [False, True])
def test_iterative_and_exact_demeaning_agree(monkeypatch, weighted):
    import analysis.did._demean as demean_module

    frame = synthetic_panel(drop_share=0.2)
    codes = [pd.factorize(frame[c], sort=True)[0] for c in ("id", "t")]
    columns = frame[["y", "w"]].to_numpy()
    weights = frame["w"].to_numpy() if weighted else None
    exact = demean_module.demean_two_way(columns, *codes, weights)
    monkeypatch.setattr(demean_module, "EXACT_SOLVE_MAX_LEVELS", 0)
    iterated = demean_module.demean_two_way(columns, *codes, weights)

    assert np.abs(exact - iterated).max() < 1e-10
    # Residuals are orthogonal to every unit and period dummy.
    w = np.ones(len(frame)) if weights is None else weights
    for code in codes:
        sums = np.stack([np.bincount(code, w * exact[:, j]) for j in range(2)], 1)
        assert np.abs(sums).max() < 1e-10


def test_pretrend_accepts_any_result_with_tidy_and_vcov():
    class EventStudy:
        reference_period = -1
        vcov = pd.DataFrame(
            np.diag([0.04, 0.01, 0.01, 0.09]),
            index=[-3, -2, 0, 1],
            columns=[-3, -2, 0, 1],
        )

        def tidy(self):
            # Lists the reference period with estimate 0 and no SE, as some
            # estimators do.
            return pd.DataFrame(
                {"event_time": [-3, -2, -1, 0, 1],
                 "att": [0.2, -0.1, 0.0, 0.5, 0.7],
                 "se": [0.2, 0.1, np.nan, 0.1, 0.3]}
            )

    test = pretrend_test(EventStudy())
    assert test.pre_periods == (-3, -2) and test.df == 2
    # Independent coefficients: W = (0.2 / 0.2)^2 + (0.1 / 0.1)^2 = 2.
    assert abs(test.statistic - 2.0) < 1e-12
    assert abs(test.pvalue - np.exp(-1.0)) < 1e-12
    with pytest.raises(ValueError, match="'vcov' DataFrame"):
        pretrend_test(type("NoCov", (), {"tidy": EventStudy.tidy})())


def test_sun_abraham_share_uncertainty_matches_cluster_jackknife():
    # Cohort effects of 0 and 5: at event times 0-2 the estimate's sampling
    # variance comes mostly from the cohort shares, which the delta method
    # must capture and the fixed-share formula misses.
    rng = np.random.default_rng(11)
    n_units, periods = 80, np.arange(2000, 2008)
    unit = np.repeat(np.arange(n_units), len(periods))
    period = np.tile(periods, n_units)
    cohort = rng.choice([0, 2003, 2005], n_units)[unit]
    effect = np.where((cohort > 0) & (period >= cohort),
                      np.where(cohort == 2003, 0.0, 5.0), 0.0)
    outcome = (rng.normal(size=n_units)[unit] + np.cos(period) + effect
               + 0.1 * rng.normal(size=len(unit)))
    frame = pd.DataFrame({"id": unit, "t": period, "g": cohort, "y": outcome})
    args = ("y", "t", "id", "g")
    delta = sun_abraham(frame, *args, small_sample="regressors").tidy()
    fixed = sun_abraham(frame, *args, share_uncertainty=False).tidy()
    leave_one_out = np.stack(
        [sun_abraham(frame[frame["id"] != i], *args).tidy()["att"].to_numpy()
         for i in range(n_units)]
    )
    centred = leave_one_out - leave_one_out.mean(axis=0)
    jackknife = np.sqrt((n_units - 1) / n_units * (centred**2).sum(axis=0))

    shared = delta["event_time"].isin([0, 1, 2]).to_numpy()
    assert np.allclose(delta["se"], jackknife, rtol=0.05)
    assert (fixed["se"].to_numpy()[shared] < 0.2 * jackknife[shared]).all()
