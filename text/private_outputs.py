"""Each training thread's own copy of the output vectors, merged into the shared ones as it trains.

Hogwild threads update the shared (V, D) output matrix ``syn1neg`` without locks. With a small
vocabulary every output row is written by every thread within a few microseconds, so nearly
each row a thread reads was last written by another core and must come from that core's cache,
and the threads spend much of their time waiting for such transfers.

With private outputs each thread trains on its own copy of ``syn1neg`` and, every so often,
adds what it changed (``copy - base``, base being the copy as of the last merge) to the shared
matrix, under a lock, and takes the merged matrix as its new copy and base. A thread thus sees
the other threads' updates of the output vectors a little late (as an asynchronous SGD with
a delay of up to one merge interval); the input vectors stay shared as before. No update is lost: the lock makes
each merge exact, where Hogwild's concurrent writes may drop one.

A thread merges after every piece of about ``MERGE_WORDS`` words of its chunk (a piece ends with a
sentence): the longer a thread trains alone, the more both threads' changes of a row add up beyond
where either would have taken it, so the interval is kept short for the rows that change most. The
merges within a chunk cover the first ``HOT_ROWS`` rows (the most frequent words: the vocabulary is
sorted by count, and they take most of the updates); the chunk's last merge covers every row, so the
shared matrix holds all of a finished chunk's changes (at an epoch's end, a checkpoint, an interrupt).
On its own copy a CBOW thread also updates a word's six output rows (the centre word and 5 noise
words) as one block (:func:`multissl.text.kernels.train_chunk`'s ``block_outputs``): faster on rows no
other core writes, slower on shared ones. A whole merge reads and writes the whole matrix (V x D)
while a piece updates about 6 output rows per word, so ``"auto"`` uses the copies when the
vocabulary has at most ``MERGE_WORDS`` words. Measured: docs/text.md, "Private output vectors"
(``benchmarks/text_private_outputs.py``).
"""
from __future__ import annotations

import threading
from typing import Optional

import numpy as np
from numba import njit

from .config import PRIVATE_OUTPUTS

MERGE_WORDS = 10_000  # a thread merges its copy after about this many words (and "auto" needs V <= this)
HOT_ROWS = 1_024  # merges within a job cover the rows of the most frequent words; a job's last merge covers all


def use_private_outputs(setting: str, workers: int, negative: int, vocab_size: int) -> bool:
    """Whether the threads train on copies of the output vectors (``setting``: auto, on or off)."""
    if setting not in PRIVATE_OUTPUTS:
        raise ValueError(f"private_outputs must be one of {PRIVATE_OUTPUTS}, got {setting!r}")
    if workers < 2 or negative == 0 or setting == "off":
        return False
    return setting == "on" or vocab_size <= MERGE_WORDS


@njit(nogil=True, cache=True)
def merge_changes(shared, own, base, rows):
    """``shared += own - base``, then ``own = base = shared``, for the first ``rows`` rows; all (V, D) float32."""
    for row in range(min(rows, shared.shape[0])):
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

    def merge(self, rows: Optional[int] = None) -> None:
        """Add this thread's changes since the last merge to the shared matrix and take the merged matrix: of
        every row, or of the first ``rows`` (the most frequent words, when the vocabulary is sorted)."""
        with self.lock:
            merge_changes(self.shared, self.rows, self.base, len(self.shared) if rows is None else rows)


__all__ = ["HOT_ROWS", "MERGE_WORDS", "PrivateOutputs", "merge_changes", "use_private_outputs"]
