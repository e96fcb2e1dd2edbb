"""Vocabulary: word counts, pruning, the Huffman tree, and corpus encoding.

The words are sorted by count, most frequent first, with ties in gensim 4's
order, so a corpus gives the same ``index_to_key`` here and in gensim.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import repeat
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np
from numba import njit

SENTENCE_END = -1


@dataclass
class Vocab:
    """Words kept for training, with their corpus counts.

    Attributes:
        words: (V,) words, most frequent first.
        counts: (V,) int64 counts.
        total_words: tokens in the corpus (including dropped rare words).
        num_sentences: sentences in the corpus.
        prunings: how often ``max_vocab_size`` made counting drop rare words (the last time, those
            seen at most ``prunings`` times so far); 0 for a vocabulary not built here.
    """

    words: List[str]
    counts: np.ndarray
    total_words: int = 0
    num_sentences: int = 0
    prunings: int = 0
    key_to_index: Dict[str, int] = field(init=False, repr=False)

    def __post_init__(self):
        self.counts = np.asarray(self.counts, dtype=np.int64)
        if len(self.words) != len(self.counts):
            raise ValueError(f"{len(self.words)} words but {len(self.counts)} counts")
        self.key_to_index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    @property
    def retained_words(self) -> int:
        """Tokens of the corpus that are in the vocabulary."""
        return int(self.counts.sum())

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], min_count: int = 5, max_vocab_size: Optional[int] = None,
              max_final_vocab: Optional[int] = None, progress=None, source: str = "the corpus") -> "Vocab":
        """Count the words of ``sentences`` and keep those seen ``min_count`` times.

        ``max_vocab_size`` bounds memory while counting: when the table grows
        past it, words seen fewer than ``n`` times are dropped (``n`` = 1, 2, ...
        at each pruning, as word2vec.c and gensim do). ``max_final_vocab`` then
        raises ``min_count`` until at most that many words remain. ``source`` names
        the corpus in errors.
        """
        counter: Counter = Counter()
        total = 0
        num_sentences = 0
        min_reduce = 1
        for sentence in sentences:
            counter.update(sentence)
            total += len(sentence)
            num_sentences += 1
            if max_vocab_size is not None and len(counter) > max_vocab_size:
                counter = Counter({w: c for w, c in counter.items() if c > min_reduce})
                min_reduce += 1
            if progress is not None:
                progress(len(sentence))
        if total == 0:
            raise ValueError(f"{source} is empty: no sentence has any token")
        kept = [(w, c) for w, c in counter.items() if c >= min_count]
        if not kept:
            top = counter.most_common(1)[0]
            raise ValueError(
                f"{source}: no word reaches min_count={min_count} (the most frequent, {top[0]!r}, occurs {top[1]} times in "
                f"{total} tokens); lower min_count or use a larger corpus"
            )
        if max_final_vocab is not None and len(kept) > max_final_vocab:
            threshold = sorted((c for _, c in kept), reverse=True)[max_final_vocab] + 1
            kept = [(w, c) for w, c in kept if c >= threshold]
        counts = np.fromiter((c for _, c in kept), np.int64, len(kept))
        # most frequent first, ties in reverse order of first appearance: gensim 4's
        # order, so the two give the same index_to_key (and restrict_vocab the same words)
        order = np.lexsort((-np.arange(len(counts)), -counts))
        words = [kept[i][0] for i in order]
        return cls(words, counts[order], total, num_sentences, min_reduce - 1)


def encode_chunks(sentences: Iterable[Sequence[str]], key_to_index: Dict[str, int],
                  chunk_words: int = 100_000) -> Iterator[Tuple[np.ndarray, int]]:
    """Encode sentences into chunks of int32 ids with ``-1`` after each sentence.

    Out-of-vocabulary tokens are dropped. Yields ``(ids, num_in_vocab)`` with
    about ``chunk_words`` tokens per chunk (sentences are never cut between
    chunks), so memory stays bounded whatever the corpus size.
    """
    lookup = dict(key_to_index)
    sep = "\x00<sentence-end>\x00"
    lookup[sep] = SENTENCE_END
    get = lookup.get
    pending: List[str] = []
    for sentence in sentences:
        pending.extend(sentence)
        pending.append(sep)
        if len(pending) >= chunk_words:
            yield _encode(pending, get)
            pending = []
    if pending:
        yield _encode(pending, get)


def _encode(tokens: List[str], get) -> Tuple[np.ndarray, int]:
    ids = np.fromiter(map(get, tokens, repeat(-2)), np.int32, len(tokens))
    ids = ids[ids != -2]
    return ids, int(np.count_nonzero(ids >= 0))


@njit(cache=True)
def _huffman(counts):
    # word2vec.c's CreateBinaryTree on counts sorted in decreasing order.
    v = counts.shape[0]
    count = np.empty(2 * v, np.int64)
    count[:v] = counts
    count[v:] = np.iinfo(np.int64).max // 4
    binary = np.zeros(2 * v, np.uint8)
    parent = np.zeros(2 * v, np.int64)
    pos1 = v - 1
    pos2 = v
    for a in range(v - 1):
        if pos1 >= 0 and count[pos1] < count[pos2]:
            min1 = pos1
            pos1 -= 1
        else:
            min1 = pos2
            pos2 += 1
        if pos1 >= 0 and count[pos1] < count[pos2]:
            min2 = pos1
            pos1 -= 1
        else:
            min2 = pos2
            pos2 += 1
        count[v + a] = count[min1] + count[min2]
        parent[min1] = v + a
        parent[min2] = v + a
        binary[min2] = 1
    lengths = np.zeros(v, np.int32)
    max_len = 0
    for w in range(v):
        b = w
        n = 0
        while b != 2 * v - 2:
            n += 1
            b = parent[b]
        lengths[w] = n
        max_len = max(max_len, n)
    codes = np.zeros((v, max(max_len, 1)), np.uint8)
    points = np.zeros((v, max(max_len, 1)), np.int32)
    for w in range(v):
        b = w
        n = lengths[w]
        i = n - 1
        while b != 2 * v - 2:
            codes[w, i] = binary[b]
            points[w, i] = parent[b] - v  # inner node index, root = v - 2
            i -= 1
            b = parent[b]
    return codes, points, lengths


def huffman_tree(counts: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Huffman codes of a vocabulary sorted by decreasing count (word2vec.c's tree).

    Returns:
        codes (V, L) uint8 (0/1 per level, root first), points (V, L) int32
        (the inner node at each level, in 0..V-2, root first), lengths (V,)
        int32 (code length of each word).
    """
    counts = np.asarray(counts, np.int64)
    if len(counts) < 2:
        raise ValueError(f"hierarchical softmax needs at least 2 words in the vocabulary, got {len(counts)}")
    if np.any(np.diff(counts) > 0):
        raise ValueError("counts must be sorted in decreasing order")
    return _huffman(counts)


__all__ = ["SENTENCE_END", "Vocab", "encode_chunks", "huffman_tree"]
