"""Warnings and errors raised by the toolkit.

Every warning the library emits derives from :class:`AnalysisWarning`, so a
user can filter all of them, or one kind, with the standard ``warnings``
machinery. Input problems raise :class:`ValueError` subclasses whose message
names the file, column, row or unit and says how to fix it.
"""

from __future__ import annotations


class AnalysisWarning(UserWarning):
    """Base class of every warning emitted by :mod:`analysis`."""


class DroppedRowsWarning(AnalysisWarning):
    """Rows were removed from a table; the message gives the count and reason."""


class RecodedValuesWarning(AnalysisWarning):
    """Values were changed by a stated rule; the message gives the count."""


class CodingConflictWarning(AnalysisWarning):
    """Two encodings of the same fact disagree and a stated rule picked one."""


class FewClustersWarning(AnalysisWarning):
    """Cluster-robust inference with too few clusters to trust the asymptotics."""


class UnverifiedDataWarning(AnalysisWarning):
    """A file was read without checking it against the data manifest."""


class DataIntegrityError(ValueError):
    """A shipped file does not match the sha256 recorded in the manifest."""


class SchemaValidationError(ValueError):
    """A table failed its schema; the message names the file, column and rows."""


class LedgerImbalanceError(RuntimeError):
    """An audit-ledger step does not satisfy rows in = rows out + rows removed."""


class CellEstimationWarning(AnalysisWarning):
    """An estimator cell (e.g. one ATT(g, t)) could not be estimated; set to NaN."""


class SmallGroupWarning(AnalysisWarning):
    """An estimate rests on very few treated or comparison units."""
