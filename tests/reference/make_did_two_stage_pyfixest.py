"""Regenerate the pyfixest ``did2s`` reference numbers for test_did_two_stage.

Run from the repository root with pyfixest installed (0.60.0 was used):

    .venv/bin/python tests/reference/make_did_two_stage_pyfixest.py

It writes ``did_two_stage_synthetic.csv`` (an unbalanced staggered panel with
a coarser cluster column) and ``did_two_stage_pyfixest.json``. pyfixest
drops singleton fixed effects in stage 1, so mpdta's 2004 cohort (one
untreated year per county) is left out of the mpdta cases.
"""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyfixest as pf

HERE = Path(__file__).parent
warnings.simplefilter("ignore")


def synthetic(seed=20261203, n_units=80, n_periods=8):
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(n_units), n_periods)
    period = np.tile(np.arange(2010, 2010 + n_periods), n_units)
    cohort = rng.choice([0, 2013, 2015, 2016], n_units)[unit]
    post = (cohort > 0) & (period >= cohort)
    effect = post * (0.5 + 0.3 * (period - cohort) + 0.2 * (cohort == 2013))
    frame = pd.DataFrame({
        "id": unit, "t": period, "g": cohort,
        "y": rng.normal(size=n_units)[unit] + 0.2 * (period - 2010)
        + rng.normal(size=len(unit)) + effect,
        "w": rng.uniform(0.5, 2.0, n_units)[unit],
        "state": unit % 23,
    })
    keep = rng.uniform(size=len(frame)) > 0.1
    return frame[keep].reset_index(drop=True).round(8)


def did2s(frame, y, t, i, g, *, event_study, cluster, weights=None):
    data = frame.copy()
    data["treat"] = (data[g] > 0) & (data[t] >= data[g])
    data["D"] = data["treat"].astype(float)
    data["rel"] = np.where(data[g] > 0, data[t] - data[g], -1).astype(float)
    fit = pf.did2s(
        data, yname=y, first_stage=f"~0|{i}+{t}",
        second_stage="~i(rel, ref=-1.0)" if event_study else "~D",
        treatment="treat", cluster=cluster, weights=weights,
    )
    table = fit.tidy()
    return {"att": table["Estimate"].tolist(), "se": table["Std. Error"].tolist(),
            "terms": [str(name) for name in table.index]}


def main():
    panel = synthetic()
    panel.to_csv(HERE / "did_two_stage_synthetic.csv", index=False)
    mpdta = pd.read_csv(HERE.parents[1] / "data/raw/mpdta/mpdta.csv")
    mpdta = mpdta[mpdta["first.treat"] != 2004].rename(columns={"first.treat": "g"})
    mp = ("lemp", "year", "countyreal", "g")
    sy = ("y", "t", "id", "g")
    cases = {
        "mpdta_static": did2s(mpdta, *mp, event_study=False, cluster="countyreal"),
        "mpdta_event": did2s(mpdta, *mp, event_study=True, cluster="countyreal"),
        "synthetic_event_state_weighted": did2s(
            panel, *sy, event_study=True, cluster="state", weights="w"),
        "synthetic_static_state": did2s(panel, *sy, event_study=False,
                                        cluster="state"),
    }
    cases["_source"] = (f"pyfixest {pf.__version__} did2s, first_stage='~0|id+t', "
                        "second_stage '~D' or '~i(rel, ref=-1.0)'")
    (HERE / "did_two_stage_pyfixest.json").write_text(json.dumps(cases, indent=1))


if __name__ == "__main__":
    main()
