"""Vocabulary: word counts, pruning, trim rules, updates, the Huffman tree, and corpus encoding.

Counting and choosing the words follow gensim's ``scan_vocab`` / ``prepare_vocab``:
:func:`count_words` counts a sentence stream (:mod:`multissl.text.file_scan` counts a file
faster), :func:`select_words` keeps the words that pass ``min_count`` (raised for
``max_final_vocab``) and a ``trim_rule``, sorted by count, most frequent first, with ties in
gensim 4's order, so a corpus gives the same ``index_to_key`` here and in gensim;
:func:`update_vocab` grows a vocabulary with the words of another corpus.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import repeat
from typing import Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

import numpy as np
from numba import njit

SENTENCE_END = -1


RULE_DEFAULT, RULE_DISCARD, RULE_KEEP = 0, 1, 2  # what a trim_rule returns (gensim.utils' values)


def keep_word(word: str, count: int, min_count: int, trim_rule: Optional[Callable] = None) -> bool:
    """gensim's rule for keeping a word: ``trim_rule(word, count, min_count)`` may say
    ``RULE_KEEP`` or ``RULE_DISCARD``; otherwise (``RULE_DEFAULT``, or no rule) ``count >= min_count``."""
    if trim_rule is not None:
        verdict = trim_rule(word, count, min_count)
        if verdict == RULE_KEEP:
            return True
        if verdict == RULE_DISCARD:
            return False
    return count >= min_count


@dataclass
class RawCounts:
    """What one pass over a corpus counted.

    Attributes:
        words: (W,) every distinct word, in order of first appearance (max_vocab_size pruning drops some).
        counts: (W,) int64 occurrences.
        total_words: tokens of the corpus.
        num_sentences: sentences of the corpus (long ones count once per piece).
        prunings: how often ``max_vocab_size`` made counting drop rare words.
    """

    words: List[str]
    counts: np.ndarray
    total_words: int = 0
    num_sentences: int = 0
    prunings: int = 0

    def __post_init__(self):
        self.counts = np.asarray(self.counts, dtype=np.int64)

    def as_dict(self) -> Dict[str, int]:
        """``{word: count}`` (gensim's ``raw_vocab``)."""
        return dict(zip(self.words, self.counts.tolist()))

    @classmethod
    def from_freq(cls, word_freq: Mapping[str, int], corpus_count: int = 0) -> "RawCounts":
        """Counts given as a ``{word: count}`` table (gensim's ``build_vocab_from_freq``)."""
        words = list(word_freq)
        counts = np.fromiter((int(word_freq[w]) for w in words), np.int64, len(words))
        return cls(words, counts, int(counts.sum()), int(corpus_count or 0), 0)


def count_words(sentences: Iterable[Sequence[str]], max_vocab_size: Optional[int] = None, trim_rule=None,
                progress=None) -> RawCounts:
    """Count the words of a sentence stream, as gensim's ``scan_vocab``.

    ``max_vocab_size`` bounds memory while counting: whenever, after a sentence, the table holds more
    words than that, the words seen fewer than ``n`` times so far are dropped (``n`` = 1, 2, ... at
    successive prunings, so the first one drops nothing), each asked to ``trim_rule`` first, as in gensim.
    """
    counter: Counter = Counter()
    total = num_sentences = 0
    min_reduce = 1
    for sentence in sentences:
        counter.update(sentence)
        total += len(sentence)
        num_sentences += 1
        if max_vocab_size is not None and len(counter) > max_vocab_size:
            counter = Counter({w: c for w, c in counter.items() if keep_word(w, c, min_reduce, trim_rule)})
            min_reduce += 1
        if progress is not None:
            progress(len(sentence))
    counts = np.fromiter(counter.values(), np.int64, len(counter))
    return RawCounts(list(counter), counts, total, num_sentences, min_reduce - 1)


@dataclass
class Vocab:
    """Words kept for training, with their corpus counts.

    Attributes:
        words: (V,) words, most frequent first (unless built with ``sorted_vocab=0``; words added by a
            vocabulary update come after the others, as in gensim).
        counts: (V,) int64 counts (summed over the corpora of vocabulary updates).
        total_words: tokens in the corpus last counted (including dropped rare words).
        num_sentences: sentences in the corpus last counted.
        prunings: how often ``max_vocab_size`` made counting drop rare words; 0 for a vocabulary not built here.
        corpus_in_vocab: tokens of the corpus last counted that are in the vocabulary (None: ``counts.sum()``).
    """

    words: List[str]
    counts: np.ndarray
    total_words: Optional[int] = 0
    num_sentences: Optional[int] = 0
    prunings: int = 0
    corpus_in_vocab: Optional[int] = None
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
        """Tokens of the corpus last counted that are in the vocabulary (the words one epoch trains on)."""
        return int(self.counts.sum()) if self.corpus_in_vocab is None else int(self.corpus_in_vocab)

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], min_count: int = 5, max_vocab_size: Optional[int] = None,
              max_final_vocab: Optional[int] = None, progress=None, source: str = "the corpus") -> "Vocab":
        """Count the words of ``sentences`` and keep those seen ``min_count`` times (see :func:`count_words`
        and :func:`select_words`); ``source`` names the corpus in errors."""
        raw = count_words(sentences, max_vocab_size, progress=progress)
        vocab, _ = select_words(raw, min_count, max_final_vocab)
        check_not_empty(vocab, raw, min_count, source)
        return vocab


def effective_min_count(raw: RawCounts, min_count: int, max_final_vocab: Optional[int]) -> int:
    """``min_count``, raised as gensim does until at most ``max_final_vocab`` distinct words reach it."""
    if max_final_vocab is None:
        return int(min_count)
    if max_final_vocab >= len(raw.counts):
        return max(1, int(min_count))
    return max(int(np.sort(raw.counts)[::-1][max_final_vocab]) + 1, int(min_count))


def _kept(raw: RawCounts, min_count: int, trim_rule) -> np.ndarray:
    """(W,) bool: which counted words pass ``min_count`` and ``trim_rule``."""
    if trim_rule is None:
        return raw.counts >= min_count
    return np.fromiter((keep_word(w, int(c), min_count, trim_rule) for w, c in zip(raw.words, raw.counts)), bool,
                       len(raw.words))


def select_words(raw: RawCounts, min_count: int = 5, max_final_vocab: Optional[int] = None, trim_rule=None,
                 sample: float = 0.0, sorted_vocab: bool = True) -> Tuple["Vocab", Dict[str, int]]:
    """A fresh vocabulary from counts (gensim's ``prepare_vocab``), and gensim's report of it.

    Returns ``(vocab, report)``; ``report`` has gensim's keys ``drop_unique``, ``retain_total``,
    ``downsample_unique``, ``downsample_total``, ``num_retained_words`` and ``effective_min_count``.
    Words are sorted by decreasing count, ties in gensim 4's order (reverse order of first appearance),
    so a corpus gives the same ``index_to_key`` here and in gensim; ``sorted_vocab=False`` keeps the
    order of first appearance.
    """
    threshold = effective_min_count(raw, min_count, max_final_vocab)
    kept = np.flatnonzero(_kept(raw, threshold, trim_rule))
    counts = raw.counts[kept]
    if sorted_vocab:
        kept = kept[np.lexsort((-np.arange(len(counts)), -counts))]
        counts = raw.counts[kept]
    words = [raw.words[i] for i in kept]
    retain_total = int(counts.sum())
    vocab = Vocab(words, counts, raw.total_words, raw.num_sentences, raw.prunings, retain_total)
    return vocab, _report(len(raw.words) - len(words), retain_total, counts, sample, threshold)


def update_vocab(vocab: "Vocab", raw: RawCounts, min_count: int = 5, max_final_vocab: Optional[int] = None,
                 trim_rule=None, sample: float = 0.0) -> Tuple["Vocab", Dict[str, int]]:
    """``vocab`` grown by the counts of another corpus (gensim's ``prepare_vocab(update=True)``).

    Words of ``raw`` that pass ``min_count`` (and ``trim_rule``) and are new come after the existing
    ones, in order of first appearance; every existing word's count grows by its count in ``raw``.
    The existing words keep their rows, so trained vectors stay where they are.
    """
    threshold = effective_min_count(raw, min_count, max_final_vocab)
    kept = _kept(raw, threshold, trim_rule)
    index = vocab.key_to_index
    known = np.fromiter((w in index for w in raw.words), bool, len(raw.words))
    new = np.flatnonzero(kept & ~known)
    words = list(vocab.words) + [raw.words[i] for i in new]
    counts = np.concatenate([vocab.counts, raw.counts[new]])
    old_rows = np.fromiter((index[w] for w in np.array(raw.words, object)[known]), np.int64, int(known.sum()))
    np.add.at(counts, old_rows, raw.counts[known])
    retain_total = int(raw.counts[kept].sum())
    in_vocab = int(raw.counts[known].sum() + raw.counts[new].sum())
    grown = Vocab(words, counts, raw.total_words, raw.num_sentences, raw.prunings, in_vocab)
    report = _report(int((~kept).sum()), retain_total, raw.counts[kept], sample, threshold)
    return grown, report


def _report(drop_unique: int, retain_total: int, kept_counts: np.ndarray, sample: float,
            min_count: int) -> Dict[str, int]:
    from multissl.sampling import subsample_keep_prob

    keep = subsample_keep_prob(kept_counts, sample) if len(kept_counts) and sample else np.ones(len(kept_counts))
    return {"drop_unique": int(drop_unique), "retain_total": int(retain_total),
            "downsample_unique": int(np.count_nonzero(keep < 1.0)),
            "downsample_total": int(np.sum(keep * kept_counts)), "num_retained_words": int(len(kept_counts)),
            "effective_min_count": int(min_count)}


def empty_vocabulary_message(raw: RawCounts, min_count: int, source: str) -> str:
    """Why counting ``source`` kept no word (an empty corpus, or no word reaching ``min_count``)."""
    if raw.total_words == 0:
        return f"{source} is empty: no sentence has any token"
    top = int(np.argmax(raw.counts))
    return (f"{source}: no word reaches min_count={min_count} (the most frequent, {raw.words[top]!r}, occurs "
            f"{int(raw.counts[top])} times in {raw.total_words} tokens); lower min_count or use a larger corpus")


def check_not_empty(vocab: "Vocab", raw: RawCounts, min_count: int, source: str) -> None:
    """ValueError naming ``source`` when ``vocab`` kept no word."""
    if not len(vocab):
        raise ValueError(empty_vocabulary_message(raw, min_count, source))


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
    """Huffman codes of a vocabulary (word2vec.c's tree, built on the counts in decreasing order).

    The counts need not be sorted (a vocabulary update appends new words at the end): the tree is
    built on them sorted (ties in index order) and the rows are given back in the vocabulary's order.

    Returns:
        codes (V, L) uint8 (0/1 per level, root first), points (V, L) int32
        (the inner node at each level, in 0..V-2, root first), lengths (V,)
        int32 (code length of each word).
    """
    counts = np.asarray(counts, np.int64)
    if len(counts) < 2:
        raise ValueError(f"hierarchical softmax needs at least 2 words in the vocabulary, got {len(counts)}")
    if not np.any(np.diff(counts) > 0):
        return _huffman(counts)
    order = np.argsort(-counts, kind="stable")
    codes, points, lengths = _huffman(counts[order])
    back = np.empty_like(order)
    back[order] = np.arange(len(order))
    return codes[back], points[back], lengths[back]


__all__ = ["RULE_DEFAULT", "RULE_DISCARD", "RULE_KEEP", "RawCounts", "SENTENCE_END", "Vocab", "check_not_empty",
           "count_words", "effective_min_count", "empty_vocabulary_message", "encode_chunks", "huffman_tree",
           "keep_word", "select_words", "update_vocab"]
