"""Difference-in-differences estimators for staggered adoption.

Each estimator lives in its own module; this file only re-exports them.

- :func:`att_gt`: Callaway and Sant'Anna (2021) group-time effects and their
  aggregations (validated against R ``did``).
- :func:`twfe`: static and event-study two-way fixed effects.
- :func:`sun_abraham`: Sun and Abraham (2021) interaction-weighted estimator.
- :func:`two_stage`: Gardner (2022) two-stage DiD.
- :func:`poisson_etwfe`: Wooldridge (2023) extended TWFE Poisson for counts,
  with an exposure offset.
- :func:`bacon`: Goodman-Bacon (2021) decomposition of static TWFE.
- :func:`pretrend_test`: joint Wald test of the pre-period estimates.
- :func:`honest_did`: Rambachan and Roth (2023) sensitivity bounds.
- :func:`wild_bootstrap_twfe`, :func:`wild_cluster_bootstrap`: wild cluster
  restricted bootstrap for few clusters.
"""

from analysis.did.attgt import att_gt
from analysis.did.bacon import BaconResult, bacon
from analysis.did.honest import HonestResult, honest_did
from analysis.did.poisson import PoissonETWFEResult, poisson_etwfe
from analysis.did.pretrend import PretrendTest, pretrend_test
from analysis.did.results import AggregateResult, ATTgtResult
from analysis.did.sun_abraham import SunAbrahamResult, sun_abraham
from analysis.did.twfe import TWFEResult, twfe
from analysis.did.two_stage import TwoStageResult, two_stage
from analysis.did.wild import (
    WildBootstrapResult,
    wild_bootstrap_twfe,
    wild_cluster_bootstrap,
)

__all__ = [
    "AggregateResult",
    "ATTgtResult",
    "BaconResult",
    "HonestResult",
    "PoissonETWFEResult",
    "PretrendTest",
    "SunAbrahamResult",
    "TWFEResult",
    "TwoStageResult",
    "WildBootstrapResult",
    "att_gt",
    "bacon",
    "honest_did",
    "poisson_etwfe",
    "pretrend_test",
    "sun_abraham",
    "two_stage",
    "twfe",
    "wild_bootstrap_twfe",
    "wild_cluster_bootstrap",
]
