"""Unigram and bigram language models: the count-based baseline word2vec improves on.

``NGramLM(order=1 | 2, smoothing="add-k" | "kneser-ney")``:

- add-k: ``P(w | v) = (c(v, w) + k) / (c(v) + k·V)`` (bigram) and
  ``P(w) = (c(w) + k) / (N + k·V)`` (unigram); ``k = 1`` is Laplace.
- Kneser-Ney (interpolated, bigram only):
  ``P(w | v) = max(c(v, w) - d, 0) / c(v) + d · N1+(v ·) / c(v) · P_cont(w)``
  with ``P_cont(w) = N1+(· w) / N1+(· ·)`` (how many distinct words precede w),
  interpolated with a uniform distribution for words never seen after
  anything; a history never seen backs off to ``P_cont``.

Words below ``min_count`` in the training data become ``<unk>``; each
sentence gets ``<s>`` before and ``</s>`` after (``</s>`` is predicted,
``<s>`` is not). Perplexity is ``exp(-mean log P)`` over the predicted tokens.
Counts live in numpy arrays (bigrams as sorted int64 keys), so fitting and
scoring millions of tokens takes seconds.
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable, List, Sequence

import numpy as np

UNK, BOS, EOS = "<unk>", "<s>", "</s>"
SMOOTHINGS = ("add-k", "kneser-ney")


class NGramLM:
    """Count-based language model (see module docstring).

    Args:
        order: 1 (unigram) or 2 (bigram).
        smoothing: ``"add-k"`` or ``"kneser-ney"`` (bigram only).
        k: add-k constant (> 0).
        discount: Kneser-Ney absolute discount d in (0, 1).
        min_count: rarer training words map to ``<unk>``.
    """

    def __init__(self, order: int = 2, smoothing: str = "kneser-ney", k: float = 1.0, discount: float = 0.75,
                 min_count: int = 2):
        if order not in (1, 2):
            raise ValueError(f"order must be 1 or 2, got {order}")
        if smoothing not in SMOOTHINGS:
            raise ValueError(f"smoothing must be one of {SMOOTHINGS}, got {smoothing!r}")
        if smoothing == "kneser-ney" and order == 1:
            raise ValueError("Kneser-Ney smoothing needs order=2 (a unigram model has no history to back off from)")
        if not k > 0:
            raise ValueError(f"k must be > 0, got {k}")
        if not 0 < discount < 1:
            raise ValueError(f"discount must be in (0, 1), got {discount}")
        if min_count < 1:
            raise ValueError(f"min_count must be >= 1, got {min_count}")
        self.order, self.smoothing, self.k, self.discount, self.min_count = order, smoothing, k, discount, min_count
        self.words: List[str] = []

    # ------------------------------------------------------------ fitting
    def fit(self, sentences: Iterable[Sequence[str]]) -> "NGramLM":
        sentences = list(sentences)
        counts = Counter(w for s in sentences for w in s)
        if not counts:
            raise ValueError("cannot fit a language model on an empty corpus")
        kept = sorted((w for w, c in counts.items() if c >= self.min_count), key=lambda w: -counts[w])
        self.words = [UNK, BOS, EOS] + [w for w in kept if w not in (UNK, BOS, EOS)]
        self.index = {w: i for i, w in enumerate(self.words)}
        prev, cur = self._pairs(sentences)
        v = len(self.words)
        self.unigram = np.bincount(cur, minlength=v).astype(np.float64)  # predicted tokens (no <s>)
        self.total = float(self.unigram.sum())
        if self.order == 2:
            keys, pair_counts = np.unique(prev * v + cur, return_counts=True)
            self.bigram_keys, self.bigram_counts = keys, pair_counts.astype(np.float64)
            hist = keys // v
            self.history_count = np.bincount(prev, minlength=v).astype(np.float64)
            self.history_types = np.bincount(hist, minlength=v).astype(np.float64)  # N1+(v .)
            self.continuation = np.bincount(keys % v, minlength=v).astype(np.float64)  # N1+(. w)
            self.num_bigram_types = float(len(keys))
        return self

    def _encode(self, sentence: Sequence[str]) -> np.ndarray:
        unk = self.index[UNK]
        return np.array([self.index[BOS]] + [self.index.get(w, unk) for w in sentence] + [self.index[EOS]], np.int64)

    def _pairs(self, sentences: Iterable[Sequence[str]]):
        encoded = [self._encode(s) for s in sentences]
        if not encoded:
            raise ValueError("no sentences given")
        prev = np.concatenate([e[:-1] for e in encoded])
        cur = np.concatenate([e[1:] for e in encoded])
        return prev, cur

    # ------------------------------------------------------------ scoring
    def _check_fitted(self) -> None:
        if not self.words:
            raise ValueError("the language model is not fitted; call fit(sentences) first")

    def _unigram_prob(self, cur: np.ndarray) -> np.ndarray:
        v = len(self.words) - 1  # <s> is never predicted
        return (self.unigram[cur] + self.k) / (self.total + self.k * v)

    def prob(self, prev: np.ndarray, cur: np.ndarray) -> np.ndarray:
        """P(cur | prev) for arrays of word indices (prev ignored by a unigram model)."""
        self._check_fitted()
        cur = np.asarray(cur, np.int64)
        if self.order == 1:
            return self._unigram_prob(cur)
        prev = np.asarray(prev, np.int64)
        v = len(self.words)
        keys = prev * v + cur
        pos = np.searchsorted(self.bigram_keys, keys)
        pos_ok = np.minimum(pos, len(self.bigram_keys) - 1)
        pair = np.where(self.bigram_keys[pos_ok] == keys, self.bigram_counts[pos_ok], 0.0)
        hist = self.history_count[prev]
        if self.smoothing == "add-k":
            return (pair + self.k) / (hist + self.k * (v - 1))
        # interpolated Kneser-Ney; the continuation distribution keeps a little mass for unseen words
        cont = (self.continuation[cur] + self.discount) / (self.num_bigram_types + self.discount * (v - 1))
        seen = hist > 0
        safe = np.where(seen, hist, 1.0)
        lam = self.discount * self.history_types[prev] / safe
        p = np.maximum(pair - self.discount, 0.0) / safe + lam * cont
        return np.where(seen, p, cont)

    def logprob(self, sentence: Sequence[str]) -> float:
        """Natural-log probability of a sentence (its words and ``</s>``)."""
        self._check_fitted()
        e = self._encode(sentence)
        return float(np.log(self.prob(e[:-1], e[1:])).sum())

    def perplexity(self, sentences: Iterable[Sequence[str]]) -> float:
        """``exp(-mean log P)`` over every predicted token of ``sentences``."""
        self._check_fitted()
        prev, cur = self._pairs(list(sentences))
        return float(np.exp(-np.log(self.prob(prev, cur)).mean()))

    def distribution(self, history: str = BOS) -> np.ndarray:
        """(V,) P(w | history) over the vocabulary (P(<s>) = 0); sums to 1."""
        self._check_fitted()
        v = len(self.words)
        prev = np.full(v, self.index.get(history, self.index[UNK]), np.int64)
        p = self.prob(prev, np.arange(v))
        p[self.index[BOS]] = 0.0
        return p

    def __repr__(self) -> str:
        return f"NGramLM(order={self.order}, smoothing={self.smoothing!r}, vocabulary={len(self.words)})"


__all__ = ["NGramLM", "SMOOTHINGS"]
