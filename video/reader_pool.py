"""A bounded pool of open video readers: the least recently used one is closed when another must open.

A decoder left open keeps its buffers (a decord reader of a 1280 x 720 video holds tens
of MB, more after large reads); a data set of thousands of videos cannot keep one open
per video. :class:`ReaderPool` keeps at most ``capacity`` readers open in this process
and closes the least recently used one before opening another. A pool belongs to the
process that made it: in a forked child (a DataLoader worker) it starts empty, so that
no two processes share a decoder or a file offset. The parent's readers are kept, never
closed or freed, in the child (:func:`keep_from_parent`): freeing a decoder copied by fork
would wait for its decoding threads, which fork does not copy.

:class:`DecodeThreads`: a few threads per process decode a batch's clips at once (decoders
and torch release the GIL), each thread with a pool of its own.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, Hashable, List, Optional

from torch.utils.data import get_worker_info

from multissl.engine.data import usable_cpus

from .io import VideoReader

DEFAULT_OPEN_READERS = 4
MAX_DECODE_THREADS = 8
_FROM_PARENT: list = []


def keep_from_parent(obj: object) -> None:
    """Keep ``obj`` (readers a forked child inherited) referenced for the life of this process: never freed here."""
    _FROM_PARENT.append(obj)


class ReaderPool:
    """At most ``capacity`` open readers made by ``opener(key)``, least recently used closed first.

    ``pool.get(key)`` returns the open reader of ``key`` (opening it, and closing the
    least recently used one when the pool is full); ``open_count`` and ``most_open``
    say how many are open now and were open at most.
    """

    def __init__(self, opener: Callable[[Hashable], VideoReader], capacity: int = DEFAULT_OPEN_READERS):
        if capacity < 1:
            raise ValueError(f"a reader pool holds at least 1 reader, got capacity={capacity}")
        self.opener, self.capacity = opener, capacity
        self._readers: "OrderedDict[Hashable, VideoReader]" = OrderedDict()
        self._pid = os.getpid()
        self.opened = self.most_open = 0

    def _forget_if_forked(self) -> None:
        if os.getpid() != self._pid:  # the parent's readers are the parent's: never read, close or free them here
            keep_from_parent(self._readers)
            self._readers = OrderedDict()
            self._pid = os.getpid()
            self.opened = self.most_open = 0

    def get(self, key: Hashable) -> VideoReader:
        self._forget_if_forked()
        reader = self._readers.get(key)
        if reader is not None:
            self._readers.move_to_end(key)
            return reader
        while len(self._readers) >= self.capacity:
            _, oldest = self._readers.popitem(last=False)
            oldest.close()
        reader = self.opener(key)
        self._readers[key] = reader
        self.opened += 1
        self.most_open = max(self.most_open, len(self._readers))
        return reader

    def discard(self, key: Hashable) -> None:
        """Close and forget the reader of ``key`` (after it failed: the next ``get`` opens it afresh)."""
        self._forget_if_forked()
        reader = self._readers.pop(key, None)
        if reader is not None:
            reader.close()

    def close(self) -> None:
        """Close every reader of this process."""
        self._forget_if_forked()
        while self._readers:
            self._readers.popitem()[1].close()

    @property
    def open_count(self) -> int:
        self._forget_if_forked()
        return len(self._readers)

    def __getstate__(self) -> Dict[str, object]:  # a pickled pool (spawned workers) starts empty
        return {**self.__dict__, "_readers": OrderedDict(), "_pid": -1}


def decode_thread_count() -> int:
    """Threads that decode a batch's clips in this process: its share of the cores (cores / DataLoader workers,
    rounded up: the training process mostly waits while clips are decoded), at most :data:`MAX_DECODE_THREADS`."""
    info = get_worker_info()
    workers = info.num_workers if info is not None else 1
    return max(1, min(MAX_DECODE_THREADS, -(-usable_cpus() // workers)))


class DecodeThreads:
    """A process's pool of decoding threads; each thread (and the caller's) has a :class:`ReaderPool` of its own
    (readers are not thread-safe), together at most ``open_readers`` readers."""

    def __init__(self, opener, open_readers: int, count: int):
        self.pid, self.count = os.getpid(), max(1, min(count, open_readers - 1))
        self.opener = opener
        self.capacity = open_readers if self.count == 1 else max(1, open_readers // (self.count + 1))
        self._local = threading.local()
        self._pools: List[ReaderPool] = []
        self._executor: Optional[ThreadPoolExecutor] = None

    def pool(self) -> ReaderPool:
        if not hasattr(self._local, "pool"):
            self._local.pool = ReaderPool(self.opener, self.capacity)
            self._pools.append(self._local.pool)
        return self._local.pool

    def map(self, fn, items: List[Any]) -> List[Any]:
        if self.count == 1 or len(items) == 1:
            return [fn(item) for item in items]
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.count, thread_name_prefix="multissl-decode")
        return list(self._executor.map(fn, items))

    def open_count(self) -> int:
        return sum(p.open_count for p in self._pools)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown()
            self._executor = None
        for pool in self._pools:
            pool.close()


__all__ = ["DEFAULT_OPEN_READERS", "DecodeThreads", "MAX_DECODE_THREADS", "ReaderPool", "decode_thread_count", "keep_from_parent"]
