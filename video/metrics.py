"""DAVIS metrics: region similarity J, boundary accuracy F and their statistics.

Follows the DAVIS protocol (Perazzi et al. 2016, Pont-Tuset et al. 2017):

- J: intersection over union of the predicted and true object masks; 1 when
  both are empty.
- F: the F-measure of boundary precision and recall. A boundary pixel is a
  pixel whose label differs from its right, lower or lower-right neighbour
  (:func:`boundary_map`); a predicted boundary pixel counts as correct when a
  true boundary pixel lies within ``ceil(0.008 * image diagonal)`` pixels
  (boundaries are dilated with a disk of that radius), and vice versa.
- Statistics over the frames of one object: mean, recall (fraction of
  frames above 0.5) and decay (mean of the first quarter of the frames
  minus mean of the last quarter, with DAVIS's bin edges
  ``round(linspace(1, N, 5)) - 1``, both ends included).
- The first frame (given) and the last frame are left out, as in the
  official DAVIS 2017 evaluation.
- Void pixels (id 255 in the true mask) count for neither J nor F: they are
  removed from both masks before scoring, as in the official evaluation; 255
  is never an object.

Masks are (H, W) arrays of object ids (0 = background); sequences (T, H, W).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np

from .masks import VOID
from .masks import object_ids as mask_ids

BOUNDARY_THRESHOLD = 0.008


def jaccard(pred: np.ndarray, true: np.ndarray) -> float:
    """IoU of two boolean masks (H, W); 1.0 when both are empty."""
    pred, true = np.asarray(pred, bool), np.asarray(true, bool)
    if pred.shape != true.shape:
        raise ValueError(f"predicted mask {pred.shape} and true mask {true.shape} differ in size")
    union = np.logical_or(pred, true).sum()
    if union == 0:
        return 1.0
    return float(np.logical_and(pred, true).sum() / union)


def boundary_map(mask: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels whose value differs from the right, lower or lower-right neighbour.

    On the last row only the right neighbour is compared, on the last column
    only the lower one; the bottom-right pixel is never a boundary (DAVIS's
    ``seg2bmap`` at the mask's own resolution).
    """
    seg = np.asarray(mask).astype(bool)
    right = np.zeros_like(seg)
    down = np.zeros_like(seg)
    down_right = np.zeros_like(seg)
    right[:, :-1] = seg[:, 1:]
    down[:-1, :] = seg[1:, :]
    down_right[:-1, :-1] = seg[1:, 1:]
    boundary = (seg ^ right) | (seg ^ down) | (seg ^ down_right)
    boundary[-1, :] = seg[-1, :] ^ right[-1, :]
    boundary[:, -1] = seg[:, -1] ^ down[:, -1]
    boundary[-1, -1] = False
    return boundary


def boundary_tolerance(shape: Sequence[int], threshold: float = BOUNDARY_THRESHOLD) -> int:
    """DAVIS's boundary tolerance in pixels: ceil(threshold * image diagonal)."""
    return int(math.ceil(threshold * math.hypot(shape[0], shape[1])))


def _disk(radius: int) -> np.ndarray:
    y, x = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    return x**2 + y**2 <= radius**2


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    from scipy.ndimage import binary_dilation

    return binary_dilation(mask, structure=_disk(radius)) if radius > 0 else mask


def f_measure(pred: np.ndarray, true: np.ndarray, threshold: float = BOUNDARY_THRESHOLD) -> float:
    """Boundary F-measure of two boolean masks (H, W) with the DAVIS tolerance."""
    pred, true = np.asarray(pred, bool), np.asarray(true, bool)
    if pred.shape != true.shape:
        raise ValueError(f"predicted mask {pred.shape} and true mask {true.shape} differ in size")
    radius = boundary_tolerance(pred.shape, threshold)
    pred_b, true_b = boundary_map(pred), boundary_map(true)
    n_pred, n_true = int(pred_b.sum()), int(true_b.sum())
    if n_pred == 0 and n_true == 0:
        return 1.0
    if n_pred == 0 or n_true == 0:
        return 0.0
    precision = float((pred_b & _dilate(true_b, radius)).sum()) / n_pred
    recall = float((true_b & _dilate(pred_b, radius)).sum()) / n_true
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def statistics(values: Sequence[float]) -> Dict[str, float]:
    """mean, recall (fraction > 0.5) and decay (first-quarter mean - last-quarter mean, DAVIS bins)."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        raise ValueError("no frames to score (sequences need at least 3 frames: the first and last are left out)")
    edges = (np.round(np.linspace(1, len(x), 5) + 1e-10) - 1).astype(int)  # DAVIS's four (overlapping) bins
    first, last = x[edges[0] : edges[1] + 1], x[edges[3] : edges[4] + 1]
    return {"mean": float(x.mean()), "recall": float((x > 0.5).mean()), "decay": float(first.mean() - last.mean())}


@dataclass
class SequenceScores:
    """Per-object, per-frame J and F of one sequence (frames scored: 1..T-2)."""

    name: str
    object_ids: List[int]
    J: np.ndarray  # (K, frames)
    F: np.ndarray  # (K, frames)
    objects: Dict[str, Dict[str, Dict[str, float]]] = field(default_factory=dict)

    @property
    def J_mean(self) -> float:
        return float(np.mean([s["J"]["mean"] for s in self.objects.values()]))

    @property
    def F_mean(self) -> float:
        return float(np.mean([s["F"]["mean"] for s in self.objects.values()]))

    @property
    def JF_mean(self) -> float:
        return (self.J_mean + self.F_mean) / 2

    def as_dict(self) -> Dict[str, object]:
        return {"J_mean": self.J_mean, "F_mean": self.F_mean, "JF_mean": self.JF_mean, "objects": self.objects}


def _object_pair(pred: np.ndarray, true: np.ndarray, k: int) -> tuple:
    """Boolean masks of object ``k`` in a predicted and a true frame, void pixels of the true frame removed."""
    valid = true != VOID
    return (pred == k) & valid, (true == k) & valid


def score_sequence(pred: np.ndarray, true: np.ndarray, name: str = "sequence", object_ids: Optional[Sequence[int]] = None,
                   annotated: Optional[np.ndarray] = None) -> SequenceScores:
    """Score predicted masks (T, H, W) against true masks (T, H, W).

    Args:
        object_ids: objects to score (default: those in the first true mask; never the void id 255).
        annotated: (T,) bool, frames that have a true mask (default: all).
    """
    pred, true = np.asarray(pred), np.asarray(true)
    if pred.shape != true.shape:
        raise ValueError(f"{name}: predicted masks {pred.shape} and true masks {true.shape} differ in shape")
    if pred.ndim != 3 or len(pred) < 3:
        raise ValueError(f"{name}: masks must be (T, H, W) with T >= 3, got {pred.shape}")
    ids = [int(i) for i in (mask_ids(true[0]) if object_ids is None else object_ids)]
    if not ids:
        raise ValueError(f"{name}: the first true mask holds no object")
    frames = [t for t in range(1, len(pred) - 1) if annotated is None or annotated[t]]
    if not frames:
        raise ValueError(f"{name}: no annotated frame between the first and the last")
    J = np.array([[jaccard(*_object_pair(pred[t], true[t], k)) for t in frames] for k in ids])
    F = np.array([[f_measure(*_object_pair(pred[t], true[t], k)) for t in frames] for k in ids])
    objects = {str(k): {"J": statistics(J[i]), "F": statistics(F[i])} for i, k in enumerate(ids)}
    return SequenceScores(name, ids, J, F, objects)


def summarize(scores: Sequence[SequenceScores]) -> Dict[str, object]:
    """DAVIS summary over every object of every sequence, plus per-sequence values."""
    if not scores:
        raise ValueError("no sequences were scored")
    per_object = [o for s in scores for o in s.objects.values()]
    summary: Dict[str, object] = {}
    for metric in ("J", "F"):
        for stat in ("mean", "recall", "decay"):
            summary[f"{metric}_{stat}"] = float(np.mean([o[metric][stat] for o in per_object]))
    summary["JF_mean"] = (summary["J_mean"] + summary["F_mean"]) / 2
    summary["sequences"] = {s.name: s.as_dict() for s in scores}
    return summary


__all__ = ["SequenceScores", "boundary_map", "boundary_tolerance", "f_measure", "jaccard", "score_sequence", "statistics", "summarize"]
