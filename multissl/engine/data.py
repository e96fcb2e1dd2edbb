"""How the engine walks a data set: a seeded, shardable, restartable epoch order; worker processes; moving batches.

A map-style data set is walked by :class:`EpochSampler`: a permutation drawn from
(seed, epoch), each rank's share of it under DDP, restartable mid-epoch. A data set
with ``keyed_items = True`` (such as :class:`multissl.streamed.StreamedDataset`) gets a
:class:`SampleKey` instead of a bare index, so that its per-item randomness comes from
(seed, epoch, index) and not from a worker's generator: batches are then the same with
any number of workers, and a run resumed mid-epoch sees exactly the batches it would have.

A data set that makes its own batches (e.g. windows grouped by speaker) defines
``batch_sampler(batch_size, seed, rank, world_size)``, returning a sampler of lists of
keys with ``counts_batches = True``, a ``seed`` attribute, ``set_epoch(epoch, start_batch)``
and ``__len__`` (batches per rank and epoch); the engine then builds the loader around it.
"""
from __future__ import annotations

import math
import os
import signal
from typing import Any, List, NamedTuple, Optional

import numpy as np
import torch
from torch.utils.data import Sampler, get_worker_info

from .. import distributed as dist_utils

MAX_DEFAULT_WORKERS = 8


class SampleKey(NamedTuple):
    """Item ``index`` of epoch ``epoch`` of a run seeded ``seed``: everything an item's randomness may depend on."""

    index: int
    epoch: int = 0
    seed: int = 0

    def rng(self, *salt: int) -> np.random.Generator:
        """A NumPy generator determined by (seed, epoch, index, *salt) alone."""
        return np.random.default_rng([self.seed % 2**63, self.epoch, self.index, *salt])


def as_key(key: Any) -> SampleKey:
    """``key`` as a :class:`SampleKey` (a bare index is epoch 0, seed 0)."""
    if isinstance(key, SampleKey):
        return key
    if isinstance(key, (int, np.integer)) or (isinstance(key, torch.Tensor) and key.ndim == 0):
        return SampleKey(int(key))
    raise TypeError(f"item keys are integer indices or SampleKey, got {type(key).__name__}")


class EpochSampler(Sampler):
    """Shuffled indices for one epoch, reproducible from (seed, epoch), shardable, restartable.

    Each epoch's order is a permutation drawn from a generator seeded with
    ``seed`` and the epoch number. Under DDP rank r takes every
    world_size-th index from r: with ``drop_last`` each rank gets
    ``num_items // world_size`` (the shares are disjoint; the few left over
    differ from epoch to epoch), else the order is padded to a multiple of
    ``world_size`` (the shares cover every item; a few repeat).
    ``set_epoch(epoch, start)`` skips the first ``start`` indices of this
    rank's share (to resume mid-epoch). ``keyed``: yield
    :class:`SampleKey` (index, epoch, seed) instead of bare indices.
    """

    def __init__(self, num_items: int, seed: int = 0, shuffle: bool = True, rank: int = 0, world_size: int = 1,
                 keyed: bool = False, drop_last: bool = False):
        if num_items <= 0:
            raise ValueError(f"the dataset is empty (num_items={num_items})")
        if drop_last and num_items < world_size:
            raise ValueError(f"{num_items} items cannot be shared by {world_size} processes")
        self.num_items, self.seed, self.shuffle = num_items, seed, shuffle
        self.rank, self.world_size, self.keyed, self.drop_last = rank, world_size, keyed, drop_last
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        self.epoch, self.start = epoch, start

    def _per_rank(self) -> int:
        if self.drop_last:
            return self.num_items // self.world_size
        return math.ceil(self.num_items / self.world_size)

    def _indices(self) -> List[int]:
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            order = torch.randperm(self.num_items, generator=g).tolist()
        else:
            order = list(range(self.num_items))
        total = self._per_rank() * self.world_size
        order = order[:total] if total <= len(order) else order + order[: total - len(order)]
        return order[self.rank :: self.world_size]

    def __iter__(self):
        indices = self._indices()[self.start :]
        if not self.keyed:
            return iter(indices)
        return iter(SampleKey(i, self.epoch, self.seed) for i in indices)

    def __len__(self) -> int:
        return self._per_rank() - self.start


class Shard(NamedTuple):
    """Which share of a stream this process (and this DataLoader worker) reads: items ``index::count``."""

    index: int
    count: int

    def take(self, items):
        """The items of ``items`` (a sequence or an iterable) that belong to this share."""
        if hasattr(items, "__getitem__") and hasattr(items, "__len__"):
            return items[self.index :: self.count]
        return (item for i, item in enumerate(items) if i % self.count == self.index)


def current_shard() -> Shard:
    """This process's share of an iterable data set: one of ``world_size x num_workers`` shares.

    Call it inside ``IterableDataset.__iter__`` (it reads the DataLoader worker
    that runs the iteration) and read only ``shard.take(files)``: under
    ``torchrun`` no two ranks, and no two workers, read the same items.
    """
    info = get_worker_info()
    workers, worker = (info.num_workers, info.id) if info is not None else (1, 0)
    return Shard(dist_utils.rank() * workers + worker, dist_utils.world_size() * workers)


def usable_cpus() -> int:
    """CPU cores this process may run on (its affinity mask, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def default_num_workers(streams: bool) -> int:
    """DataLoader workers when the caller chose none: 0 for data held in memory; for data read from disk,
    this process's share of the node's cores (cores / local ranks) minus one for training, at least 1,
    at most :data:`MAX_DEFAULT_WORKERS`."""
    if not streams:
        return 0
    local_ranks = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    return max(1, min(MAX_DEFAULT_WORKERS, usable_cpus() // max(1, local_ranks) - 1))


WORKER_NICE = 10  # DataLoader workers' niceness above the training process's


def quiet_worker(worker_id: int, nice: int = WORKER_NICE) -> None:
    """``worker_init_fn`` of the engine's loaders: workers ignore the stop signals (Ctrl-C reaches the whole
    process group; the main process stops training cleanly and ends its workers itself) and run ``nice`` steps
    below the training process's priority. When the cores are short, the training step (what every batch waits
    for) goes first and the workers take the CPU time it leaves; when they are not, nothing changes. The set-up
    before step 1 (e.g. the colorizer's colour fit) then does not share the cores with the workers' read-ahead."""
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    if nice > 0 and hasattr(os, "nice"):
        try:
            os.nice(nice)
        except OSError:  # not permitted here: the worker keeps its priority
            pass


def streams_from_disk(data: Any) -> bool:
    """Whether ``data`` reads (and decodes) its items from disk: its ``streams`` attribute, False by default."""
    return bool(getattr(data, "streams", False))


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


__all__ = ["EpochSampler", "MAX_DEFAULT_WORKERS", "SampleKey", "Shard", "as_key", "batch_size_of", "current_shard",
           "WORKER_NICE", "default_num_workers", "move_to_device", "quiet_worker", "streams_from_disk", "usable_cpus"]
