"""Checks of the frozen features and labels every probe takes: (N, D) finite floats, (N,) integer labels."""
from __future__ import annotations

from typing import Union

import numpy as np
import torch

Array = Union[np.ndarray, torch.Tensor]
CHECK_ROWS = 16384  # rows checked for NaN/Inf at a time (no (N, D) mask of the whole array)


def features_of(name: str, x: Array) -> torch.Tensor:
    """``x`` as an (N, D) float32 CPU tensor (no copy when it already is one, e.g. a float32 array or memmap);
    a ValueError naming ``name`` for another shape, no rows, or NaN/Inf (with the first bad row)."""
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x).detach().cpu()
    if t.ndim != 2:
        raise ValueError(f"{name} must have shape (N, D), got {tuple(t.shape)}")
    if len(t) == 0:
        raise ValueError(f"{name} is empty")
    t = t.float()
    for start in range(0, len(t), CHECK_ROWS):
        finite = torch.isfinite(t[start:start + CHECK_ROWS]).all(1)
        if not finite.all():
            row = start + int((~finite).nonzero()[0])
            raise ValueError(f"{name} of shape {tuple(t.shape)} contains NaN or Inf (first in row {row})")
    return t


def labels_of(name: str, y: Array, n: int, features_name: str) -> torch.Tensor:
    """``y`` as (n,) int64 CPU labels; a ValueError naming ``name`` for another length or float labels."""
    t = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y).detach().cpu()
    if t.ndim != 1 or len(t) != n:
        raise ValueError(f"{name} must have shape ({n},) to match {features_name}, got {tuple(t.shape)}")
    if t.is_floating_point():
        raise ValueError(f"{name} must hold integer class labels, got dtype {t.dtype}")
    return t.long()


def check_same_dim(train: torch.Tensor, test: torch.Tensor) -> None:
    if train.shape[1] != test.shape[1]:
        raise ValueError(f"train_features {tuple(train.shape)} and test_features {tuple(test.shape)} differ in D")


__all__ = ["Array", "CHECK_ROWS", "check_same_dim", "features_of", "labels_of"]
