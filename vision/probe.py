"""The evaluation harness: frozen features -> linear probe and kNN, with baselines.

For a trained task it reports linear-probe and kNN accuracy of its
representation, and the same numbers for the same architecture at its random
initialisation and for raw pixels, on the data set's test split.
"""
from __future__ import annotations

import sys
import time
import warnings
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np
import torch

from multissl.checks import check_unit_range
from multissl.evaluation import RawInputPlan, extract_features, knn_accuracy, linear_probe, raw_input_plan

from .data import ImageSplits, convert_channels, to_float
from .tasks.base import PretextTask


@torch.no_grad()
def task_features(task: PretextTask, images: torch.Tensor, pool: int = 1, batch_size: int = 256,
                  device: Optional[torch.device] = None) -> torch.Tensor:
    """Frozen features of ``images`` (N, C, H, W) uint8: (N, D) float32 on CPU (a warning when a run's
    network gets images of another size than it was trained on, :func:`check_image_size`)."""
    check_image_size(task, images)
    return _frozen_features(task, lambda batch: task.encode(batch, pool), images, batch_size, device)


def _frozen_features(task: PretextTask, encode, data, batch_size: int, device: Optional[torch.device] = None,
                     with_labels: bool = False):
    """:func:`~multissl.evaluation.extract_features` of ``encode`` over ``data`` with ``task`` in eval mode (restored after)."""
    was_training = task.training
    task.eval()
    try:
        return extract_features(encode, data, batch_size, device=device or next(task.parameters()).device,
                                with_labels=with_labels)
    finally:
        task.train(was_training)


def check_image_size(task: PretextTask, images: torch.Tensor) -> None:
    """Warn when ``images`` (N, C, H, W) are not of the side the task was trained on (``task.train_image_size``,
    set on the networks of a run): features of another size are not what the network learnt to compute, and
    methods with a fixed geometry (patches, tiles, grids) see their patches at another scale."""
    side = getattr(task, "train_image_size", None)
    h, w = images.shape[-2:]
    if side and (h, w) != (side, side):
        warnings.warn(f"{getattr(task, 'name', 'task')}: features of {w}x{h} images from a network trained on {side}x{side} "
                      f"images; resize them to {side}x{side} (resize_splits, --image-size {side}) to probe what it learnt")


def features(run_or_model, images: Union[torch.Tensor, np.ndarray], pool: int = 1, batch_size: int = 256) -> torch.Tensor:
    """Frozen features of a trained task or a :class:`~multissl.run.Run` (its ``.model``):
    (N, C, H, W) uint8 or [0, 1] floats (a tensor or a NumPy array) -> (N, D·pool²) float32 on the CPU."""
    task = getattr(run_or_model, "model", run_or_model)
    return task_features(task, checked_images(images), pool, batch_size)


def checked_images(images: Any) -> torch.Tensor:
    """``images`` as a (N, C, H, W) tensor, uint8 or float in [0, 1]; a ValueError says what is wrong otherwise."""
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(np.ascontiguousarray(images))
    if not isinstance(images, torch.Tensor):
        raise ValueError(f"images must be a (N, C, H, W) tensor or NumPy array, got a {type(images).__name__}")
    if images.ndim != 4:
        raise ValueError(f"images must have shape (N, C, H, W), got {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        return images
    if not images.is_floating_point():
        raise ValueError(f"images must be uint8 in [0, 255] or float in [0, 1], got {images.dtype}")
    check_unit_range("float images", images)
    return images


def probe_scores(train: torch.Tensor, y_train: torch.Tensor, test: torch.Tensor, y_test: torch.Tensor,
                 knn_k: int = 20, seed: int = 0) -> Dict[str, float]:
    """``{"linear_acc", "knn_acc"}`` of (N, D) train/test features (the probe's L2 penalty is chosen on held-out training data)."""
    return {
        "linear_acc": linear_probe(train, y_train, test, y_test, weight_decay="auto", seed=seed).accuracy,
        "knn_acc": knn_accuracy(train, y_train, test, y_test, k=knn_k),
    }


def pixel_plan(splits: ImageSplits, seed: int = 0) -> RawInputPlan:
    """Which images the raw-pixel probes use (:func:`multissl.evaluation.raw_input_plan`): all of them, a seeded
    class-balanced subsample of a split too large to hold as float32, or none."""
    return raw_input_plan(splits.y_train, splits.y_test, splits.x_train[0].numel(), "pixels", "images", seed)


def pixel_scores(splits: ImageSplits, knn_k: int = 20, seed: int = 0, plan: Optional[RawInputPlan] = None) -> Dict[str, float]:
    """The probes on raw pixels (flattened, in [0, 1]) of the images :func:`pixel_plan` keeps ({} when it skips them)."""
    plan = plan if plan is not None else pixel_plan(splits, seed)
    if not plan.runs:
        return {}
    train, test = (to_float(plan.take(x, side)).flatten(1) for x, side in ((splits.x_train, "train"), (splits.x_test, "test")))
    return probe_scores(train, plan.take(splits.y_train, "train"), test, plan.take(splits.y_test, "test"), knn_k, seed)


def check_probe_labels(splits: ImageSplits) -> None:
    """A ValueError unless ``splits`` has labelled train and test images, the training ones of at least 2 classes."""
    if not splits.has_labels:
        raise ValueError(f"data set {splits.name!r} has no labels to probe with "
                         f"(train {len(splits.y_train)}, test {len(splits.y_test)} labelled images)")
    present = torch.unique(splits.y_train).tolist()
    if len(present) < 2:
        name = splits.classes[present[0]] if present[0] < len(splits.classes) else present[0]
        raise ValueError(f"data set {splits.name!r}: probes need training images of at least 2 classes, but all "
                         f"{len(splits.y_train)} are of class {name!r}")


def first_images(data, count: int) -> torch.Tensor:
    """The first ``count`` test images of in-memory or streamed data (train images when there is no test split):
    (count, C, S, S) uint8."""
    if isinstance(data, ImageSplits):
        return data.x_test[:count] if len(data.x_test) else data.x_train[:count]
    dataset = data.test_dataset() if len(data.test) else data.train_dataset()
    return torch.stack([dataset[i][0] for i in range(min(count, len(dataset)))])


def split_features(task: PretextTask, data, split: str, pool: int = 1, batch_size: int = 256) -> Tuple[torch.Tensor, torch.Tensor]:
    """(features (N, D), labels (N,)) of split ``"train"`` or ``"test"`` of in-memory :class:`ImageSplits` or of streamed
    :class:`ImageStreams` (decoded in worker processes; grey or RGB converted to the network's channels)."""
    if isinstance(data, ImageSplits):
        images, labels = (data.x_train, data.y_train) if split == "train" else (data.x_test, data.y_test)
        return task_features(task, images, pool, batch_size), labels
    dataset = data.train_dataset() if split == "train" else data.test_dataset()
    return _frozen_features(task, lambda images: task.encode(convert_channels(images, task.in_channels), pool), dataset,
                            batch_size, with_labels=True)


def check_stream_labels(data) -> None:
    """:func:`check_probe_labels` for streamed data (labels are known without decoding)."""
    if isinstance(data, ImageSplits):
        return check_probe_labels(data)
    if not data.has_labels:
        raise ValueError(f"data set {data.name!r} has no labels to probe with")
    if len(np.unique(data.train_labels)) < 2:
        raise ValueError(f"data set {data.name!r}: probes need training images of at least 2 classes")


def evaluate(task: PretextTask, random_task: PretextTask, splits, pool: int = 1, knn_k: int = 20,
             seed: int = 0, pixels: bool = True, verbose: bool = False) -> Dict[str, float]:
    """Probe ``task`` and ``random_task`` (same architecture, untrained) and raw pixels.

    ``splits``: in-memory :class:`ImageSplits`, or streamed :class:`~multissl.vision.streaming.ImageStreams`
    (features taken batch by batch; the raw-pixel probe needs images in memory and is skipped for them).
    Returns ``linear_acc, knn_acc, random_linear_acc, random_knn_acc`` and,
    with ``pixels``, ``pixels_train_images, pixels_test_images`` (how many
    images :func:`pixel_plan` gave the pixel probes, 0 when it skipped them)
    and, unless skipped, ``pixels_linear_acc, pixels_knn_acc``. ``verbose``:
    one line per probe on stderr (features' shape, seconds) and the plan's
    sentence, as the pixel probe of a large data set takes minutes.
    """
    check_stream_labels(splits)
    results: Dict[str, float] = {}
    for prefix, name, model in (("", "trained encoder", task), ("random_", "random init", random_task)):
        with _stage(name, verbose) as note:
            train, y_train = split_features(model, splits, "train", pool)
            test, y_test = split_features(model, splits, "test", pool)
            note(train.shape)
            for key, value in probe_scores(train, y_train, test, y_test, knn_k, seed).items():
                results[prefix + key] = value
    if pixels and isinstance(splits, ImageSplits):
        plan = pixel_plan(splits, seed)
        for side in ("train", "test"):
            results[f"pixels_{side}_images"] = len(plan.take(getattr(splits, f"y_{side}"), side)) if plan.runs else 0
        if verbose:
            print(plan.sentence, file=sys.stderr, flush=True)
        with _stage("raw pixels", verbose and plan.runs) as note:
            note((len(plan.take(splits.y_train, "train")), splits.x_train[0].numel()))
            results.update({f"pixels_{k}": v for k, v in pixel_scores(splits, knn_k, seed, plan).items()})
    elif pixels and verbose:
        print("probing raw pixels: skipped (the data is streamed from disk, not held in memory)", file=sys.stderr, flush=True)
    return results


class _stage:
    """``with _stage(name, verbose) as note:`` prints ``probing NAME ...`` on entry, ``note(shape)`` names the
    (N, D) features being probed, and the seconds it took are printed on exit (nothing when not ``verbose``)."""

    def __init__(self, name: str, verbose: bool):
        self.name, self.verbose, self.start = name, verbose, time.perf_counter()

    def __enter__(self):
        self.start = time.perf_counter()
        return self.note

    def note(self, shape) -> None:
        if self.verbose:
            print(f"probing {self.name}: {shape[0]} x {shape[1]} features (linear probe, penalty chosen on held-out data; kNN) ...",
                  file=sys.stderr, flush=True)

    def __exit__(self, kind, *rest) -> None:
        if self.verbose and kind is None:
            print(f"probing {self.name}: done in {time.perf_counter() - self.start:.1f} s", file=sys.stderr, flush=True)


def probe_run(run, data, pool: int = 1, pixels: bool = False, device=None) -> Dict[str, float]:
    """:func:`evaluate` a run (a :class:`~multissl.run.Run` or its folder, ``multissl vision train -o DIR``) on
    ``data`` (:class:`ImageSplits`, or a data spec such as a folder or ``.npz``, read at the run's image size)
    against its own random initialisation; returns the scores (linear and kNN accuracy, for each network)."""
    from .run import load_for_run, load_run

    run = run if hasattr(run, "initial") else load_run(run)
    task, random_task = run.model, run.initial
    if device is not None:
        task, random_task = task.to(device), random_task.to(device)
    return evaluate(task, random_task, load_for_run(run, data), pool=pool, pixels=pixels)


__all__ = ["check_image_size", "check_probe_labels", "evaluate", "features", "first_images", "split_features", "pixel_plan", "pixel_scores", "probe_run", "probe_scores", "task_features"]
