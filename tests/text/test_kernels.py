"""The numba kernels against a naive numpy reference on toy examples.

Randomness is pinned: window=1 (the reduced window is always 1), sample=0
(every word kept) and a noise distribution with all its mass on one word, so
the kernel's updates are fully determined and can be recomputed in numpy.
"""
import numpy as np
import pytest

from multissl.sampling import AliasSampler
from multissl.text.kernels import NUM_STATS, lock_factors, train_chunk
from multissl.text.vocab import huffman_tree

V, D, NOISE = 5, 8, 4


def _setup(seed=0):
    rng = np.random.default_rng(seed)
    syn0 = (rng.standard_normal((V, D)) * 0.3).astype(np.float32)
    syn1 = (rng.standard_normal((V, D)) * 0.3).astype(np.float32)
    weights = np.zeros(V)
    weights[NOISE] = 1.0
    table = AliasSampler(weights, seed=0).table
    keep = np.full(V, 2**32, np.uint64)
    return syn0, syn1, table, keep


def _run(ids, syn0, syn1neg, syn1, keep, table, sg, hs=0, negative=2, shared=True, counts=None,
         lockf=np.ones(1, np.float32)):
    if hs:
        codes, points, lengths = huffman_tree(counts)
    else:
        codes, points, lengths = np.zeros((1, 1), np.uint8), np.zeros((1, 1), np.int32), np.zeros(1, np.int32)
    stats = np.zeros(NUM_STATS)
    train_chunk(np.array(ids, np.int32), syn0, syn1neg, syn1, lockf, keep, table, codes, points, lengths,
                sg, hs, negative, 1, True, shared, 1, 0.1, 0.1, 0.0, 1e9, np.uint64(7), True, stats)
    return stats


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def _softplus(x):
    return np.log1p(np.exp(x))


def ref_ns_update(h, syn1neg, targets, labels, alpha):
    """Sequential word2vec.c update of output rows; returns (input gradient, loss)."""
    neu1e = np.zeros_like(h)
    loss = 0.0
    for t, label in zip(targets, labels):
        f = h @ syn1neg[t]
        loss += _softplus(-f) if label else _softplus(f)
        g = (label - _sig(f)) * alpha
        neu1e += g * syn1neg[t]
        syn1neg[t] += g * h
    return neu1e, loss


@pytest.mark.parametrize("shared", [True, False])
def test_skipgram_negative_sampling_step_matches_numpy(shared):
    syn0, syn1neg, table, keep = _setup()
    ref0, ref1 = syn0.astype(np.float64), syn1neg.astype(np.float64)
    sentence, alpha, negative = [0, 1, 2], 0.1, 2
    total_loss = 0.0
    for i, center in enumerate(sentence):
        contexts = [sentence[j] for j in (i - 1, i + 1) if 0 <= j < len(sentence)]
        targets, labels = [center] + [NOISE] * negative, [1] + [0] * negative
        if shared:  # all logits from the vectors before this window's update
            grads = np.array([[(lab - _sig(ref0[c] @ ref1[t])) * alpha for t, lab in zip(targets, labels)] for c in contexts])
            total_loss += sum(_softplus(-ref0[c] @ ref1[t]) if lab else _softplus(ref0[c] @ ref1[t])
                              for c in contexts for t, lab in zip(targets, labels))
            d_in = grads @ ref1[targets]
            d_out = grads.T @ ref0[contexts]
            for k, t in enumerate(targets):
                ref1[t] += d_out[k]
            for m, c in enumerate(contexts):
                ref0[c] += d_in[m]
        else:
            for c in contexts:
                neu1e, loss = ref_ns_update(ref0[c].copy(), ref1, targets, labels, alpha)
                ref0[c] += neu1e
                total_loss += loss
    stats = _run(sentence + [-1], syn0, syn1neg, np.zeros((1, D), np.float32), keep, table, sg=1, shared=shared)
    np.testing.assert_allclose(syn0, ref0, atol=1e-5)
    np.testing.assert_allclose(syn1neg, ref1, atol=1e-5)
    assert stats[0] == pytest.approx(total_loss, rel=1e-5)
    assert stats[1] == 4  # (context, centre) pairs
    assert stats[2] == stats[3] == 3


def test_cbow_negative_sampling_step_matches_numpy():
    syn0, syn1neg, table, keep = _setup(1)
    ref0, ref1 = syn0.astype(np.float64), syn1neg.astype(np.float64)
    sentence, alpha, negative = [0, 1, 2, 3], 0.1, 2
    total_loss = 0.0
    for i, center in enumerate(sentence):
        contexts = [sentence[j] for j in (i - 1, i + 1) if 0 <= j < len(sentence)]
        h = ref0[contexts].mean(0)
        neu1e, loss = ref_ns_update(h, ref1, [center] + [NOISE] * negative, [1] + [0] * negative, alpha)
        total_loss += loss
        for c in contexts:
            ref0[c] += neu1e
    stats = _run(sentence + [-1], syn0, syn1neg, np.zeros((1, D), np.float32), keep, table, sg=0)
    np.testing.assert_allclose(syn0, ref0, atol=1e-5)
    np.testing.assert_allclose(syn1neg, ref1, atol=1e-5)
    assert stats[0] == pytest.approx(total_loss, rel=1e-5)
    assert stats[1] == 4  # centre words


def test_skipgram_hierarchical_softmax_step_matches_numpy():
    syn0, _, table, keep = _setup(2)
    syn1 = np.zeros((V, D), np.float32)
    syn1[:] = np.random.default_rng(5).standard_normal((V, D)) * 0.3
    counts = np.array([10, 6, 4, 3, 1])
    codes, points, lengths = huffman_tree(counts)
    ref0, ref1 = syn0.astype(np.float64), syn1.astype(np.float64)
    sentence, alpha = [0, 3, 1], 0.1
    total_loss = 0.0
    for i, center in enumerate(sentence):
        for j in (i - 1, i + 1):
            if not 0 <= j < len(sentence):
                continue
            h = ref0[sentence[j]].copy()
            neu1e = np.zeros(D)
            for p in range(lengths[center]):
                node, code = points[center, p], int(codes[center, p])
                f = h @ ref1[node]
                total_loss += _softplus(-(1 - 2 * code) * f)
                g = (1 - code - _sig(f)) * alpha
                neu1e += g * ref1[node]
                ref1[node] += g * h
            ref0[sentence[j]] += neu1e
    stats = _run(sentence + [-1], syn0, np.zeros((1, D), np.float32), syn1, keep, table, sg=1, hs=1, negative=0,
                 counts=counts)
    np.testing.assert_allclose(syn0, ref0, atol=1e-5)
    np.testing.assert_allclose(syn1, ref1, atol=1e-5)
    assert stats[0] == pytest.approx(total_loss, rel=1e-5)


def test_huffman_tree_is_an_optimal_prefix_code():
    import heapq

    counts = np.array([50, 30, 20, 10, 10, 5, 3, 1])
    codes, points, lengths = huffman_tree(counts)
    words = ["".join(str(b) for b in codes[w, : lengths[w]]) for w in range(len(counts))]
    assert len(set(words)) == len(words)
    for a in words:
        for b in words:
            assert a == b or not b.startswith(a)  # prefix-free
    assert sum(2.0 ** -len(w) for w in words) == pytest.approx(1.0)
    heap = list(counts.astype(float))
    heapq.heapify(heap)
    cost = 0.0
    while len(heap) > 1:
        s = heapq.heappop(heap) + heapq.heappop(heap)
        cost += s
        heapq.heappush(heap, s)
    assert float((counts * lengths).sum()) == pytest.approx(cost)  # optimal expected length
    assert np.all(points[:, 0] == len(counts) - 2)  # every path starts at the root
    # unsorted counts (a vocabulary update appends words): the same tree, rows in the given order
    perm = np.array([3, 0, 7, 1, 6, 2, 5, 4])
    shuffled = huffman_tree(counts[perm])
    for ours, sorted_rows in zip(shuffled, (codes, points, lengths)):
        np.testing.assert_array_equal(ours, sorted_rows[perm])


@pytest.mark.parametrize("sg", [0, 1])
def test_no_locks_trains_as_unit_lock_factors(sg):
    """lockf=None (compiled without the factor) gives the same vectors as factors of 1, one or one per word."""
    trained = []
    for lockf in (None, np.ones(1, np.float32), np.ones(V, np.float32)):
        syn0, syn1neg, table, keep = _setup()
        _run([0, 1, 2, 3, -1, 2, 1, 0], syn0, syn1neg, np.zeros((1, D), np.float32), keep, table, sg, lockf=lockf)
        trained.append((syn0, syn1neg))
    for syn0, syn1neg in trained[1:]:
        np.testing.assert_array_equal(syn0, trained[0][0])
        np.testing.assert_array_equal(syn1neg, trained[0][1])


@pytest.mark.parametrize("sg", [0, 1])
def test_lock_factors_scale_input_updates(sg):
    """One factor for every word ((1,) = 0) freezes every input vector; per-word factors freeze only their words."""
    syn0, syn1neg, table, keep = _setup()
    before = syn0.copy()
    _run([0, 1, 2, 3], syn0, syn1neg, np.zeros((1, D), np.float32), keep, table, sg, lockf=np.zeros(1, np.float32))
    np.testing.assert_array_equal(syn0, before)
    syn0, syn1neg, table, keep = _setup()
    lockf = np.ones(V, np.float32)
    lockf[1] = 0.0
    _run([0, 1, 2, 3], syn0, syn1neg, np.zeros((1, D), np.float32), keep, table, sg, lockf=lockf)
    np.testing.assert_array_equal(syn0[1], before[1])
    assert not np.array_equal(syn0[2], before[2])


def test_lock_factors_is_none_without_locks():
    assert lock_factors(np.ones(1, np.float32)) is None
    assert lock_factors(np.ones(V)) is None
    half = lock_factors(np.array([0.5]))
    assert half.dtype == np.float32 and half.tolist() == [0.5]
    partial = np.ones(V, np.float32)
    partial[2] = 0.0
    np.testing.assert_array_equal(lock_factors(partial), partial)


def _cbow_five_negatives(block_outputs, noise_weights):
    """CBOW with negative=5 on 40 words: (syn0, syn1neg, loss, largest change of an output vector) after one
    chunk."""
    rng = np.random.default_rng(3)
    words, dim = len(noise_weights), 16
    syn0 = (rng.standard_normal((words, dim)) * 0.3).astype(np.float32)
    syn1neg = (rng.standard_normal((words, dim)) * 0.3).astype(np.float32)
    ids = np.concatenate([np.append(rng.integers(0, words, 30), -1) for _ in range(20)]).astype(np.int32)
    table = AliasSampler(noise_weights, seed=0).table
    keep = np.full(words, 2**32, np.uint64)
    stats = np.zeros(NUM_STATS)
    start = syn1neg.copy()
    none = np.zeros((1, 1), np.uint8), np.zeros((1, 1), np.int32), np.zeros(1, np.int32)
    train_chunk(ids, syn0, syn1neg, np.zeros((1, dim), np.float32), None, keep, table, *none, 0, 0, 5, 3, True, True,
                1, 0.05, 0.05, 0.0, 1e9, np.uint64(11), True, stats, block_outputs)
    return syn0, syn1neg, stats[0], np.abs(syn1neg - start).max()


def test_cbow_block_of_six_outputs_is_the_sequential_update_reordered():
    """With six different output rows the block computes what the row-by-row update does (up to float rounding);
    the random stream is the same, so both runs train the same words against the same noise words."""
    uniform = np.ones(40)
    block, sequential = _cbow_five_negatives(True, uniform), _cbow_five_negatives(False, uniform)
    np.testing.assert_allclose(block[0], sequential[0], atol=2e-5)
    np.testing.assert_allclose(block[1], sequential[1], atol=2e-5)
    assert block[2] == pytest.approx(sequential[2], rel=1e-5)
    assert block[3] > 0.01  # the output rows did train


def test_cbow_block_falls_back_to_the_sequential_update_on_a_repeated_output():
    """All noise on one word: the five noise words repeat, so every word takes the row-by-row update (the block
    would apply only one of a repeated row's updates): the runs are bit-identical."""
    one_word = np.zeros(40)
    one_word[7] = 1.0
    block, sequential = _cbow_five_negatives(True, one_word), _cbow_five_negatives(False, one_word)
    np.testing.assert_array_equal(block[0], sequential[0])
    np.testing.assert_array_equal(block[1], sequential[1])
