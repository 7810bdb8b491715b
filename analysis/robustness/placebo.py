"""Placebo tests with fake adoption dates, on pre-treatment data only.

Every treated cohort is moved ``shift`` periods earlier and every row from a
unit's real adoption on is removed, so the "effect" estimated is that of a
date on which nothing happened. Under parallel trends and no anticipation it
is zero; a clearly non-zero placebo estimate signals diverging trends (or
anticipation) that would bias the real estimate too.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from analysis.ledger import Ledger

__all__ = ["placebo_data", "placebo_tests"]


def placebo_data(
    data: pd.DataFrame,
    *,
    idname: str,
    tname: str,
    gname: str,
    shift: int,
    ledger: Ledger | None = None,
) -> pd.DataFrame:
    """The placebo sample: real pre-treatment rows with cohorts moved earlier.

    Parameters
    ----------
    data
        Long panel with integer, evenly spaced periods (years, or month
        indexes ``year * 12 + month - 1``).
    idname, tname, gname
        Unit id, period and first treated period (0 = never treated).
    shift
        Periods by which each treated cohort's date moves earlier (>= 1).
    ledger
        Records the rows removed; a new one when omitted.

    Returns
    -------
    pandas.DataFrame
        ``data`` without the rows at or after each unit's real adoption, with
        ``gname`` replaced by ``gname - shift`` for treated units (never-
        treated units keep 0). Units whose fake date falls on or before the
        first period (no fake pre-period left) are dropped, with a
        :class:`~analysis.errors.DroppedRowsWarning`. The result is usually
        unbalanced: estimate with a method that allows it.
    """
    if int(shift) != shift or shift < 1:
        raise ValueError(f"shift={shift!r} must be a positive integer number of "
                         "periods.")
    for column in (idname, tname, gname):
        if column not in data.columns:
            raise ValueError(f"column {column!r} not in data.")
    ledger = ledger if ledger is not None else Ledger(f"placebo shift {shift}")
    cohort = data[gname].to_numpy()
    treated = cohort > 0

    post = treated & (data[tname].to_numpy() >= cohort)
    frame = ledger.drop(data, pd.Series(post, index=data.index),
                        "placebo: real post-treatment",
                        "row at or after the unit's real adoption", warn=False)

    first = frame[tname].min()
    fake = np.where(frame[gname] > 0, frame[gname] - shift, 0)
    no_pre = pd.Series((fake > 0) & (fake <= first), index=frame.index)
    frame = ledger.drop(frame, no_pre, "placebo: no fake pre-period",
                        f"fake adoption on or before the first period {first}",
                        id_columns=[idname], stacklevel=3)
    frame = frame.copy()
    frame[gname] = np.where(frame[gname] > 0, frame[gname] - shift, 0).astype(
        data[gname].dtype)
    if not (frame[gname] > 0).any():
        raise ValueError(f"placebo shift {shift}: no treated unit keeps a fake "
                         "pre-period; use a smaller shift or a longer window.")
    return frame.reset_index(drop=True)


def placebo_tests(data: pd.DataFrame, estimator, *, idname: str, tname: str,
                  gname: str, shifts=(1, 2, 3)) -> pd.DataFrame:
    """Estimate the effect of fake adoption dates, one row per shift.

    Parameters
    ----------
    data
        Long panel (see :func:`placebo_data`).
    estimator
        ``estimator(frame) -> dict`` with at least ``estimate`` and, where
        available, ``se``, ``ci_lower``, ``ci_upper``, ``p_value``,
        ``n_units``, ``n_obs`` (see
        :func:`analysis.robustness.estimates.overall_effect`).
    idname, tname, gname
        Unit id, period and first treated period.
    shifts
        Fake leads to test.

    Returns
    -------
    pandas.DataFrame
        ``shift``, the estimator's fields, ``rows`` (placebo sample size),
        ``treated_units`` (units with a fake date), and ``n_warnings`` and
        ``warnings``: the distinct warnings the estimator raised, recorded
        here instead of printed.
    """
    rows = []
    for shift in shifts:
        frame = placebo_data(data, idname=idname, tname=tname, gname=gname,
                             shift=shift)
        # Cells of a fake cohort at or after its real adoption have no rows
        # by construction, so estimators warn about them on every shift; the
        # messages are kept in the row rather than repeated on the console.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            estimate = estimator(frame)
        messages = sorted({str(w.message) for w in caught})
        rows.append({
            "shift": int(shift), **estimate, "rows": len(frame),
            "treated_units": int(frame.loc[frame[gname] > 0, idname].nunique()),
            "n_warnings": len(messages), "warnings": " | ".join(messages),
        })
    return pd.DataFrame(rows)
