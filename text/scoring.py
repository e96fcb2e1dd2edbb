"""Using a trained model's output layer: scoring sentences and predicting a centre word.

- :func:`score_sentences`: the log-probability of each sentence under a hierarchical-softmax
  model (gensim's ``Word2Vec.score``, after Taddy 2015): for skip-gram, the sum over every
  word and every context word of its full window of ``log p(word | context word)``; for CBOW,
  the sum over words of ``log p(word | mean of its window)``, each a product of sigmoids along
  the word's Huffman path. Words not in the vocabulary are left out. gensim skips the path
  nodes whose score is beyond +-6 and reads logs from a table; these are exact.
- :func:`predict_output_word`: the softmax over the vocabulary of the output vectors
  (negative sampling's ``syn1neg``) against the mean of the context words' vectors.
"""
from __future__ import annotations

from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np
from numba import njit

from .errors import NoVocabularyError, log_warning


@njit(inline="always", nogil=True, cache=True)
def _log_sigmoid(x):
    x = np.float64(x)
    if x > 0.0:
        return -np.log1p(np.exp(-x))
    return x - np.log1p(np.exp(x))


@njit(nogil=True, cache=True)
def _path_log_prob(h, syn1, word, codes, points, code_lengths):
    total = 0.0
    dim = h.shape[0]
    for p in range(code_lengths[word]):
        node = points[word, p]
        f = 0.0
        for d in range(dim):
            f += h[d] * syn1[node, d]
        total += _log_sigmoid(f if codes[word, p] == 0 else -f)
    return total


@njit(nogil=True, cache=True)
def score_kernel(ids, syn0, syn1, codes, points, code_lengths, sg, window, cbow_mean, out):
    """Log-probabilities of the sentences of ``ids`` ((N,) int32 rows, ``-1`` after each sentence) into ``out``
    ((S,) float32, one per sentence); returns the number of sentences scored."""
    dim = syn0.shape[1]
    h = np.empty(dim, np.float64)
    sentence = 0
    start = 0
    n_total = ids.shape[0]
    while start < n_total and sentence < out.shape[0]:
        stop = start
        while stop < n_total and ids[stop] >= 0:
            stop += 1
        total = 0.0
        for i in range(start, stop):
            lo, hi = max(i - window, start), min(i + window + 1, stop)
            if sg:
                for j in range(lo, hi):
                    if j != i:
                        for d in range(dim):
                            h[d] = syn0[ids[j], d]
                        total += _path_log_prob(h, syn1, ids[i], codes, points, code_lengths)
            elif hi - lo > 1:
                h[:] = 0.0
                for j in range(lo, hi):
                    if j != i:
                        for d in range(dim):
                            h[d] += syn0[ids[j], d]
                if cbow_mean:
                    h /= hi - lo - 1
                total += _path_log_prob(h, syn1, ids[i], codes, points, code_lengths)
        out[sentence] = total
        sentence += 1
        start = stop + 1
    return sentence


def score_sentences(model, sentences: Iterable[Sequence[str]], total_sentences: int = int(1e6),
                    batch: int = 1000) -> np.ndarray:
    """(S,) float32 log-probability of each of the first ``total_sentences`` sentences (see the module docstring).

    ``model`` is a :class:`~multissl.text.Word2Vec` trained with ``hs=1``: RuntimeError otherwise, as in gensim.
    """
    if model.vocab is None or not len(model.vocab):
        raise NoVocabularyError("you must first build vocabulary before scoring new data")
    if not model.config.hs:
        raise RuntimeError("score() needs hierarchical softmax: train the model with hs=1 (and negative=0), as in gensim")
    if isinstance(sentences, (str, bytes)):
        raise ValueError("sentences must be an iterable of token lists, got a single string")
    index = model.wv.key_to_index
    scores = np.zeros(int(total_sentences), np.float32)
    done = 0
    pending: List[int] = []
    count = 0
    for sentence in sentences:
        if count == total_sentences:
            log_warning(f"score: terminating after {total_sentences} sentences (set a higher total_sentences to score more)")
            break
        pending.extend(index[w] for w in sentence if w in index)
        pending.append(-1)
        count += 1
        if count % batch == 0:
            done += _score_batch(model, pending, scores[done:])
            pending = []
    if pending:
        done += _score_batch(model, pending, scores[done:])
    return scores[:done]


def _score_batch(model, ids: List[int], out: np.ndarray) -> int:
    cfg = model.config
    return score_kernel(np.asarray(ids, np.int32), model.wv.vectors, model.syn1, model._codes, model._points,
                        model._code_lengths, cfg.sg, cfg.window, cfg.cbow_mean, out)


def predict_output_word(model, context_words_list: Sequence, topn: int = 10) -> Optional[List[Tuple[str, float]]]:
    """The ``topn`` most probable centre words given context words (words or row numbers), with their
    probabilities: softmax over the output vectors of the mean (``cbow_mean=1``; else the sum) of the context
    words' input vectors (a CBOW-style prediction, also for skip-gram models, as gensim does). None (and a log
    warning) when no context word is known; RuntimeError without negative sampling's output layer."""
    if not model.config.negative:
        raise RuntimeError("predict_output_word() needs negative sampling's output vectors: train the model with "
                           "negative > 0, as in gensim")
    wv = model.wv
    syn1neg = getattr(model, "syn1neg", None)
    if wv is None or syn1neg is None or len(syn1neg) != len(wv) or not len(wv):
        raise RuntimeError("parameters required for predicting the output words not found (the model has no trained "
                           "output layer, e.g. its vectors were loaded from a word2vec file)")
    rows = [wv.get_index(w) for w in context_words_list if w in wv]
    if not rows:
        log_warning("All the input context words are out-of-vocabulary for the current model.")
        return None
    hidden = np.sum(wv.vectors[rows], axis=0, dtype=np.float64)
    if model.config.cbow_mean:
        hidden /= len(rows)
    logits = syn1neg.astype(np.float64, copy=False) @ hidden
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    best = np.argsort(-probs, kind="stable")[: int(topn)]
    return [(wv.index_to_key[i], float(probs[i])) for i in best]


__all__ = ["predict_output_word", "score_kernel", "score_sentences"]
