"""numba kernels of word2vec training: skip-gram and CBOW, negative sampling and
hierarchical softmax, Hogwild updates on shared float32 matrices.

One call trains one *chunk*: an int32 array of word ids in which ``-1``
separates sentences (out-of-vocabulary words were dropped when the chunk was
encoded). The kernels are ``njit(nogil=True)`` so that several Python threads
run them at once on the same matrices (Hogwild); no Python runs per word.

Random numbers: a SplitMix64 stream keyed by ``key`` (derived from the seed,
the epoch and the chunk's index), so a chunk's draws do not depend on which
thread runs it; with one worker, training is bit-reproducible.

Per word (after subsampling with word2vec.c's keep probability) the kernels
draw a reduced window ``b`` uniform in ``1..window`` as word2vec.c does, and
use the learning rate ``alpha`` decayed linearly with the word's position in
the whole run (all epochs), updated at every sentence start.

Skip-gram with negative sampling follows word2vec.c: the *context* word's
input vector (``syn0``) predicts the *centre* word's output vector
(``syn1neg``) against ``negative`` noise words. With ``shared_negatives``
(pWord2Vec, Ji et al. 2016) one set of noise words is drawn per centre word
and shared by all its context words; all logits of the window are computed
from the current vectors, then the input and output updates are applied as two
small matrix products. Without it, every (context, centre) pair draws its own
noise words and is updated in turn, as word2vec.c does.

Loss: every kernel adds the exact objective of the pairs it processes,
``softplus(-s_pos) + sum_k softplus(s_neg_k)`` (negative sampling) or
``sum_nodes softplus(-(1 - 2 code) s)`` (hierarchical softmax), evaluated with
the vectors before the pair's update; ``stats`` returns the sum and the count.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from multissl.sampling import alias_draw, splitmix64

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
# fastmath without "nnan"/"ninf": exp may overflow to inf and must stay correct.
_FAST = {"nsz", "arcp", "contract", "afn", "reassoc"}

# stats layout returned by every kernel
STAT_LOSS, STAT_PAIRS, STAT_TRAINED_WORDS, STAT_WORDS = 0, 1, 2, 3
NUM_STATS = 4


@njit(inline="always", nogil=True, cache=True, fastmath=_FAST)
def _dot(a, i, b, j, dim):
    s = np.float32(0.0)
    for d in range(dim):
        s += a[i, d] * b[j, d]
    return s


@njit(inline="always", nogil=True, cache=True)
def _sigmoid(x):
    return np.float32(1.0) / (np.float32(1.0) + np.exp(-x))


@njit(inline="always", nogil=True, cache=True)
def _softplus(x):
    """log(1 + exp(x)), stable for any x (float64)."""
    x = np.float64(x)
    if x > 0.0:
        return x + np.log1p(np.exp(-x))
    return np.log1p(np.exp(x))


@njit(nogil=True, cache=True)
def _alpha_at(alpha, min_alpha, position, total_words):
    progress = position / max(total_words, 1.0)
    if progress > 1.0:
        progress = 1.0
    return np.float32(alpha - (alpha - min_alpha) * progress)


@njit(nogil=True, cache=True)
def _subsample_sentence(ids, start, stop, keep_threshold, state, out):
    """Copy the kept words of ids[start:stop] into ``out``; returns (count, state)."""
    n = 0
    for p in range(start, stop):
        w = ids[p]
        r = splitmix64(state)
        state += _GOLDEN
        if (r >> np.uint64(32)) < keep_threshold[w]:
            out[n] = w
            n += 1
    return n, state


@njit(nogil=True, cache=True, fastmath=_FAST)
def _sg_ns_window_shared(syn0, syn1neg, lockf, locked, sent, n, i, b, center, neg_table, negative, alpha,
                         state, outs, labels, grads, delta_in, compute_loss, stats):
    """One skip-gram window with shared negatives (pWord2Vec)."""
    dim = syn0.shape[1]
    # output rows: centre + negatives (a negative equal to the centre is dropped)
    outs[0] = center
    labels[0] = np.float32(1.0)
    n_out = 1
    for k in range(negative):
        r = splitmix64(state)
        state += _GOLDEN
        t = alias_draw(neg_table, r)
        if t == center:
            continue
        outs[n_out] = t
        labels[n_out] = np.float32(0.0)
        n_out += 1
    lo = max(i - b, 0)
    hi = min(i + b + 1, n)
    m = 0
    loss = 0.0
    for j in range(lo, hi):
        if j == i:
            continue
        c = sent[j]
        for k in range(n_out):
            f = _dot(syn0, c, syn1neg, outs[k], dim)
            if compute_loss:
                loss += _softplus(-f) if labels[k] > 0 else _softplus(f)
            grads[m, k] = (labels[k] - _sigmoid(f)) * alpha
        m += 1
    # input deltas from the (not yet updated) output rows
    m = 0
    for j in range(lo, hi):
        if j == i:
            continue
        for d in range(dim):
            delta_in[m, d] = np.float32(0.0)
        for k in range(n_out):
            g = grads[m, k]
            o = outs[k]
            for d in range(dim):
                delta_in[m, d] += g * syn1neg[o, d]
        m += 1
    # output updates from the (not yet updated) input rows
    for k in range(n_out):
        o = outs[k]
        m = 0
        for j in range(lo, hi):
            if j == i:
                continue
            c = sent[j]
            g = grads[m, k]
            for d in range(dim):
                syn1neg[o, d] += g * syn0[c, d]
            m += 1
    m = 0
    for j in range(lo, hi):
        if j == i:
            continue
        c = sent[j]
        lock = lockf[c] if locked else np.float32(1.0)
        for d in range(dim):
            syn0[c, d] += lock * delta_in[m, d]
        m += 1
    stats[STAT_LOSS] += loss
    stats[STAT_PAIRS] += m
    return state


@njit(nogil=True, cache=True, fastmath=_FAST)
def _ns_pair(syn1neg, target_first, neg_table, negative, alpha, state,
             h, neu1e, compute_loss):
    """Negative-sampling update of the output rows for input vector ``h`` (dim,).

    Accumulates the input gradient into ``neu1e``; returns (loss, state).
    """
    dim = h.shape[0]
    loss = 0.0
    for k in range(negative + 1):
        if k == 0:
            t = target_first
            label = np.float32(1.0)
        else:
            r = splitmix64(state)
            state += _GOLDEN
            t = alias_draw(neg_table, r)
            if t == target_first:
                continue
            label = np.float32(0.0)
        f = np.float32(0.0)
        for d in range(dim):
            f += h[d] * syn1neg[t, d]
        if compute_loss:
            loss += _softplus(-f) if k == 0 else _softplus(f)
        g = (label - _sigmoid(f)) * alpha
        for d in range(dim):
            neu1e[d] += g * syn1neg[t, d]
        for d in range(dim):
            syn1neg[t, d] += g * h[d]
    return loss, state


@njit(nogil=True, cache=True, fastmath=_FAST)
def _hs_pair(h, syn1, target, codes, points, code_lengths, alpha, neu1e, compute_loss):
    """Hierarchical-softmax update along ``target``'s Huffman path; returns the loss."""
    dim = h.shape[0]
    loss = 0.0
    for p in range(code_lengths[target]):
        node = points[target, p]
        f = np.float32(0.0)
        for d in range(dim):
            f += h[d] * syn1[node, d]
        sign = np.float32(1.0) - np.float32(2.0) * np.float32(codes[target, p])
        if compute_loss:
            loss += _softplus(-sign * f)
        g = (np.float32(1.0) - np.float32(codes[target, p]) - _sigmoid(f)) * alpha
        for d in range(dim):
            neu1e[d] += g * syn1[node, d]
        for d in range(dim):
            syn1[node, d] += g * h[d]
    return loss


@njit(nogil=True, cache=True, fastmath=_FAST)
def train_chunk(ids, syn0, syn1neg, syn1, lockf, keep_threshold, neg_table, codes, points, code_lengths,
                sg, hs, negative, window, shrink_windows, shared_negatives, cbow_mean, alpha, min_alpha,
                position, total_words, key, compute_loss, stats):
    """Train on one chunk of sentences (``-1``-separated int32 ids).

    Args:
        ids: (N,) int32 word ids, ``-1`` between sentences.
        syn0: (V, D) float32 input vectors; syn1neg: (V, D) output vectors for
            negative sampling ((0, D) when ``negative == 0``); syn1: (V, D)
            inner-node vectors for hierarchical softmax ((0, D) unless ``hs``).
        lockf: (1,) or (V,) float32 factor of every update of a word's input vector
            (gensim's ``vectors_lockf``; (1,) = 1.0 leaves them alone).
        shrink_windows: draw each word's window in 1..window (else always ``window``).
        keep_threshold: (V,) uint64, keep probability * 2**32 (subsampling).
        neg_table: packed alias table of the noise distribution.
        codes, points, code_lengths: Huffman codes (V, L) uint8, inner nodes
            (V, L) int32 and path lengths (V,) int32 (hierarchical softmax).
        position: words of the run processed before this chunk (for alpha).
        total_words: words of the whole run (all epochs).
        key: uint64 seed of this chunk's random stream.
        stats: (4,) float64, incremented: loss, pairs, trained words, words.
    """
    dim = syn0.shape[1]
    n_total = ids.shape[0]
    state = key
    sent = np.empty(n_total + 1, np.int32)
    max_ctx = 2 * window
    outs = np.empty(negative + 1, np.int64)
    labels = np.empty(negative + 1, np.float32)
    grads = np.empty((max_ctx, negative + 1), np.float32)
    delta_in = np.empty((max_ctx, dim), np.float32)
    h = np.empty(dim, np.float32)
    neu1e = np.empty(dim, np.float32)
    words_seen = 0
    locked = not (lockf.shape[0] == 1 and lockf[0] == 1.0)
    if lockf.shape[0] == 1 and locked:  # one factor for every word: a (V,) view of it
        lockf = np.full(syn0.shape[0], lockf[0], np.float32)
    start = 0
    while start < n_total:
        stop = start
        while stop < n_total and ids[stop] >= 0:
            stop += 1
        length = stop - start
        if length > 0:
            a = _alpha_at(alpha, min_alpha, position + words_seen, total_words)
            n, state = _subsample_sentence(ids, start, stop, keep_threshold, state, sent)
            words_seen += length
            stats[STAT_WORDS] += length
            stats[STAT_TRAINED_WORDS] += n
            for i in range(n):
                r = splitmix64(state)
                state += _GOLDEN
                b = window - (np.int64(((r >> np.uint64(32)) * np.uint64(window)) >> np.uint64(32))) if shrink_windows else window
                word = sent[i]
                lo = max(i - b, 0)
                hi = min(i + b + 1, n)
                if hi - lo <= 1:
                    continue
                if sg:
                    if negative > 0 and shared_negatives and not hs:
                        state = _sg_ns_window_shared(syn0, syn1neg, lockf, locked, sent, n, i, b, word, neg_table,
                                                     negative, a, state, outs, labels, grads, delta_in, compute_loss,
                                                     stats)
                        continue
                    for j in range(lo, hi):
                        if j == i:
                            continue
                        c = sent[j]
                        for d in range(dim):
                            h[d] = syn0[c, d]
                            neu1e[d] = np.float32(0.0)
                        loss = 0.0
                        if hs:
                            loss += _hs_pair(h, syn1, word, codes, points, code_lengths, a, neu1e, compute_loss)
                        if negative > 0:
                            l2, state = _ns_pair(syn1neg, word, neg_table, negative, a, state, h, neu1e,
                                                 compute_loss)
                            loss += l2
                        lock = lockf[c] if locked else np.float32(1.0)
                        for d in range(dim):
                            syn0[c, d] += lock * neu1e[d]
                        stats[STAT_LOSS] += loss
                        stats[STAT_PAIRS] += 1
                else:
                    for d in range(dim):
                        h[d] = np.float32(0.0)
                        neu1e[d] = np.float32(0.0)
                    count = 0
                    for j in range(lo, hi):
                        if j == i:
                            continue
                        c = sent[j]
                        for d in range(dim):
                            h[d] += syn0[c, d]
                        count += 1
                    if cbow_mean:
                        inv = np.float32(1.0) / np.float32(count)
                        for d in range(dim):
                            h[d] *= inv
                    loss = 0.0
                    if hs:
                        loss += _hs_pair(h, syn1, word, codes, points, code_lengths, a, neu1e, compute_loss)
                    if negative > 0:
                        l2, state = _ns_pair(syn1neg, word, neg_table, negative, a, state, h, neu1e,
                                             compute_loss)
                        loss += l2
                    if not cbow_mean:
                        inv = np.float32(1.0) / np.float32(count)
                        for d in range(dim):
                            neu1e[d] *= inv
                    for j in range(lo, hi):
                        if j == i:
                            continue
                        c = sent[j]
                        lock = lockf[c] if locked else np.float32(1.0)
                        for d in range(dim):
                            syn0[c, d] += lock * neu1e[d]
                    stats[STAT_LOSS] += loss
                    stats[STAT_PAIRS] += 1
        start = stop + 1
    return state


@njit(nogil=True, cache=True)
def chunk_key(seed_key, epoch, chunk_index):
    """The random key of chunk ``chunk_index`` of ``epoch``."""
    return splitmix64(splitmix64(seed_key + np.uint64(epoch) * _GOLDEN) + np.uint64(chunk_index) * _GOLDEN)


@njit(nogil=True, cache=True)
def generate_pairs(ids, keep_threshold, window, sg, key, out_center, out_context, out_alpha_pos, shrink_windows=True):
    """Training examples of a chunk for the torch backend.

    Skip-gram: one row per (context -> centre) pair: ``out_center`` gets the
    input (context) word, ``out_context[:, 0]`` the word to predict.
    CBOW: one row per centre word: ``out_context`` (N, 2*window) holds the
    context words padded with -1, ``out_center`` the word to predict.
    ``out_alpha_pos`` gets each example's word position within the chunk
    (for the learning-rate decay). Returns the number of rows written.
    """
    n_total = ids.shape[0]
    state = key
    sent = np.empty(n_total + 1, np.int32)
    rows = 0
    start = 0
    words_seen = 0
    while start < n_total:
        stop = start
        while stop < n_total and ids[stop] >= 0:
            stop += 1
        if stop > start:
            n, state = _subsample_sentence(ids, start, stop, keep_threshold, state, sent)
            for i in range(n):
                r = splitmix64(state)
                state += _GOLDEN
                b = window - (np.int64(((r >> np.uint64(32)) * np.uint64(window)) >> np.uint64(32))) if shrink_windows else window
                lo = max(i - b, 0)
                hi = min(i + b + 1, n)
                if hi - lo <= 1:
                    continue
                if sg:
                    for j in range(lo, hi):
                        if j == i:
                            continue
                        out_center[rows] = sent[j]
                        out_context[rows, 0] = sent[i]
                        out_alpha_pos[rows] = words_seen
                        rows += 1
                else:
                    k = 0
                    for j in range(lo, hi):
                        if j == i:
                            continue
                        out_context[rows, k] = sent[j]
                        k += 1
                    for kk in range(k, out_context.shape[1]):
                        out_context[rows, kk] = -1
                    out_center[rows] = sent[i]
                    out_alpha_pos[rows] = words_seen
                    rows += 1
            words_seen += stop - start
        start = stop + 1
    return rows
