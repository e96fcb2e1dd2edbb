"""A user's own clips for training the colorizer: a torch ``Dataset``, ``IterableDataset`` or ``DataLoader``.

The format (checked on every item or batch; a wrong one is a ValueError naming it):

- a ``Dataset`` or ``IterableDataset`` yields **clips** (T, 3, H, W): float RGB in [0, 1],
  T >= 2 frames (the first T - 1 are references, the last one the target), H and W
  multiples of 8, the same for every clip;
- a ``DataLoader`` (or any iterable of batches) yields **batches** (B, T, 3, H, W) of them.

A map-style data set keeps what the engine knows about it (``keyed_items``, ``streams``,
``batch_sampler``): :class:`CheckedClips` only looks at what it returns. The colour
clusters are fitted on frames of the data's own clips (:func:`clip_frames`).
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator, List

import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset

from .io import spread_evenly

CLIP_FORMAT = "a clip (T, 3, H, W) float RGB in [0, 1] with T >= 2 and H, W multiples of 8"
BATCH_FORMAT = "a batch (B, T, 3, H, W) of clips, float RGB in [0, 1], T >= 2, H and W multiples of 8"


def is_user_data(data: Any) -> bool:
    """Whether ``data`` is a user's data set or loader rather than paths of videos."""
    return isinstance(data, (Dataset, IterableDataset, DataLoader)) or (
        isinstance(data, Iterable) and not isinstance(data, (str, bytes, list, tuple)) and not hasattr(data, "__fspath__"))


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
    low, high = float(x.min()), float(x.max())
    if low < 0 or high > 1:
        raise ValueError(f"{where}: values must lie in [0, 1] (RGB divided by 255), got {low:.3g}..{high:.3g}")
    return x


class _Forwarding:
    """Attributes the wrapper lacks are the wrapped data's (a sampler, ``set_epoch``, ``streams`` ...)."""

    data: Any

    def __getattr__(self, name: str) -> Any:
        if name == "data":
            raise AttributeError(name)
        return getattr(self.data, name)


class CheckedClips(_Forwarding, Dataset):
    """A user's map-style data set of clips, each checked when it is loaded."""

    def __init__(self, data: Dataset):
        self.data = data
        self.keyed_items = bool(getattr(data, "keyed_items", False))
        self.streams = bool(getattr(data, "streams", False))

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, key: Any) -> torch.Tensor:
        index = getattr(key, "index", key)
        return check_clips(self.data[key], False, f"item {index} of the {type(self.data).__name__}")


class CheckedClipStream(_Forwarding, IterableDataset):
    """A user's iterable data set of clips, each checked as it comes."""

    def __init__(self, data: IterableDataset):
        self.data = data
        self.streams = bool(getattr(data, "streams", False))

    def __iter__(self) -> Iterator[torch.Tensor]:
        for i, clip in enumerate(self.data):
            yield check_clips(clip, False, f"clip {i} of this worker's share of the {type(self.data).__name__}")

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.data, "set_epoch"):
            self.data.set_epoch(epoch)


class CheckedBatches(_Forwarding):
    """A user's DataLoader (or iterable of batches), each batch checked as it comes; its length and sampler are kept."""

    def __init__(self, data: Iterable):
        self.data = data

    def __iter__(self) -> Iterator[torch.Tensor]:
        for i, batch in enumerate(self.data):
            yield check_clips(batch, True, f"batch {i} of the {type(self.data).__name__}")

    def __len__(self) -> int:
        return len(self.data)


def checked(data: Any) -> Any:
    """``data`` wrapped so that every clip or batch is checked (:class:`CheckedClips`, :class:`CheckedClipStream`,
    :class:`CheckedBatches`)."""
    if isinstance(data, IterableDataset):
        return CheckedClipStream(data)
    if isinstance(data, Dataset):
        return CheckedClips(data)
    return CheckedBatches(data)


def clip_frames(data: Any, count: int) -> torch.Tensor:
    """About ``count`` frames (N, 3, H, W) of the clips of checked user ``data``, for fitting colours: clips evenly
    spread over a map-style data set, else the first clips or batches it yields."""
    frames: List[torch.Tensor] = []
    if isinstance(data, CheckedClips):
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


__all__ = ["BATCH_FORMAT", "CLIP_FORMAT", "CheckedBatches", "CheckedClipStream", "CheckedClips", "check_clips", "checked",
           "clip_frames", "is_user_data"]
