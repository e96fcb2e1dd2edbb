"""A user's own clips for training the colorizer: a torch ``Dataset``, ``IterableDataset`` or ``DataLoader``.

The format (checked on every item or batch; a wrong one is a ValueError naming it):

- a ``Dataset`` or ``IterableDataset`` yields **clips** (T, 3, H, W): float RGB in [0, 1],
  T >= 2 frames (the first T - 1 are references, the last one the target), H and W
  multiples of 8, the same for every clip;
- a ``DataLoader`` (or any iterable of batches) yields **batches** (B, T, 3, H, W) of them.

A map-style data set keeps what the engine knows about it (``keyed_items``, ``streams``,
``batch_sampler``): the check (:mod:`multissl.user_data`) only looks at what it returns. The
colour clusters are fitted on frames of the data's own clips (:func:`clip_frames`).
"""
from __future__ import annotations

from functools import partial
from typing import Any, List

import torch

from multissl.checks import check_unit_range
from multissl.user_data import CheckedItems, is_user_data
from multissl.user_data import checked as checked_data

from .io import spread_evenly

CLIP_FORMAT = "a clip (T, 3, H, W) float RGB in [0, 1] with T >= 2 and H, W multiples of 8"
BATCH_FORMAT = "a batch (B, T, 3, H, W) of clips, float RGB in [0, 1], T >= 2, H and W multiples of 8"


def _shape(x: Any) -> str:
    if isinstance(x, torch.Tensor):
        return f"a {x.dtype} tensor of shape {tuple(x.shape)}"
    return f"a {type(x).__name__}"


def check_clips(x: Any, batched: bool, where: str) -> torch.Tensor:
    """``x`` if it is a clip (T, 3, H, W) (``batched``: a batch (B, T, 3, H, W)) in the documented format, else a
    ValueError naming ``where`` (e.g. "item 17 of the data set")."""
    dims = 5 if batched else 4
    ok = (isinstance(x, torch.Tensor) and x.ndim == dims and x.is_floating_point() and x.shape[-3] == 3
          and x.shape[-4] >= 2 and x.shape[-1] % 8 == 0 and x.shape[-2] % 8 == 0 and x.shape[-1] > 0 and x.shape[-2] > 0)
    if not ok:
        raise ValueError(f"{where}: expected {BATCH_FORMAT if batched else CLIP_FORMAT}, got {_shape(x)}")
    check_unit_range(f"{where}: values", x)
    return x


def checked(data: Any) -> Any:
    """``data`` wrapped so that every clip or batch is checked (:func:`multissl.user_data.checked`)."""
    return checked_data(data, partial(check_clips, batched=False), partial(check_clips, batched=True))


def clip_frames(data: Any, count: int) -> torch.Tensor:
    """About ``count`` frames (N, 3, H, W) of the clips of checked user ``data``, for fitting colours: clips evenly
    spread over a map-style data set, else the first clips or batches it yields."""
    frames: List[torch.Tensor] = []
    if isinstance(data, CheckedItems):
        first = data[0]
        wanted = max(1, -(-count // len(first)))
        frames = [first] + [data[i] for i in spread_evenly(range(1, len(data)), wanted - 1)] if len(data) > 1 else [first]
    else:
        total = 0
        for item in data:
            item = item.reshape(-1, *item.shape[-3:])
            frames.append(item)
            total += len(item)
            if total >= count:
                break
    if not frames:
        raise ValueError("the data yielded no clip to fit the colour clusters on")
    return torch.cat([f.reshape(-1, *f.shape[-3:]) for f in frames])[:count].float()


__all__ = ["BATCH_FORMAT", "CLIP_FORMAT", "check_clips", "checked", "clip_frames", "is_user_data"]
