"""Regenerate tests/reference/did_unbalanced_reference.json.

Run from the repository root with the peer packages installed (test-only
references; not needed by the tests themselves):

    pip install csdid==0.4.3 moderndid==0.2.0
    python tests/reference/make_did_unbalanced_reference.py

The unbalanced panel is mpdta with the rows listed under ``dropped_rows``
removed (drawn once with numpy.random.default_rng(5), about 15% of rows) and
a time-varying covariate ``z = lpop + 0.2 sin(countyreal * year)``.

* ``csdid``: csdid 0.4.3 (Python port of R did), ``ATTgt(...,
  allow_unbalanced_panel=True).fit(est_method, bstrap=False)`` and
  ``aggte(kind, bstrap=False)``: ATT(g, t), analytic standard errors and
  overall aggregates for dr, ipw and reg, never and not-yet treated, with no
  covariates and with ``~ z`` (varying base period); and for dr without
  covariates with a universal base period and anticipation 0 and 1; and
  the same rows as repeated cross sections (``panel=False``, each row its
  own unit) for dr, ipw and reg without and with ``~ z``.
* ``moderndid_2x2``: moderndid 0.2.0's ports of R DRDID ``drdid_rc``,
  ``std_ipw_did_rc`` and ``reg_did_rc`` on one repeated cross-section 2x2
  (cohort 2004 against never treated, 2003 and 2004 rows of the unbalanced
  panel, covariates 1 and z, weights 1 + (countyreal mod 3) / 2).
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests/reference/did_unbalanced_reference.json"


def unbalanced_mpdta():
    mpdta = pd.read_csv(ROOT / "data/raw/mpdta/mpdta.csv")
    dropped = np.random.default_rng(5).random(len(mpdta)) <= 0.15
    kept = mpdta[~dropped].reset_index(drop=True)
    kept = kept.assign(z=kept.lpop + 0.2 * np.sin(kept.countyreal * kept.year))
    pairs = mpdta.loc[dropped, ["countyreal", "year"]].to_numpy().tolist()
    return kept, pairs


DESIGNS = [
    {"xformla": covariate, "est_method": est_method, "control_group": control_group,
     "base_period": "varying", "anticipation": 0, "panel": True}
    for covariate in (None, "z") for est_method in ("dr", "ipw", "reg")
    for control_group in ("nevertreated", "notyettreated")
] + [
    {"xformla": None, "est_method": "dr", "control_group": control_group,
     "base_period": "universal", "anticipation": anticipation, "panel": True}
    for anticipation in (0, 1) for control_group in ("nevertreated", "notyettreated")
] + [
    {"xformla": covariate, "est_method": est_method, "control_group": "nevertreated",
     "base_period": "varying", "anticipation": 0, "panel": False}
    for covariate in (None, "z") for est_method in ("dr", "ipw", "reg")
]


def csdid_results(data):
    from csdid.att_gt import ATTgt

    # csdid wants a unique id with panel=False (and reserves "rowid").
    data = data.rename(columns={"first.treat": "g"}).assign(obs=np.arange(len(data)))
    out = []
    for design in DESIGNS:
        covariate = design["xformla"]
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            fitted = ATTgt(
                yname="lemp", tname="year", gname="g", data=data,
                idname="countyreal" if design["panel"] else "obs",
                control_group=design["control_group"],
                xformla=None if covariate is None else f"lemp ~ {covariate}",
                anticipation=design["anticipation"], panel=design["panel"],
                allow_unbalanced_panel=design["panel"],
            ).fit(est_method=design["est_method"],
                  base_period=design["base_period"], bstrap=False)
            cells = fitted.results
            aggregates = {}
            for kind in ("simple", "group", "dynamic"):
                fitted.aggte(kind, bstrap=False)
                aggregates[kind] = {"att": float(fitted.atte["overall_att"]),
                                    "se": float(fitted.atte["overall_se"])}
        out.append({
            **design,
            "xformla": None if covariate is None else f"~ {covariate}",
            "attgt": [
                {"group": int(g), "time": int(t), "att": float(a), "se": float(s)}
                for g, t, a, s in zip(cells["group"], cells["year"], cells["att"],
                                      cells["se"])
            ],
            "aggregate": aggregates,
        })
    return out


def moderndid_2x2(data):
    import moderndid

    cell = data[data["first.treat"].isin([0, 2004]) & data.year.isin([2003, 2004])]
    arguments = {
        "y": cell.lemp.to_numpy(), "post": (cell.year == 2004).to_numpy(float),
        "d": (cell["first.treat"] == 2004).to_numpy(float),
        "covariates": np.column_stack([np.ones(len(cell)), cell.z]),
        "i_weights": 1 + (cell.countyreal % 3).to_numpy(float) / 2,
        "influence_func": True,
    }
    out = {}
    for method, function in (("dr", moderndid.drdid_rc),
                             ("ipw", moderndid.std_ipw_did_rc),
                             ("reg", moderndid.reg_did_rc)):
        result = function(**arguments)
        out[method] = {"att": float(result.att), "se": float(result.se)}
    return out


def main():
    data, pairs = unbalanced_mpdta()
    reference = {
        "description": __doc__,
        "tolerance": {"att": 1e-10, "se": 1e-10},
        "dropped_rows": pairs,
        "csdid": csdid_results(data),
        "moderndid_2x2": moderndid_2x2(data),
    }
    OUT.write_text(json.dumps(reference, indent=1) + "\n")


if __name__ == "__main__":
    main()
