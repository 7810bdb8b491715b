"""Robustness of the Secure Communities plans on the shipped data: the fast
simple ATT equals att_gt, every specification-curve row equals the single
estimator call, and the saved results agree with the main estimates."""

from __future__ import annotations

import copy
import dataclasses
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from analysis.did import (  # noqa: E402
    att_gt,
    poisson_etwfe,
    sun_abraham,
    twfe,
    two_stage,
)
from analysis.evaluate import read_plan  # noqa: E402
from analysis.evaluations import sc_robustness  # noqa: E402
from analysis.evaluations.secure_communities import (  # noqa: E402
    SCDesign,
    estimate,
    prepare_sample,
)
from analysis.panels.marshall import build_large_agency_year  # noqa: E402
from analysis.panels.ny import build_ny_county_year  # noqa: E402
from analysis.plots.spec_curve import plot_specification_curve  # noqa: E402
from analysis.regimes import build_sc_regime_table  # noqa: E402
from analysis.robustness.fast_att import SimpleATT  # noqa: E402


def _quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def _design(plan):
    return SCDesign(
        name=plan["name"], unit_col=plan["unit_col"], outcomes=plan["outcomes"],
        first_year=plan["first_year"], last_year=plan["last_year"],
        full_year_column=plan.get("full_year_column"),
        twfe_leads=plan.get("twfe_leads"), twfe_lags=plan.get("twfe_lags"),
        seed=plan["seed"], n_boot=plan["n_boot"], alpha=plan["alpha"])


@pytest.fixture(scope="module")
def regimes():
    return _quiet(build_sc_regime_table)


@pytest.fixture(scope="module")
def ny(regimes):
    plan = copy.deepcopy(read_plan("sc_ny_counties"))
    # Fewer draws than the plan: the test checks the wiring, not the p-value.
    plan["robustness"]["n_permutations"] = 49
    panel = _quiet(build_ny_county_year)
    design = _design(plan)
    samples = {o: _quiet(prepare_sample, panel, regimes, design, o)[0]
               for o in design.outcomes}
    return plan, design, panel, samples


@pytest.fixture(scope="module")
def large(regimes):
    plan = read_plan("sc_large_agencies")
    panel = _quiet(build_large_agency_year)
    design = _design(plan)
    samples = {o: _quiet(prepare_sample, panel, regimes, design, o)[0]
               for o in design.outcomes}
    return plan, design, panel, samples


def _att_gt_simple(frame, yname, control_group):
    result = _quiet(att_gt, frame, yname=yname, tname="year", idname="unit",
                    gname="gname", control_group=control_group)
    return result.aggregate("simple", na_rm=True).overall_att


@pytest.mark.parametrize("which", ["ny", "large"])
@pytest.mark.parametrize("control_group", ["notyettreated", "nevertreated"])
def test_simple_att_equals_att_gt(which, control_group, request):
    _, design, _, samples = request.getfixturevalue(which)
    outcome = next(iter(design.outcomes))
    sample = samples[outcome]
    yname = f"log_{outcome}"
    fast = SimpleATT(sample, yname, tname="year", idname="unit",
                     control_group=control_group)
    observed = sample.drop_duplicates("unit").set_index("unit")["gname"]

    assert fast(observed)[yname] == pytest.approx(
        _att_gt_simple(sample, yname, control_group), abs=1e-12)
    # And on re-assigned cohorts, as randomisation inference uses it.
    rng = np.random.default_rng(0)
    for _ in range(3):
        permuted = pd.Series(rng.permutation(observed.to_numpy()),
                             index=observed.index)
        frame = sample.assign(gname=sample["unit"].map(permuted))
        assert fast(permuted)[yname] == pytest.approx(
            _att_gt_simple(frame, yname, control_group), abs=1e-12)


def _direct(sample, spec, outcome, count):
    """The estimate of one specification by calling the estimator itself."""
    yname = {"log_rate": f"log_{outcome}", "rate": outcome,
             "count": count}[spec["transform"]]
    weights = "population_weight" if spec["weighting"] == "population" else None
    args = (sample, yname, "year", "unit", "gname")
    estimator = spec["estimator"]
    if estimator == "cs_dr":
        result = att_gt(*args, control_group=spec["control_group"],
                        weightsname=weights).aggregate("simple", na_rm=True)
        return result.overall_att, result.overall_se
    if estimator == "twfe":
        row = twfe(*args, weightsname=weights, clustervars="unit").tidy().iloc[0]
    elif estimator == "two_stage":
        row = two_stage(*args, weightsname=weights).tidy().iloc[0]
    elif estimator == "poisson_etwfe":
        row = poisson_etwfe(*args, exposure="population",
                            control_group=spec["control_group"]
                            ).aggregate("simple").tidy("log").iloc[0]
    else:
        table = sun_abraham(*args, control="never").tidy()
        post = table[table["event_time"] >= 0]
        return post["att"].mean(), np.nan
    return row["att"], row["se"]


def test_spec_curve_rows_equal_single_estimator_calls(ny, regimes):
    plan, design, panel, samples = ny
    settings = sc_robustness.read_settings(plan)
    outcome = plan["primary"]
    curve = _quiet(sc_robustness.spec_curve, panel, regimes, design, outcome,
                   settings, n_jobs=2, progress=False)

    # 5 estimators: cs_dr 2 controls x 2 transforms x 2 weightings, twfe and
    # two_stage 2 x 2, sun_abraham 2 transforms, poisson 2 controls; x 2 windows.
    assert len(curve) == 2 * (8 + 4 + 4 + 2 + 2)
    assert (curve["error"] == "").all()
    assert curve["primary"].sum() == 1
    primary = curve[curve["primary"]].iloc[0]
    assert primary["estimate"] == pytest.approx(
        _att_gt_simple(samples[outcome], f"log_{outcome}", "notyettreated"),
        abs=1e-12)

    for first_year in settings.spec_axes["first_year"]:
        variant = dataclasses.replace(design, first_year=first_year)
        sample = _quiet(prepare_sample, panel, regimes, variant, outcome)[0]
        first = sample.sort_values("year").groupby("unit")["population"].first()
        sample = sample.assign(population_weight=sample["unit"].map(first))
        rows = curve[curve["first_year"] == first_year]
        for spec in rows.to_dict("records"):
            value, se = _quiet(_direct, sample, spec, outcome,
                               settings.counts[outcome])
            assert spec["estimate"] == pytest.approx(value, abs=1e-12), spec
            if not np.isnan(se):
                assert spec["se"] == pytest.approx(se, abs=1e-12), spec
            assert spec["n_units"] == sample["unit"].nunique()
    # Rate-level rows are rescaled by the treated pre-period mean.
    rate = curve[curve["transform"] == "rate"]
    np.testing.assert_allclose(rate["relative_estimate"],
                               rate["estimate"] / rate["baseline"])

    figure = plot_specification_curve(curve, sc_robustness.SPEC_AXES,
                                      estimate="relative_estimate",
                                      lower="relative_ci_lower",
                                      upper="relative_ci_upper")
    top = figure.axes[0]
    plotted = sum(len(line.get_xdata()) for line in top.get_lines()
                  if line.get_marker() in ("o", "D"))
    assert plotted == len(curve)


def test_saved_robustness_agrees_with_the_main_estimates(ny, regimes):
    plan, design, panel, samples = ny
    estimates = {o: _quiet(estimate, s, design, o) for o, s in samples.items()}
    saved = {}

    def save(name, table, record):
        saved[name] = (table, record)

    output = _quiet(sc_robustness.save_robustness, plan, design, panel, regimes,
                    samples, estimates, {"file": "sha"}, save=save, n_jobs=1,
                    progress=False)

    primary = plan["primary"]
    expected = {f"{primary}__spec_curve", "randomization", "multiplicity",
                f"{primary}__honest", f"{primary}__honest_event_study"}
    for outcome in plan["outcomes"]:
        expected |= {f"{outcome}__{kind}" for kind in
                     ("randomization", "placebo", "bacon_shares", "cs_pretrend")}
    assert set(saved) == expected

    # The randomisation statistic is the main estimate, for every outcome.
    for outcome, result in estimates.items():
        table, record = saved[f"{outcome}__randomization"]
        assert record["observed"] == pytest.approx(result["cs_simple"].overall_att,
                                                   abs=1e-12)
        assert len(table) == 49 and record["seed"] == plan["seed"]
        shares, record = saved[f"{outcome}__bacon_shares"]
        assert shares["weight"].sum() == pytest.approx(1, abs=1e-12)
        assert record["forbidden_weight"] == pytest.approx(
            shares.loc[shares["forbidden"], "weight"].sum(), abs=1e-15)

    multiplicity = output["multiplicity"]
    assert list(multiplicity["outcome"]) == list(plan["outcomes"])
    assert (multiplicity["p_randomization_holm"]
            >= multiplicity["p_randomization"]).all()
    honest, record = saved[f"{primary}__honest"]
    assert honest["method"].iloc[0] == "Original"
    assert record["event_window"] == [-6, 0]
    placebo, _ = saved[f"{primary}__placebo"]
    assert list(placebo["shift"]) == [1, 2, 3]

    # The same seed gives the same draws.
    again = _quiet(sc_robustness.randomization, samples, design,
                   sc_robustness.read_settings(plan), n_jobs=2, progress=False)
    pd.testing.assert_frame_equal(again.draws, output["randomization"].draws)


def test_settings_errors_name_the_plan(ny):
    plan = copy.deepcopy(ny[0])
    plan["robustness"]["spec_curve"]["transforms"] = ["sqrt"]
    with pytest.raises(ValueError, match="sc_ny_counties.*transform"):
        sc_robustness.read_settings(plan)
    plan = copy.deepcopy(ny[0])
    plan["robustness"]["spec_curve"]["coverage"] = ["full_year", "all"]
    with pytest.raises(ValueError, match="full_year_column"):
        sc_robustness.read_settings(plan)
