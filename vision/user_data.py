"""A user's own image data (a torch ``Dataset``, ``IterableDataset`` or ``DataLoader``) for ``vision.train``.

Item format: ``(image, label)`` with ``image`` a (C, H, W) uint8 tensor (or float in
[0, 1]) of the training side and ``label`` an int (-1 when unknown), or an image alone;
a DataLoader yields such batches, ``(B, C, H, W)`` images and ``(B,)`` labels. The
methods augment the images on the training device as they do for any data; a webdataset
or any other loader of your own plugs in as a DataLoader. An ``IterableDataset`` must
read only its share of the items under ``torchrun`` (see
:func:`multissl.engine.data.current_shard`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Optional, Tuple

import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset


def _first_image(data: Any) -> Optional[torch.Tensor]:
    """The image of a map-style data set's first item (None for streams and loaders, which are not peeked)."""
    if isinstance(data, IterableDataset) or isinstance(data, DataLoader) or not isinstance(data, Dataset):
        return None
    try:
        item = data[0]
    except (IndexError, KeyError, TypeError) as err:
        raise ValueError(f"your data set's item 0 could not be read ({type(err).__name__}: {err}); items must be "
                         "(image (C, H, W) uint8 tensor, label)") from None
    image = item[0] if isinstance(item, (tuple, list)) else item
    if not isinstance(image, torch.Tensor) or image.ndim != 3:
        raise ValueError(f"your data set's item 0 holds {type(image).__name__} "
                         f"{tuple(image.shape) if hasattr(image, 'shape') else ''}; vision items are (image (C, H, W) uint8 "
                         "tensor, label)")
    if image.shape[-1] != image.shape[-2]:
        raise ValueError(f"your data set's images must be square at the training side, item 0 is {tuple(image.shape)}")
    return image


@dataclass
class UserImages:
    """A user's data with what a run needs to know of it: channels, side, classes."""

    data: Any
    channels: int
    side: int
    classes: List[str] = field(default_factory=list)
    name: str = "user data"

    @classmethod
    def of(cls, data: Any, image_size: Optional[int] = None, channels: Optional[int] = None) -> "UserImages":
        """Wrap ``data``; its side and channels come from a map-style data set's first item, else from
        ``image_size`` (required then) and ``channels`` (default 3)."""
        first = _first_image(data)
        if first is None and not image_size:
            raise ValueError(f"training on a {type(data).__name__} needs image_size= (the side of its square images)")
        side = int(first.shape[-1]) if first is not None else int(image_size)
        if image_size and side != image_size:
            raise ValueError(f"image_size={image_size} but your data set's images are {side}x{side}")
        chans = int(first.shape[0]) if first is not None else int(channels or 3)
        classes = [str(c) for c in getattr(data, "classes", [])]
        return cls(data, chans, side, classes, f"{type(data).__name__} (user data)")

    @property
    def image_size(self) -> Tuple[int, int]:
        return self.side, self.side

    @property
    def has_labels(self) -> bool:
        return len(self.classes) > 1

    def train_dataset(self, crops: Any = None) -> Any:
        return self.data

    def describe(self) -> str:
        size = f"{len(self.data)} items, " if hasattr(self.data, "__len__") and not isinstance(self.data, DataLoader) else ""
        return f"{self.name}: {size}{self.channels} x {self.side}x{self.side}"


__all__ = ["UserImages"]
