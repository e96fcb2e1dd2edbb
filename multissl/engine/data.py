"""How the engine walks a data set: a seeded, shardable, restartable epoch order; moving batches to a device."""
from __future__ import annotations

import math
from typing import Any, List

import torch
from torch.utils.data import Sampler


class EpochSampler(Sampler[int]):
    """Shuffled indices for one epoch, reproducible from (seed, epoch), shardable, restartable.

    Each epoch's order is a permutation drawn from a generator seeded with
    ``seed`` and the epoch number. Under DDP the order is padded to a multiple
    of ``world_size`` and rank r takes every world_size-th index from r.
    ``set_epoch(epoch, start)`` skips the first ``start`` indices of this
    rank's share (to resume mid-epoch).
    """

    def __init__(self, num_items: int, seed: int = 0, shuffle: bool = True, rank: int = 0, world_size: int = 1):
        if num_items <= 0:
            raise ValueError(f"the dataset is empty (num_items={num_items})")
        self.num_items, self.seed, self.shuffle = num_items, seed, shuffle
        self.rank, self.world_size = rank, world_size
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        self.epoch, self.start = epoch, start

    def _indices(self) -> List[int]:
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            order = torch.randperm(self.num_items, generator=g).tolist()
        else:
            order = list(range(self.num_items))
        per_rank = math.ceil(self.num_items / self.world_size)
        order += order[: per_rank * self.world_size - self.num_items]
        return order[self.rank :: self.world_size]

    def __iter__(self):
        return iter(self._indices()[self.start :])

    def __len__(self) -> int:
        return math.ceil(self.num_items / self.world_size) - self.start


def move_to_device(batch: Any, device: torch.device) -> Any:
    """Move every tensor inside nested tuples/lists/dicts to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: move_to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        moved = [move_to_device(v, device) for v in batch]
        return type(batch)(*moved) if hasattr(batch, "_fields") else type(batch)(moved)
    return batch


def batch_size_of(batch: Any) -> int:
    """Number of samples in a batch: the length of its first tensor (1 if none)."""
    if isinstance(batch, torch.Tensor):
        return len(batch) if batch.ndim else 1
    if isinstance(batch, dict):
        batch = list(batch.values())
    if isinstance(batch, (list, tuple)):
        for item in batch:
            n = batch_size_of(item)
            if n:
                return n
    return 0



__all__ = ["EpochSampler", "batch_size_of", "move_to_device"]
