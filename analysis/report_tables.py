"""Tables and sentences the evaluation reports print, built from saved results.

Every number here is read from ``results/`` (what :mod:`analysis.evaluate`
saved from the estimator objects) or computed from those saved numbers by a
tested function (:mod:`analysis.robustness.power`); nothing is re-estimated
and nothing is typed in. The notebooks display these tables, and the tests
compare them with the saved result objects.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from analysis import paths
from analysis.robustness.power import log_to_percent, power_summary
from analysis.store import load_result

LITERATURE = "literature_secure_communities.csv"
# What "treated" means for each regime, in the summary sentence.
EVENTS = {
    "regime_sc_county": "Secure Communities activation",
    "regime_287g_county": "a 287(g) agreement was signed",
}


def _percent(value: float) -> float:
    return log_to_percent(value) if math.isfinite(value) else float("nan")


def primary_estimates(
    evaluation: str, folder: Path | str | None = None
) -> pd.DataFrame:
    """The primary outcome's overall effect by estimator, with what it rules out.

    Columns: ``estimator``, ``att``, ``se``, ``ci_lower``, ``ci_upper``
    (the estimator's own interval), ``mde`` (80% power, 5% two-sided),
    ``equivalence_bound`` (largest absolute limit of the 90% interval),
    ``units``, ``pretrend_p``, and for log outcomes the same quantities as
    percentage changes (``*_pct``).
    """
    summary = load_result(evaluation, "summary", folder)
    plan = summary.record["plan"]
    primary = plan["primary"]
    robust = load_result(evaluation, f"{primary}__cs_simple", folder)
    rows = [{"estimator": robust.label, "att": robust.overall_att,
             "se": robust.overall_se, "ci_lower": robust.record["overall_ci"][0],
             "ci_upper": robust.record["overall_ci"][1]}]
    if f"{primary}__twfe_static" in _names(evaluation, folder):
        static = load_result(evaluation, f"{primary}__twfe_static", folder)
        row = static.tidy().iloc[0]
        rows.append({"estimator": static.label, "att": float(row["att"]),
                     "se": float(row["se"]), "ci_lower": float(row["ci_lower"]),
                     "ci_upper": float(row["ci_upper"])})
    table = pd.DataFrame(rows)

    saved = summary.tidy()
    saved = saved[saved["outcome"] == primary]
    table["units"] = [int(saved["units"].iloc[0])] * len(table)
    table["pretrend_p"] = list(saved["pretrend_p"].iloc[:len(table)])
    power = [power_summary(a, s, alpha=plan["alpha"])
             for a, s in zip(table["att"], table["se"])]
    table["mde"] = [p.mde for p in power]
    table["equivalence_bound"] = [p.equivalence_bound for p in power]
    if plan["transform"] == "log_rate":
        for column in ["att", "ci_lower", "ci_upper", "mde", "equivalence_bound"]:
            table[f"{column}_pct"] = table[column].map(_percent)
    return table


def _names(evaluation: str, folder) -> list[str]:
    from analysis.store import list_results

    return list_results(evaluation, folder)


def plain_summary(evaluation: str, folder: Path | str | None = None) -> str:
    """The primary result in plain words (Markdown), from :func:`primary_estimates`."""
    plan = load_result(evaluation, "summary", folder).record["plan"]
    row = primary_estimates(evaluation, folder).iloc[0]
    label = plan["outcomes"][plan["primary"]].split(" (")[0]
    label = label[0].lower() + label[1:] if label[1:2].islower() else label
    level = f"{1 - plan['alpha']:.0%}"
    if plan["transform"] == "log_rate":
        change = (f"{row['att_pct']:+.1f}% ({level} interval "
                  f"{row['ci_lower_pct']:+.1f}% to {row['ci_upper_pct']:+.1f}%; "
                  f"{row['att']:+.3f} log points, "
                  f"se {row['se']:.3f})")
        bound = (f"changes larger than {row['equivalence_bound']:.3f} log points "
                 f"(about {row['equivalence_bound_pct']:.1f}% up, "
                 f"{-_percent(-row['equivalence_bound']):.1f}% down)")
        mde = f"{row['mde']:.3f} log points (about {row['mde_pct']:.1f}%)"
    else:
        change = (f"{row['att']:+.3f} ({level} interval {row['ci_lower']:+.3f} to "
                  f"{row['ci_upper']:+.3f}; se {row['se']:.3f})")
        bound = f"changes larger than {row['equivalence_bound']:.3f} in absolute value"
        mde = f"{row['mde']:.3f}"
    event = EVENTS.get(plan["regime"], "treatment")
    covers_zero = row["ci_lower"] <= 0 <= row["ci_upper"]
    verdict = ("The interval includes zero: the data do not distinguish the effect "
               "from no change." if covers_zero else
               "The interval excludes zero.")
    return (
        f"**Primary result.** After {event}, {label} changed by {change} "
        f"({row['estimator']}, {int(row['units'])} units). {verdict} "
        f"**What the data rule out.** Two one-sided tests at 5% reject {bound} "
        f"(the equivalence bound, the largest limit of the 90% interval). "
        f"With this standard error, a true effect of {mde} would be detected "
        f"with 80% probability by a two-sided 5% test (the minimum detectable "
        f"effect); smaller effects could easily go unseen."
        + _caveats(evaluation, plan, row, folder)
    )


def _caveats(evaluation: str, plan: dict, row: pd.Series, folder) -> str:
    """What qualifies the bounds: a wider randomization spread, thin cells."""
    names = _names(evaluation, folder)
    primary = plan["primary"]
    text = ""
    if f"{primary}__randomization" in names:
        spread = float(load_result(evaluation, f"{primary}__randomization", folder)
                       .tidy()["draw"].std(ddof=1))
        if spread > 1.25 * row["se"]:
            power = power_summary(row["att"], spread, alpha=plan["alpha"])
            text += (
                f" **Caution.** Re-estimated under random re-assignments of the "
                f"activation dates, the same estimate varies with standard "
                f"deviation {spread:.3f}, {spread / row['se']:.1f} times its "
                f"standard error. With that spread the equivalence bound would be "
                f"{power.equivalence_bound:.3f} and the minimum detectable effect "
                f"{power.mde:.3f}: the bounds above are the optimistic ones.")
    if f"{primary}__cs_attgt" in names:
        cells = load_result(evaluation, f"{primary}__cs_attgt", folder).tidy()
        post = cells[cells["post"] & cells["att"].notna()]
        thin = post[post["n_control"] < 5]
        if len(thin):
            text += (
                f" {len(thin)} of the {len(post)} post-activation group-time "
                f"effects averaged here compare with fewer than 5 units (as few "
                f"as {int(thin['n_control'].min())}; see the unit counts under "
                "Main results).")
    return text


def cohort_sizes(evaluation: str, folder: Path | str | None = None) -> pd.DataFrame:
    """Units per activation cohort in the primary estimation sample.

    ``role`` says whether the cohort is treated in the window or serves as
    the comparison group (recoded to ``gname`` 0).
    """
    plan = load_result(evaluation, "summary", folder).record["plan"]
    sample = load_result(evaluation, f"{plan['primary']}__sample", folder).tidy()
    units = sample.drop_duplicates("unit")
    table = units.groupby(["cohort", "gname"]).size().rename("units").reset_index()
    table["role"] = table["gname"].map(
        lambda g: "comparison (untreated in window)" if g == 0 else "treated")
    return table.drop(columns="gname")


def coverage_grid(
    panel: pd.DataFrame, plan: dict, sample_units: set, label_col: str | None = None
) -> pd.DataFrame:
    """Unit x year grid of the primary outcome in the plan's window.

    Cells: ``"ok"`` usable, ``"partial"`` (fewer than 12 months reported),
    ``"missing"`` (no positive rate), blank where the panel has no row. The
    last column says whether the unit is in the estimation sample.
    """
    unit, outcome = plan["unit_col"], plan["primary"]
    frame = panel[(panel["year"] >= plan["first_year"])
                  & (panel["year"] <= plan["last_year"])].copy()
    status = pd.Series("ok", index=frame.index)
    # Nullable columns compare to <NA>: a missing rate is not positive.
    positive = (frame[outcome] > 0).fillna(False).astype(bool)
    status[~positive] = "missing"
    full = plan.get("full_year_column")
    if full:
        partial = ~frame[full].eq(True).fillna(False).astype(bool)
        status[partial & positive] = "partial"
    frame["status"] = status
    index = [unit] if label_col is None else [unit, label_col]
    grid = frame.pivot_table(index=index, columns="year", values="status",
                             aggfunc="first").fillna("")
    # Saved samples come back from CSV, where a FIPS code loses its leading
    # zero: compare ids without leading zeros.
    wanted = {str(u).lstrip("0") for u in sample_units}
    ids = [key[0] if isinstance(key, tuple) else key for key in grid.index]
    grid["in_sample"] = ["yes" if str(u).lstrip("0") in wanted else "no"
                         for u in ids]
    grid.columns = [str(c) for c in grid.columns]
    return grid


def sources_table(evaluation: str, folder: Path | str | None = None) -> pd.DataFrame:
    """Raw files behind an evaluation with their sha256, publisher and licence."""
    hashes = load_result(evaluation, "summary", folder).record["raw_sha256"]
    manifest = pd.read_csv(paths.manifest_path(), dtype=str)
    manifest["key"] = manifest["source"] + "/" + manifest["file"]
    rows = []
    for key, sha in sorted(hashes.items()):
        match = manifest[(manifest["key"] == key) | (manifest["file"] == key)]
        info = match.iloc[0] if len(match) else None
        rows.append({"file": key, "sha256": sha,
                     "matches_manifest": bool(len(match))
                     and info["sha256"] == sha,
                     "publisher": "" if info is None else info["publisher"],
                     "licence": "" if info is None else info["licence"]})
    return pd.DataFrame(rows)


def literature_table() -> pd.DataFrame:
    """Published estimates (``data/crosswalks/literature_secure_communities.csv``)."""
    path = paths.project_root() / "data" / "crosswalks" / LITERATURE
    table = pd.read_csv(path)
    missing = table.index[table["source"].isna()].tolist()
    if missing:
        raise ValueError(f"{path}: rows {missing} have no source; every published "
                         "number needs its citation.")
    return table
