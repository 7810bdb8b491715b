"""Poisson ETWFE against a GLM with explicit dummies, fepois and known truths.

References: statsmodels 0.15 ``GLM(Poisson, offset=log(pop))`` on explicit
unit (or cohort), year and cell dummies with ``cov_type="cluster"`` (its CR1
counts every dummy: our ``small_sample="absorbed"``); coefficients to 1e-8,
standard errors to 1e-6. pyfixest 0.60.0 ``fepois`` with the same cells,
cached in tests/reference/poisson_fepois.json by
tests/reference/make_poisson_reference.py, with ``ssc(k_fixef="none")``
(our ``"regressors"``); 1e-6.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from analysis.did.poisson import poisson_etwfe
from analysis.did.twfe import twfe
from analysis.errors import CellEstimationWarning, DroppedRowsWarning

REFERENCE = Path(__file__).parent / "reference"
ARGS = ("crimes", "year", "county", "first_treat")


@pytest.fixture(scope="module")
def counties():
    return pd.read_csv(REFERENCE / "poisson_fepois.csv")


def fit_quietly(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return poisson_etwfe(*args, **kwargs)


def glm_reference(frame, fixed_effect, design, cluster):
    """Poisson GLM with every dummy written out; returns cell coefficients/SEs."""
    frame = frame[frame.groupby(fixed_effect)["crimes"].transform("sum") > 0]
    frame = frame.reset_index(drop=True)
    first = frame["year"].min()
    cells = {}
    for g in sorted(frame.loc[frame["first_treat"] > 0, "first_treat"].unique()):
        for t in sorted(frame["year"].unique()):
            if (design == "notyettreated" and t >= g) or (
                design == "nevertreated" and t != first
            ):
                rows = (frame["first_treat"] == g) & (frame["year"] == t)
                cells[f"{g}_{t}"] = rows.astype(float)
    dummies = pd.concat(
        [
            pd.get_dummies(frame[fixed_effect], prefix="fe", dtype=float),
            pd.get_dummies(frame["year"], prefix="t", dtype=float).iloc[:, 1:],
            pd.DataFrame(cells),
        ],
        axis=1,
    )
    model = sm.GLM(
        frame["crimes"],
        dummies,
        family=sm.families.Poisson(),
        offset=np.log(frame["population"]),
    ).fit(cov_type="cluster", cov_kwds={"groups": frame[cluster]}, tol=1e-14)
    return model.params[list(cells)].to_numpy(), model.bse[list(cells)].to_numpy()


@pytest.mark.parametrize(
    "fixed_effects, design, cluster",
    [
        ("unit", "notyettreated", "county"),
        ("unit", "nevertreated", "state"),
        ("cohort", "notyettreated", "county"),
    ],
)
def test_matches_glm_with_explicit_dummies(counties, fixed_effects, design, cluster):
    result = fit_quietly(
        counties, *ARGS, exposure="population", control_group=design,
        fixed_effects=fixed_effects, clustervars=cluster, small_sample="absorbed",
    )
    column = "county" if fixed_effects == "unit" else "first_treat"
    coefficient, se = glm_reference(counties, column, design, cluster)
    table = result.tidy("log")
    np.testing.assert_allclose(table["att"], coefficient, rtol=0, atol=1e-8)
    np.testing.assert_allclose(table["se"], se, rtol=0, atol=1e-6)


@pytest.mark.parametrize("design", ["notyet", "never"])
def test_matches_cached_pyfixest_fepois(counties, design):
    reference = json.loads((REFERENCE / "poisson_fepois.json").read_text())[design]
    result = fit_quietly(
        counties, *ARGS, exposure="population",
        control_group={"notyet": "notyettreated", "never": "nevertreated"}[design],
        clustervars=reference["cluster"], small_sample="regressors",
    )
    table = result.table
    terms = [f"c_{g}_{t}" for g, t in zip(table["group"], table["time"])]
    assert terms == reference["terms"]
    assert result.design["n_obs"] == reference["n_obs"]
    np.testing.assert_allclose(table["coefficient"], reference["coefficient"],
                               rtol=0, atol=1e-6)
    np.testing.assert_allclose(np.sqrt(np.diag(result.vcov)), reference["se"],
                               rtol=0, atol=1e-6)


def test_all_zero_units_are_dropped_counted_and_warned(counties):
    with pytest.warns(DroppedRowsWarning, match="== 0 in every period") as record:
        result = poisson_etwfe(counties, *ARGS, exposure="population",
                               clustervars="state")
    assert all(w.filename == __file__ for w in record)
    ledger = result.ledger.to_frame()
    row = ledger[ledger["step"] == "all-zero outcome"]
    assert row["rows_affected"].item() == 3 * 7
    assert result.design["n_units"] == 147


def test_without_never_treated_the_last_cohort_is_the_comparison(counties):
    treated_only = counties[counties["first_treat"] > 0]
    with pytest.warns(DroppedRowsWarning, match="last cohort"):
        result = poisson_etwfe(treated_only, *ARGS, exposure="population")
    assert set(result.table["group"]) == {2012, 2013}
    assert result.table["time"].max() == 2014
    assert "comparison" in " ".join(result.design["notes"])


def simulate_heterogeneous(seed, n_units, rate=-4.0):
    rng = np.random.default_rng(seed)
    n_periods = 8
    unit = np.repeat(np.arange(n_units), n_periods)
    period = np.tile(np.arange(n_periods), n_units)
    cohort = rng.choice([0, 3, 5], n_units, p=[0.5, 0.25, 0.25])[unit]
    population = rng.uniform(500, 3000, n_units)[unit]
    level = rate + rng.normal(0, 0.5, n_units)[unit]
    # Effects differ by cohort and grow with time since treatment.
    truth = np.where(
        (cohort > 0) & (period >= cohort),
        np.where(cohort == 3, 0.10, 0.35) + 0.05 * (period - cohort),
        0.0,
    )
    untreated_mean = population / 1000 * np.exp(level + 0.1 * period)
    frame = pd.DataFrame(
        {
            "id": unit, "t": period, "g": cohort, "pop": population,
            "y": rng.poisson(untreated_mean * np.exp(truth)),
            "truth": truth, "mu0": untreated_mean,
        }
    )
    return frame


def test_recovers_multiplicative_heterogeneous_effects():
    frame = simulate_heterogeneous(seed=7, n_units=4000, rate=2.0)
    result = fit_quietly(frame, "y", "t", "id", "g", exposure="pop")
    truth = frame[frame["truth"] != 0].groupby(["g", "t"])["truth"].first()
    cells = result.tidy("log")
    np.testing.assert_allclose(cells["att"], truth.to_numpy(), atol=0.02)
    assert (np.abs(cells["att"] - truth.to_numpy()) < 4 * cells["se"]).all()

    treated = frame[frame["truth"] != 0]
    true_count = np.mean(treated["mu0"] * (np.exp(treated["truth"]) - 1))
    simple = result.aggregate("simple")
    count = simple.tidy("count")
    assert abs(count["att"].item() - true_count) < 3 * count["se"].item()
    true_ratio = (treated["mu0"] * np.exp(treated["truth"])).sum() / treated[
        "mu0"].sum() - 1
    proportional = simple.tidy("proportional")
    assert abs(proportional["att"].item() - true_ratio) < 0.02
    dynamic = result.aggregate("dynamic").tidy("log")
    assert dynamic["event_time"].tolist() == [0, 1, 2, 3, 4]


def test_twfe_on_logs_is_biased_with_zeros_and_poisson_is_not():
    frame = simulate_heterogeneous(seed=3, n_units=3000, rate=-1.5)
    assert (frame["y"] == 0).mean() > 0.3
    frame["log1p_y"] = np.log1p(frame["y"])
    treated = frame[frame["truth"] != 0]
    true_ratio = (treated["mu0"] * np.exp(treated["truth"])).sum() / treated[
        "mu0"].sum() - 1
    poisson = fit_quietly(frame, "y", "t", "id", "g", exposure="pop")
    simple = poisson.aggregate("simple").tidy("proportional")
    proportional, se = simple["att"].item(), simple["se"].item()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        log_twfe = twfe(frame, "log1p_y", "t", "id", "g").tidy()["att"].item()
    assert abs(proportional - true_ratio) < 3 * se
    # log(1 + y) compresses effects when counts are small: far below the truth
    # (here 0.14 against 0.34), and well outside the Poisson interval.
    assert np.expm1(log_twfe) < true_ratio - 0.15
    assert np.expm1(log_twfe) < proportional - 3 * se


def test_delta_method_matches_closed_forms_and_finite_differences(counties):
    result = fit_quietly(counties, *ARGS, exposure="population")
    log, proportional = result.tidy("log"), result.tidy("proportional")
    np.testing.assert_allclose(proportional["att"], np.expm1(log["att"]), rtol=1e-12)
    np.testing.assert_allclose(proportional["se"], np.exp(log["att"]) * log["se"],
                               rtol=1e-12)

    # The simple count effect is the mean over treated rows of mu1 - mu0.
    table = result.table
    mu0 = table["fitted_treated"] * np.exp(-table["coefficient"])
    direct = (table["fitted_treated"] - mu0).sum() / table["n_obs"].sum()
    simple = result.aggregate("simple")
    assert simple.tidy("count")["att"].item() == pytest.approx(direct, rel=1e-12)

    def simple_count(b):
        fitted = table["fitted_treated"] * np.exp(b - table["coefficient"])
        return (fitted - fitted * np.exp(-b)).sum() / table["n_obs"].sum()

    b = table["coefficient"].to_numpy()
    step = 1e-6
    gradient = np.array([
        (simple_count(b + step * e) - simple_count(b - step * e)) / (2 * step)
        for e in np.eye(len(b))
    ])
    se = np.sqrt(gradient @ result.vcov.to_numpy() @ gradient)
    assert simple.tidy("count")["se"].item() == pytest.approx(se, rel=1e-6)


def test_unit_and_cohort_effects_coincide_without_offset(counties):
    balanced = counties[~counties["county"].isin([3, 4, 5])]
    unit = fit_quietly(balanced, *ARGS, fixed_effects="unit")
    cohort = fit_quietly(balanced, *ARGS, fixed_effects="cohort")
    np.testing.assert_allclose(unit.table["coefficient"],
                               cohort.table["coefficient"], atol=1e-9)


def test_all_zero_treated_cell_is_nan_with_warning(counties):
    frame = counties.copy()
    frame.loc[(frame["first_treat"] == 2015) & (frame["year"] == 2016), "crimes"] = 0
    with pytest.warns(CellEstimationWarning, match="not estimable"):
        result = poisson_etwfe(frame, *ARGS, exposure="population",
                               clustervars="state")
    table = result.tidy("log")
    separated = (table["group"] == 2015) & (table["time"] == 2016)
    assert np.isnan(table.loc[separated, "att"]).all()
    assert np.isfinite(table.loc[~separated, "att"]).all()
    assert np.abs(table.loc[~separated, "att"]).max() < 1
    group = result.aggregate("group").tidy("log").set_index("group")
    first_cell = (table["group"] == 2015) & (table["time"] == 2015)
    assert group.loc[2015, "n_obs"] == table.loc[first_cell, "n_obs"].item()


def test_inputs_are_checked(counties):
    with pytest.raises(ValueError, match="control_group"):
        poisson_etwfe(counties, *ARGS, control_group="never")
    bad = counties.assign(population=counties["population"].where(
        counties["county"] != 1, 0))
    with pytest.raises(ValueError, match="exposure"):
        poisson_etwfe(bad, *ARGS, exposure="population")
    negative = counties.assign(crimes=counties["crimes"] - 10_000)
    with pytest.raises(ValueError, match="non-negative"):
        poisson_etwfe(negative, *ARGS)
    no_controls = counties.copy()
    no_controls.loc[(no_controls["first_treat"] == 0)
                    & (no_controls["year"] == 2016), "crimes"] = 0
    no_controls.loc[(no_controls["year"] == 2016)
                    & (no_controls["first_treat"] > 2016), "crimes"] = 0
    with pytest.raises(ValueError, match="2016"):
        fit_quietly(no_controls, *ARGS, control_group="nevertreated")
    with pytest.raises(ValueError, match="kind"):
        fit_quietly(counties, *ARGS).aggregate("event")


def test_controls_enter_linearly_and_printouts_describe_the_design(counties):
    frame = counties.assign(
        police=np.random.default_rng(0).normal(size=len(counties))
    )
    result = fit_quietly(frame, *ARGS, exposure="population", xformla="~ police")
    assert result.names[-1] == "police"
    text = repr(result.aggregate("dynamic"))
    for expected in ("Poisson ETWFE", "log(population)", "notyettreated",
                     "dynamic", "CR1"):
        assert expected in text
    assert "<table>" in result._repr_html_()
    tidy = result.aggregate("dynamic").tidy("count")
    assert {"event_time", "att", "se", "ci_lower", "ci_upper"} <= set(tidy)
    assert result.band == "pointwise" and result.reference_period is None
