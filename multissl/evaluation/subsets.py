"""Class-balanced, seeded, nested label subsets and validation splits.

A labelled subset keeps the same share of every class (``fraction=``) or the
same count per class (``per_class=``). Subsets drawn with one seed are
**nested**: each class's examples are put in one seeded order and a subset
takes a prefix of it, so the 1 % subset is inside the 10 % subset, which is
inside 100 %. Labels are (N,) integers; indices are sorted (K,) int64 arrays.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from ..checks import shown

Labels = Union[np.ndarray, torch.Tensor, Sequence[int]]


def _as_labels(labels: Labels) -> np.ndarray:
    y = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(f"labels must have shape (N,), got {y.shape}")
    if len(y) == 0:
        raise ValueError("labels are empty: the data has no labelled examples")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be integer class indices, got dtype {y.dtype}")
    if (y < 0).any():
        raise ValueError(f"labels must be >= 0 (unlabelled examples are marked -1), got {int(y.min())} at index {int(np.argmin(y))}")
    return y.astype(np.int64)


def check_fraction(fraction: float) -> float:
    """``fraction`` as a float in (0, 1], else a ValueError naming it."""
    value = float(fraction)
    if not 0.0 < value <= 1.0:
        raise ValueError(f"label fraction must be in (0, 1], got {shown(fraction)!r}")
    return value


def class_orders(labels: Labels, seed: int = 0) -> Dict[int, np.ndarray]:
    """``{class: indices of that class in a seeded random order}`` (the order every nested subset takes a prefix of)."""
    y = _as_labels(labels)
    rng = np.random.default_rng(seed)
    return {int(c): rng.permutation(np.flatnonzero(y == c)) for c in np.unique(y)}


def per_class_counts(labels: Labels, fraction: Optional[float] = None, per_class: Optional[int] = None) -> Dict[int, int]:
    """How many examples of each class a subset keeps: ``round(fraction * n_c)`` (at least 1) or ``per_class``."""
    if (fraction is None) == (per_class is None):
        raise ValueError("give exactly one of fraction= and per_class=")
    y = _as_labels(labels)
    classes, sizes = np.unique(y, return_counts=True)
    if per_class is not None:
        if int(per_class) != per_class or per_class < 1:
            raise ValueError(f"per_class must be a positive integer, got {shown(per_class)!r}")
        smallest = int(sizes.min())
        if per_class > smallest:
            raise ValueError(f"per_class={per_class} is above the smallest class's {smallest} examples "
                             f"(class {int(classes[np.argmin(sizes)])})")
        return {int(c): int(per_class) for c in classes}
    share = check_fraction(fraction)
    return {int(c): max(1, int(round(share * n))) for c, n in zip(classes, sizes)}


def label_subset(labels: Labels, fraction: Optional[float] = None, per_class: Optional[int] = None, seed: int = 0) -> np.ndarray:
    """Sorted indices (K,) of a class-balanced labelled subset.

    Args:
        labels: (N,) class indices of the whole labelled training set.
        fraction: share of each class to keep, in (0, 1].
        per_class: or this many examples of every class (at most the smallest class's size).
        seed: subsets with the same seed are nested (a smaller one is inside a larger one).
    """
    counts = per_class_counts(labels, fraction, per_class)
    orders = class_orders(labels, seed)
    return np.sort(np.concatenate([orders[c][:k] for c, k in counts.items()]))


def nested_subsets(labels: Labels, fractions: Sequence[float], seed: int = 0) -> Dict[float, np.ndarray]:
    """``{fraction: sorted indices}`` for every fraction, all from one seed (each inside the next larger)."""
    return {float(f): label_subset(labels, fraction=f, seed=seed) for f in fractions}


def validation_split(labels: Labels, indices: np.ndarray, fraction: float = 0.2, seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Split a labelled subset ``indices`` into (fit, validation) index arrays, class by class.

    Each class with at least 2 examples gives ``round(fraction * n_c)`` (at
    least 1) to validation; a class with one example stays in the fit part.
    Only the subset's own labels are used: nothing outside ``indices`` is looked at.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"validation fraction must be in (0, 1), got {shown(fraction)!r}")
    y = _as_labels(labels)
    indices = np.unique(np.asarray(indices, dtype=np.int64))
    if len(indices) < 2:
        raise ValueError(f"a labelled subset of {len(indices)} example(s) cannot be split into fit and validation parts")
    rng = np.random.default_rng(seed + 7919)
    fit, val = [], []
    for c in np.unique(y[indices]):
        members = rng.permutation(indices[y[indices] == c])
        n_val = 0 if len(members) < 2 else min(len(members) - 1, max(1, int(round(fraction * len(members)))))
        val.append(members[:n_val])
        fit.append(members[n_val:])
    return np.sort(np.concatenate(fit)), np.sort(np.concatenate(val))


def check_same_classes(train_labels: Labels, test_labels: Labels, what: str = "data") -> int:
    """The number of classes, after checking that train and test hold the same classes."""
    train, test = np.unique(_as_labels(train_labels)), np.unique(_as_labels(test_labels))
    if len(train) != len(test) or (train != test).any():
        only_train, only_test = sorted(set(train) - set(test)), sorted(set(test) - set(train))
        raise ValueError(f"{what}: train has {len(train)} classes and test has {len(test)} "
                         f"(only in train: {only_train[:10]}, only in test: {only_test[:10]})")
    return int(train.max()) + 1


__all__ = ["check_fraction", "check_same_classes", "class_orders", "label_subset", "nested_subsets", "per_class_counts",
           "validation_split"]
