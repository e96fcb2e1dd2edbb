"""Argument checks shared by the core and the modalities.

Every check raises :class:`ValueError` whose message names the argument and
the shape or value that was seen, so that bad input fails early and clearly.
"""
from __future__ import annotations

from pathlib import PurePath
from typing import Sequence

import numpy as np
import torch

# Finite-value checks read the whole tensor (and synchronise a GPU). They are
# on by default; performance-critical callers can turn them off globally.
_CHECK_FINITE = True


def set_finite_checks(enabled: bool) -> None:
    """Turn the NaN/Inf input checks of the losses on or off (default on)."""
    global _CHECK_FINITE
    _CHECK_FINITE = bool(enabled)


def check_ndim(name: str, x: torch.Tensor, ndim: int, layout: str) -> None:
    """Raise unless ``x`` is a tensor with ``ndim`` dimensions laid out as ``layout``."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of shape {layout}, got {type(x).__name__}")
    if x.ndim != ndim:
        raise ValueError(f"{name} must have shape {layout}, got {tuple(x.shape)}")


def check_same_shape(name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor) -> None:
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}"
        )


def check_dim_equal(name_a: str, size_a: int, name_b: str, size_b: int, what: str) -> None:
    if size_a != size_b:
        raise ValueError(f"{what} of {name_a} ({size_a}) and {name_b} ({size_b}) differ")


def shown(value):
    """``value`` as a message shows it: NumPy scalars as Python numbers (not ``np.int64(3)``), paths as strings (not
    ``PosixPath('...')``), sequences of them likewise; anything else as it is."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, (list, tuple)):
        return type(value)(shown(v) for v in value)
    return value


def check_positive(name: str, value: float) -> None:
    if not (value > 0):
        raise ValueError(f"{name} must be > 0, got {shown(value)!r}")


def check_finite(name: str, x: torch.Tensor) -> None:
    """Raise if ``x`` holds NaN or Inf (skipped when checks are turned off)."""
    if _CHECK_FINITE and x.is_floating_point() and not bool(torch.isfinite(x).all()):
        bad = int((~torch.isfinite(x)).sum())
        raise ValueError(f"{name} of shape {tuple(x.shape)} contains {bad} NaN or Inf values")


def check_unit_range(name: str, x: torch.Tensor) -> None:
    """Raise unless float ``x`` is finite and within [0, 1] (images as uint8 pixels divided by 255); ``name`` says
    what ``x`` is (e.g. "float images", "item 3 of the MyClips: values")."""
    bad = int((~torch.isfinite(x)).sum())
    if bad:
        raise ValueError(f"{name} hold {bad} NaN or infinite values")
    low, high = float(x.min()), float(x.max())
    if low < 0 or high > 1:
        raise ValueError(f"{name} must lie in [0, 1] (uint8 pixels divided by 255), got {low:.3g}..{high:.3g}")


def check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")


def as_1d_array(name: str, values, dtype=None) -> np.ndarray:
    """Convert ``values`` (sequence, numpy array or tensor) to a 1-D numpy array."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    arr = np.asarray(values, dtype=dtype)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    return arr
