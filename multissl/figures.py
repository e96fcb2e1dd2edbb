"""Saving matplotlib figures the same way in every modality's pictures."""
from __future__ import annotations

from pathlib import Path


def save_figure(fig, path, title: str = "", dpi: int = 110) -> Path:
    """Add ``title`` as the figure's suptitle, lay it out tightly, write it to ``path`` and close it.

    Creates the parent folder; returns the path written.
    """
    import matplotlib.pyplot as plt

    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


__all__ = ["save_figure"]
