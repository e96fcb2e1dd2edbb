"""Word vectors with gensim-style lookups: ``kv["word"]``, ``most_similar``, ...

Shapes: ``V`` words, ``D`` dimensions. ``vectors`` is (V, D) float32; during
training it is the model's input matrix itself (no copy).
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

PathLike = Union[str, Path]
WordOrVector = Union[str, np.ndarray]


class KeyedVectors:
    """A vocabulary of words and their vectors.

    Args:
        index_to_key: (V,) words, row i of ``vectors`` belongs to word i.
        vectors: (V, D) float32.
        counts: optional (V,) int64 corpus counts (written nowhere in the
            word2vec formats, kept for ``to_gensim``).
    """

    def __init__(self, index_to_key: Sequence[str], vectors: np.ndarray, counts: Optional[np.ndarray] = None):
        vectors = np.asarray(vectors)
        if vectors.ndim != 2:
            raise ValueError(f"vectors must have shape (V, D), got {vectors.shape}")
        if len(index_to_key) != len(vectors):
            raise ValueError(f"{len(index_to_key)} words but {len(vectors)} vectors")
        self.index_to_key: List[str] = list(index_to_key)
        self.key_to_index: Dict[str, int] = {w: i for i, w in enumerate(self.index_to_key)}
        if len(self.key_to_index) != len(self.index_to_key):
            seen = set()
            dup = next(w for w in self.index_to_key if w in seen or seen.add(w))
            raise ValueError(f"word {dup!r} appears twice in the vocabulary")
        self.vectors = vectors if vectors.dtype == np.float32 else vectors.astype(np.float32)
        self.counts = None if counts is None else np.asarray(counts, np.int64)
        self._normed: Optional[np.ndarray] = None

    # ------------------------------------------------------------ lookups
    @property
    def vector_size(self) -> int:
        return self.vectors.shape[1]

    def __len__(self) -> int:
        return len(self.index_to_key)

    def __contains__(self, word: str) -> bool:
        return word in self.key_to_index

    def get_index(self, word: str) -> int:
        """Row of ``word``; ``KeyError`` naming it when absent."""
        try:
            return self.key_to_index[word]
        except KeyError:
            raise KeyError(f"word {word!r} not in vocabulary ({len(self)} words)") from None

    def get_vector(self, word: str, norm: bool = False) -> np.ndarray:
        """(D,) vector of ``word`` (unit length when ``norm``)."""
        i = self.get_index(word)
        return self.get_normed_vectors()[i] if norm else self.vectors[i]

    def __getitem__(self, words: Union[str, Sequence[str]]) -> np.ndarray:
        if isinstance(words, str):
            return self.get_vector(words)
        return np.stack([self.get_vector(w) for w in words])

    def get_normed_vectors(self) -> np.ndarray:
        """(V, D) unit-length rows (cached; call :meth:`fill_norms` after changing ``vectors``)."""
        if self._normed is None or self._normed.shape != self.vectors.shape:
            self.fill_norms()
        return self._normed

    def fill_norms(self) -> None:
        norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)
        self._normed = (self.vectors / np.maximum(norms, 1e-12)).astype(np.float32)

    # ------------------------------------------------------------ similarity
    def _combine(self, positive, negative) -> Tuple[np.ndarray, List[int]]:
        positive = [positive] if isinstance(positive, (str, np.ndarray)) else list(positive or [])
        negative = [negative] if isinstance(negative, (str, np.ndarray)) else list(negative or [])
        if not positive and not negative:
            raise ValueError("most_similar needs at least one positive or negative word")
        normed = self.get_normed_vectors()
        parts, used = [], []
        for items, sign in ((positive, 1.0), (negative, -1.0)):
            for item in items:
                if isinstance(item, str):
                    i = self.get_index(item)
                    used.append(i)
                    parts.append(sign * normed[i])
                else:
                    v = np.asarray(item, np.float32)
                    if v.shape != (self.vector_size,):
                        raise ValueError(f"a vector argument must have shape ({self.vector_size},), got {v.shape}")
                    parts.append(sign * v / max(np.linalg.norm(v), 1e-12))
        mean = np.mean(parts, axis=0)
        return (mean / max(np.linalg.norm(mean), 1e-12)).astype(np.float32), used

    def most_similar(self, positive=None, negative=None, topn: Optional[int] = 10,
                     restrict_vocab: Optional[int] = None):
        """Words closest by cosine to the mean of ``positive`` minus ``negative`` (3CosAdd).

        Words (or (D,) vectors) given are excluded from the answer. Returns a list of
        ``(word, cosine)``, best first, or with ``topn=None`` the (V',) array of all
        cosines. ``restrict_vocab`` searches only the first (most frequent) words.
        """
        query, used = self._combine(positive, negative)
        normed = self.get_normed_vectors()
        limit = len(self) if restrict_vocab is None else min(int(restrict_vocab), len(self))
        sims = normed[:limit] @ query
        if topn is None:
            return sims
        excluded = [i for i in used if i < limit]
        order = np.argsort(-sims, kind="stable")[: int(topn) + len(excluded)]
        result = [(self.index_to_key[i], float(sims[i])) for i in order if i not in excluded]
        return result[: int(topn)]

    def similar_by_vector(self, vector: np.ndarray, topn: int = 10, restrict_vocab: Optional[int] = None):
        return self.most_similar(positive=[vector], topn=topn, restrict_vocab=restrict_vocab)

    def similarity(self, w1: str, w2: str) -> float:
        """Cosine similarity of two words."""
        normed = self.get_normed_vectors()
        return float(normed[self.get_index(w1)] @ normed[self.get_index(w2)])

    def n_similarity(self, words1: Sequence[str], words2: Sequence[str]) -> float:
        """Cosine similarity of the means of two word sets."""
        if not len(words1) or not len(words2):
            raise ValueError("n_similarity needs two non-empty word lists")
        a = self.get_normed_vectors()[[self.get_index(w) for w in words1]].mean(0)
        b = self.get_normed_vectors()[[self.get_index(w) for w in words2]].mean(0)
        return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))

    def doesnt_match(self, words: Iterable[str]) -> str:
        """The word farthest from the mean of ``words`` (unknown words are ignored, as in gensim)."""
        known = [w for w in words if w in self]
        if not known:
            raise ValueError("doesnt_match: none of the words is in the vocabulary")
        vecs = self.get_normed_vectors()[[self.key_to_index[w] for w in known]]
        mean = vecs.mean(0)
        mean /= max(np.linalg.norm(mean), 1e-12)
        return known[int(np.argmin(vecs @ mean))]

    # ------------------------------------------------------------ evaluation
    def evaluate_word_analogies(self, path: PathLike, restrict_vocab: int = 30000, case_insensitive: bool = True):
        """3CosAdd analogy accuracy; see :func:`multissl.text.evaluate.evaluate_word_analogies`."""
        from .evaluate import evaluate_word_analogies

        return evaluate_word_analogies(self, path, restrict_vocab, case_insensitive)

    def evaluate_word_pairs(self, path: PathLike, restrict_vocab: int = 300000, case_insensitive: bool = True,
                            delimiter: str = "\t"):
        """Pearson/Spearman against human scores; see :func:`multissl.text.evaluate.evaluate_word_pairs`."""
        from .evaluate import evaluate_word_pairs

        return evaluate_word_pairs(self, path, restrict_vocab, case_insensitive, delimiter)

    # ------------------------------------------------------------ I/O
    def save_word2vec_format(self, path: PathLike, binary: bool = False) -> Path:
        """Write word2vec.c's text or binary format (readable by gensim)."""
        from .word2vec_format import save_word2vec_format

        return save_word2vec_format(path, self.index_to_key, self.vectors, binary)

    @classmethod
    def load_word2vec_format(cls, path: PathLike, binary: bool = False, errors: str = "strict",
                             limit: Optional[int] = None, no_header: bool = False) -> "KeyedVectors":
        """Read word2vec.c's text or binary format (as written by gensim or word2vec.c); ``no_header=True``:
        a text file without the ``V D`` header line (GloVe's), as in gensim."""
        from .word2vec_format import load_word2vec_format

        words, vectors = load_word2vec_format(path, binary, errors, limit, no_header)
        return cls(words, vectors)

    def to_gensim(self):
        """A ``gensim.models.KeyedVectors`` with the same words, vectors (and counts)."""
        from gensim.models import KeyedVectors as GensimKV

        kv = GensimKV(self.vector_size, count=0, dtype=np.float32)
        kv.add_vectors(self.index_to_key, self.vectors)
        if self.counts is not None:
            for i, word in enumerate(self.index_to_key):
                kv.set_vecattr(word, "count", int(self.counts[i]))
        return kv

    @classmethod
    def from_gensim(cls, kv) -> "KeyedVectors":
        """Copy a gensim ``KeyedVectors`` (or a model's ``.wv``)."""
        return cls(list(kv.index_to_key), np.array(kv.vectors, np.float32))

    def __repr__(self) -> str:
        return f"KeyedVectors({len(self)} words, {self.vector_size} dimensions)"


__all__ = ["KeyedVectors"]
