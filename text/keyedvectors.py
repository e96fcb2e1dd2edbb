"""Word vectors with gensim 4's lookups: ``kv["word"]``, ``most_similar``, ``most_similar_cosmul``, ...

Shapes: ``V`` words, ``D`` dimensions. ``vectors`` is (V, D) float32; during
training it is the model's input matrix itself (no copy). Method names,
arguments, defaults and return values are gensim 4's ``KeyedVectors`` ones;
where this library differs it says so in the method.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from .errors import EmptyWordListError

PathLike = Union[str, Path]
WordOrVector = Union[str, int, np.ndarray]
COSMUL_EPSILON = 1e-6  # 3CosMul's denominator guard (Levy and Goldberg; gensim's value)


class KeyedVectors:
    """A vocabulary of words and their vectors.

    Args:
        index_to_key: (V,) words, row i of ``vectors`` belongs to word i.
        vectors: (V, D) float vectors (float32 unless given in another float type).
        counts: optional (V,) int64 corpus counts (the ``"count"`` attribute of each word).

    Attributes:
        expandos: per-word attributes, ``{name: (V, ...) array}`` (gensim's; ``"count"``, and the
            Huffman ``"code"`` / ``"point"`` of a hierarchical-softmax model).
        vectors_lockf: (1,) or (V,) float32 factors applied to every training update of a word's
            vector (gensim's experimental locking: 0.0 freezes a word, 1.0 trains it).
    """

    def __init__(self, index_to_key: Sequence[str], vectors: np.ndarray, counts: Optional[np.ndarray] = None):
        vectors = np.asanyarray(vectors)  # a np.memmap stays one
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
        self.vectors = vectors if np.issubdtype(vectors.dtype, np.floating) else vectors.astype(np.float32)
        self.expandos: Dict[str, np.ndarray] = {}
        if counts is not None:
            self.expandos["count"] = np.asarray(counts, np.int64)
        self.vectors_lockf = np.ones(1, np.float32)
        self._normed: Optional[np.ndarray] = None

    # ------------------------------------------------------------ lookups
    @property
    def vector_size(self) -> int:
        return self.vectors.shape[1]

    @property
    def counts(self) -> Optional[np.ndarray]:
        """(V,) int64 corpus counts (the ``"count"`` attribute), or None."""
        return self.expandos.get("count")

    @counts.setter
    def counts(self, value: Optional[np.ndarray]) -> None:
        if value is None:
            self.expandos.pop("count", None)
        else:
            self.expandos["count"] = np.asarray(value, np.int64)

    def __len__(self) -> int:
        return len(self.index_to_key)

    def __contains__(self, key) -> bool:
        return self.has_index_for(key)

    def has_index_for(self, key) -> bool:
        """Whether ``key`` is a word of the vocabulary (or a valid row number)."""
        return self.get_index(key, -1) >= 0

    def get_index(self, key, default: Optional[int] = None) -> int:
        """Row of ``key`` (a word, or a row number given as an int); ``default`` if given and absent, else
        ``KeyError`` naming it."""
        index = self.key_to_index.get(key) if isinstance(key, str) else None
        if index is not None:
            return index
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool) and 0 <= key < len(self):
            return int(key)
        if default is not None:
            return default
        raise KeyError(f"word {key!r} not in vocabulary ({len(self)} words)")

    def get_vector(self, key, norm: bool = False) -> np.ndarray:
        """(D,) vector of ``key`` (unit length when ``norm``)."""
        i = self.get_index(key)
        return self.get_normed_vectors()[i] if norm else self.vectors[i]

    word_vec = get_vector

    def __getitem__(self, keys) -> np.ndarray:
        if isinstance(keys, (str, int, np.integer)):
            return self.get_vector(keys)
        return np.stack([self.get_vector(k) for k in keys])

    def get_vecattr(self, key, attr: str):
        """The per-word attribute ``attr`` (``"count"``, ...) of ``key``."""
        if attr not in self.expandos:
            raise KeyError(f"no per-word attribute {attr!r}; known: {sorted(self.expandos)}")
        return self.expandos[attr][self.get_index(key)]

    def set_vecattr(self, key, attr: str, value) -> None:
        """Set the per-word attribute ``attr`` of ``key`` (an integer attribute is created on first use)."""
        if attr not in self.expandos:
            dtype = np.int64 if isinstance(value, (int, np.integer)) else np.asarray(value).dtype
            self.expandos[attr] = np.zeros(len(self), dtype)
        self.expandos[attr][self.get_index(key)] = value

    def get_normed_vectors(self) -> np.ndarray:
        """(V, D) unit-length rows (cached; call :meth:`fill_norms` after changing ``vectors``)."""
        if self._normed is None or self._normed.shape != self.vectors.shape:
            self.fill_norms()
        return self._normed

    def fill_norms(self, force: bool = False) -> None:
        """Compute the unit-length rows (``force`` is accepted for gensim's signature: this always recomputes)."""
        norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)
        self._normed = (self.vectors / np.maximum(norms, 1e-12)).astype(np.float32)

    @property
    def norms(self) -> np.ndarray:
        """(V,) lengths of the vectors."""
        return np.linalg.norm(self.vectors, axis=1)

    def unit_normalize_all(self) -> None:
        """Scale every vector to unit length, in place (the original lengths are lost)."""
        self.vectors[...] = self.get_normed_vectors()
        self.fill_norms()

    def get_mean_vector(self, keys: Sequence[WordOrVector], weights=None, pre_normalize: bool = True,
                        post_normalize: bool = False, ignore_missing: bool = True) -> np.ndarray:
        """(D,) weighted mean of the (unit, with ``pre_normalize``) vectors of ``keys`` (words or (D,) vectors);
        unknown words are skipped (``ignore_missing``) or a ``KeyError``."""
        if not len(keys):
            raise ValueError("cannot compute the mean vector of no keys")
        weights = np.ones(len(keys)) if weights is None else np.asarray(weights, np.float64)
        if len(weights) != len(keys):
            raise ValueError(f"{len(keys)} keys but {len(weights)} weights")
        total, used = np.zeros(self.vector_size, np.float64), 0
        for key, weight in zip(keys, weights):
            if isinstance(key, np.ndarray):
                total += weight * key
                used += 1
            elif key in self:
                total += weight * self.get_vector(key, norm=pre_normalize)
                used += 1
            elif not ignore_missing:
                raise KeyError(f"word {key!r} not in vocabulary ({len(self)} words)")
        if not used:
            raise ValueError("none of the keys is in the vocabulary")
        mean = (total / used).astype(np.float32)
        return _unit(mean) if post_normalize else mean

    # ------------------------------------------------------------ similarity
    def _terms(self, positive, negative) -> Tuple[List[Tuple[Any, float]], List[Tuple[Any, float]]]:
        """gensim's argument forms: one key or vector, or lists of keys, vectors or (key, weight) pairs."""
        def as_list(items, weight):
            if items is None:
                return []
            if isinstance(items, (str, int, np.integer, np.ndarray)):
                items = [items]
            out = []
            for item in items:
                if isinstance(item, tuple) and len(item) == 2 and not isinstance(item[1], str):
                    out.append((item[0], float(item[1])))
                else:
                    out.append((item, weight))
            return out

        return as_list(positive, 1.0), as_list(negative, -1.0)

    def _term_vector(self, key) -> np.ndarray:
        if isinstance(key, np.ndarray):
            if key.shape != (self.vector_size,):
                raise ValueError(f"a vector argument must have shape ({self.vector_size},), got {key.shape}")
            return key.astype(np.float32, copy=False)  # used as given, as gensim does
        return self.get_vector(key, norm=True)

    def _excluded(self, terms, limit: int) -> List[int]:
        return [i for i in (self.get_index(k) for k, _ in terms if not isinstance(k, np.ndarray)) if i < limit]

    def most_similar(self, positive=None, negative=None, topn: Optional[int] = 10, clip_start: int = 0,
                     clip_end: Optional[int] = None, restrict_vocab: Optional[int] = None, indexer=None):
        """Words closest by cosine to the weighted mean of ``positive`` minus ``negative`` (3CosAdd).

        Each of ``positive``/``negative`` is a word, a row number, a (D,) vector (used as given) or a list of
        them or of ``(word, weight)`` pairs. Words given are excluded from the answer. Returns a list of
        ``(word, cosine)``, best first, or with ``topn=None`` (or 0) the (V',) array of all cosines.
        ``restrict_vocab`` (or ``clip_start``..``clip_end``) searches only those rows (the most frequent words).
        """
        if indexer is not None:
            raise NotImplementedError("approximate nearest-neighbour indexers are not supported; search is exact")
        positive, negative = self._terms(positive, negative)
        if not positive and not negative:
            raise ValueError("cannot compute similarity with no input")
        query = _unit(np.mean([weight * self._term_vector(key) for key, weight in positive + negative], axis=0))
        start, stop = self._clip(clip_start, clip_end, restrict_vocab)
        sims = self.get_normed_vectors()[start:stop] @ query
        return self._best(sims, start, topn, self._excluded(positive + negative, stop))

    def most_similar_cosmul(self, positive=None, negative=None, topn: Optional[int] = 10,
                            restrict_vocab: Optional[int] = None):
        """Words maximising 3CosMul (Levy and Goldberg 2014): the product of the positive words' cosines over the
        product of the negative ones', each cosine shifted to [0, 1] as ``(1 + cos) / 2``, the denominator plus 1e-6.

        Arguments and return value as :meth:`most_similar`; vectors given are used as given.
        """
        positive, negative = self._terms(positive, negative)
        if not positive and not negative:
            raise ValueError("cannot compute similarity with no input")
        _, stop = self._clip(0, None, restrict_vocab)
        normed = self.get_normed_vectors()[:stop]
        numerator = np.ones(stop, np.float32)
        for key, _ in positive:
            numerator *= (1 + normed @ self._term_vector(key)) / 2
        denominator = np.ones(stop, np.float32)
        for key, _ in negative:
            denominator *= (1 + normed @ self._term_vector(key)) / 2
        sims = numerator / (denominator + np.float32(COSMUL_EPSILON))
        return self._best(sims, 0, topn, self._excluded(positive + negative, stop))

    def _clip(self, clip_start: int, clip_end: Optional[int], restrict_vocab: Optional[int]) -> Tuple[int, int]:
        stop = len(self) if clip_end is None else min(int(clip_end), len(self))
        if restrict_vocab is not None:
            stop = min(stop, int(restrict_vocab))
        return int(clip_start), stop

    def _best(self, sims: np.ndarray, start: int, topn: Optional[int], excluded: List[int]):
        if not topn:
            return sims
        order = np.argsort(-sims, kind="stable")[: int(topn) + len(excluded)]
        result = [(self.index_to_key[i + start], float(sims[i])) for i in order if i + start not in excluded]
        return result[: int(topn)]

    def similar_by_word(self, word: str, topn: Optional[int] = 10, restrict_vocab: Optional[int] = None):
        """:meth:`most_similar` of one word."""
        return self.most_similar(positive=[word], topn=topn, restrict_vocab=restrict_vocab)

    similar_by_key = similar_by_word

    def similar_by_vector(self, vector: np.ndarray, topn: Optional[int] = 10, restrict_vocab: Optional[int] = None):
        """:meth:`most_similar` of one (D,) vector."""
        return self.most_similar(positive=[vector], topn=topn, restrict_vocab=restrict_vocab)

    def similarity(self, w1, w2) -> float:
        """Cosine similarity of two words."""
        return self.n_similarity([w1], [w2])

    def n_similarity(self, words1: Sequence[str], words2: Sequence[str]) -> float:
        """Cosine similarity of the means of two word lists (of the raw vectors, as gensim);
        an empty list is an :class:`~multissl.text.errors.EmptyWordListError` (a ``ZeroDivisionError``, as in gensim)."""
        if not len(words1) or not len(words2):
            raise EmptyWordListError("n_similarity needs two non-empty word lists")
        a = self.vectors[[self.get_index(w) for w in words1]].mean(0)
        b = self.vectors[[self.get_index(w) for w in words2]].mean(0)
        return float(_unit(a) @ _unit(b))

    def distance(self, w1, w2) -> float:
        """``1 - similarity``."""
        return 1.0 - self.similarity(w1, w2)

    @staticmethod
    def cosine_similarities(vector_1: np.ndarray, vectors_all: np.ndarray) -> np.ndarray:
        """(N,) cosines of a (D,) vector with each row of (N, D) ``vectors_all``."""
        norms = np.linalg.norm(vectors_all, axis=1) * np.linalg.norm(vector_1)
        return (vectors_all @ vector_1) / np.maximum(norms, 1e-12)

    def distances(self, word_or_vector: WordOrVector, other_words: Sequence[str] = ()) -> np.ndarray:
        """(N,) cosine distances from a word or vector to ``other_words`` (default: every word)."""
        vector = word_or_vector if isinstance(word_or_vector, np.ndarray) else self.get_vector(word_or_vector)
        others = self.vectors if not len(other_words) else self[list(other_words)]
        return 1 - self.cosine_similarities(vector, others)

    def rank(self, key1, key2) -> int:
        """Rank of ``key2`` among ``key1``'s neighbours (1 = nearest)."""
        return len(self.closer_than(key1, key2)) + 1

    def closer_than(self, key1, key2) -> List[str]:
        """Words closer to ``key1`` than ``key2`` is."""
        sims = self.get_normed_vectors() @ self.get_vector(key1, norm=True)
        i, j = self.get_index(key1), self.get_index(key2)
        return [self.index_to_key[k] for k in np.flatnonzero(sims > sims[j]) if k != i]

    words_closer_than = closer_than

    def most_similar_to_given(self, key1, keys_list: Sequence[str]) -> str:
        """The word of ``keys_list`` most similar to ``key1``."""
        return keys_list[int(np.argmax([self.similarity(key1, key) for key in keys_list]))]

    def doesnt_match(self, words: Iterable[str]) -> str:
        """The word farthest from the mean of ``words`` (unknown words are ignored, as in gensim)."""
        known = [w for w in words if w in self]
        if not known:
            raise ValueError("doesnt_match: none of the words is in the vocabulary")
        vecs = self.get_normed_vectors()[[self.get_index(w) for w in known]]
        return known[int(np.argmin(vecs @ _unit(vecs.mean(0))))]

    # ------------------------------------------------------------ evaluation
    def evaluate_word_analogies(self, analogies: PathLike, restrict_vocab: int = 300000, case_insensitive: bool = True,
                                dummy4unknown: bool = False, similarity_function: str = "most_similar"):
        """Analogy accuracy, gensim's signature: returns ``(accuracy, sections)``.

        ``similarity_function``: ``"most_similar"`` (3CosAdd) or ``"most_similar_cosmul"`` (3CosMul). gensim
        accepts the argument but always uses 3CosAdd; here the function named is used.
        ``dummy4unknown`` counts questions with an unknown word as wrong instead of skipping them.
        See :func:`multissl.text.evaluate.evaluate_word_analogies`.
        """
        from .evaluate import evaluate_word_analogies

        return evaluate_word_analogies(self, analogies, restrict_vocab, case_insensitive,
                                       method=_ANALOGY_METHODS.get(similarity_function, similarity_function),
                                       dummy4unknown=dummy4unknown)

    def evaluate_word_pairs(self, pairs: PathLike, delimiter: Optional[str] = "\t", encoding: str = "utf8",
                            restrict_vocab: int = 300000, case_insensitive: bool = True, dummy4unknown: bool = False):
        """Correlation with human similarity scores, gensim's signature and return value:
        ``(pearson, spearman, oov_ratio)`` with scipy's results (``pearson[0]`` the coefficient, ``pearson[1]``
        its p-value) and the percentage of pairs with an unknown word. ``dummy4unknown`` scores those pairs 0
        instead of skipping them. ``delimiter=None`` recognises tabs, commas or spaces; a line that does not hold
        3 fields is an error naming it (gensim skips it). Files are read as UTF-8.
        """
        from .evaluate import pair_correlations

        if encoding.lower().replace("-", "") != "utf8":
            raise ValueError(f"similarity files are read as UTF-8; got encoding={encoding!r}")
        return pair_correlations(self, pairs, restrict_vocab, case_insensitive, delimiter, dummy4unknown)

    # ------------------------------------------------------------ I/O
    def save_word2vec_format(self, fname: PathLike, fvocab: Optional[PathLike] = None, binary: bool = False,
                             **unsupported) -> Path:
        """Write word2vec.c's text or binary format (readable by gensim); ``fvocab``: also a ``word count`` line
        per word (gensim's vocabulary file, counts 0 when unknown)."""
        from .word2vec_format import save_word2vec_format

        _only_defaults("save_word2vec_format", unsupported, total_vec=None, write_header=True, prefix="", append=False,
                       sort_attr="count")
        path = save_word2vec_format(fname, self.index_to_key, self.vectors, binary)
        if fvocab is not None:
            counts = self.counts if self.counts is not None else np.zeros(len(self), np.int64)
            with open(fvocab, "w", encoding="utf-8") as f:
                f.writelines(f"{w} {int(c)}\n" for w, c in zip(self.index_to_key, counts))
        return path

    @classmethod
    def load_word2vec_format(cls, fname: PathLike, fvocab: Optional[PathLike] = None, binary: bool = False,
                             encoding: str = "utf8", unicode_errors: str = "strict", limit: Optional[int] = None,
                             datatype=np.float32, no_header: bool = False, errors: Optional[str] = None) -> "KeyedVectors":
        """Read word2vec.c's text or binary format (as written by gensim or word2vec.c), gensim's signature;
        ``fvocab``: counts from a ``word count`` file; ``no_header=True``: a text file without the ``V D``
        header line (GloVe's). ``errors`` is the older name of ``unicode_errors``."""
        from .word2vec_format import load_word2vec_format

        if encoding.lower().replace("-", "") != "utf8":
            raise ValueError(f"vector files are read as UTF-8; got encoding={encoding!r}")
        words, vectors = load_word2vec_format(fname, binary, errors or unicode_errors, limit, no_header)
        counts = _read_counts(fvocab, words) if fvocab is not None else None
        return cls(words, vectors.astype(datatype, copy=False), counts)

    def save(self, fname: PathLike, *args, **kwargs) -> None:
        """gensim's own file (a pickle of a gensim ``KeyedVectors``, large arrays beside it as .npy): gensim's
        ``KeyedVectors.load`` reads it, and so does :meth:`load`."""
        self.to_gensim().save(str(fname), *args, **kwargs)

    @classmethod
    def load(cls, fname: PathLike, mmap: Optional[str] = None) -> "KeyedVectors":
        """Read a file written by :meth:`save` or by gensim (``KeyedVectors.save``, or a model's file: its
        ``.wv``); ``mmap="r"`` maps large arrays instead of reading them. It unpickles: only open trusted files."""
        from gensim.utils import SaveLoad

        obj = SaveLoad.load(str(fname), mmap=mmap)
        obj = getattr(obj, "wv", obj)
        if not hasattr(obj, "index_to_key") or not hasattr(obj, "vectors"):
            raise TypeError(f"{fname} holds a {type(obj).__name__}, not word vectors")
        return cls.from_gensim(obj)

    def to_gensim(self):
        """A ``gensim.models.KeyedVectors`` with the same words, vectors (and counts)."""
        from gensim.models import KeyedVectors as GensimKV

        kv = GensimKV(self.vector_size, count=0, dtype=self.vectors.dtype)
        kv.add_vectors(self.index_to_key, self.vectors)
        if self.counts is not None:
            kv.allocate_vecattrs(["count"], [np.int64])
            kv.expandos["count"][:] = self.counts
        return kv

    @classmethod
    def from_gensim(cls, kv) -> "KeyedVectors":
        """The words, vectors and counts of a gensim ``KeyedVectors`` (or a model's ``.wv``)."""
        counts = getattr(kv, "expandos", {}).get("count")
        vectors = kv.vectors if np.issubdtype(kv.vectors.dtype, np.floating) else np.asarray(kv.vectors, np.float32)
        ours = cls(list(kv.index_to_key), vectors, counts)
        lockf = getattr(kv, "vectors_lockf", None)
        if lockf is not None:
            ours.vectors_lockf = np.asarray(lockf, np.float32)
        return ours

    def __repr__(self) -> str:
        return f"KeyedVectors({len(self)} words, {self.vector_size} dimensions)"

    __str__ = __repr__


_ANALOGY_METHODS = {"most_similar": "3CosAdd", "most_similar_cosmul": "3CosMul"}


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32)


def _only_defaults(method: str, given: Dict[str, Any], **defaults: Any) -> None:
    """NotImplementedError for gensim arguments given other values than the ones this library implements."""
    for name, value in given.items():
        if name not in defaults:
            raise TypeError(f"{method}() got an unexpected keyword argument {name!r}")
        if value != defaults[name]:
            raise NotImplementedError(f"{method}({name}={value!r}) is not supported; only {name}={defaults[name]!r}")


def _read_counts(fvocab: PathLike, words: Sequence[str]) -> np.ndarray:
    """(V,) counts of ``words`` from a ``word count`` file (gensim's ``fvocab``); words it lacks get 0."""
    from .corpus import read_text_lines

    table: Dict[str, int] = {}
    for line_no, line in read_text_lines(fvocab):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
            raise ValueError(f"{fvocab}, line {line_no}: expected 'word count', got {line[:60]!r}")
        table[parts[0]] = int(parts[1])
    return np.fromiter((table.get(w, 0) for w in words), np.int64, len(words))


__all__ = ["KeyedVectors"]
