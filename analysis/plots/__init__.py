"""Figures: event studies, treatment rollout, and saving them reproducibly."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from analysis import paths


def save_figure(figure: plt.Figure, name: str, folder: Path | str | None = None):
    """Save ``figure`` as ``figures/<name>.png`` with byte-stable metadata.

    The PNG's metadata carries no software version or date, so the same
    numbers give the same file.
    """
    folder = Path(folder) if folder is not None else paths.figures_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.png"
    figure.savefig(target, dpi=120, bbox_inches="tight", metadata={"Software": None})
    return target
