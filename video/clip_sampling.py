"""Where clips may start: frame-rate normalisation, and skipping static segments and scene cuts.

A clip is ``clip_len`` frames at fixed offsets from its first frame
(:func:`clip_offsets`): ``stride`` decoded frames apart, or at a target rate
``fps`` whatever the file's frame rate (a 30 fps file sampled at 12 fps gives
offsets 0, 3, 5, 8: each clip frame is the decoded frame nearest to its time).

Motion is measured on small gray thumbnails (:func:`thumbnails`: short side
32 pixels, values 0-255) as the mean absolute difference of two frames:

- a clip is **static** when the mean difference between its consecutive
  clip frames is below ``min_motion`` (nothing moves: the pointer learns
  nothing but copying);
- a **scene cut** is a difference between two consecutive frames of the
  sequence above ``scene_cut`` and above ``CUT_RATIO`` times the video's
  median difference (a video whose every frame jumps has no cut: its jumps
  are its motion); a clip spanning one is skipped (its target has no
  counterpart in the references).

:func:`valid_starts` returns the first frames of the clips that pass both checks, from the
thumbnails of a whole video. Training checks each clip it draws on its own frames instead
(:func:`clip_rejection`: nothing but the clip is decoded): the same motion, and a cut is one
of the clip's steps above ``scene_cut`` and above ``CUT_RATIO`` times the median of its other
steps (the clip's own frames stand in for the video's median).
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

THUMBNAIL_SIDE = 32
CUT_RATIO = 3.0


def clip_offsets(clip_len: int, stride: int = 1, fps: Optional[float] = None, source_fps: float = 0.0) -> np.ndarray:
    """(clip_len,) int64 offsets of a clip's frames from its first frame.

    ``fps`` None (or an unknown ``source_fps``): ``stride`` frames apart. Else
    offset k is the frame nearest to time k / fps in a video of ``source_fps``;
    offsets always increase (a video slower than ``fps`` gives consecutive frames).
    """
    if fps is None or source_fps <= 0:
        return stride * np.arange(clip_len, dtype=np.int64)
    offsets = np.floor(np.arange(clip_len) * source_fps / fps + 0.5).astype(np.int64)
    return np.maximum(offsets, np.arange(clip_len))  # never repeat a frame


def sampled_indices(num_frames: int, stride: int = 1, fps: Optional[float] = None, source_fps: float = 0.0) -> np.ndarray:
    """Indices (n,) of a whole video's frames at the clip rate: every ``stride``-th frame, or ``fps`` per second."""
    if fps is None or source_fps <= 0:
        return np.arange(0, num_frames, stride, dtype=np.int64)
    step = max(source_fps / fps, 1.0)
    return np.unique(np.floor(np.arange(0, num_frames / step) * step + 0.5).astype(np.int64).clip(0, num_frames - 1))


def thumbnails(frames: torch.Tensor, side: int = THUMBNAIL_SIDE) -> torch.Tensor:
    """(T, 3, H, W) uint8 or float in [0, 1] frames -> (T, h, w) float gray in [0, 255], short side ``side``."""
    if frames.ndim != 4 or frames.shape[1] != 3:
        raise ValueError(f"frames must have shape (T, 3, H, W), got {tuple(frames.shape)}")
    gray = frames.float().mean(1, keepdim=True)
    gray = gray if frames.dtype == torch.uint8 else gray * 255.0
    h, w = frames.shape[-2:]
    scale = min(1.0, side / min(h, w))
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    return F.interpolate(gray, size=size, mode="area")[:, 0] if size != (h, w) else gray[:, 0]


def frame_jumps(thumbs: torch.Tensor) -> np.ndarray:
    """(T-1,) mean absolute difference between consecutive thumbnails (T, h, w)."""
    if len(thumbs) < 2:
        return np.zeros(0)
    return (thumbs[1:] - thumbs[:-1]).abs().mean((1, 2)).numpy().astype(np.float64)


def clip_motion(thumbs: torch.Tensor, offsets: np.ndarray) -> np.ndarray:
    """(S,) mean over a clip's consecutive frame pairs of their mean absolute difference, for
    every start s in [0, S) with S = T - offsets[-1] (the clips that fit)."""
    count = len(thumbs) - int(offsets[-1])
    if count <= 0:
        return np.zeros(0)
    total = torch.zeros(count)
    for a, b in zip(offsets[:-1], offsets[1:]):
        total += (thumbs[b : b + count] - thumbs[a : a + count]).abs().mean((1, 2))
    return (total / max(1, len(offsets) - 1)).numpy().astype(np.float64)


def crosses_cut(jumps: np.ndarray, span: int, scene_cut: float) -> np.ndarray:
    """(S,) bool: the clip of ``span`` frames starting at s holds a scene cut (S = len(jumps) + 2 - span).

    A cut is a jump above ``scene_cut`` and above ``CUT_RATIO`` times the median of ``jumps`` (T-1,).
    """
    count = len(jumps) + 2 - span
    if count <= 0:
        return np.zeros(0, dtype=bool)
    if scene_cut <= 0 or span < 2:
        return np.zeros(count, dtype=bool)
    cut = (jumps > scene_cut) & (jumps > CUT_RATIO * np.median(jumps))
    cuts = np.concatenate([[0], np.cumsum(cut)])
    return (cuts[span - 1 : span - 1 + count] - cuts[:count]) > 0


def valid_starts(thumbs: torch.Tensor, offsets: np.ndarray, min_motion: float = 0.0, scene_cut: float = 0.0) -> np.ndarray:
    """First frames (int64, increasing) of the clips with ``offsets`` that move (clip motion >=
    ``min_motion``) and hold no scene cut (:func:`crosses_cut`); 0 turns a check off.

    Args:
        thumbs: (T, h, w) gray thumbnails of every frame (:func:`thumbnails`).
        offsets: (clip_len,) frame offsets (:func:`clip_offsets`).
    """
    span = int(offsets[-1]) + 1
    count = len(thumbs) - span + 1
    if count <= 0:
        return np.zeros(0, dtype=np.int64)
    ok = ~crosses_cut(frame_jumps(thumbs), span, scene_cut)
    if min_motion > 0:
        ok &= clip_motion(thumbs, offsets) >= min_motion
    return np.flatnonzero(ok).astype(np.int64)


def clip_rejection(thumbs: torch.Tensor, min_motion: float = 0.0, scene_cut: float = 0.0) -> Optional[str]:
    """Why a clip is not trained on, from the thumbnails (T, h, w) of its own frames; None when it is usable.

    ``"static"``: the mean difference between its consecutive frames is below ``min_motion``;
    ``"across a scene cut"``: its largest step is above ``scene_cut`` and above ``CUT_RATIO`` times the
    median of its other steps (a two-frame clip: above ``scene_cut``). 0 turns a check off.
    """
    jumps = frame_jumps(thumbs)
    if len(jumps) == 0:
        return None
    if scene_cut > 0:
        largest = int(np.argmax(jumps))
        others = np.delete(jumps, largest)
        if jumps[largest] > scene_cut and (len(others) == 0 or jumps[largest] > CUT_RATIO * np.median(others)):
            return "across a scene cut"
    if min_motion > 0 and jumps.mean() < min_motion:
        return "static"
    return None


def spread(starts: np.ndarray, count: int) -> np.ndarray:
    """Up to ``count`` of ``starts`` evenly spread from the first to the last (deterministic)."""
    if len(starts) <= count:
        return np.asarray(starts, dtype=np.int64)
    picks = np.unique(np.round(np.linspace(0, len(starts) - 1, count)).astype(np.int64))
    return np.asarray(starts, dtype=np.int64)[picks]


__all__ = ["CUT_RATIO", "THUMBNAIL_SIDE", "clip_motion", "clip_offsets", "clip_rejection", "crosses_cut", "frame_jumps", "sampled_indices", "spread",
           "thumbnails", "valid_starts"]
