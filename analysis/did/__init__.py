"""Difference-in-differences estimators for staggered adoption.

Each estimator lives in its own module; this file only re-exports them.
"""

from analysis.did.attgt import att_gt
from analysis.did.results import AggregateResult, ATTgtResult

__all__ = ["att_gt", "ATTgtResult", "AggregateResult"]

from analysis.did.bacon import BaconResult, bacon  # noqa: E402
from analysis.did.pretrend import PretrendTest, pretrend_test  # noqa: E402
from analysis.did.sun_abraham import SunAbrahamResult, sun_abraham  # noqa: E402
from analysis.did.twfe import TWFEResult, twfe  # noqa: E402

__all__ += [
    "BaconResult",
    "PretrendTest",
    "SunAbrahamResult",
    "TWFEResult",
    "bacon",
    "pretrend_test",
    "sun_abraham",
    "twfe",
]

from analysis.did.two_stage import TwoStageResult, two_stage  # noqa: E402

__all__ += ["TwoStageResult", "two_stage"]

from analysis.did.poisson import PoissonETWFEResult, poisson_etwfe  # noqa: E402
from analysis.did.wild import (  # noqa: E402
    WildBootstrapResult,
    wild_bootstrap_twfe,
    wild_cluster_bootstrap,
)

__all__ += [
    "PoissonETWFEResult",
    "WildBootstrapResult",
    "poisson_etwfe",
    "wild_bootstrap_twfe",
    "wild_cluster_bootstrap",
]

from analysis.did.honest import HonestResult, honest_did  # noqa: E402

__all__ += ["HonestResult", "honest_did"]
