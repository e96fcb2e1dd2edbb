import numba
import numpy as np
import pytest
import torch
from scipy.stats import chisquare

from multissl.sampling import (
    AliasSampler,
    MemoryQueue,
    sample_negative_indices,
    subsample_keep_prob,
    unigram_weights,
)


def test_alias_frequencies_match_weights_chi_square():
    weights = np.array([5.0, 1.0, 0.0, 3.0, 0.5, 10.0, 2.5, 0.01])
    draws = AliasSampler(weights, seed=123).draw(10**6)
    counts = np.bincount(draws, minlength=len(weights))
    assert counts[2] == 0  # zero weight never drawn
    nz = weights > 0
    expected = weights[nz] / weights.sum() * len(draws)
    _, p = chisquare(counts[nz], expected)
    assert p > 1e-3


def test_alias_zipf_large_vocabulary_frequencies():
    weights = 1.0 / np.arange(1, 5001)
    draws = AliasSampler(weights, seed=7).draw(10**6)
    counts = np.bincount(draws, minlength=len(weights))
    expected = weights / weights.sum() * len(draws)
    # pool the tail so every chi-square cell has a sizeable expectation
    head = 200
    obs = np.append(counts[:head], counts[head:].sum())
    exp = np.append(expected[:head], expected[head:].sum())
    _, p = chisquare(obs, exp)
    assert p > 1e-3


def test_alias_same_seed_same_draws_different_seed_different():
    w = np.random.default_rng(0).random(1000)
    a, b, c = AliasSampler(w, seed=5), AliasSampler(w, seed=5), AliasSampler(w, seed=6)
    first, second = a.draw(5000), a.draw(5000)
    assert np.array_equal(first, b.draw(5000))
    assert np.array_equal(second, b.draw(5000))
    assert not np.array_equal(first, second)
    assert not np.array_equal(first, c.draw(5000))


def test_alias_draws_do_not_depend_on_thread_count():
    w = np.random.default_rng(1).random(300)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = AliasSampler(w, seed=9).draw(100_000)
        numba.set_num_threads(max(2, before))
        many = AliasSampler(w, seed=9).draw(100_000)
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(one, many)


def test_alias_unseeded_follows_torch_manual_seed():
    w = np.ones(50)
    torch.manual_seed(3)
    a = AliasSampler(w).draw(100)
    torch.manual_seed(3)
    assert np.array_equal(a, AliasSampler(w).draw(100))


@pytest.mark.parametrize(
    "weights, message",
    [
        ([1.0, -2.0, 3.0], r"non-negative; weights\[1\] = -2"),
        ([0.0, 0.0], r"all zero"),
        ([], r"empty"),
        ([1.0, float("nan")], r"NaN or Inf at index 1"),
        ([[1.0, 2.0]], r"must be 1-D"),
    ],
)
def test_alias_bad_weights(weights, message):
    with pytest.raises(ValueError, match=message):
        AliasSampler(weights)


def test_unigram_weights_power():
    assert np.allclose(unigram_weights([1, 16, 81], 0.75), [1, 8, 27])
    with pytest.raises(ValueError, match="non-negative"):
        unigram_weights([1, -1])


def test_subsample_keep_prob_is_word2vec_c_formula():
    counts = np.array([1000.0, 100.0, 10.0, 1.0])
    sample, total = 1e-2, counts.sum()
    expected = [min(1.0, (np.sqrt(c / (sample * total)) + 1) * (sample * total) / c) for c in counts]
    assert np.allclose(subsample_keep_prob(counts, sample), expected)
    assert subsample_keep_prob(counts, sample)[0] < 0.2  # the frequent word is dropped often
    assert np.all(subsample_keep_prob(counts, 0) == 1)


def test_negatives_never_positive_and_stay_in_group():
    groups = np.repeat([3, 9, 4, 7], [2, 5, 10, 40])
    positives = np.arange(len(groups))
    neg = sample_negative_indices(groups, positives, 50, seed=0)
    assert neg.shape == (len(groups), 50)
    assert not (neg == positives[:, None]).any()
    assert (groups[neg] == groups[positives][:, None]).all()
    # a 2-member group has exactly one possible negative
    assert (neg[0] == 1).all() and (neg[1] == 0).all()


def test_negatives_are_uniform_over_other_members():
    groups = np.zeros(6, dtype=int)
    neg = sample_negative_indices(groups, np.array([2]), 60_000, seed=1)[0]
    counts = np.bincount(neg, minlength=6)
    assert counts[2] == 0
    _, p = chisquare(counts[[0, 1, 3, 4, 5]])
    assert p > 1e-3


def test_negatives_torch_in_torch_out_and_reproducible():
    groups = torch.tensor([0, 0, 0, 1, 1, 1])
    pos = torch.tensor([0, 4])
    a = sample_negative_indices(groups, pos, 8, seed=3)
    assert isinstance(a, torch.Tensor) and a.dtype == torch.int64
    assert torch.equal(a, sample_negative_indices(groups, pos, 8, seed=3))


def test_negatives_bad_input():
    with pytest.raises(ValueError, match=r"positives\[1\] = 9 is out of range for 3 items"):
        sample_negative_indices([0, 0, 0], [1, 9], 2)
    with pytest.raises(ValueError, match=r"positives\[0\] = 2 is alone in its group 5"):
        sample_negative_indices([0, 0, 5], [2], 2)
    with pytest.raises(ValueError, match="num_negatives must be > 0"):
        sample_negative_indices([0, 0], [0], 0)
    with pytest.raises(ValueError, match="groups must hold integers"):
        sample_negative_indices([0.5, 0.5], [0], 1)


def test_memory_queue_fifo_with_wraparound():
    q = MemoryQueue(size=5, dim=2, init="empty")
    assert q.keys.shape == (0, 2)
    q.enqueue(torch.tensor([[1.0, 1], [2, 2], [3, 3]]))
    assert torch.equal(q.keys[:, 0], torch.tensor([1.0, 2, 3]))
    q.enqueue(torch.tensor([[4.0, 4], [5, 5], [6, 6]]))  # wraps: 6 replaces the oldest (1)
    assert torch.equal(q.queue[:, 0], torch.tensor([6.0, 2, 3, 4, 5]))
    assert int(q.pointer) == 1 and q.keys.shape == (5, 2)
    q.enqueue(torch.tensor([[7.0, 7], [8, 8], [9, 9], [10, 10], [11, 11]]))
    assert sorted(q.keys[:, 0].tolist()) == [7, 8, 9, 10, 11]


def test_memory_queue_random_init_unit_norm_and_in_state_dict():
    q = MemoryQueue(size=16, dim=4)
    assert torch.allclose(q.keys.norm(dim=1), torch.ones(16))
    assert "queue" in q.state_dict() and "pointer" in q.state_dict()
    k = torch.randn(4, 4, requires_grad=True)
    q.enqueue(k)
    assert not q.queue.requires_grad


def test_memory_queue_bad_input():
    q = MemoryQueue(size=4, dim=3)
    with pytest.raises(ValueError, match=r"dimension 3, got \(2, 2\)"):
        q.enqueue(torch.randn(2, 2))
    with pytest.raises(ValueError, match="cannot enqueue 5 keys into a queue of size 4"):
        q.enqueue(torch.randn(5, 3))


def test_numba_uses_its_own_thread_pool_not_a_second_openmp_runtime():
    """OpenMP beside torch's OpenMP made every step that draws negatives ~20x slower in CPU time."""
    import os

    if os.environ.get("NUMBA_THREADING_LAYER"):
        pytest.skip("the user chose a threading layer")
    AliasSampler(np.ones(10), seed=0).draw(100)
    assert numba.config.THREADING_LAYER == "workqueue"
    assert numba.threading_layer() == "workqueue"
