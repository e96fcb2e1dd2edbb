"""How much of a data set a raw-input baseline (e.g. a linear probe on pixels) may use.

A probe on raw inputs converts them to float32: ImageNet's 1.28M training images at 224 px
would be 771 GB. :func:`raw_input_plan` decides from the number of items and their size:

- **everything** when each split has at most :data:`MAX_ITEMS` items and fits the memory
  budget as float32 (:func:`multissl.streamed.memory_budget`: 2 GiB, at most a quarter of RAM);
- else a **seeded, class-balanced subsample** of each split that is too large (every class keeps
  the same share, rounded down: :func:`class_balanced_sample`), at most as many items as both
  limits allow;
- **skipped** when fewer than :data:`MIN_PER_CLASS` items per class would fit.

The plan carries the sentence the output prints, e.g. at 64 px (12,288 values an image)
``"pixels: probe on 43000 of 1281167 training and 43000 of 50000 test images (seeded
class-balanced subsample; the limit is 50000 images or 2.0 GiB as float32)"``; at 224 px
(150,528 values) 2 GiB holds 3,566 images, fewer than 5 for each of 1,000 classes: skipped.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from ..streamed import memory_budget
from .subsets import Labels, _as_labels

MAX_ITEMS = 50_000
MIN_PER_CLASS = 5
ACTIONS = ("all", "subsample", "skip")


@dataclass
class RawInputPlan:
    """``action``: one of :data:`ACTIONS`; ``train`` / ``test``: sorted indices (K,) of the items to use, None for all
    of that split (or nothing, when skipped); ``limit``: items per split the limits allow; ``sentence``: what to print."""

    action: str
    train: Optional[np.ndarray]
    test: Optional[np.ndarray]
    limit: int
    sentence: str

    @property
    def runs(self) -> bool:
        return self.action != "skip"

    def take(self, items, split: str):
        """The planned items of ``split`` ("train" or "test") of ``items`` (N, ...) (a tensor or array); all when None."""
        index = self.train if split == "train" else self.test
        if index is None:
            return items
        return items[torch.as_tensor(index)] if isinstance(items, torch.Tensor) else items[index]


def class_balanced_sample(labels: np.ndarray, limit: int, seed: int) -> Optional[np.ndarray]:
    """Sorted indices of at most ``limit`` items (one more per class for classes too small to get one) that keep
    the same share of every class, each class's items in a seeded random order; None when all fit."""
    if len(labels) <= limit:
        return None
    order = np.random.default_rng(seed).permutation(len(labels))
    order = order[np.argsort(labels[order], kind="stable")]  # by class, each class in a seeded random order
    classes, starts, sizes = np.unique(labels[order], return_index=True, return_counts=True)
    keep = np.maximum(1, np.floor(sizes * (limit / len(labels)))).astype(np.int64)
    return np.sort(np.concatenate([order[a:a + k] for a, k in zip(starts, keep)]))


def _size(nbytes: float) -> str:
    return f"{nbytes / 2**30:.1f} GiB" if nbytes >= 2**30 else f"{nbytes / 2**20:.0f} MiB"


def raw_input_plan(train_labels: Labels, test_labels: Labels, values_per_item: int, name: str = "pixels",
                   unit: str = "images", seed: int = 0, max_items: Optional[int] = None, max_bytes: Optional[int] = None,
                   min_per_class: Optional[int] = None) -> RawInputPlan:
    """Whether the raw-input baseline runs on everything, on a subsample, or not at all.

    Args:
        train_labels, test_labels: (N_train,), (N_test,) class labels of the two splits.
        values_per_item: numbers in one item (an image: C x H x W), 4 bytes each as float32.
        name, unit: how the sentence names the baseline and the items ("pixels", "images").
        seed: seed of the class-balanced subsamples (nested across sizes, as every label subset).
        max_items: at most this many items per split (default :data:`MAX_ITEMS`); max_bytes: at most this many
            bytes of float32 values per split (default :func:`multissl.streamed.memory_budget`).
        min_per_class: skip the baseline when the limit leaves fewer items per class on average (default
            :data:`MIN_PER_CLASS`).
    Returns:
        :class:`RawInputPlan`.
    """
    ytr, yte = _as_labels(train_labels), _as_labels(test_labels)
    if values_per_item < 1:
        raise ValueError(f"values_per_item must be >= 1, got {values_per_item}")
    max_items = MAX_ITEMS if max_items is None else int(max_items)
    min_per_class = MIN_PER_CLASS if min_per_class is None else int(min_per_class)
    budget = memory_budget() if max_bytes is None else int(max_bytes)
    limit = int(min(max_items, budget // (4 * values_per_item)))
    bound = f"{max_items} {unit} or {_size(budget)} as float32"
    classes = len(np.unique(ytr))
    if len(ytr) <= limit and len(yte) <= limit:
        return RawInputPlan("all", None, None, limit, f"{name}: probe on all {len(ytr)} training and {len(yte)} test {unit} "
                                                      f"({values_per_item} values each; limit {bound})")
    if limit < min_per_class * classes:
        return RawInputPlan("skip", None, None, limit,
                            f"{name}: skipped: {len(ytr)} training {unit} of {values_per_item} values; the limit of {bound} "
                            f"holds {limit}, fewer than {min_per_class} per class for {classes} classes")
    train, test = class_balanced_sample(ytr, limit, seed), class_balanced_sample(yte, limit, seed)
    parts = [f"{len(index) if index is not None else len(y)} of {len(y)} {split}"
             for index, y, split in ((train, ytr, "training"), (test, yte, "test"))]
    return RawInputPlan("subsample", train, test, limit,
                        f"{name}: probe on {parts[0]} and {parts[1]} {unit} (seeded class-balanced subsample; "
                        f"the limit is {bound})")


__all__ = ["ACTIONS", "MAX_ITEMS", "MIN_PER_CLASS", "RawInputPlan", "class_balanced_sample", "raw_input_plan"]
