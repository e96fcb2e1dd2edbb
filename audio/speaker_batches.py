"""Batches whose windows come in groups of one speaker (for same-speaker negatives), made by the data set itself.

:class:`SpeakerGrouped` wraps any data set whose items have known speakers
(:class:`~multissl.audio.windows.RandomWindows`, or a user's data set with a
``speakers`` sequence) and gives it the core's ``batch_sampler(batch_size,
seed, rank, world_size)``: :func:`multissl.engine.fit` then builds the
DataLoader around :class:`SpeakerGroupedBatches` (worker processes, this
rank's share, a restart at any batch).

Each epoch, drawn from (seed, epoch) alone: every speaker's items are shuffled
and cut into groups of ``group_size`` (a rest smaller than a group waits for
another epoch); the groups are dealt in rounds (one group of every speaker
that has one left, in a random speaker order per epoch), so that neighbouring
groups belong to different speakers; consecutive groups make the batches,
whose order is shuffled. Under DDP rank r takes batches r, r + world_size, ...
(the shares are disjoint; every rank gets the same number). No item appears
twice in an epoch.
"""
from __future__ import annotations

from typing import Any, Sequence, Union

import numpy as np
from torch.utils.data import Dataset

from multissl.engine.data import SampleKey


class SpeakerGroupedBatches:
    """The batch sampler: lists of ``batch_size`` item keys, ``group_size`` consecutive ones of one speaker.

    Args:
        speakers: (N,) the speaker of every item of the data set.
        batch_size: items per batch (a multiple of ``group_size``).
        group_size: items of one speaker side by side.
        seed, rank, world_size: the run's seed and this process's share.
        keyed: yield :class:`~multissl.engine.data.SampleKey` (index, epoch,
            seed) instead of bare indices (for data sets with ``keyed_items``).

    ``set_epoch(epoch, start_batch)`` chooses the epoch and skips its first
    ``start_batch`` batches of this rank; ``len`` is the batches left.
    """

    counts_batches = True

    def __init__(self, speakers: Sequence[int], batch_size: int, group_size: int = 4, seed: int = 0, rank: int = 0,
                 world_size: int = 1, keyed: bool = True):
        if group_size < 1 or batch_size < group_size or batch_size % group_size:
            raise ValueError(f"batch_size ({batch_size}) must be a multiple of group_size ({group_size})")
        speakers = np.asarray(speakers)
        if speakers.ndim != 1 or not len(speakers):
            raise ValueError(f"speakers must be a non-empty (N,) sequence, got shape {speakers.shape}")
        self.batch_size, self.group_size, self.seed = int(batch_size), int(group_size), int(seed)
        self.rank, self.world_size, self.keyed = int(rank), int(world_size), keyed
        self.by_speaker = [np.flatnonzero(speakers == s) for s in np.unique(speakers)]
        groups = sum(len(items) // group_size for items in self.by_speaker)
        self.batches_per_epoch = groups // (batch_size // group_size)
        self.per_rank = self.batches_per_epoch // self.world_size
        if self.per_rank == 0:
            raise ValueError(f"{len(speakers)} items make {groups} groups of {group_size} windows of one speaker, fewer than "
                             f"one batch of {batch_size} for each of {world_size} process(es); lower batch_size or group_size")
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch, self.start = int(epoch), int(start_batch)

    def epoch_batches(self) -> np.ndarray:
        """(batches_per_epoch, batch_size) item indices of the whole epoch (every rank's), from (seed, epoch) alone."""
        rng = np.random.default_rng([self.seed % 2**63, self.epoch])
        rounds, groups = [], []
        for items in self.by_speaker:
            count = len(items) // self.group_size
            chosen = rng.permutation(items)[:count * self.group_size]
            rounds.append(np.arange(count) + rng.random())  # round j of this speaker, at its random place in the round
            groups.append(chosen.reshape(count, self.group_size))
        dealt = np.concatenate(groups)[np.argsort(np.concatenate(rounds), kind="stable")]
        per_batch = self.batch_size // self.group_size
        batches = dealt[:self.batches_per_epoch * per_batch].reshape(self.batches_per_epoch, self.batch_size)
        return batches[rng.permutation(len(batches))]

    def _mine(self) -> np.ndarray:
        return self.epoch_batches()[self.rank::self.world_size][:self.per_rank]

    def __iter__(self):
        for batch in self._mine()[self.start:]:
            yield [SampleKey(int(i), self.epoch, self.seed) for i in batch] if self.keyed else [int(i) for i in batch]

    def __len__(self) -> int:
        return max(0, self.per_rank - self.start)


class SpeakerGrouped(Dataset):
    """``dataset`` (items read as it reads them) with speaker-grouped batches: its ``batch_sampler``.

    Args:
        dataset: a map-style data set; a :class:`~multissl.streamed.StreamedDataset`
            keeps its keyed randomness, corrupt-item handling and workers.
        speakers: (len(dataset),) the speaker of every item (known without reading the items).
        group_size: items of one speaker side by side in a batch.
    """

    def __init__(self, dataset: Dataset, speakers: Sequence[int], group_size: int):
        if len(speakers) != len(dataset):
            raise ValueError(f"{len(speakers)} speakers for {len(dataset)} items: give one speaker per item")
        self.dataset, self.speakers, self.group_size = dataset, np.asarray(speakers), int(group_size)
        self.keyed_items = bool(getattr(dataset, "keyed_items", False))
        self.streams = bool(getattr(dataset, "streams", False))

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: Union[int, SampleKey]) -> Any:
        return self.dataset[key]

    def batch_sampler(self, batch_size: int, seed: int, rank: int, world_size: int) -> SpeakerGroupedBatches:
        """The core's hook: this rank's speaker-grouped batches of ``batch_size`` items."""
        return SpeakerGroupedBatches(self.speakers, batch_size, self.group_size, seed, rank, world_size, keyed=self.keyed_items)


__all__ = ["SpeakerGrouped", "SpeakerGroupedBatches"]
