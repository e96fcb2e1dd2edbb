"""Intrinsic evaluation of word vectors, computed as gensim does.

- :func:`evaluate_word_analogies`: "a is to b as c is to ?" by 3CosAdd
  (the nearest unit vector to ``b - a + c`` among the ``restrict_vocab``
  most frequent words, the question words excluded) or 3CosMul; accuracy per
  section and in total over the questions whose four words are known.
- :func:`evaluate_word_pairs`: Pearson and Spearman correlation between
  cosine similarities and human scores (WordSim-353, SimLex-999) and the
  fraction of pairs skipped as out-of-vocabulary; :func:`pair_correlations`
  the same as gensim returns it.

gensim's wheel ships the usual files: ``datapath("questions-words.txt")``,
``datapath("wordsim353.tsv")`` and ``datapath("simlex999.txt")``
(:func:`gensim_datapath`).
"""
from __future__ import annotations

from collections import namedtuple
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple, Union

import numpy as np

from .corpus import read_text_lines
from .keyedvectors import COSMUL_EPSILON

PathLike = Union[str, Path]
PairsResult = namedtuple("PairsResult", ["pearson", "spearman", "oov_ratio", "pairs"])


def gensim_datapath(name: str) -> Path:
    """Path of an evaluation file shipped in gensim's wheel (``gensim.test.utils.datapath``)."""
    from gensim.test.utils import datapath

    path = Path(datapath(name))
    if not path.is_file():
        raise FileNotFoundError(f"{path} is not in the installed gensim")
    return path


def _ok_vocab(kv, restrict_vocab: int, case_insensitive: bool) -> Dict[str, int]:
    keys = kv.index_to_key[: int(restrict_vocab)]
    if case_insensitive:
        # the most frequent spelling wins, as in gensim
        return {k.upper(): i for i, k in reversed(list(enumerate(keys)))}
    return {k: i for i, k in enumerate(keys)}


def read_analogies(path: PathLike) -> List[Tuple[str, List[Tuple[str, str, str, str]]]]:
    """Sections of ``questions-words.txt``: ``[(name, [(a, b, c, d), ...]), ...]``."""
    sections: List[Tuple[str, list]] = []
    for line_no, line in read_text_lines(path):
        if line.startswith(": "):
            sections.append((line[2:].strip(), []))
            continue
        words = line.split()
        if not words:
            continue
        if not sections:
            raise ValueError(f"{path}, line {line_no}: a question before the first ': section' line")
        if len(words) != 4:
            raise ValueError(f"{path}, line {line_no}: expected 4 words, got {len(words)}")
        sections[-1][1].append(tuple(words))
    return sections


def evaluate_word_analogies(kv, path: PathLike, restrict_vocab: int = 30000, case_insensitive: bool = True,
                            batch: int = 512, method: str = "3CosAdd", dummy4unknown: bool = False):
    """Analogy accuracy of ``kv`` (a :class:`~multissl.text.KeyedVectors`).

    ``method``: ``"3CosAdd"`` (the nearest unit vector to ``b - a + c``) or ``"3CosMul"``
    (the word maximising ``cos'(x, b) cos'(x, c) / (cos'(x, a) + 1e-6)``, ``cos' = (1 + cos) / 2``).

    Returns:
        ``(accuracy, sections)``: ``accuracy`` = correct / answered over all
        sections; ``sections`` is a list of dicts ``{"section", "correct",
        "incorrect"}`` (lists of question tuples, as gensim's) ending with
        ``"Total accuracy"``, plus ``"accuracy"`` and ``"oov"`` per section.
        Questions with a word outside the first ``restrict_vocab`` words are
        skipped (counted in ``oov``), or with ``dummy4unknown`` counted as wrong.
    """
    if method not in ("3CosAdd", "3CosMul"):
        raise ValueError(f"unknown analogy method {method!r}; choose 3CosAdd (most_similar) or 3CosMul (most_similar_cosmul)")
    ok = _ok_vocab(kv, restrict_vocab, case_insensitive)
    limit = min(int(restrict_vocab), len(kv))
    normed = kv.get_normed_vectors()[:limit]
    keys = kv.index_to_key[:limit]
    upper = [k.upper() if case_insensitive else k for k in keys]
    variants: Dict[str, List[int]] = {}
    for i, k in enumerate(upper):
        variants.setdefault(k, []).append(i)
    results = []
    for name, questions in read_analogies(path):
        norm_q = [tuple(w.upper() if case_insensitive else w for w in q) for q in questions]
        known = [(q, nq) for q, nq in zip(questions, norm_q) if all(w in ok for w in nq)]
        correct, incorrect = [], []
        for start in range(0, len(known), batch):
            part = known[start : start + batch]
            idx = np.array([[ok[w] for w in nq] for _, nq in part], np.int64).reshape(-1, 4)
            sims = _analogy_scores(normed, idx, method)  # (Q, limit)
            for row, (_, nq) in enumerate(part):
                for w in nq[:3]:
                    sims[row, variants[w]] = -np.inf
                sims[row, idx[row, :3]] = -np.inf
            predicted = sims.argmax(1)
            for row, (q, nq) in enumerate(part):
                (correct if upper[predicted[row]] == nq[3] else incorrect).append(tuple(nq) if case_insensitive else q)
        if dummy4unknown:
            incorrect += [tuple(nq) if case_insensitive else q for q, nq in zip(questions, norm_q)
                          if not all(w in ok for w in nq)]
        results.append({"section": name, "correct": correct, "incorrect": incorrect,
                        "accuracy": _ratio(len(correct), len(correct) + len(incorrect)),
                        "oov": len(questions) - len(known)})
    all_correct = [q for s in results for q in s["correct"]]
    all_incorrect = [q for s in results for q in s["incorrect"]]
    accuracy = _ratio(len(all_correct), len(all_correct) + len(all_incorrect))
    results.append({"section": "Total accuracy", "correct": all_correct, "incorrect": all_incorrect,
                    "accuracy": accuracy, "oov": sum(s["oov"] for s in results)})
    return accuracy, results


def _analogy_scores(normed: np.ndarray, idx: np.ndarray, method: str) -> np.ndarray:
    """(Q, V) scores of every word as the answer to questions ``idx`` (Q, 4) (a, b, c, expected)."""
    a, b, c = (normed[idx[:, k]] for k in range(3))
    if method == "3CosAdd":
        return (b - a + c) @ normed.T
    shifted = [(1 + v @ normed.T) / 2 for v in (a, b, c)]
    return shifted[1] * shifted[2] / (shifted[0] + np.float32(COSMUL_EPSILON))


def _ratio(a: int, b: int) -> float:
    return a / b if b else 0.0


def evaluate_word_pairs(kv, path: PathLike, restrict_vocab: int = 300000, case_insensitive: bool = True,
                        delimiter: Optional[str] = None) -> PairsResult:
    """Correlation of cosine similarity with human similarity scores.

    The file has lines ``word1 word2 score`` separated by ``delimiter`` (None: by tabs if the line has
    one, else by commas, else by white space: TSV, CSV and space-separated files all work); ``#`` lines
    are comments, and a first line whose score is not a number is a header (``Word 1<TAB>Word 2<TAB>Human (mean)``).
    Returns ``PairsResult(pearson, spearman, oov_ratio, pairs)``: the two
    correlation coefficients (NaN if fewer than 2 pairs are known), the
    fraction (0..1, not gensim's percent) of pairs skipped because a word is
    unknown, and the number of pairs used.
    """
    from scipy import stats

    gold, model, oov = _scored_pairs(kv, path, restrict_vocab, case_insensitive, delimiter, False)
    total = len(gold) + oov
    if len(gold) < 2:
        return PairsResult(float("nan"), float("nan"), _ratio(oov, total), len(gold))
    return PairsResult(float(stats.pearsonr(gold, model)[0]), float(stats.spearmanr(gold, model)[0]),
                       _ratio(oov, total), len(gold))


def pair_correlations(kv, path: PathLike, restrict_vocab: int = 300000, case_insensitive: bool = True,
                      delimiter: Optional[str] = "\t", dummy4unknown: bool = False):
    """gensim's ``evaluate_word_pairs`` result: ``(pearson, spearman, oov_percent)``, the first two scipy's
    results (coefficient, p-value); ``dummy4unknown`` scores pairs with an unknown word 0 instead of skipping
    them. ValueError when no pair is usable."""
    from scipy import stats

    gold, model, oov = _scored_pairs(kv, path, restrict_vocab, case_insensitive, delimiter, dummy4unknown)
    if not gold:
        raise ValueError(f"{path}: no similarity judgement with both words in the vocabulary ({oov} pairs unknown)")
    oov_percent = 100.0 * oov / (len(gold) if dummy4unknown else len(gold) + oov)
    return stats.pearsonr(gold, model), stats.spearmanr(gold, model), oov_percent


def _scored_pairs(kv, path: PathLike, restrict_vocab: int, case_insensitive: bool, delimiter: Optional[str],
                  dummy4unknown: bool) -> Tuple[List[float], List[float], int]:
    """(human scores, cosines, number of pairs with an unknown word) of a word-pair file."""
    ok = _ok_vocab(kv, restrict_vocab, case_insensitive)
    normed = kv.get_normed_vectors()
    gold, model = [], []
    oov = 0
    for a, b, score in _read_pairs(path, delimiter):
        if case_insensitive:
            a, b = a.upper(), b.upper()
        if a not in ok or b not in ok:
            oov += 1
            if dummy4unknown:
                gold.append(score)
                model.append(0.0)
            continue
        gold.append(score)
        model.append(float(normed[ok[a]] @ normed[ok[b]]))
    return gold, model, oov


def _read_pairs(path: PathLike, delimiter: Optional[str] = None) -> Iterator[Tuple[str, str, float]]:
    """``(word1, word2, score)`` of a word-pair file (see :func:`evaluate_word_pairs`); bad lines are errors naming them."""
    first = True
    for line_no, line in read_text_lines(path):
        if not line.strip() or line.startswith("#"):
            continue
        parts = _pair_fields(line, delimiter)
        if len(parts) != 3:
            separator = repr(delimiter) if delimiter else "tabs, commas or white space"
            raise ValueError(f"{path}, line {line_no}: expected 3 fields (word, word, score) separated by {separator}, "
                             f"got {len(parts)}: {line[:60]!r}")
        try:
            score = float(parts[2])
        except ValueError:
            if first:  # a header line
                first = False
                continue
            raise ValueError(f"{path}, line {line_no}: score {parts[2]!r} is not a number") from None
        first = False
        yield parts[0], parts[1], score


def _pair_fields(line: str, delimiter: Optional[str]) -> List[str]:
    """The fields of a word-pair line, split on ``delimiter`` or (None) on tabs, else commas, else white space."""
    if delimiter is None:
        delimiter = next((d for d in ("\t", ",") if d in line), None)
        if delimiter is None:
            return line.split()
    return [field.strip() for field in line.split(delimiter)]


def evaluate_all(kv, restrict_vocab: int = 30000) -> Dict[str, float]:
    """The standard scores on gensim's shipped files, as a flat dict.

    Keys: ``analogy_accuracy``, ``ws353_spearman``, ``ws353_pearson``,
    ``simlex999_spearman``, ``simlex999_pearson``, ``oov_ratio`` (mean of the
    two similarity files' OOV fractions), ``analogy_oov_ratio``.
    """
    accuracy, sections = evaluate_word_analogies(kv, gensim_datapath("questions-words.txt"), restrict_vocab)
    total = sections[-1]
    answered = len(total["correct"]) + len(total["incorrect"])
    ws = evaluate_word_pairs(kv, gensim_datapath("wordsim353.tsv"))
    sl = evaluate_word_pairs(kv, gensim_datapath("simlex999.txt"))
    return {
        "analogy_accuracy": accuracy,
        "analogy_oov_ratio": _ratio(total["oov"], total["oov"] + answered),
        "ws353_spearman": ws.spearman,
        "ws353_pearson": ws.pearson,
        "simlex999_spearman": sl.spearman,
        "simlex999_pearson": sl.pearson,
        "oov_ratio": (ws.oov_ratio + sl.oov_ratio) / 2,
    }


__all__ = ["PairsResult", "evaluate_all", "evaluate_word_analogies", "evaluate_word_pairs", "gensim_datapath",
           "pair_correlations", "read_analogies"]
