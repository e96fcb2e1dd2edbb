"""Saving matplotlib figures the same way in every modality's pictures.

Pictures are drawn on :class:`matplotlib.figure.Figure` objects made
directly (:func:`new_figure`), never through ``pyplot`` and never with
``matplotlib.use``: drawing a picture does not import pyplot, choose or
change the backend, or add to pyplot's figures, so a Jupyter session keeps
its inline plots. PNG files are written by matplotlib's Agg renderer whatever
the backend.
"""
from __future__ import annotations

import sys
from pathlib import Path


def new_figure(**kwargs):
    """A :class:`matplotlib.figure.Figure` not managed by pyplot (``kwargs``: e.g. ``figsize``)."""
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def colormap(name: str):
    """The registered colormap ``name`` (e.g. ``"tab10"``), without pyplot."""
    import matplotlib

    return matplotlib.colormaps[name]


def save_figure(fig, path, title: str = "", dpi: int = 110, **savefig_kwargs) -> Path:
    """Add ``title`` as the figure's suptitle, lay it out tightly, write it to ``path`` and close it.

    Creates the parent folder; returns the path written. ``savefig_kwargs`` go
    to ``fig.savefig`` (e.g. ``bbox_inches="tight"``). A figure made with
    pyplot is also closed there, so that pyplot does not keep it; pyplot is
    never imported here.
    """
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, **savefig_kwargs)
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None and getattr(fig.canvas, "manager", None) is not None:
        pyplot.close(fig)
    return path


__all__ = ["colormap", "new_figure", "save_figure"]
