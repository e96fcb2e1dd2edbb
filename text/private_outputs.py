"""Each training thread's own copy of the output vectors, merged into the shared ones after every chunk.

Hogwild threads update the shared (V, D) output matrix ``syn1neg`` without locks. With a small
vocabulary every output row is written by every thread within a few microseconds, so nearly
each row a thread reads was last written by another core and must come from that core's cache:
on 2 threads of a 9,000-word vocabulary (gensim's shortened Wikipedia), CBOW spent a third of
its time waiting for such transfers (a chunk trained 1.5x faster with a matrix of its own).

With private outputs each thread trains on its own copy of ``syn1neg`` and, after every chunk,
adds what it changed (``copy - base``, base being the copy as of the last merge) to the shared
matrix, under a lock, and takes the merged matrix as its new copy and base. A thread thus sees
the other threads' updates of the output vectors one chunk late (as an asynchronous SGD with
one chunk of delay); the input vectors stay shared as before. No update is lost: the lock makes
each merge exact, where Hogwild's concurrent writes may drop one.

A merge reads and writes the whole matrix (V x D), so it pays only while the vocabulary is small
next to a chunk: ``"auto"`` uses the copies when ``vocabulary * 5 <= chunk_words`` (a merge then
costs at most a few per cent of the chunk's training).
"""
from __future__ import annotations

import threading

import numpy as np
from numba import njit

from .config import PRIVATE_OUTPUTS as SETTINGS
AUTO_WORDS_PER_ROW = 5  # "auto": copies when a chunk holds at least this many words per vocabulary row


def use_private_outputs(setting: str, workers: int, negative: int, vocab_size: int, chunk_words: int) -> bool:
    """Whether the threads train on copies of the output vectors (``setting``: auto, on or off)."""
    if setting not in SETTINGS:
        raise ValueError(f"private_outputs must be one of {SETTINGS}, got {setting!r}")
    if workers < 2 or negative == 0 or setting == "off":
        return False
    return setting == "on" or vocab_size * AUTO_WORDS_PER_ROW <= chunk_words


@njit(nogil=True, cache=True)
def merge_changes(shared, own, base):
    """``shared += own - base``, then ``own = base = shared``; all (V, D) float32."""
    for row in range(shared.shape[0]):
        for d in range(shared.shape[1]):
            value = shared[row, d] + (own[row, d] - base[row, d])
            shared[row, d] = value
            own[row, d] = value
            base[row, d] = value


class PrivateOutputs:
    """One thread's copy (``rows``, (V, D)) of the shared output matrix ``shared``; :meth:`merge` after each chunk.

    ``lock`` is shared by every thread's copy: merges run one at a time.
    """

    def __init__(self, shared: np.ndarray, lock: threading.Lock):
        self.shared, self.lock = shared, lock
        with lock:
            self.rows = shared.copy()
        self.base = self.rows.copy()

    def merge(self) -> None:
        """Add this thread's changes since the last merge to the shared matrix and take the merged matrix."""
        with self.lock:
            merge_changes(self.shared, self.rows, self.base)


__all__ = ["PrivateOutputs", "SETTINGS", "merge_changes", "use_private_outputs"]
