"""The corpus as word ids in a temporary file, cut into the chunks training hands to its threads.

Training reads the corpus once per epoch; encoding the text (splitting, looking words up)
costs more than reading ids back, so the ids are written once, to an anonymous temporary
file (deleted when closed, or by the system if the process dies), and every epoch reads
them back chunk by chunk. A chunk holds whole sentences, ``-1`` after each. The ids may be
provisional (a file scanned before its vocabulary was known): ``remap`` then maps each
onto a vocabulary row or ``-2`` (not in the vocabulary, dropped when read).
"""
from __future__ import annotations

import tempfile
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np
from numba import njit


@njit(nogil=True, cache=True)
def remap_ids(ids, rows):
    """(N,) ids -> (M,) rows: ``rows[id]`` for each id >= 0, ids < 0 (sentence ends) kept, rows < 0 dropped.

    Returns ``(mapped, number of words)``.
    """
    out = np.empty_like(ids)
    k = 0
    words = 0
    for x in ids:
        if x < 0:
            out[k] = x
            k += 1
        else:
            r = rows[x]
            if r >= 0:
                out[k] = r
                k += 1
                words += 1
    return out[:k], words


class EncodedCorpus:
    """int32 ids in a temporary file; chunk ``i`` is ``ids[ends[i-1]:ends[i]]``.

    Fill it with :meth:`append` (one chunk of ids) or :meth:`extend` (ids with the chunk ends that fall
    inside them, then :meth:`finish`); read it with :meth:`chunks`.
    """

    def __init__(self):
        self.file = tempfile.TemporaryFile(prefix="multissl-w2v-", suffix=".int32")
        self.ends: List[int] = []
        self.length = 0
        self.remap: Optional[np.ndarray] = None
        self.complete = False

    def __len__(self) -> int:
        return len(self.ends)

    def append(self, ids: np.ndarray, n_words: int = 0) -> None:
        """One whole chunk."""
        self.extend(ids, [len(ids)])

    def extend(self, ids: np.ndarray, chunk_ends: Sequence[int]) -> None:
        """``ids`` continue the corpus; ``chunk_ends`` (positions in ``ids``) close chunks."""
        self.file.seek(0, 2)
        np.asarray(ids, np.int32).tofile(self.file)
        self.ends.extend(self.length + int(e) for e in chunk_ends)
        self.length += len(ids)

    def finish(self) -> None:
        """The corpus is all there: ids after the last chunk end form the last chunk."""
        if self.length > (self.ends[-1] if self.ends else 0):
            self.ends.append(self.length)
        self.complete = True

    def reset(self) -> None:
        self.file.seek(0)
        self.file.truncate()
        self.ends, self.length, self.complete = [], 0, False

    def chunks(self, order: Optional[Sequence[int]] = None) -> Iterator[Tuple[np.ndarray, int]]:
        """``(ids, number of words)`` of the chunks in ``order`` (default: corpus order)."""
        self.file.flush()
        for i in range(len(self.ends)) if order is None else order:
            start = self.ends[i - 1] if i else 0
            self.file.seek(4 * start)
            ids = np.fromfile(self.file, np.int32, self.ends[i] - start)
            if self.remap is not None:
                yield remap_ids(ids, self.remap)
            else:
                yield ids, int(np.count_nonzero(ids >= 0))

    def close(self) -> None:
        self.file.close()


def split_chunk(ids: np.ndarray, words: int) -> Iterator[Tuple[np.ndarray, int]]:
    """Cut a chunk (ids, ``-1`` after each sentence) into pieces of whole sentences of at least ``words`` ids
    (the last may be shorter); yields ``(piece, words before it)``, the words counting ids >= 0."""
    ends = np.flatnonzero(ids < 0)
    start = words_before = 0
    while start < len(ids):
        stop = len(ids)
        at = np.searchsorted(ends, start + words - 1)  # the first sentence end at or after the piece's length
        if at < len(ends) and ends[at] + 1 < len(ids):
            stop = int(ends[at]) + 1
        piece = ids[start:stop]
        yield piece, words_before
        words_before += int(np.count_nonzero(piece >= 0))
        start = stop


def interleaved_order(num_chunks: int, parts: int) -> List[int]:
    """Chunk order that alternates between ``parts`` contiguous parts of the corpus.

    With ``parts`` = workers, the threads train on distant parts of the corpus
    at the same time, as word2vec.c's threads (each reads its own slice of the
    file) and gensim's ``corpus_file`` mode do; on a sorted corpus (a
    dictionary, a Wikipedia dump by title) this matters for quality.
    """
    bounds = np.linspace(0, num_chunks, parts + 1).astype(int)
    order: List[int] = []
    for k in range(int(np.max(np.diff(bounds))) if num_chunks else 0):
        for p in range(parts):
            if bounds[p] + k < bounds[p + 1]:
                order.append(int(bounds[p] + k))
    return order


__all__ = ["EncodedCorpus", "interleaved_order", "remap_ids", "split_chunk"]
