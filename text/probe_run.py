"""Probing trained word vectors: analogy accuracy and word-similarity correlations, the library path behind
``multissl text probe``, and the vectors of words (``features``)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .evaluate import evaluate_word_analogies, evaluate_word_pairs, gensim_datapath

DEFAULT_PAIRS = ("wordsim353.tsv", "simlex999.txt")


def _vectors(run_or_model: Any):
    """The KeyedVectors of a run folder, a :class:`~multissl.run.Run`, a Word2Vec or KeyedVectors."""
    from .training import load_run

    if isinstance(run_or_model, (str, Path)):
        run_or_model = load_run(run_or_model)
    model = getattr(run_or_model, "model", run_or_model)
    return getattr(model, "wv", model)


def features(run_or_model: Any, words: Sequence[str]) -> np.ndarray:
    """(N, D) float32 vectors of ``words`` from a text run, its folder, a Word2Vec or KeyedVectors; a word
    outside the vocabulary is a KeyError naming it and its index."""
    if isinstance(words, str):
        raise ValueError(f"words must be a sequence of words, got the string {words!r} (pass [{words!r}])")
    kv = _vectors(run_or_model)
    rows = []
    for i, word in enumerate(words):
        if word not in kv:
            raise KeyError(f"word {i} ({word!r}) is not in the vocabulary of {len(kv)} words")
        rows.append(kv.get_vector(word))
    return np.stack(rows).astype(np.float32) if rows else np.zeros((0, kv.vector_size), np.float32)


def word_scores(kv, analogies: Optional[str] = None, pairs: Optional[Sequence[str]] = None, restrict_vocab: int = 30000,
                analogy_method: str = "3CosAdd") -> Tuple[Dict[str, float], List[Dict[str, Any]], List[Tuple[str, Any]]]:
    """(flat scores, analogy sections, [(pair file, PairsResult)]) on ``analogies`` and ``pairs`` (default: gensim's
    shipped questions-words.txt, wordsim353.tsv and simlex999.txt)."""
    analogies = analogies or gensim_datapath("questions-words.txt")
    pair_files = list(pairs) if pairs else [gensim_datapath(name) for name in DEFAULT_PAIRS]
    accuracy, sections = evaluate_word_analogies(kv, analogies, restrict_vocab, method=analogy_method)
    scores: Dict[str, float] = {"analogy_accuracy": accuracy}
    results, oov = [], []
    for path in pair_files:
        r = evaluate_word_pairs(kv, path)
        stem = pairs_key(path, scores)
        scores.update({f"{stem}_spearman": r.spearman, f"{stem}_pearson": r.pearson, f"{stem}_oov_ratio": r.oov_ratio})
        results.append((str(path), r))
        oov.append(r.oov_ratio)
    scores["oov_ratio"] = sum(oov) / len(oov) if oov else 0.0
    return scores, sections, results


def pairs_key(path, scores: dict) -> str:
    """The score-key prefix of a word-pair file: its lower-case stem (``ws353`` for wordsim353), with ``_2``,
    ``_3`` ... when an earlier file of ``scores`` has the same stem (``en/ws353.txt de/ws353.txt``)."""
    stem = Path(path).stem.split(".")[0].lower()
    stem = {"wordsim353": "ws353"}.get(stem, stem)
    key, n = stem, 1
    while f"{key}_spearman" in scores:
        n += 1
        key = f"{stem}_{n}"
    return key


def probe_run(run: Any, data: Optional[str] = None, *, pairs: Optional[Sequence[str]] = None, restrict_vocab: int = 30000,
              analogy_method: str = "3CosAdd") -> Dict[str, float]:
    """Analogy accuracy and word-similarity correlations of a run's vectors (a :class:`~multissl.run.Run`, its folder,
    a Word2Vec or KeyedVectors).

    Args:
        data: the analogy file (default: gensim's questions-words.txt).
        pairs: word-pair files (default: gensim's wordsim353.tsv and simlex999.txt).
        restrict_vocab: analogies search the N most frequent words.
        analogy_method: ``"3CosAdd"`` (gensim's ``most_similar``) or ``"3CosMul"``.
    Returns:
        ``{"analogy_accuracy", "<pairs>_spearman", "<pairs>_pearson", "<pairs>_oov_ratio" ..., "oov_ratio"}``.
    """
    return word_scores(_vectors(run), data, pairs, restrict_vocab, analogy_method)[0]


__all__ = ["features", "pairs_key", "probe_run", "word_scores"]
