"""The Secure Communities design options used by the national city plan.

Checked on the real city panel, restricted to three states to stay fast:
balanced and unbalanced samples, population weights, the comparison cohort,
the population floor, clustering, and that the defaults leave the earlier
plans' samples as they were.
"""

from __future__ import annotations

import dataclasses
import warnings

import pytest

from analysis.evaluate import OPTIONAL_DESIGN_KEYS, read_plan
from analysis.evaluations.secure_communities import SCDesign, estimate, prepare_sample
from analysis.io import Panel
from analysis.panels import city
from analysis.regimes import build_sc_regime_table

OUTCOME = "property_crime_per_100k"


@pytest.fixture(scope="module")
def inputs():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        panel = city.build_city_year()
        regimes = build_sc_regime_table()
    frame = panel.frame[panel.frame["state_postal"].isin(["AL", "GA", "TN"])]
    small = Panel(panel.name, frame.reset_index(drop=True), panel.key,
                  panel.raw_sha256, panel.ledger, panel.notes)
    return small, regimes


def _design(**options):
    return SCDesign(name="test", unit_col="city_id", outcomes={OUTCOME: "p"},
                    first_year=2005, last_year=2015, twfe_leads=4, twfe_lags=2,
                    n_boot=49, **options)


def _sample(inputs, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return prepare_sample(*inputs, _design(**options), OUTCOME)


def test_balanced_and_unbalanced_samples(inputs):
    balanced, ledger = _sample(inputs)
    years = balanced.groupby("unit")["year"].nunique()
    assert (years == balanced["year"].nunique()).all()
    assert balanced[f"log_{OUTCOME}"].notna().all()

    unbalanced, ledger_u = _sample(inputs, balanced=False)
    assert unbalanced[f"log_{OUTCOME}"].notna().all()
    assert unbalanced["unit"].nunique() > balanced["unit"].nunique()
    assert set(balanced["unit"]) <= set(unbalanced["unit"])
    # Cities without a county are dropped by name, before cohorts.
    reasons = ledger_u.to_frame()["reason"].tolist()
    assert "no county FIPS: activation date unknown" in reasons
    ledger.check()
    ledger_u.check()


def test_comparison_cohort_and_window(inputs):
    sample, ledger = _sample(inputs, comparison_cohort=2012)
    assert sample["cohort"].max() == 2012
    assert sample["year"].max() == 2011
    assert (sample.loc[sample["cohort"] == 2012, "gname"] == 0).all()
    dropped = ledger.to_frame().query("step == 'comparison cohort'")
    assert dropped["rows_affected"].iloc[0] > 0  # the 2013 Alabama cohort


def test_population_weights_and_floor(inputs):
    sample, _ = _sample(inputs, weights_col="population", min_population=10_000)
    first = sample.sort_values("year").groupby("unit").first()
    assert (first["population"] >= 10_000).all()
    assert (sample.groupby("unit")["weight"].nunique() == 1).all()
    assert (first["weight"] == first["population"]).all()


def test_clustered_weighted_unbalanced_estimates(inputs):
    design = _design(balanced=False, weights_col="population",
                     cluster_col="county_fips", comparison_cohort=2012)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sample, _ = prepare_sample(*inputs, design, OUTCOME)
        results = estimate(sample, design, OUTCOME)
    counties = sample["county_fips"].nunique()
    assert results["twfe_static"].n_clusters == counties
    assert results["cs_simple"].n_clusters == counties
    assert "bacon" not in results  # needs a balanced, unweighted panel
    att = results["cs_simple"].overall_att
    assert -1 < att < 1


def test_defaults_keep_earlier_plans_unchanged():
    # The new options default to the behaviour the earlier plans were run
    # with; those plans set none of them.
    defaults = {f.name: f.default for f in dataclasses.fields(SCDesign)}
    assert defaults["balanced"] is True
    assert all(defaults[k] is None for k in OPTIONAL_DESIGN_KEYS if k != "balanced")
    for name in ["sc_large_agencies", "sc_ny_counties"]:
        plan = read_plan(name)
        assert not set(OPTIONAL_DESIGN_KEYS) & set(plan), name
        assert "variants" not in plan
    plan = read_plan("sc_national_cities")
    assert plan["primary_variant"] in plan["variants"]
    for options in plan["variants"].values():
        assert set(options) <= set(OPTIONAL_DESIGN_KEYS)
