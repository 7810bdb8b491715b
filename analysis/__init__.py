"""Auditable evaluations of immigration-enforcement cooperation and public safety.

Data flows one way: ``analysis.sources`` (hash-checked raw files to typed
tables) -> ``analysis.panels`` (unit x period panels with ledgers) ->
``analysis.regimes`` (first treated period per unit) -> ``analysis.did``
(estimators) -> ``analysis.evaluate`` (saved results) -> ``analysis.report``
(figures and HTML reports from saved results).
"""

from analysis.io import Panel, read_panel, write_panel
from analysis.ledger import Ledger

__all__ = ["Ledger", "Panel", "read_panel", "write_panel"]
__version__ = "0.1.0"
