"""Training threads' own copies of the output vectors (text/private_outputs.py)."""
import threading

import numpy as np
import pytest

from multissl.text import Word2Vec
from multissl.text.private_outputs import PrivateOutputs, merge_changes, use_private_outputs


def test_merge_adds_each_copys_changes_and_refreshes_it():
    shared = np.zeros((3, 4), np.float32)
    lock = threading.Lock()
    first, second = PrivateOutputs(shared, lock), PrivateOutputs(shared, lock)
    first.rows[0] += 1.0
    second.rows[0] += 2.0
    second.rows[2] -= 0.5
    first.merge()
    np.testing.assert_array_equal(shared[0], 1.0)
    second.merge()  # its base is still the old matrix: only its own changes are added
    np.testing.assert_array_equal(shared[0], 3.0)
    np.testing.assert_array_equal(shared[2], -0.5)
    np.testing.assert_array_equal(second.rows, shared)
    np.testing.assert_array_equal(second.base, shared)
    first.merge()  # nothing changed since its last merge: it only takes the other copy's changes
    np.testing.assert_array_equal(shared[0], 3.0)
    np.testing.assert_array_equal(first.rows, shared)


def test_merge_of_the_first_rows_keeps_the_others_changes_for_a_later_whole_merge():
    shared = np.zeros((4, 3), np.float32)
    lock = threading.Lock()
    own = PrivateOutputs(shared, lock)
    own.rows[1] += 1.0
    own.rows[3] += 2.0
    own.merge(rows=2)
    np.testing.assert_array_equal(shared[1], 1.0)
    np.testing.assert_array_equal(shared[3], 0.0)  # not merged yet, and not lost:
    np.testing.assert_array_equal(own.rows[3], 2.0)
    own.merge()
    np.testing.assert_array_equal(shared[3], 2.0)
    np.testing.assert_array_equal(shared[1], 1.0)  # merged once only


def test_merge_changes_is_exact_for_float32():
    rng = np.random.default_rng(0)
    shared = rng.standard_normal((5, 7)).astype(np.float32)
    own = shared + rng.standard_normal((5, 7)).astype(np.float32)
    base = shared.copy()
    expected = shared + (own - base)
    merge_changes(shared, own, base, len(shared))
    np.testing.assert_allclose(shared, expected, rtol=1e-6)
    np.testing.assert_array_equal(own, shared)
    np.testing.assert_array_equal(base, shared)


@pytest.mark.parametrize("setting, workers, negative, vocab, expected", [
    ("auto", 2, 5, 9_000, True),  # a small vocabulary: merging it costs little next to the words between merges
    ("auto", 2, 5, 40_000, False),  # merging 40k rows every 10k words would cost more than it saves
    ("auto", 1, 5, 100, False),  # one thread: nothing to contend with
    ("auto", 2, 0, 100, False),  # hierarchical softmax only: no output vectors of negative sampling
    ("on", 2, 5, 40_000, True),
    ("off", 2, 5, 100, False),
    ("on", 1, 5, 100, False),
])
def test_when_the_threads_use_copies(setting, workers, negative, vocab, expected):
    assert use_private_outputs(setting, workers, negative, vocab) is expected


def test_an_unknown_setting_is_refused():
    with pytest.raises(ValueError, match="private_outputs"):
        use_private_outputs("sometimes", 2, 5, 10)
    with pytest.raises(ValueError, match="private_outputs"):
        Word2Vec(private_outputs="sometimes")


def _corpus():
    rng = np.random.default_rng(3)
    topics = [[f"a{i}" for i in range(12)], [f"b{i}" for i in range(12)]]
    return [list(rng.choice(topics[s % 2], 12)) for s in range(400)]


def _train(setting, workers):
    model = Word2Vec(_corpus(), vector_size=16, window=3, min_count=1, sg=0, epochs=10, workers=workers, seed=4,
                     sample=0, chunk_words=500, private_outputs=setting, verbose=False, compute_loss=True)
    return model


def test_one_worker_trains_the_same_with_or_without_copies():
    on, off = _train("on", 1), _train("off", 1)
    np.testing.assert_array_equal(on.wv.vectors, off.wv.vectors)
    np.testing.assert_array_equal(on.syn1neg, off.syn1neg)


def test_two_workers_with_copies_learn_the_topics():
    """Every thread's changes reach the shared output vectors: the loss falls as without copies and words of one
    topic end up nearer each other than words of the other."""
    for setting in ("on", "off"):
        model = _train(setting, 2)
        losses = [entry["mean_loss"] for entry in model.training_log]
        assert losses[-1] < 0.8 * losses[0], (setting, losses)
        assert np.abs(model.syn1neg).sum() > 0
        same = np.mean([model.wv.similarity("a0", f"a{i}") for i in range(1, 12)])
        other = np.mean([model.wv.similarity("a0", f"b{i}") for i in range(12)])
        assert same > other + 0.3, (setting, same, other)
