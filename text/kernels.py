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

Speed: the sigmoid and the loss's ``softplus`` are read from tables with
linear interpolation (errors below 2e-6 and 1e-6; word2vec.c and gensim read
an uninterpolated table and skip the updates beyond +-6); and the noise words
of the next centre word are drawn one word ahead, so that their output rows
and the next centre word's can be prefetched (:mod:`multissl.text.prefetch`)
while the current word trains. A CBOW word's six output rows are updated one after the other, or, with
``block_outputs`` (rows that no other thread writes), as one block: the six logits in one pass, then the
six updates. The per-word kernels run without numba's reference counting (``_KERNEL``).

Loss: every kernel adds the objective of the pairs it processes,
``softplus(-s_pos) + sum_k softplus(s_neg_k)`` (negative sampling) or
``sum_nodes softplus(-(1 - 2 code) s)`` (hierarchical softmax), evaluated with
the vectors before the pair's update; ``stats`` returns the sum and the count.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from multissl.sampling import alias_draw, splitmix64

from .prefetch import prefetch_row

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
# fastmath without "nnan"/"ninf": exp may overflow to inf and must stay correct.
_FAST = {"nsz", "arcp", "contract", "afn", "reassoc"}
# The kernels that run per word are compiled without numba's reference counting (``_nrt=False``): every array
# view or array argument of an inlined function otherwise costs an atomic (``lock``-prefixed) increment and
# decrement, each a full memory barrier that waits for the row updates before it; that was about a third of
# CBOW's time per word. They allocate nothing (:func:`_workspace` does, in Python).
_KERNEL = dict(nogil=True, cache=True, fastmath=_FAST, _nrt=False)

# stats layout returned by every kernel
STAT_LOSS, STAT_PAIRS, STAT_TRAINED_WORDS, STAT_WORDS = 0, 1, 2, 3
NUM_STATS = 4


OUT_BLOCK = 6  # outputs a window processes in one pass (the centre + negative=5, the usual setting)
SIGMOID_RANGE, SIGMOID_STEPS = 12.0, 2048  # sigmoid(x) tabulated on [-12, 12]; 0 or 1 beyond (error < 7e-6)
SOFTPLUS_RANGE, SOFTPLUS_STEPS = 16.0, 4096  # log(1 + exp(-u)) tabulated on [0, 16]; 0 beyond (error < 2e-7)


def _sigmoid_table() -> np.ndarray:
    x = np.arange(SIGMOID_STEPS + 2) * (2 * SIGMOID_RANGE / SIGMOID_STEPS) - SIGMOID_RANGE
    return (1.0 / (1.0 + np.exp(-x))).astype(np.float32)


def _softplus_tail_table() -> np.ndarray:
    return np.log1p(np.exp(-np.arange(SOFTPLUS_STEPS + 2) * (SOFTPLUS_RANGE / SOFTPLUS_STEPS)))


_SIGMOID = _sigmoid_table()
_SOFTPLUS_TAIL = _softplus_tail_table()


@njit(inline="always", nogil=True, cache=True, fastmath=_FAST)
def _sigmoid(x):
    """1 / (1 + exp(-x)) (float32), interpolated in a table."""
    if x >= np.float32(SIGMOID_RANGE):
        return np.float32(1.0)
    if x <= np.float32(-SIGMOID_RANGE):
        return np.float32(0.0)
    pos = (x + np.float32(SIGMOID_RANGE)) * np.float32(SIGMOID_STEPS / (2 * SIGMOID_RANGE))
    k = np.int64(pos)
    return _SIGMOID[k] + (pos - np.float32(k)) * (_SIGMOID[k + 1] - _SIGMOID[k])


@njit(inline="always", nogil=True, cache=True, fastmath=_FAST)
def _softplus(x):
    """log(1 + exp(x)) (float64) = max(x, 0) + log(1 + exp(-|x|)), the second term interpolated in a table."""
    x = np.float64(x)
    u = -x if x < 0.0 else x
    tail = 0.0
    if u < SOFTPLUS_RANGE:
        pos = u * (SOFTPLUS_STEPS / SOFTPLUS_RANGE)
        k = np.int64(pos)
        tail = _SOFTPLUS_TAIL[k] + (pos - k) * (_SOFTPLUS_TAIL[k + 1] - _SOFTPLUS_TAIL[k])
    return (x if x > 0.0 else 0.0) + tail


@njit(nogil=True, cache=True)
def _alpha_at(alpha, min_alpha, position, total_words):
    progress = position / max(total_words, 1.0)
    if progress > 1.0:
        progress = 1.0
    return np.float32(alpha - (alpha - min_alpha) * progress)


@njit(**_KERNEL)
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


@njit(inline="always", nogil=True, cache=True)
def _draw_negatives(neg_table, negative, state, out):
    """``negative`` noise words into ``out``; returns the stream's state."""
    for k in range(negative):
        r = splitmix64(state)
        state += _GOLDEN
        out[k] = alias_draw(neg_table, r)
    return state


@njit(inline="always", nogil=True, cache=True)
def _next_negatives(syn1neg, syn0, sent, n, i, window, neg_table, negative, state, negs, next_negs):
    """Hand the noise words drawn for word ``i`` to ``negs``, draw the next word's and prefetch the rows it
    will read: their output rows, the next centre word's, and the input row of the word entering its window."""
    for k in range(negative):
        negs[k] = next_negs[k]
    state = _draw_negatives(neg_table, negative, state, next_negs)
    for k in range(negative):
        prefetch_row(syn1neg, next_negs[k])
    if i + 1 < n:
        prefetch_row(syn1neg, sent[i + 1])
        if i + 1 + window < n:
            prefetch_row(syn0, sent[i + 1 + window])
    return state


@njit(inline="always", nogil=True, cache=True, fastmath=_FAST)
def _add_to_input(syn0, c, lockf, delta):
    """syn0[c] += lockf[c] * delta: an input vector's update, scaled by the word's lock factor.

    ``lockf`` None (no locks) is resolved when the kernel is compiled: the update is a plain vector add. With
    the factor read in the loop, LLVM keeps the loop scalar, which made this update a third of CBOW's time.
    """
    row = syn0[c]
    if lockf is None:
        for d in range(row.shape[0]):
            row[d] += delta[d]
    else:
        lock = lockf[c] if lockf.shape[0] > 1 else lockf[0]
        for d in range(row.shape[0]):
            row[d] += lock * delta[d]


@njit(**_KERNEL)
def _sg_ns_window_shared(syn0, syn1neg, lockf, sent, n, i, b, center, negs, negative, alpha,
                         outs, labels, grads, delta_in, compute_loss, stats):
    """One skip-gram window with shared negatives (pWord2Vec); ``negs`` the window's noise words.

    All logits come from the vectors before the window's update: ``grads`` (2b, K+1) =
    (label - sigmoid(syn0[context] . syn1neg[out])) * alpha, then ``syn0[context] += grads @ syn1neg[outs]``
    and ``syn1neg[outs] += grads.T @ syn0[context]``.
    """
    n_out = _window_outputs(center, negs, negative, outs, labels)
    lo = max(i - b, 0)
    hi = min(i + b + 1, n)
    if n_out <= OUT_BLOCK:
        m, loss = _window_grads_blocked(syn0, syn1neg, sent, lo, hi, i, outs, labels, n_out, alpha, grads,
                                        delta_in, compute_loss)
    else:
        m, loss = _window_grads(syn0, syn1neg, sent, lo, hi, i, outs, labels, n_out, alpha, grads, delta_in,
                                compute_loss)
    _update_outputs(syn0, syn1neg, sent, lo, hi, i, outs, n_out, grads)
    m = 0
    for j in range(lo, hi):
        if j == i:
            continue
        _add_to_input(syn0, sent[j], lockf, delta_in[m])
        m += 1
    stats[STAT_LOSS] += loss
    stats[STAT_PAIRS] += m


@njit(inline="always", nogil=True, cache=True)
def _window_outputs(center, negs, negative, outs, labels):
    """Output rows of a window, the centre's first (label 1), then the noise words other than the centre
    (label 0); up to ``OUT_BLOCK`` the rest of ``outs`` repeats the centre (read, never written). Returns how many."""
    outs[0] = center
    labels[0] = np.float32(1.0)
    n_out = 1
    for k in range(negative):
        if negs[k] != center:
            outs[n_out] = negs[k]
            labels[n_out] = np.float32(0.0)
            n_out += 1
    for k in range(n_out, OUT_BLOCK):
        outs[k] = center
    return n_out


@njit(inline="always", nogil=True, cache=True, fastmath=_FAST)
def _six_logits(x, w0, w1, w2, w3, w4, w5):
    """The dot products of ``x`` (dim,) with six rows, in one pass over ``x`` (six sums in flight)."""
    f0 = f1 = f2 = f3 = f4 = f5 = np.float32(0.0)
    for d in range(x.shape[0]):
        v = x[d]
        f0 += v * w0[d]
        f1 += v * w1[d]
        f2 += v * w2[d]
        f3 += v * w3[d]
        f4 += v * w4[d]
        f5 += v * w5[d]
    return f0, f1, f2, f3, f4, f5


@njit(inline="always", nogil=True, cache=True, fastmath=_FAST)
def _window_grads_blocked(syn0, syn1neg, sent, lo, hi, i, outs, labels, n_out, alpha, grads, delta_in,
                          compute_loss):
    """:func:`_window_grads` for at most ``OUT_BLOCK`` outputs: each context row is read once for all six logits
    and each delta is written once (the compiler keeps six rows in flight); the unused outputs get zero gradients."""
    w0, w1, w2 = syn1neg[outs[0]], syn1neg[outs[1]], syn1neg[outs[2]]
    w3, w4, w5 = syn1neg[outs[3]], syn1neg[outs[4]], syn1neg[outs[5]]
    dim = syn0.shape[1]
    m = 0
    loss = 0.0
    for j in range(lo, hi):
        if j == i:
            continue
        logits = _six_logits(syn0[sent[j]], w0, w1, w2, w3, w4, w5)
        for k in range(OUT_BLOCK):
            if k < n_out:
                f = logits[k]
                if compute_loss:
                    loss += _softplus(-f) if k == 0 else _softplus(f)
                grads[m, k] = (labels[k] - _sigmoid(f)) * alpha
            else:
                grads[m, k] = np.float32(0.0)
        g0, g1, g2, g3, g4, g5 = grads[m, 0], grads[m, 1], grads[m, 2], grads[m, 3], grads[m, 4], grads[m, 5]
        for d in range(dim):
            delta_in[m, d] = g0 * w0[d] + g1 * w1[d] + g2 * w2[d] + g3 * w3[d] + g4 * w4[d] + g5 * w5[d]
        m += 1
    return m, loss


@njit(inline="always", nogil=True, cache=True, fastmath=_FAST)
def _window_grads(syn0, syn1neg, sent, lo, hi, i, outs, labels, n_out, alpha, grads, delta_in, compute_loss):
    """``grads`` (contexts, outputs) and the input deltas ``delta_in`` (contexts, dim) of a window, from the
    vectors before its update; returns (contexts, loss)."""
    dim = syn0.shape[1]
    m = 0
    loss = 0.0
    for j in range(lo, hi):
        if j == i:
            continue
        c = sent[j]
        for k in range(n_out):
            row = syn1neg[outs[k]]
            f = np.float32(0.0)
            for d in range(dim):
                f += syn0[c, d] * row[d]
            if compute_loss:
                loss += _softplus(-f) if labels[k] > 0 else _softplus(f)
            grads[m, k] = (labels[k] - _sigmoid(f)) * alpha
        for d in range(dim):
            delta_in[m, d] = np.float32(0.0)
        for k in range(n_out):
            g = grads[m, k]
            row = syn1neg[outs[k]]
            for d in range(dim):
                delta_in[m, d] += g * row[d]
        m += 1
    return m, loss


@njit(inline="always", nogil=True, cache=True, fastmath=_FAST)
def _update_outputs(syn0, syn1neg, sent, lo, hi, i, outs, n_out, grads):
    """``syn1neg[outs] += grads.T @ syn0[context]``, two context rows per pass."""
    dim = syn0.shape[1]
    for k in range(n_out):
        row = syn1neg[outs[k]]
        m = 0
        held, held_g = -1, np.float32(0.0)
        for j in range(lo, hi):
            if j == i:
                continue
            if held < 0:
                held, held_g = sent[j], grads[m, k]
            else:
                c, g = sent[j], grads[m, k]
                for d in range(dim):
                    row[d] += held_g * syn0[held, d] + g * syn0[c, d]
                held = -1
            m += 1
        if held >= 0:
            for d in range(dim):
                row[d] += held_g * syn0[held, d]


@njit(inline="always", nogil=True, cache=True, fastmath=_FAST)
def _ns_pair(syn1neg, target_first, negs, negative, alpha, h, neu1e, compute_loss):
    """Negative-sampling update of the output rows of ``target_first`` and noise words ``negs`` for input
    vector ``h`` (dim,); accumulates the input gradient into ``neu1e``, returns the loss."""
    dim = h.shape[0]
    loss = 0.0
    for k in range(negative + 1):
        if k == 0:
            t = target_first
            label = np.float32(1.0)
        else:
            t = negs[k - 1]
            if t == target_first:
                continue
            label = np.float32(0.0)
        row = syn1neg[t]
        f = np.float32(0.0)
        for d in range(dim):
            f += h[d] * row[d]
        if compute_loss:
            loss += _softplus(-f) if k == 0 else _softplus(f)
        g = (label - _sigmoid(f)) * alpha
        for d in range(dim):
            x = row[d]
            neu1e[d] += g * x
            row[d] = x + g * h[d]
    return loss


@njit(inline="always", nogil=True, cache=True)
def _distinct_outputs(target, negs, negative):
    """Whether ``target`` and the noise words ``negs[:negative]`` are all different words."""
    for k in range(negative):
        if negs[k] == target:
            return False
        for j in range(k):
            if negs[j] == negs[k]:
                return False
    return True


@njit(inline="always", nogil=True, cache=True, fastmath=_FAST)
def _ns_block(syn1neg, target, negs, alpha, h, neu1e, compute_loss):
    """:func:`_ns_pair` for ``OUT_BLOCK`` distinct output rows (``target`` and 5 noise words) at once: the six
    logits in one pass over ``h``, then the input gradient and the six row updates in a second pass. The rows being
    distinct and ``h`` fixed, this is the sequential update reordered; the CPU works on six independent rows
    instead of waiting for one logit after another."""
    w0, w1, w2 = syn1neg[target], syn1neg[negs[0]], syn1neg[negs[1]]
    w3, w4, w5 = syn1neg[negs[2]], syn1neg[negs[3]], syn1neg[negs[4]]
    dim = h.shape[0]
    f0, f1, f2, f3, f4, f5 = _six_logits(h, w0, w1, w2, w3, w4, w5)
    loss = 0.0
    if compute_loss:
        loss = _softplus(-f0) + _softplus(f1) + _softplus(f2) + _softplus(f3) + _softplus(f4) + _softplus(f5)
    g0 = (np.float32(1.0) - _sigmoid(f0)) * alpha
    g1, g2, g3, g4, g5 = -_sigmoid(f1) * alpha, -_sigmoid(f2) * alpha, -_sigmoid(f3) * alpha, \
        -_sigmoid(f4) * alpha, -_sigmoid(f5) * alpha
    for d in range(dim):
        x0, x1, x2, x3, x4, x5, hd = w0[d], w1[d], w2[d], w3[d], w4[d], w5[d], h[d]
        neu1e[d] += g0 * x0 + g1 * x1 + g2 * x2 + g3 * x3 + g4 * x4 + g5 * x5
        w0[d] = x0 + g0 * hd
        w1[d] = x1 + g1 * hd
        w2[d] = x2 + g2 * hd
        w3[d] = x3 + g3 * hd
        w4[d] = x4 + g4 * hd
        w5[d] = x5 + g5 * hd
    return loss


@njit(**_KERNEL)
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


def train_chunk(ids, syn0, syn1neg, syn1, lockf, keep_threshold, neg_table, codes, points, code_lengths,
                sg, hs, negative, window, shrink_windows, shared_negatives, cbow_mean, alpha, min_alpha,
                position, total_words, key, compute_loss, stats, block_outputs=False):
    """Train on one chunk of sentences (``-1``-separated int32 ids).

    Args:
        ids: (N,) int32 word ids, ``-1`` between sentences.
        syn0: (V, D) float32 input vectors; syn1neg: (V, D) output vectors for
            negative sampling ((0, D) when ``negative == 0``); syn1: (V, D)
            inner-node vectors for hierarchical softmax ((0, D) unless ``hs``).
        lockf: (V,) float32 factor of every update of a word's input vector (gensim's ``vectors_lockf``),
            (1,): one factor for every word, or None: no locks (every factor 1; compiled without the factor,
            the fastest case; :func:`lock_factors` makes it).
        shrink_windows: draw each word's window in 1..window (else always ``window``).
        keep_threshold: (V,) uint64, keep probability * 2**32 (subsampling).
        neg_table: packed alias table of the noise distribution.
        codes, points, code_lengths: Huffman codes (V, L) uint8, inner nodes
            (V, L) int32 and path lengths (V,) int32 (hierarchical softmax).
        position: words of the run processed before this chunk (for alpha).
        total_words: words of the whole run (all epochs).
        key: uint64 seed of this chunk's random stream.
        stats: (4,) float64, incremented: loss, pairs, trained words, words.
        block_outputs: CBOW with ``negative=5`` updates its six output rows as one block (:func:`_ns_block`)
            when they are six different words: faster on output rows no other thread writes (private outputs),
            slower on shared ones.

    Returns the random stream's state after the chunk (a uint64), from which a next piece of the same chunk
    continues.
    """
    return _train_chunk(ids, syn0, syn1neg, syn1, lockf, keep_threshold, neg_table, codes, points, code_lengths,
                        sg, hs, negative, window, shrink_windows, shared_negatives, cbow_mean, alpha, min_alpha,
                        position, total_words, key, compute_loss, stats, block_outputs,
                        _workspace(ids.shape[0], syn0.shape[1], window, negative))


def _workspace(n_ids, dim, window, negative):
    """The buffers :func:`_train_chunk` writes (it allocates nothing): the kept words of a sentence, a window's
    outputs, labels, gradients and input deltas, the CBOW input and its gradient, two sets of noise words, and
    the chunk's counters (in memory of this thread's own: the caller's small ``stats`` may share a cache line
    with another thread's)."""
    n_out = max(negative + 1, OUT_BLOCK)
    return (np.empty(n_ids + 1, np.int32), np.empty(n_out, np.int64), np.zeros(n_out, np.float32),
            np.empty((2 * window, n_out), np.float32), np.empty((2 * window, dim), np.float32),
            np.empty(dim, np.float32), np.empty(dim, np.float32), np.zeros(max(negative, 1), np.int64),
            np.zeros(max(negative, 1), np.int64), np.zeros(NUM_STATS))


@njit(**_KERNEL)
def _train_chunk(ids, syn0, syn1neg, syn1, lockf, keep_threshold, neg_table, codes, points, code_lengths,
                 sg, hs, negative, window, shrink_windows, shared_negatives, cbow_mean, alpha, min_alpha,
                 position, total_words, key, compute_loss, stats, block_outputs, workspace):
    """:func:`train_chunk` in its ``workspace`` (:func:`_workspace`)."""
    sent, outs, labels, grads, delta_in, h, neu1e, negs, next_negs, counters = workspace
    dim = syn0.shape[1]
    n_total = ids.shape[0]
    state = key
    ahead = negative > 0 and (not sg or (shared_negatives and not hs))  # noise words drawn one word ahead
    if ahead:
        state = _draw_negatives(neg_table, negative, state, next_negs)
    words_seen = 0
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
            counters[STAT_WORDS] += length
            counters[STAT_TRAINED_WORDS] += n
            for i in range(n):
                r = splitmix64(state)
                state += _GOLDEN
                b = window - (np.int64(((r >> np.uint64(32)) * np.uint64(window)) >> np.uint64(32))) if shrink_windows else window
                word = sent[i]
                lo = max(i - b, 0)
                hi = min(i + b + 1, n)
                if hi - lo <= 1:
                    continue
                if ahead:
                    state = _next_negatives(syn1neg, syn0, sent, n, i, window, neg_table, negative, state, negs,
                                            next_negs)
                if sg:
                    if ahead:
                        _sg_ns_window_shared(syn0, syn1neg, lockf, sent, n, i, b, word, negs, negative, a,
                                             outs, labels, grads, delta_in, compute_loss, counters)
                    else:
                        state = _sg_pairs(syn0, syn1neg, syn1, lockf, sent, lo, hi, i, word, neg_table,
                                          codes, points, code_lengths, hs, negative, a, state, negs, h, neu1e,
                                          compute_loss, counters)
                else:
                    _cbow_word(syn0, syn1neg, syn1, lockf, sent, lo, hi, i, word, negs, codes, points,
                               code_lengths, hs, negative, cbow_mean, block_outputs, a, h, neu1e, compute_loss,
                               counters)
        start = stop + 1
    for k in range(NUM_STATS):
        stats[k] += counters[k]
    return state


@njit(**_KERNEL)
def _sg_pairs(syn0, syn1neg, syn1, lockf, sent, lo, hi, i, word, neg_table, codes, points, code_lengths,
              hs, negative, a, state, negs, h, neu1e, compute_loss, stats):
    """word2vec.c's skip-gram: each context word in turn predicts ``word``, with its own noise words."""
    dim = syn0.shape[1]
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
            state = _draw_negatives(neg_table, negative, state, negs)
            loss += _ns_pair(syn1neg, word, negs, negative, a, h, neu1e, compute_loss)
        _add_to_input(syn0, c, lockf, neu1e)
        stats[STAT_LOSS] += loss
        stats[STAT_PAIRS] += 1
    return state


@njit(inline="always", nogil=True, cache=True, fastmath=_FAST)
def _cbow_word(syn0, syn1neg, syn1, lockf, sent, lo, hi, i, word, negs, codes, points, code_lengths,
               hs, negative, cbow_mean, block_outputs, a, h, neu1e, compute_loss, stats):
    """CBOW: the mean (``cbow_mean``; else the sum) of the context vectors predicts ``word``; every context
    vector receives the whole error, as in word2vec.c."""
    dim = syn0.shape[1]
    for d in range(dim):
        h[d] = np.float32(0.0)
        neu1e[d] = np.float32(0.0)
    count = 0
    for j in range(lo, hi):
        if j == i:
            continue
        row = syn0[sent[j]]
        for d in range(dim):
            h[d] += row[d]
        count += 1
    if cbow_mean:
        inv = np.float32(1.0) / np.float32(count)
        for d in range(dim):
            h[d] *= inv
    loss = 0.0
    if hs:
        loss += _hs_pair(h, syn1, word, codes, points, code_lengths, a, neu1e, compute_loss)
    if negative > 0:
        if block_outputs and negative + 1 == OUT_BLOCK and _distinct_outputs(word, negs, negative):
            loss += _ns_block(syn1neg, word, negs, a, h, neu1e, compute_loss)
        else:
            loss += _ns_pair(syn1neg, word, negs, negative, a, h, neu1e, compute_loss)
    if not cbow_mean:
        inv = np.float32(1.0) / np.float32(count)
        for d in range(dim):
            neu1e[d] *= inv
    for j in range(lo, hi):
        if j == i:
            continue
        _add_to_input(syn0, sent[j], lockf, neu1e)
    stats[STAT_LOSS] += loss
    stats[STAT_PAIRS] += 1


def lock_factors(vectors_lockf):
    """``train_chunk``'s ``lockf`` for gensim's ``vectors_lockf``: None when every factor is 1 (no locks), else the
    factors as a contiguous float32 array ((1,): one factor for every word)."""
    lockf = np.ascontiguousarray(vectors_lockf, np.float32).reshape(-1)
    if lockf.size == 0 or np.all(lockf == 1.0):
        return None
    return lockf


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
