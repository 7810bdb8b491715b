"""att_gt, its aggregations and twfe against other Python implementations.

Peers (test-only dependencies; each test skips when its peer is missing):
``csdid`` and ``moderndid`` (ports of R ``did``), ``diff-diff``
(``CallawaySantAnna``), ``differences`` (``ATTgt``) and ``pyfixest``
(``feols``, for the TWFE regressions). Data are small seeded staggered
panels: three cohorts, a never-treated group and an optional time-invariant
covariate.

Tolerances: point estimates 1e-10, analytic standard errors 1e-8. A known
definitional difference is transformed exactly or recorded as an xfail with
its reason; no tolerance is loosened for it. The last section checks that
the fast bootstrap products (closed form, block-sparse) equal the dense one.
"""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
import pandas as pd
import pytest

from analysis.did import att_gt, twfe

ESTIMATE_TOL = 1e-10
SE_TOL = 1e-8
CONTROL_GROUPS = ("nevertreated", "notyettreated")
EST_METHODS = ("dr", "ipw", "reg")
KINDS = ("simple", "group", "dynamic", "calendar")


def staggered_panel(n_units=240, n_periods=7, seed=0, covariate=True):
    """Balanced panel, cohorts 2003, 2004 and 2006 plus never treated (g = 0).

    Cohort membership and the outcome trend depend on a time-invariant
    covariate ``x``, so unconditional and conditional estimates differ; the
    effect grows with exposure and differs by cohort.
    """
    rng = np.random.default_rng(seed)
    years = np.arange(2001, 2001 + n_periods)
    x = rng.normal(size=n_units)
    cohorts = np.array([0, 2003, 2004, 2006])
    scores = np.column_stack([np.zeros(n_units), 0.4 * x, -0.3 * x, 0.2 * x])
    probabilities = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    first = cohorts[(rng.random(n_units)[:, None]
                     > probabilities.cumsum(axis=1)).sum(axis=1)]
    exposure = years[None, :] - first[:, None]
    treated = (first[:, None] > 0) & (exposure >= 0)
    effect = (1 + 0.3 * exposure + 0.001 * (first[:, None] - 2003)) * treated
    trend = np.linspace(0, 1, n_periods)[None, :] * (1 + 0.5 * x[:, None])
    y = (rng.normal(size=n_units)[:, None] + trend + effect
         + rng.normal(size=(n_units, n_periods)))
    frame = pd.DataFrame({
        "unit": np.repeat(np.arange(1, n_units + 1), n_periods),
        "year": np.tile(years, n_units),
        "g": np.repeat(first, n_periods),
        "y": y.ravel(),
    })
    if covariate:
        frame["x"] = np.repeat(x, n_periods)
    return frame


@pytest.fixture(scope="module")
def panel():
    return staggered_panel()


def ours(panel, control_group, est_method, covariate):
    result = att_gt(panel, "y", "year", "unit", "g",
                    xformla="~ x" if covariate else None,
                    control_group=control_group, est_method=est_method)
    cells = result.table[["group", "time", "att", "se"]].copy()
    aggregates = {}
    for kind in KINDS:
        aggregated = result.aggregate(kind)
        table = aggregated.table.copy()
        if kind != "simple":
            table.columns = ["label", "att", "se"]
        aggregates[kind] = (aggregated.overall_att, aggregated.overall_se, table)
    return cells, aggregates


def assert_cells_match(mine, theirs):
    merged = mine.merge(theirs, on=["group", "time"], suffixes=("", "_peer"),
                        validate="one_to_one")
    assert len(merged) == len(mine) == len(theirs)
    np.testing.assert_allclose(merged["att"], merged["att_peer"],
                               rtol=0, atol=ESTIMATE_TOL)
    np.testing.assert_allclose(merged["se"], merged["se_peer"], rtol=0, atol=SE_TOL,
                               equal_nan=True)


def assert_aggregates_match(mine, theirs, kinds=KINDS):
    for kind in kinds:
        att, se, table = mine[kind]
        peer_att, peer_se, peer_table = theirs[kind]
        assert abs(att - peer_att) < ESTIMATE_TOL, kind
        assert abs(se - peer_se) < SE_TOL, kind
        if kind == "simple":
            continue
        merged = table.merge(peer_table, on="label", suffixes=("", "_peer"),
                             validate="one_to_one")
        assert len(merged) == len(table) == len(peer_table), kind
        np.testing.assert_allclose(merged["att"], merged["att_peer"],
                                   rtol=0, atol=ESTIMATE_TOL)
        np.testing.assert_allclose(merged["se"], merged["se_peer"], rtol=0,
                                   atol=SE_TOL)


DESIGNS = [("nevertreated", "dr", False), ("notyettreated", "dr", False)] + [
    (control, method, True) for control in CONTROL_GROUPS for method in EST_METHODS
]
DESIGN_IDS = [f"{c}-{m}-{'x' if x else 'nox'}" for c, m, x in DESIGNS]


# --- csdid (port of R did) -----------------------------------------------------


def csdid_estimates(panel, control_group, est_method, covariate):
    attgt_module = pytest.importorskip("csdid.att_gt")
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        fitted = attgt_module.ATTgt(
            yname="y", tname="year", idname="unit", gname="g", data=panel,
            control_group=control_group, xformla="y ~ x" if covariate else None,
        ).fit(est_method=est_method, bstrap=False)
        mp = fitted.results
        cells = pd.DataFrame({"group": mp["group"], "time": mp["year"],
                              "att": mp["att"], "se": mp["se"]})
        aggregates = {}
        for kind in KINDS:
            fitted.aggte(kind, bstrap=False)
            out = fitted.atte
            table = None
            if kind != "simple":
                table = pd.DataFrame({"label": np.asarray(out["egt"]),
                                      "att": np.asarray(out["att_egt"], dtype=float),
                                      "se": np.asarray(out["se_egt"], dtype=float)})
            aggregates[kind] = (float(out["overall_att"]), float(out["overall_se"]),
                                table)
    return cells.astype({"group": "int64", "time": "int64"}), aggregates


@pytest.mark.parametrize(("control_group", "est_method", "covariate"), DESIGNS,
                         ids=DESIGN_IDS)
def test_csdid(panel, control_group, est_method, covariate):
    theirs = csdid_estimates(panel, control_group, est_method, covariate)
    mine = ours(panel, control_group, est_method, covariate)
    assert_cells_match(mine[0], theirs[0])
    assert_aggregates_match(mine[1], theirs[1])


# --- moderndid (port of R did) -------------------------------------------------


def moderndid_estimates(panel, control_group, est_method, covariate):
    moderndid = pytest.importorskip("moderndid")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = moderndid.att_gt(
            panel, yname="y", tname="year", idname="unit", gname="g",
            xformla="~ x" if covariate else None, control_group=control_group,
            est_method=est_method, boot=False,
        )
        cells = pd.DataFrame({"group": np.asarray(fitted.groups, dtype="int64"),
                              "time": np.asarray(fitted.times, dtype="int64"),
                              "att": fitted.att_gt, "se": fitted.se_gt})
        aggregates = {}
        for kind in KINDS:
            out = moderndid.aggte(fitted, type=kind, boot=False)
            table = None
            if kind != "simple":
                table = pd.DataFrame({"label": np.asarray(out.event_times),
                                      "att": np.asarray(out.att_by_event),
                                      "se": np.asarray(out.se_by_event)})
            aggregates[kind] = (float(out.overall_att), float(out.overall_se), table)
    return cells, aggregates


@pytest.mark.parametrize(("control_group", "est_method", "covariate"), DESIGNS,
                         ids=DESIGN_IDS)
def test_moderndid(panel, control_group, est_method, covariate):
    theirs = moderndid_estimates(panel, control_group, est_method, covariate)
    mine = ours(panel, control_group, est_method, covariate)
    assert_cells_match(mine[0], theirs[0])
    assert_aggregates_match(mine[1], theirs[1])


# --- diff-diff (CallawaySantAnna) ----------------------------------------------


def diff_diff_estimates(panel, control_group, est_method, covariate, **options):
    diff_diff = pytest.importorskip("diff_diff")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = diff_diff.CallawaySantAnna(
            control_group={"nevertreated": "never_treated",
                           "notyettreated": "not_yet_treated"}[control_group],
            estimation_method=est_method, **options,
        ).fit(panel, outcome="y", unit="unit", time="year", first_treat="g",
              covariates=["x"] if covariate else None, aggregate="all")
    frame = fitted.to_dataframe()
    cells = pd.DataFrame({"group": frame["group"].astype("int64"),
                          "time": frame["time"].astype("int64"),
                          "att": frame["effect"], "se": frame["se"]})

    def table(effects):
        return pd.DataFrame({"label": [int(key) for key in effects],
                             "att": [value["effect"] for value in effects.values()],
                             "se": [value["se"] for value in effects.values()]})

    aggregates = {
        "simple": (fitted.overall_att, fitted.overall_se, None),
        "group": (np.nan, np.nan, table(fitted.group_effects)),
        "dynamic": (np.nan, np.nan, table(fitted.event_study_effects)),
    }
    return cells, aggregates, fitted


DIFF_DIFF_DR = (
    "diff-diff's doubly robust estimator divides the control augmentation "
    "sum_i w_i (1 - D_i) p/(1 - p) (m(X_i) - dY_i) by the treated weight sum "
    "(Horvitz-Thompson); R DRDID::drdid_panel, csdid, moderndid and ours divide it "
    "by the sum of the control IPW weights (Hajek). Without covariates the two "
    "coincide; test_diff_diff_dr_is_horvitz_thompson reproduces diff-diff's "
    "numbers from that formula"
)
DIFF_DIFF_DESIGNS = [
    pytest.param(*design, id=name,
                 marks=[pytest.mark.xfail(strict=True, reason=DIFF_DIFF_DR)]
                 if design[1] == "dr" and design[2] else [])
    for design, name in zip(DESIGNS, DESIGN_IDS)
]


@pytest.mark.parametrize(("control_group", "est_method", "covariate"),
                         DIFF_DIFF_DESIGNS)
def test_diff_diff(panel, control_group, est_method, covariate):
    cells, aggregates, _ = diff_diff_estimates(panel, control_group, est_method,
                                               covariate)
    mine = ours(panel, control_group, est_method, covariate)
    assert_cells_match(mine[0], cells)
    # diff-diff reports no overall group or dynamic summary on these
    # attributes: compare their per-element tables and the simple ATT.
    assert_aggregates_match(mine[1], aggregates, kinds=("simple",))
    for kind in ("group", "dynamic"):
        _, _, table = mine[1][kind]
        merged = table.merge(aggregates[kind][2], on="label", suffixes=("", "_peer"))
        assert len(merged) == len(table)
        np.testing.assert_allclose(merged["att"], merged["att_peer"], rtol=0,
                                   atol=ESTIMATE_TOL)
        np.testing.assert_allclose(merged["se"], merged["se_peer"], rtol=0,
                                   atol=SE_TOL)


def horvitz_thompson_dr(panel, group, time, base, control_group):
    """diff-diff's DR ATT(g, t) for one cell, from our logit and an OLS fit."""
    from analysis.did._drdid import logit_fit

    wide = panel.pivot(index="unit", columns="year", values="y")
    units = panel.groupby("unit")[["g", "x"]].first()
    cohort = units["g"].replace(0, np.inf)
    comparison = (cohort == np.inf) if control_group == "nevertreated" else (
        cohort > max(time, base))
    rows = ((cohort == group) | comparison).to_numpy()
    change = (wide[time] - wide[base]).to_numpy()[rows]
    treated = (cohort == group).to_numpy()[rows].astype(float)
    design = np.column_stack([np.ones(rows.sum()), units["x"].to_numpy()[rows]])
    pscore = logit_fit(design, treated, np.ones(len(treated)))
    control = treated == 0
    coef = np.linalg.lstsq(design[control], change[control], rcond=None)[0]
    residual = change - design @ coef
    odds = control * pscore / (1 - pscore)
    return (treated @ residual - odds @ residual) / treated.sum()


@pytest.mark.parametrize("control_group", CONTROL_GROUPS)
def test_diff_diff_dr_is_horvitz_thompson(panel, control_group):
    cells, _, _ = diff_diff_estimates(panel, control_group, "dr", True)
    mine = att_gt(panel, "y", "year", "unit", "g", xformla="~ x",
                  control_group=control_group).table
    merged = cells.merge(mine[["group", "time", "base"]], on=["group", "time"])
    expected = [horvitz_thompson_dr(panel, row.group, row.time, row.base,
                                    control_group) for row in merged.itertuples()]
    np.testing.assert_allclose(merged["att"], expected, rtol=0, atol=ESTIMATE_TOL)
    ours_att = merged[["group", "time"]].merge(mine, on=["group", "time"])["att"]
    assert np.abs(merged["att"] - ours_att).max() > 1e-6


# --- differences (ATTgt) --------------------------------------------------------


def _converged_pscore_mle(treated, exog, weights, _freq_weights_flag=False):
    """differences' ``pscore_mle`` with the logit iterated to convergence.

    differences stops statsmodels' IRLS at its default ``tol=1e-8`` (relative
    change in deviance), which leaves the logit coefficients, and so the
    covariance it plugs into the IPW and DR influence functions, off by up
    to ~1e-8: standard errors then differ in the eighth decimal. That is a
    stopping rule, not a definition; at convergence the two agree.
    """
    import statsmodels.api as sm

    option = "freq_weights" if _freq_weights_flag else "var_weights"
    fitted = sm.GLM(treated, exog, family=sm.families.Binomial(),
                    **{option: weights}).fit(tol=1e-15, maxiter=200)
    probability = fitted.predict()
    return np.where(probability > 1 - 1e-16, 1, probability), fitted.cov_params()


def differences_estimates(panel, control_group, est_method, covariate):
    differences = pytest.importorskip("differences")
    from differences.models.did import did_cal
    frame = panel.assign(g=panel["g"].where(panel["g"] > 0))  # NaN: never treated
    with warnings.catch_warnings(), pytest.MonkeyPatch.context() as patch:
        warnings.simplefilter("ignore")
        patch.setattr(did_cal, "pscore_mle", _converged_pscore_mle)
        model = differences.ATTgt(data=frame.set_index(["unit", "year"]),
                                  cohort_column="g")
        model.fit(formula="y ~ x" if covariate else "y",
                  control_group={"nevertreated": "never_treated",
                                 "notyettreated": "not_yet_treated"}[control_group],
                  est_method={"ipw": "std_ipw"}.get(est_method, est_method),
                  progress_bar=False)
        table = model.results().droplevel([0, 1], axis=1).reset_index()
        cells = pd.DataFrame({"group": table["cohort"].astype("int64"),
                              "time": table["time"].astype("int64"),
                              "att": table["ATT"], "se": table["std_error"]})
        aggregates = {}
        for kind, name in (("simple", "simple"), ("group", "cohort"),
                           ("dynamic", "event")):
            out = model.aggregate(name).droplevel([0, 1], axis=1)
            if kind == "simple":
                aggregates[kind] = (out["ATT"].iloc[0], out["std_error"].iloc[0],
                                    None)
            else:
                aggregates[kind] = (np.nan, np.nan, pd.DataFrame({
                    "label": out.index.to_numpy().astype("int64"),
                    "att": out["ATT"].to_numpy(), "se": out["std_error"].to_numpy()}))
    return cells, aggregates


@pytest.mark.parametrize(("control_group", "est_method", "covariate"), DESIGNS,
                         ids=DESIGN_IDS)
def test_differences(panel, control_group, est_method, covariate):
    cells, aggregates = differences_estimates(panel, control_group, est_method,
                                              covariate)
    mine = ours(panel, control_group, est_method, covariate)
    assert_cells_match(mine[0], cells)
    assert_aggregates_match(mine[1], aggregates, kinds=("simple",))
    for kind in ("group", "dynamic"):
        _, _, table = mine[1][kind]
        merged = table.merge(aggregates[kind][2], on="label", suffixes=("", "_peer"))
        assert len(merged) == len(table)
        np.testing.assert_allclose(merged["att"], merged["att_peer"], rtol=0,
                                   atol=ESTIMATE_TOL)
        np.testing.assert_allclose(merged["se"], merged["se_peer"], rtol=0,
                                   atol=SE_TOL)


# --- bootstrap standard errors -------------------------------------------------


@pytest.mark.parametrize("control_group", CONTROL_GROUPS)
def test_bootstrap_se_within_ten_percent_of_analytic(panel, control_group):
    """999 Rademacher draws: every ATT(g, t) and aggregate se within 10% of
    the analytic one, ours (dr) and diff-diff's (reg, whose analytic se match
    ours)."""
    options = {"xformla": "~ x", "control_group": control_group}
    analytic = att_gt(panel, "y", "year", "unit", "g", **options)
    booted = att_gt(panel, "y", "year", "unit", "g", bootstrap=True, n_boot=999,
                    seed=2, **options)
    estimable = analytic.table["se"].notna()
    ratio = booted.table["se"][estimable] / analytic.table["se"][estimable]
    assert ratio.between(0.9, 1.1).all(), ratio.describe()
    for kind in KINDS:
        expected = analytic.aggregate(kind).overall_se
        assert abs(booted.aggregate(kind).overall_se / expected - 1) < 0.1, kind

    cells, _, _ = diff_diff_estimates(panel, control_group, "reg", True,
                                      n_bootstrap=999, seed=2)
    analytic_reg = att_gt(panel, "y", "year", "unit", "g", est_method="reg",
                          **options)
    merged = cells.merge(analytic_reg.table, on=["group", "time"]).dropna()
    assert ((merged["se_x"] / merged["se_y"]).between(0.9, 1.1)).all()


# --- TWFE against pyfixest feols -----------------------------------------------


def twfe_panel():
    frame = staggered_panel(n_units=150, seed=4, covariate=False)
    frame["treated_post"] = ((frame["g"] > 0) & (frame["year"] >= frame["g"])).astype(
        float)
    return frame


def feols(formula, frame, k_fixef):
    pyfixest = pytest.importorskip("pyfixest")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pyfixest.feols(formula, data=frame, vcov={"CRV1": "unit"},
                              ssc=pyfixest.ssc(k_fixef=k_fixef))


TWFE_CONVENTIONS = [
    ("regressors", "none"),
    ("absorbed", "full"),
    ("fixest", "nonnested"),
]


@pytest.mark.parametrize("event_study", [False, True], ids=["static", "event"])
@pytest.mark.parametrize(("small_sample", "k_fixef"), TWFE_CONVENTIONS)
def test_twfe_matches_pyfixest(event_study, small_sample, k_fixef):
    frame = twfe_panel()
    mine = twfe(frame, "y", "year", "unit", "g", event_study=event_study,
                small_sample=small_sample).tidy()
    if event_study:
        event = np.where(frame["g"] > 0, frame["year"] - frame["g"], -1)
        columns = []
        for e in mine["event_time"]:
            name = f"e_{'m' if e < 0 else ''}{abs(int(e))}"
            frame[name] = (event == e).astype(float)
            columns.append(name)
        formula = f"y ~ {' + '.join(columns)} | unit + year"
    else:
        formula = "y ~ treated_post | unit + year"
    theirs = feols(formula, frame, k_fixef)
    np.testing.assert_allclose(mine["att"], theirs.coef().to_numpy(), rtol=0,
                               atol=ESTIMATE_TOL)
    np.testing.assert_allclose(mine["se"], theirs.se().to_numpy(), rtol=0,
                               atol=SE_TOL)


# --- fast bootstrap products against the dense product -------------------------


@pytest.mark.parametrize("control_group", CONTROL_GROUPS)
@pytest.mark.parametrize("base_period", ["varying", "universal"])
@pytest.mark.parametrize("design", ["plain", "weights", "clusters"])
def test_fast_bootstrap_equals_dense_product(control_group, base_period, design):
    """The closed-form (no covariates) and block-sparse products that make
    the bootstrap fast give the dense product's draws and standard errors."""
    from analysis.did import _closed_form, attgt, bootstrap

    frame = staggered_panel(n_units=3_000, seed=5, covariate=False)
    frame["y"] += 100.0  # levels far from zero: centring must keep accuracy
    rng = np.random.default_rng(3)
    units = frame["unit"].to_numpy()
    frame["w"] = rng.uniform(0.5, 2.0, size=units.max() + 1)[units]
    frame["state"] = units % 40
    options = {"plain": {}, "weights": {"weightsname": "w"},
               "clusters": {"clustervars": "state"}}[design]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = att_gt(frame, "y", "year", "unit", "g", control_group=control_group,
                        base_period=base_period, **options)
    arrays = result.arrays
    terms = []
    _, influence = attgt._estimate_cells(arrays, control_group, "dr", 0, base_period,
                                         terms=terms)
    product = _closed_form._ClosedFormProduct(arrays, terms, influence.shape[1])
    multipliers = bootstrap.draw_weights(rng, (64, arrays.n_units), "rademacher")
    dense = multipliers @ influence
    scale = np.abs(dense).max()
    np.testing.assert_allclose(product(multipliers), dense, rtol=0, atol=1e-12 * scale)
    blocks = bootstrap._nonzero_blocks(influence)
    assert blocks is not None
    by_block = np.zeros_like(dense)
    for rows, columns, block in blocks:
        by_block[:, columns] += multipliers[:, rows] @ block
    np.testing.assert_allclose(by_block, dense, rtol=0, atol=1e-12 * scale)

    def run(**fast):
        return bootstrap.multiplier_bootstrap(
            influence, arrays.cluster, arrays.n_clusters, n_boot=199,
            weights="rademacher", alpha=0.05, rng=np.random.default_rng(8), **fast)

    reference = run()
    fast = run(product=product)
    np.testing.assert_allclose(fast.se, reference.se, rtol=1e-9, equal_nan=True)
    assert abs(fast.critical_value - reference.critical_value) < 1e-9
