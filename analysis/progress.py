"""Progress bars for long work, silent when stderr is not a terminal.

One place decides when a bar is drawn, so estimators (the multiplier
bootstrap) and the parallel runner behave alike: by default a bar appears
only on a terminal and only for work lasting more than ``delay`` seconds, so
logs, notebooks and tests stay clean.
"""

from __future__ import annotations

import sys

from tqdm import tqdm

__all__ = ["progress_bar"]


def progress_bar(total: int, description: str = "", progress: bool | None = None,
                 *, delay: float = 0.5):
    """A tqdm bar on stderr; ``progress=None`` shows it only on a terminal.

    Parameters
    ----------
    total
        Number of steps.
    description
        Text before the bar.
    progress
        True always shows the bar, False never, None (default) only when
        stderr is a terminal.
    delay
        Seconds before the bar first appears (short work shows none).
    """
    disable = None if progress is None else not progress
    return tqdm(total=total, desc=description or None, disable=disable,
                file=sys.stderr, leave=False, dynamic_ncols=True, delay=delay)
