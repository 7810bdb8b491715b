"""Estimators for few treated units: synthetic control, synthetic DiD, inference.

Each estimator lives in its own module; this file only re-exports them.

- :func:`synthetic_control` (:mod:`~analysis.synth.sc`): one treated unit
  against a convex combination of donors, exact simplex-constrained weights.
- :func:`synthdid_estimate` (:mod:`~analysis.synth.sdid`): synthetic
  difference-in-differences (Arkhangelsky et al. 2021), with the synthetic
  control and DiD special cases; :func:`panel_matrix` builds its input.
- :func:`placebo_in_space` (:mod:`~analysis.synth.placebo`): every donor
  treated in turn; rank p-values and the placebo standard error.
- :func:`staggered_randomization` (:mod:`~analysis.synth.ri`): randomization
  inference over adoption dates for the Callaway-Sant'Anna simple ATT,
  through :func:`analysis.robustness.randomization_inference`, with the test
  inverted into an interval.
- :func:`simplex_least_squares`: the exact solver behind the weights.
"""

from analysis.synth._simplex import simplex_least_squares
from analysis.synth.placebo import PlaceboResult, placebo_in_space
from analysis.synth.ri import (
    CSAdoptionStatistic,
    StaggeredRandomization,
    staggered_randomization,
)
from analysis.synth.sc import SyntheticControlResult, synthetic_control
from analysis.synth.sdid import SynthDiDResult, panel_matrix, synthdid_estimate
from analysis.synth.staggered import cs_simple_att, twfe_static

__all__ = [
    "CSAdoptionStatistic",
    "PlaceboResult",
    "StaggeredRandomization",
    "SynthDiDResult",
    "SyntheticControlResult",
    "cs_simple_att",
    "panel_matrix",
    "placebo_in_space",
    "simplex_least_squares",
    "staggered_randomization",
    "synthdid_estimate",
    "synthetic_control",
    "twfe_static",
]
