"""Palindrome cycle consistency: a label-free score of tracking on real video.

Real videos rarely come with masks. Instead, frame 0 is cut into
``segments`` regions by k-means on (Lab colour, x, y) of its cells
(:func:`segment_frame`), the regions are propagated forward through frames
0..N and back through N..0 with
:func:`~multissl.video.propagation.propagate_labels` (the run's
:class:`~multissl.video.propagation.PropagationConfig`), and the labels that
come back to frame 0 are compared with the regions it started from: mean IoU
over the regions (:func:`cycle_consistency`). Features that follow the scene
bring every region home; a static video scores 1.0 with features that tell
neighbouring cells apart (regions of flat colour are ambiguous to raw
pixels, which then score a little less), and shuffling a video's frames
lowers the score.

The two legs are separate propagations: the backward leg starts from the
regions frame N was given (the argmax of the forward leg's labels) and never
sees the labels given at frame 0 (``propagate_labels`` keeps its first frame
in every context, so a single pass over 0..N..0 would copy them straight
back).

Segments and scores are computed on the feature grid (h, w) of each feature
function (no resizing of labels). :func:`cycle_scores` averages over several
clips per video (start positions spread over the video, clips across a scene
cut skipped) and over videos.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F

from multissl.color import kmeans, rgb_to_lab

from .clip_sampling import sampled_indices, spread, thumbnails, valid_starts
from .dataset import frames_to_tensor, frames_to_uint8, resized_size
from .io import VideoDecodeError, VideoReader, open_video
from .metrics import jaccard
from .propagation import PropagationConfig, propagate_labels

FeatureFn = Callable[[np.ndarray], torch.Tensor]
PathLike = Union[str, Path]


def segment_frame(frame: np.ndarray, size: Sequence[int], segments: int = 8, seed: int = 0, compactness: float = 20.0) -> np.ndarray:
    """(h, w) int64 region labels of ``frame`` (H, W, 3) uint8 resized to ``size``: k-means on (L, a, b, x, y).

    Positions are scaled so that the spacing of a regular grid of ``segments``
    cells weighs ``compactness`` Lab units (as SLIC superpixels); labels are
    numbered 0.. in order of first appearance (row-major).
    """
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[-1] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"frame must be (H, W, 3) uint8, got {frame.shape} {frame.dtype}")
    h, w = int(size[0]), int(size[1])
    lab = rgb_to_lab(frames_to_tensor(frame[None], (h, w)))[0].permute(1, 2, 0).reshape(-1, 3).numpy().astype(np.float64)
    ys, xs = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    scale = compactness / max(np.sqrt(h * w / max(segments, 1)), 1e-6)
    points = np.concatenate([lab, scale * np.stack([ys.ravel(), xs.ravel()], 1)], 1)
    labels = kmeans(torch.from_numpy(points), min(segments, len(points)), seed=seed)[1].numpy()
    _, first = np.unique(labels, return_index=True)
    order = {int(labels[i]): rank for rank, i in enumerate(sorted(first))}
    return np.vectorize(order.get)(labels).reshape(h, w).astype(np.int64)


def mean_iou(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean over the labels of ``target`` of IoU(pred == label, target == label); same-shape int arrays."""
    return float(np.mean([jaccard(pred == i, target == i) for i in np.unique(target)]))


def cycle_labels(features: torch.Tensor, segmentation: np.ndarray, ns: Sequence[int], config: Optional[PropagationConfig] = None
                 ) -> Dict[int, np.ndarray]:
    """{n: (h, w) labels returned to frame 0 after 0..n and back n..0} for each n in ``ns``.

    The backward leg starts from the regions frame n was given (the argmax of the
    forward leg's soft labels), as a tracker's masks would be.

    Args:
        features: (T, D, h, w) features of frames 0..T-1 (T > max(ns)).
        segmentation: (h, w) int labels of frame 0 on the feature grid.
    """
    config = config if config is not None else PropagationConfig()
    if features.ndim != 4 or tuple(features.shape[-2:]) != tuple(segmentation.shape):
        raise ValueError(f"features (T, D, h, w) {tuple(features.shape)} and segmentation {segmentation.shape} must share (h, w)")
    if not ns or min(ns) < 1 or max(ns) >= len(features):
        raise ValueError(f"each n must lie in [1, {len(features) - 1}] for {len(features)} frames, got {list(ns)}")
    ids = np.unique(segmentation)
    onehot = torch.from_numpy(np.stack([segmentation == i for i in ids])).float()
    kwargs = dict(context=config.context, topk=config.topk, radius=config.radius, temperature=config.temperature,
                  normalize=config.normalize, upsample=False)
    forward = propagate_labels(features[: max(ns) + 1], onehot, **kwargs)  # (n+1, C, h, w)
    out = {}
    for n in ns:
        reached = F.one_hot(forward[n].argmax(0), len(ids)).permute(2, 0, 1).float()  # the regions frame n was given
        backward = propagate_labels(features[: n + 1].flip(0), reached, **kwargs)
        out[n] = ids[backward[-1].argmax(0).numpy()]
    return out


def cycle_consistency(frames: np.ndarray, features_fn: FeatureFn, n: int, config: Optional[PropagationConfig] = None,
                      segments: int = 8, seed: int = 0) -> float:
    """Mean IoU between frame 0's k-means regions and the regions brought back by a 0..n..0 palindrome.

    Args:
        frames: (T, H, W, 3) uint8 with T > n; frames 0..n are used.
        features_fn: frames (t, H, W, 3) uint8 -> features (t, D, h, w)
            (:func:`~multissl.video.tracking.model_features`, ``pixel_features``, ...).
        config: label propagation settings (default :class:`PropagationConfig`).
        segments: k of the k-means; seed: its seed.
    Returns:
        the score in [0, 1]; 1.0 when every region comes back whole.
    """
    return clip_scores(frames, {"features": features_fn}, [n], config, segments, seed)["features"][n]


def clip_scores(frames: np.ndarray, feature_fns: Mapping[str, FeatureFn], ns: Sequence[int],
                config: Optional[PropagationConfig] = None, segments: int = 8, seed: int = 0) -> Dict[str, Dict[int, float]]:
    """{name: {n: score}} of one clip (T, H, W, 3) uint8 (T > max(ns)) for every feature function."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be (T, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
    if len(frames) <= max(ns):
        raise ValueError(f"a cycle of n={max(ns)} needs {max(ns) + 1} frames, got {len(frames)}")
    clip = frames[: max(ns) + 1]
    out = {}
    for name, fn in feature_fns.items():
        features = fn(clip)
        segmentation = segment_frame(clip[0], features.shape[-2:], segments, seed)
        returned = cycle_labels(features, segmentation, ns, config)
        out[name] = {n: mean_iou(returned[n], segmentation) for n in ns}
    return out


def read_sampled(reader: VideoReader, stride: int = 1, fps: Optional[float] = None, short_side: Optional[int] = None) -> np.ndarray:
    """A whole video at the clip rate (every ``stride``-th frame or ``fps`` per second) as (T, H', W', 3) uint8,
    resized so the short side is ``short_side`` (None: as decoded)."""
    indices = sampled_indices(reader.num_frames, stride, fps, reader.fps)
    size = resized_size(reader.size, short_side) if short_side else None
    chunks = [frames_to_uint8(chunk, size).permute(0, 2, 3, 1).numpy() for chunk in reader.iter_chunks(indices)]
    return np.ascontiguousarray(np.concatenate(chunks))


def clip_starts(frames: np.ndarray, n: int, count: int, scene_cut: float = 40.0) -> np.ndarray:
    """Up to ``count`` starts of (n+1)-frame clips of ``frames`` (T, H, W, 3), spread over the video, none across a scene cut."""
    thumbs = thumbnails(torch.from_numpy(frames).permute(0, 3, 1, 2))
    return spread(valid_starts(thumbs, np.arange(n + 1), 0.0, scene_cut), count)


def cycle_scores(
    videos: Sequence[Union[PathLike, VideoReader]],
    feature_fns: Mapping[str, FeatureFn],
    ns: Sequence[int] = (10, 20),
    config: Optional[PropagationConfig] = None,
    segments: int = 8,
    clips_per_video: int = 3,
    stride: int = 1,
    fps: Optional[float] = None,
    short_side: Optional[int] = 256,
    scene_cut: float = 40.0,
    seed: int = 0,
    clips: Optional[List[Dict[str, object]]] = None,
) -> Dict[str, Dict[int, float]]:
    """{name: {n: mean cycle consistency}} over ``clips_per_video`` clips of every video.

    Args:
        videos: video files, frame folders or open readers.
        feature_fns: name -> feature function.
        ns: cycle lengths (sampled frames out, as many back).
        stride, fps: the frame rate clips are sampled at (as :class:`~multissl.video.dataset.ClipConfig`).
        short_side: frames are read at this short side (the feature functions' size avoids a second resize).
        scene_cut: clips holding a jump above this (gray levels, :mod:`~multissl.video.clip_sampling`) are left out.
        clips: when a list, one record per clip is appended (video, start, n, scores).
    A video that cannot be read, or is shorter than a cycle, is skipped with a warning naming it;
    a name's score is NaN for an n no clip could be scored at.
    """
    sums: Dict[str, Dict[int, List[float]]] = {name: {n: [] for n in ns} for name in feature_fns}
    for video in videos:
        try:
            reader = video if isinstance(video, VideoReader) else open_video(video)
            frames = read_sampled(reader, stride, fps, short_side)
        except VideoDecodeError as err:
            warnings.warn(f"skipping video {video} that failed to decode: {err}", RuntimeWarning, stacklevel=2)
            continue
        for n in ns:
            starts = clip_starts(frames, n, clips_per_video, scene_cut)
            if len(starts) == 0:
                warnings.warn(f"skipping {reader.path} for n={n}: {len(frames)} sampled frames hold no clip of {n + 1} "
                              "without a scene cut", RuntimeWarning, stacklevel=2)
            for start in starts.tolist():
                scores = clip_scores(frames[start : start + n + 1], feature_fns, [n], config, segments, seed)
                for name in feature_fns:
                    sums[name][n].append(scores[name][n])
                if clips is not None:
                    clips.append({"video": str(reader.path), "start": start, "n": n, "scores": {k: v[n] for k, v in scores.items()}})
    return {name: {n: float(np.mean(v)) if v else float("nan") for n, v in per.items()} for name, per in sums.items()}


def format_cycle_table(scores: Mapping[str, Mapping[int, float]], labels: Optional[Mapping[str, str]] = None) -> str:
    """Markdown table: one row per feature function, one column per n (cycle mIoU in %)."""
    labels = labels or {}
    ns = sorted({n for per in scores.values() for n in per})
    lines = ["| features | " + " | ".join(f"cycle mIoU, N={n}" for n in ns) + " |", "|---|" + "---|" * len(ns)]
    for name, per in scores.items():
        lines.append(f"| {labels.get(name, name)} | " + " | ".join(f"{100 * per[n]:.1f}" for n in ns) + " |")
    return "\n".join(lines)


__all__ = ["clip_scores", "clip_starts", "cycle_consistency", "cycle_labels", "cycle_scores", "format_cycle_table",
           "mean_iou", "read_sampled", "segment_frame"]
