"""Evaluation at users' scale, on small arrays: the minibatch linear probe (forced with a lowered memory bound),
block-wise kNN, streamed feature extraction, the raw-input baseline's size rule."""
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from multissl.evaluation import extract_features, knn_classify, linear_probe, logistic, raw_input_plan
from multissl.evaluation.knn import top_k_neighbours
from multissl.streamed import StreamedDataset

from .test_evaluation import _blobs


def test_minibatch_probe_reaches_lbfgs_accuracy():
    x, y = _blobs(3000, classes=5, dim=16, spread=4.0, seed=1)  # overlapping classes: accuracy well below 1
    lbfgs = linear_probe(x[:2000], y[:2000], x[2000:], y[2000:], solver="lbfgs")
    mini = linear_probe(x[:2000], y[:2000], x[2000:], y[2000:], solver="minibatch")
    assert (lbfgs.solver, mini.solver) == ("lbfgs", "minibatch")
    assert 0.7 < lbfgs.accuracy < 0.95
    assert abs(mini.accuracy - lbfgs.accuracy) <= 0.01 and abs(mini.train_accuracy - lbfgs.train_accuracy) <= 0.01
    # separable features, 20 % of the test labels flipped: exactly 0.8 when every test item is classified right
    x, y = _blobs(500, classes=2, spread=0.1)
    flipped = y[400:].copy()
    flipped[:20] = 1 - flipped[:20]
    assert linear_probe(x[:400], y[:400], x[400:], flipped, solver="minibatch").accuracy == pytest.approx(0.8)


def test_above_the_memory_bound_the_probe_goes_minibatch_with_the_same_result_api(monkeypatch):
    x, y = _blobs(600, classes=4)
    small = linear_probe(x[:400], y[:400], x[400:], y[400:])
    assert small.solver == "lbfgs" and small == linear_probe(x[:400], y[:400], x[400:], y[400:], solver="lbfgs")
    needed = logistic.full_batch_bytes(400, 200, 10, 4, select=True)
    assert needed == 4 * (800 * 10 + 4 * 400 * 4 + 42 * 10 * 4)
    monkeypatch.setattr(logistic, "FULL_BATCH_MEMORY", needed - 1)
    monkeypatch.setattr(logistic, "TARGET_STEPS", 300)  # the selection logic, not the recipe's length, is tested here
    chosen = []
    select = logistic.select_weight_decay
    monkeypatch.setattr(logistic, "select_weight_decay", lambda *a, **k: chosen.append(select(*a, **k)) or chosen[-1])
    large = linear_probe(x[:400], y[:400], x[400:], y[400:], weight_decay="auto", keep_log_probs=True)
    assert large.solver == "minibatch" and chosen and chosen[0] in logistic.WEIGHT_DECAY_GRID
    assert large.accuracy > 0.98 and large.test_log_probs.shape == (200, 4)
    assert torch.allclose(large.test_log_probs.exp().sum(1), torch.ones(200))
    assert (large.test_log_probs.argmax(1).numpy() == y[400:]).mean() == large.accuracy
    with pytest.raises(ValueError, match="solver must be one of"):
        linear_probe(x[:400], y[:400], x[400:], y[400:], solver="sgd")


def test_streamed_moments_equal_the_dense_ones():
    x = torch.randn(1000, 7) * 3 + 5
    rows = torch.arange(0, 1000, 3)
    mean, std = logistic.moments(x, rows)
    assert torch.allclose(mean, x[rows].mean(0), atol=1e-5) and torch.allclose(std, x[rows].std(0), atol=1e-5)


def test_blockwise_knn_equals_a_dense_reference():
    g = torch.Generator().manual_seed(0)
    train, test = torch.randn(300, 12, generator=g), torch.randn(45, 12, generator=g)
    labels = torch.randint(0, 5, (300,), generator=g)
    sims = torch.nn.functional.normalize(test.double(), dim=1) @ torch.nn.functional.normalize(train.double(), dim=1).T
    dense_values, dense_index = sims.topk(10, dim=1)
    values, index = top_k_neighbours(train, test, 10, torch.device("cpu"), train_block=7, test_block=4)  # k > train block
    assert torch.equal(index, dense_index)
    assert torch.allclose(values.double(), dense_values, atol=1e-6)
    votes = torch.zeros(45, 5, dtype=torch.float64).scatter_add_(1, labels[dense_index], (dense_values / 0.07).exp())
    assert torch.equal(knn_classify(train, labels, test, k=10, batch_size=4, train_block=7, device="cpu"), votes.argmax(1))
    assert torch.equal(knn_classify(train, labels, test, k=10), votes.argmax(1))  # one block


class _Squares(StreamedDataset):
    """Item i: (a vector of i's, label i % 3), read 'from disk' (streams=True: workers by default)."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def load(self, key):
        return torch.full((4,), float(key.index)), key.index % 3


def test_extract_features_from_a_tensor_dataset_loader_or_generator_into_one_preallocated_array(monkeypatch):
    encoder = torch.nn.Linear(4, 3)
    x = torch.arange(23 * 4, dtype=torch.float32).reshape(23, 4) // 4
    y = torch.arange(23) % 3
    expected = encoder(x).detach()
    monkeypatch.setattr(torch, "cat", None)  # no list of parts joined at the end
    from_tensor = extract_features(encoder, x, batch_size=5)
    feats, labels = extract_features(encoder, TensorDataset(x, y), batch_size=5, with_labels=True)
    from_loader, loader_labels = extract_features(encoder, DataLoader(TensorDataset(x, y), batch_size=4), with_labels=True)
    streamed, streamed_labels = extract_features(encoder, _Squares(23), batch_size=6, with_labels=True)  # workers
    generated = extract_features(encoder, (x[i:i + 5] for i in range(0, 23, 5)))
    for out in (from_tensor, feats, from_loader, streamed, generated):
        assert out.shape == (23, 3) and out.dtype == torch.float32 and torch.allclose(out, expected, atol=1e-6)
    for out in (labels, loader_labels, streamed_labels):
        assert torch.equal(out, y)
    for out in (from_tensor, feats, from_loader, streamed):  # the length is known: allocated once, at its size
        assert out.untyped_storage().nbytes() == 23 * 3 * 4
    with pytest.raises(ValueError, match="batch 0 carries no labels"):
        extract_features(encoder, x, with_labels=True)


def test_raw_input_plan_all_subsample_or_skip():
    train, test = np.repeat(np.arange(10), 100), np.repeat(np.arange(10), 20)
    everything = raw_input_plan(train, test, 3072)
    assert everything.action == "all" and everything.train is None and everything.test is None
    assert everything.sentence == ("pixels: probe on all 1000 training and 200 test images "
                                   "(3072 values each; limit 50000 images or 2.0 GiB as float32)")
    sub = raw_input_plan(train, test, 3072, max_items=300, seed=3)
    assert sub.action == "subsample" and sub.test is None and len(sub.train) == 300
    assert np.bincount(train[sub.train]).tolist() == [30] * 10  # every class keeps the same share
    assert np.array_equal(sub.train, raw_input_plan(train, test, 3072, max_items=300, seed=3).train)
    assert not np.array_equal(sub.train, raw_input_plan(train, test, 3072, max_items=300, seed=4).train)
    assert sub.sentence.startswith("pixels: probe on 300 of 1000 training and 200 of 200 test images (seeded class-balanced")
    by_memory = raw_input_plan(train, test, 3072, max_bytes=150 * 3072 * 4)
    assert by_memory.limit == 150 and len(by_memory.train) == 150 and len(by_memory.test) == 150
    skipped = raw_input_plan(train, test, 3072, max_items=40)
    assert skipped.action == "skip" and not skipped.runs
    assert "fewer than 5 per class for 10 classes" in skipped.sentence
    imagenet = raw_input_plan(np.arange(1_281_167) % 1000, np.arange(50_000) % 1000, 3 * 224 * 224, max_bytes=2**31)
    assert imagenet.action == "skip" and imagenet.limit == 3566
