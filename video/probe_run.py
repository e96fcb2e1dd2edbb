"""Probing a trained colorizer run: label propagation on a DAVIS-layout folder, the library path behind
``multissl video probe``, and the per-frame features of a run."""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, Optional, Sequence

import numpy as np
import torch

PROBE_METHODS = ("model", "copy_first", "pixels", "random")
ALL_METHODS = ("model", "copy_first", "pixels", "pixels_lab", "random")


def baseline_methods(run, names: Sequence[str], short_side: int) -> dict:
    """{name: feature function} of the named methods for a run (model, copy_first: None, pixels, pixels_lab, random:
    ``run.initial``, the run's network at the weights its training started from)."""
    from .tracking import model_features, pixel_features

    makers = {
        "model": lambda: model_features(run.model, short_side),
        "copy_first": lambda: None,
        "pixels": lambda: pixel_features(short_side),
        "pixels_lab": lambda: pixel_features(short_side, patches=False),
        "random": lambda: model_features(run.initial, short_side, video_statistics=True),
    }
    unknown = sorted(set(names) - set(makers))
    if unknown:
        raise ValueError(f"unknown video probe method(s) {unknown}; choose from {list(ALL_METHODS)}")
    return {name: makers[name]() for name in names}


def probe_run(run: Any, data: Any, *, methods: Sequence[str] = PROBE_METHODS, short_side: Optional[int] = None,
              split: Optional[str] = None, resolution: Optional[str] = None, progress: Optional[bool] = None,
              verbose: bool = True, **propagation: Any) -> Dict[str, Dict[str, object]]:
    """J&F of the run's label propagation on the DAVIS-layout folder ``data``, beside the baselines.

    Args:
        run: a :class:`~multissl.video.training.ColorizerRun` or its folder (``multissl video train -o DIR``).
        data: a folder with ``JPEGImages/<resolution>/<seq>`` and ``Annotations/<resolution>/<seq>``.
        methods: what to score: ``model`` (the run), ``copy_first``, ``pixels``, ``pixels_lab``, ``random``
            (``run.initial``: the run's network at its initial weights, rebuilt from the run's seed).
        short_side: frame size the features see (default: the run's ``eval_short_side``).
        split, resolution: the ImageSets split and the resolution folder (default: every sequence; 480p,
            Full-Resolution or 1080p, whichever exists).
        **propagation: fields of :class:`~multissl.video.propagation.PropagationConfig` replacing the run's.
    Returns:
        ``{method: {"J": ..., "F": ..., "J&F": ..., per-sequence scores, "skipped": {...}}}``.
    """
    from .tracking import evaluate_davis
    from .training import load_run

    run = run if hasattr(run, "propagation") else load_run(run)
    config = dataclasses.replace(run.propagation, **propagation)
    feature_fns = baseline_methods(run, methods, short_side or run.eval_short_side)
    return evaluate_davis(data, feature_fns, config, split=split, verbose=verbose, progress=progress, resolution=resolution)


@torch.no_grad()
def features(run_or_model: Any, frames: Any, short_side: Optional[int] = None) -> torch.Tensor:
    """Per-frame features of a colorizer or a run (its ``.model``): ``frames`` (T, H, W, 3) uint8 RGB (a NumPy array,
    as readers give them) or (T, 3, H, W) float RGB in [0, 1] -> (T, D, h, w) float32 on the CPU, the embeddings
    the pointer compares (h, w = the frame size resized to ``short_side``, default the run's evaluation size or
    the frames' own, over the network's stride 8)."""
    from .tracking import model_features

    model = getattr(run_or_model, "model", run_or_model)
    if isinstance(frames, torch.Tensor):
        if frames.ndim != 4 or frames.shape[1] != 3:
            raise ValueError(f"frames must have shape (T, 3, H, W) (float RGB in [0, 1]), got {tuple(frames.shape)}")
        frames = (frames.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must have shape (T, H, W, 3) uint8 RGB or (T, 3, H, W) float, got {frames.shape}")
    side = short_side or getattr(run_or_model, "eval_short_side", None) or min(frames.shape[1:3])
    return model_features(model, side)(frames)


__all__ = ["ALL_METHODS", "PROBE_METHODS", "baseline_methods", "features", "probe_run"]
