"""Decoded training frames held in memory, shared by the training process and its DataLoader workers.

:class:`SharedFrames` keeps every video's frames at the training size (uint8, (T, 3, H, W))
in one anonymous shared memory mapping. It is filled in the background by one process
(:meth:`SharedFrames.fill_in_background`, forked from the training process), video after
video, each decoded once from start to end. The filler waits until training has done its
first step (:meth:`SharedFrames.training_started`, at most :data:`FILL_DELAY_S`), so that
the first step does not share the cores with it, then takes its share of them; a video becomes
readable (:meth:`SharedFrames.frames`) the moment it is complete, and until then a reader
decodes the frames it needs itself. DataLoader workers forked later share the mapping:
the frames are in memory once, however many workers read them.

Sharing needs worker processes started by ``fork`` (Linux's default); where they are not
(macOS, Windows, Python 3.14's ``forkserver``) :func:`background_fill_possible` is False
and the caller fills the store in its own process before training instead.
"""
from __future__ import annotations

import mmap
import multiprocessing
import os
import weakref
from typing import Callable, Iterator, Optional, Sequence, Tuple

import numpy as np
import torch

EMPTY, FILLED, FAILED = 0, 1, -1
FILL_DELAY_S = 30.0  # the longest the filler waits for the first step before it starts


def start_method() -> str:
    """How this process starts worker processes (without fixing it, as ``multiprocessing.get_start_method()`` would)."""
    return multiprocessing.get_start_method(allow_none=True) or multiprocessing.get_all_start_methods()[0]


def background_fill_possible() -> bool:
    """Whether worker processes start by ``fork`` here (and so share a mapping made before they start)."""
    return start_method() == "fork"


class SharedFrames:
    """uint8 frames (T_v, 3, H_v, W_v) for each video v in one shared mapping, with a state per video.

    Args:
        shapes: the (T, 3, H, W) of each video.
    """

    def __init__(self, shapes: Sequence[Tuple[int, int, int, int]]):
        self.shapes = [tuple(int(d) for d in s) for s in shapes]
        sizes = [int(np.prod(s)) for s in self.shapes]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64).tolist()
        self.nbytes = self.offsets[-1]
        self._buffer = mmap.mmap(-1, max(1, self.nbytes))  # MAP_SHARED | MAP_ANONYMOUS: forked children see every write
        self._state = multiprocessing.get_context(start_method()).Array("b", len(shapes))
        self._filler: Optional[multiprocessing.Process] = None
        self._go = multiprocessing.get_context(start_method()).Event()

    def frames(self, v: int) -> torch.Tensor:
        """Video ``v``'s frames (T, 3, H, W) uint8, a view of the shared memory."""
        count = self.offsets[v + 1] - self.offsets[v]
        return torch.frombuffer(self._buffer, dtype=torch.uint8, count=count, offset=self.offsets[v]).view(self.shapes[v])

    def state(self, v: int) -> int:
        with self._state.get_lock():  # a lock on both sides: the frames written before the state are seen after it
            return int(self._state[v])

    def filled(self, v: int) -> bool:
        return self.state(v) == FILLED

    def filled_count(self) -> int:
        with self._state.get_lock():
            return sum(1 for s in self._state if s == FILLED)

    def _set_state(self, v: int, state: int) -> None:
        with self._state.get_lock():
            self._state[v] = state

    def fill(self, decode: Callable[[int], Iterator[torch.Tensor]], order: Optional[Sequence[int]] = None) -> None:
        """Fill every video in this process: ``decode(v)`` yields its frames (t, 3, H, W) uint8 in order;
        a video whose decoding raises is marked failed (readers then decode it themselves)."""
        for v in (order if order is not None else range(len(self.shapes))):
            if self.state(v) != EMPTY:
                continue
            try:
                self._copy(v, decode(v))
            except Exception:  # the reader that needs this video decodes it and reports the error
                self._set_state(v, FAILED)
            else:
                self._set_state(v, FILLED)

    def _copy(self, v: int, chunks: Iterator[torch.Tensor]) -> None:
        target, done = self.frames(v), 0
        for chunk in chunks:
            if tuple(chunk.shape[1:]) != tuple(target.shape[1:]) or done + len(chunk) > len(target):
                raise ValueError(f"video {v}: frames of shape {tuple(chunk.shape)} do not fit {tuple(target.shape)}")
            target[done : done + len(chunk)] = chunk
            done += len(chunk)
        if done != len(target):
            raise ValueError(f"video {v}: {done} frames decoded, {len(target)} expected")

    def training_started(self) -> None:
        """Tell the background filler that training has done its first step (any process may call it)."""
        if not self._go.is_set():
            self._go.set()

    def fill_in_background(self, decode: Callable[[int], Iterator[torch.Tensor]]) -> None:
        """Fill the store in a forked process, from the first step on (it ends with its parent)."""
        context = multiprocessing.get_context("fork")
        self._filler = context.Process(target=_fill_from_child, args=(self, decode, os.getpid()), daemon=True,
                                       name="multissl-frame-filler")
        self._filler.start()
        weakref.finalize(self, _stop, self._filler)

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Wait for the background filler to end (True when it has)."""
        if self._filler is None:
            return True
        self._filler.join(timeout)
        return not self._filler.is_alive()

    def __getstate__(self):
        raise TypeError("SharedFrames lives in shared memory and is not pickled; processes share it by fork")


def _fill_from_child(store: SharedFrames, decode: Callable[[int], Iterator[torch.Tensor]], parent: int) -> None:
    store._go.wait(FILL_DELAY_S)
    torch.set_num_threads(1)  # as DataLoader workers: no OpenMP pool inherited across fork
    for v in range(len(store.shapes)):
        if os.getppid() != parent:  # the training process is gone
            return
        store.fill(decode, order=[v])


def _stop(process: multiprocessing.Process) -> None:
    if process.is_alive():
        process.terminate()
        process.join(timeout=5)


__all__ = ["EMPTY", "FAILED", "FILLED", "SharedFrames", "background_fill_possible"]
