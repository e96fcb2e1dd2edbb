"""Tracking masks with any per-frame features, the baselines, and DAVIS evaluation.

Feature extractors map a video (T, H, W, 3) uint8 to features (T, D, h, w):

- :func:`model_features`: a trained colorizer's embeddings (gray input);
- :func:`pixel_features`: raw Lab pixels: each 8 x 8 cell's Lab values
  (192 numbers), standardised per channel over the video ("pixels"), or
  each cell's mean Lab colour ("pixels_lab");
- a randomly initialised colorization network (:func:`random_network`)
  used through :func:`model_features` with batch-norm statistics of the video.

:func:`track_masks` propagates a first mask with
:func:`~multissl.video.propagation.propagate_labels`; ``features=None`` is
the copy-first-mask baseline. :func:`evaluate_davis` scores several methods
on a DAVIS-layout folder with the DAVIS J and F measures.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from multissl.color import rgb_to_lab
from multissl.randomness import isolated_rng

from .colorizer import Colorizer, ColorizerConfig, lightness_input
from .dataset import frames_to_tensor, resized_size
from .davis import Sequence as DavisSequence
from .davis import find_resolution, list_sequences, load_sequence
from .io import VideoDecodeError
from .masks import VOID, MaskReadError, mask_dtype, mask_to_onehot, object_ids, onehot_to_mask
from .metrics import score_sequence, summarize
from .propagation import PropagationConfig, labels_to_image, progress_disable, propagate_labels

FeatureFn = Callable[[np.ndarray], torch.Tensor]
PathLike = Union[str, Path]


def model_features(model: Colorizer, short_side: int = 256, chunk: int = 16, video_statistics: bool = False) -> FeatureFn:
    """Features of a colorizer: frames resized to ``short_side`` (multiple of 8), gray, embedded.

    ``video_statistics``: batch normalisation uses the statistics of the
    video being encoded instead of the running statistics (for an untrained
    network, whose running statistics are meaningless).
    """

    @torch.no_grad()
    def features(frames: np.ndarray) -> torch.Tensor:
        model.eval()
        x = frames_to_tensor(frames, resized_size(frames.shape[1:3], short_side))
        device = next(model.parameters()).device
        if not video_statistics:
            return model.network.embed_video(lightness_input(x).to(device), chunk=chunk).float().cpu()
        model.train()
        try:
            return model.network.embed_video(lightness_input(x).to(device), chunk=len(x)).float().cpu()
        finally:
            model.eval()

    return features


def pixel_features(short_side: int = 256, cell: int = 8, patches: bool = True) -> FeatureFn:
    """Raw Lab pixels as features on the ``cell``-strided grid.

    ``patches=True``: every ``cell`` x ``cell`` patch flattened (3 cell² numbers),
    each channel standardised over the video; ``patches=False``: each cell's
    mean Lab colour as is (3 numbers; with cosine similarity, hue and
    saturation dominate).
    """

    @torch.no_grad()
    def features(frames: np.ndarray) -> torch.Tensor:
        x = frames_to_tensor(frames, resized_size(frames.shape[1:3], short_side, cell))
        lab = rgb_to_lab(x)
        if not patches:
            return F.avg_pool2d(lab, cell)
        lab = (lab - lab.mean(dim=(0, 2, 3), keepdim=True)) / lab.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6)
        return F.pixel_unshuffle(lab, cell)

    return features


def random_network(config: ColorizerConfig, seed: int = 0) -> Colorizer:
    """A colorizer with freshly initialised weights (the random-init baseline; encode it with
    ``model_features(..., video_statistics=True)``). The weights depend only on ``seed``; the global
    random generators are left as they were."""
    with isolated_rng(seed):
        return Colorizer(config).eval()


def check_first_mask(mask: np.ndarray, frame_size: Sequence[int], name: str = "first mask") -> np.ndarray:
    """Validate a first mask against the frame size; returns its object ids."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"{name} must be a 2-D label image, got shape {mask.shape}")
    if tuple(mask.shape) != tuple(frame_size):
        raise ValueError(f"{name} is {mask.shape[1]}x{mask.shape[0]} pixels but the frames are {frame_size[1]}x{frame_size[0]}")
    ids = object_ids(mask)
    if len(ids) == 0:
        raise ValueError(f"{name} holds no object (every pixel is 0 or the void label {VOID}); nothing to track")
    return ids


def track_masks(frames: np.ndarray, first_mask: np.ndarray, features: Optional[FeatureFn],
                propagation: Optional[PropagationConfig] = None, verbose: bool = False, name: str = "first mask",
                progress: Union[None, bool, tqdm] = None) -> np.ndarray:
    """Masks (T, H, W) of every frame given the first one, at the frames' size (uint8 when every id fits,
    see :func:`~multissl.video.masks.mask_dtype`); ``features=None`` copies the first mask.

    Args:
        frames: (T, H, W, 3) uint8 video.
        first_mask: (H, W) object ids of frame 0 (0 = background).
        features: a feature function (frames -> (T, D, h, w)) or None.
        propagation: default :class:`PropagationConfig`; ``name`` names the mask in errors
            (e.g. the sequence's first annotation).
        progress: a progress bar over the frames (unit "frame", with frames/s and ETA) on
            stderr: True always, False never, None (default) when ``verbose`` and stderr is
            a terminal; or an open tqdm bar (total T) to advance.
    """
    propagation = propagation if propagation is not None else PropagationConfig()
    ids = check_first_mask(first_mask, frames.shape[1:3], name)
    own = not isinstance(progress, tqdm)
    bar = tqdm(total=len(frames), desc="track", unit="frame", disable=progress_disable(progress, verbose)) if own else progress
    try:
        if features is None:
            bar.update(len(frames))
            return np.repeat(np.asarray(first_mask).astype(_dtype(first_mask, ids))[None], len(frames), axis=0)
        onehot = mask_to_onehot(first_mask, ids)
        bar.set_postfix_str("encoding frames")
        feats = features(frames)  # (T, D, h, w)
        bar.set_postfix_str("")
        bar.update(1)  # frame 0 is given
        soft = propagate_labels(feats, onehot, propagation.context, propagation.topk, propagation.radius,
                                propagation.temperature, propagation.normalize, upsample=False, progress=bar)
        bar.set_postfix_str(f"masks at {frames.shape[2]}x{frames.shape[1]}")
        return _full_size_masks(soft, first_mask, ids)
    finally:
        if own:
            bar.close()


def _dtype(first_mask: np.ndarray, ids: np.ndarray) -> np.dtype:
    """The predicted masks' type: :func:`~multissl.video.masks.mask_dtype` of the ids (which also holds the
    void label 255), int64 when the first mask has negative values."""
    return mask_dtype(ids) if np.asarray(first_mask).min() >= 0 else np.dtype(np.int64)


def _full_size_masks(soft: torch.Tensor, first_mask: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """(T, H, W) ids at the first mask's size (in :func:`~multissl.video.masks.mask_dtype` of ``ids``, so that
    150 frames of 1080p take 0.3 GB, not the 2.5 GB of int64) from soft labels (T, 1 + K, h, w)."""
    size = first_mask.shape
    masks = np.empty((len(soft), *size), dtype=_dtype(first_mask, ids))
    masks[0] = first_mask
    for t in range(1, len(soft)):
        masks[t] = onehot_to_mask(labels_to_image(soft[t], size), ids)
    return masks


def evaluate_davis(
    root: PathLike,
    methods: Dict[str, Optional[FeatureFn]],
    propagation: Union[None, PropagationConfig, Dict[str, PropagationConfig]] = None,
    split: Optional[str] = None,
    sequences: Optional[Sequence[str]] = None,
    verbose: bool = True,
    progress: Optional[bool] = None,
    resolution: Optional[str] = None,
) -> Dict[str, Dict[str, object]]:
    """J/F of each method on a DAVIS-layout folder.

    Args:
        methods: name -> feature function (None: copy the first mask).
        propagation: one setting for all methods or one per method name
            (default: :class:`PropagationConfig`).
        split: an ImageSets split (e.g. ``"val"``); default every sequence.
        progress: progress bars on stderr, over the sequences and over the frames of
            each sequence and method (frames/s and ETA): True always, False never,
            None (default) when ``verbose`` and stderr is a terminal.
        resolution: the DAVIS resolution folder (default: found, see :func:`~multissl.video.davis.find_resolution`).
    Returns:
        {method: summary} with J_mean/recall/decay, F_..., JF_mean,
        ``sequences`` (per-sequence J_mean, F_mean, JF_mean, per-object stats) and
        ``skipped`` ({sequence: reason} for those not scored; each also gets a warning).
    Only the objects of each first mask are propagated and scored (the DAVIS semi-supervised
    protocol); objects that first appear later are named in a warning.
    """
    propagation = propagation if propagation is not None else PropagationConfig()
    resolution = find_resolution(root, resolution)
    names = list(sequences) if sequences is not None else list_sequences(root, split, resolution)
    scores: Dict[str, List] = {m: [] for m in methods}
    skipped: Dict[str, str] = {}
    disable = progress_disable(progress, verbose)
    for name in tqdm(names, desc="sequences", unit="seq", disable=disable):
        seq = _scoreable_sequence(root, name, resolution, skipped)
        if seq is None:
            continue
        for method, fn in methods.items():
            cfg = propagation[method] if isinstance(propagation, dict) else propagation
            with tqdm(total=len(seq.frames), desc=f"{name} {method}", unit="frame", leave=False, disable=disable) as bar:
                pred = track_masks(seq.frames, seq.masks[0], fn, cfg, name=f"sequence {name}: the first mask", progress=bar)
            scores[method].append(score_sequence(pred, seq.masks, name, annotated=seq.annotated))
    if methods and not any(scores.values()):
        raise ValueError(f"no sequence of {root} could be scored: " + "; ".join(f"{n}: {r}" for n, r in skipped.items()))
    return {m: {**summarize(s), "skipped": dict(skipped)} for m, s in scores.items()}


def _scoreable_sequence(root: PathLike, name: str, resolution: str, skipped: Dict[str, str]) -> Optional[DavisSequence]:
    """Load a sequence for scoring; None (with a warning, and the reason in ``skipped``) when it is damaged
    or has no annotated frame between the first and the last."""
    try:
        seq = load_sequence(root, name, resolution)
    except (VideoDecodeError, MaskReadError) as err:
        return _skip(name, f"a damaged file: {err}", skipped)
    if not seq.annotated[1:-1].any():
        return _skip(name, f"{len(seq.frames)} frame(s), {int(seq.annotated.sum())} annotated: no ground truth between the first "
                           "and the last frame (a set with first-frame masks only has nothing to score; `video track` "
                           "propagates them)", skipped)
    _warn_late_objects(seq)
    return seq


def _skip(name: str, reason: str, skipped: Dict[str, str]) -> None:
    skipped[name] = reason
    warnings.warn(f"sequence {name} is not scored: {reason}", RuntimeWarning, stacklevel=4)
    return None


def _warn_late_objects(seq: DavisSequence) -> None:
    """Warn about objects of later annotations that the first mask lacks: they are neither propagated nor scored."""
    first = set(object_ids(seq.masks[0]).tolist())
    late = {}
    for t in np.flatnonzero(seq.annotated):
        for k in set(object_ids(seq.masks[t]).tolist()) - first:
            late.setdefault(k, int(t))
    if late:
        where = ", ".join(f"{k} (from frame {t})" for k, t in sorted(late.items()))
        warnings.warn(f"sequence {seq.name}: object(s) {where} are not in the first mask; only the first mask's objects "
                      "are propagated and scored", RuntimeWarning, stacklevel=4)


def format_table(results: Dict[str, Dict[str, object]]) -> str:
    """Markdown table of J&F, J and F statistics per method."""
    cols = ["JF_mean", "J_mean", "J_recall", "J_decay", "F_mean", "F_recall", "F_decay"]
    lines = ["| method | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for method, r in results.items():
        lines.append(f"| {method} | " + " | ".join(f"{100 * float(r[c]):.1f}" for c in cols) + " |")
    return "\n".join(lines)


__all__ = ["check_first_mask", "evaluate_davis", "format_table", "model_features", "pixel_features", "random_network", "track_masks"]
