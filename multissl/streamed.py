"""Data sets read from disk item by item while training: the contract every modality's streaming data set keeps.

A :class:`StreamedDataset` decodes item ``i`` when it is asked for (in a DataLoader
worker process), never the whole set before the first step. It keeps three promises:

- **per-item randomness from the key**: the engine's sampler passes a
  :class:`~multissl.engine.data.SampleKey` (index, epoch, seed) and the item's random
  crop, offset, flip ... come from ``key.rng()``, so a batch does not depend on which
  worker made it, and a run resumed mid-epoch sees exactly the batches it would have;
- **a corrupt item never ends a run**: when :meth:`load` raises one of
  :attr:`decode_errors`, a warning names the item (``describe``) and the next index
  (then the one after ...) is used in its place, so batches keep their size; when
  many items come from one file (``source_of``), the file's first error condemns
  all its items in this process, without reading it again;
- **the engine knows it streams** (``streams = True``): it gets worker processes by
  default (:func:`~multissl.engine.data.default_num_workers`).
"""
from __future__ import annotations

import os
import warnings
from typing import Any, Dict, Hashable, Optional, Set, Tuple

from torch.utils.data import Dataset

from .engine.data import SampleKey, as_key

MAX_SUBSTITUTES = 32
MEMORY_BUDGET_BYTES = 2 * 2**30  # data sets that decode to less are held in memory by default
DATA_MODES = ("auto", "memory", "stream")


def memory_budget() -> int:
    """Bytes of decoded data a modality holds in memory by default: :data:`MEMORY_BUDGET_BYTES`, at most a
    quarter of this machine's RAM."""
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return MEMORY_BUDGET_BYTES
    return min(MEMORY_BUDGET_BYTES, ram // 4)


def choose_data_mode(mode: str, decoded_bytes: int, limit: Optional[int] = None) -> str:
    """``"memory"`` or ``"stream"``: ``mode`` itself, or for ``"auto"`` memory when ``decoded_bytes`` fits
    :func:`memory_budget` (and ``limit``, a modality's own lower bound, when given); a ValueError names
    the choices for anything else."""
    if mode not in DATA_MODES:
        raise ValueError(f"data_mode must be one of {DATA_MODES}, got {mode!r}")
    if mode != "auto":
        return mode
    return "memory" if decoded_bytes <= auto_memory_bound(limit) else "stream"


def auto_memory_bound(limit: Optional[int] = None) -> int:
    """Bytes of decoded data ``"auto"`` holds in memory: :func:`memory_budget`, or a modality's lower ``limit``."""
    return memory_budget() if limit is None else min(limit, memory_budget())


class StreamedDataset(Dataset):
    """Base class: subclasses define ``__len__``, :meth:`load` and :meth:`describe`, and set :attr:`decode_errors`.

    ``dataset[i]`` or ``dataset[SampleKey(i, epoch, seed)]`` returns ``load(key)``
    for item i, or for the first readable item after it (with a warning naming
    each unreadable one, once per process). A bare index is epoch 0 of seed 0: in a
    DataLoader of your own, use ``EpochSampler(len(data), seed, keyed=True)`` and
    its ``set_epoch`` for new draws each epoch (:func:`~multissl.engine.fit` does).
    """

    keyed_items = True
    streams = True
    decode_errors: Tuple[type, ...] = (OSError, ValueError)

    def load(self, key: SampleKey) -> Any:
        """Item ``key.index``, with its randomness drawn from ``key.rng()``."""
        raise NotImplementedError

    def describe(self, index: int) -> str:
        """What item ``index`` is, for warnings (e.g. its file name)."""
        return f"item {index}"

    def source_of(self, index: int) -> Optional[Hashable]:
        """The file item ``index`` is read from, when several items share one (None: each item is its own)."""
        return None

    @property
    def failed_sources(self) -> Dict[Hashable, BaseException]:
        """Sources this process found unreadable so far, with the error each first raised."""
        if not hasattr(self, "_failed_sources"):
            self._failed_sources: Dict[Hashable, BaseException] = {}
        return self._failed_sources

    def _load_checked(self, key: SampleKey) -> Any:
        """``load(key)``, or the stored error of its source when that already failed in this process."""
        source = self.source_of(key.index)
        if source is not None and source in self.failed_sources:
            raise self.failed_sources[source].with_traceback(None)
        try:
            return self.load(key)
        except self.decode_errors as err:
            if source is not None:
                self.failed_sources.setdefault(source, err)
            raise

    @property
    def unreadable(self) -> Set[int]:
        """Indices this process found unreadable so far."""
        if not hasattr(self, "_unreadable"):
            self._unreadable: Set[int] = set()
        return self._unreadable

    def __getitem__(self, key: Any) -> Any:
        key = as_key(key)
        n = len(self)
        if not -n <= key.index < n:
            raise IndexError(f"item {key.index} out of range for {n} items")
        first = key.index % n
        for step in range(min(n, MAX_SUBSTITUTES)):
            index = (first + step) % n
            if index in self.unreadable:
                continue
            try:
                return self._load_checked(key._replace(index=index))
            except self.decode_errors as err:
                self.unreadable.add(index)
                warnings.warn(f"skipping unreadable {self.describe(index)}: {type(err).__name__}: {err}", RuntimeWarning,
                              stacklevel=2)
        raise RuntimeError(f"{MAX_SUBSTITUTES} items in a row from {self.describe(first)} on could not be read "
                           "(see the warnings); is the data set readable?")


__all__ = ["DATA_MODES", "MAX_SUBSTITUTES", "MEMORY_BUDGET_BYTES", "StreamedDataset", "auto_memory_bound", "choose_data_mode", "memory_budget"]
