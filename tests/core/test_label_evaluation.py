"""Label subsets, fine-tuning, the supervised baseline, label-efficiency curves and transfer tables (core)."""
import json

import numpy as np
import pytest
import torch
from torch import nn

from multissl.evaluation import (FinetuneConfig, extract_features, finetune, label_efficiency, label_subset, linear_evaluator,
                                 linear_probe, nested_subsets, supervised_baseline, transfer, validation_split)

TINY = FinetuneConfig(lrs=(3e-3,), epochs=40, min_steps=60, batch_size=32, warmup_steps=5)


def _imbalanced_labels():
    return np.repeat(np.arange(5), [200, 100, 60, 40, 30])


def test_subsets_are_class_balanced():
    y = _imbalanced_labels()
    idx = label_subset(y, fraction=0.1, seed=0)
    assert np.bincount(y[idx]).tolist() == [20, 10, 6, 4, 3]
    idx = label_subset(y, per_class=7, seed=0)
    assert np.bincount(y[idx]).tolist() == [7] * 5
    assert np.bincount(y[label_subset(y, fraction=0.001)]).tolist() == [1] * 5  # at least one per class


def test_subsets_are_nested_and_reproducible():
    y = _imbalanced_labels()
    for seed in range(3):
        subsets = nested_subsets(y, [0.01, 0.1, 0.5, 1.0], seed=seed)
        assert set(subsets[0.01]) <= set(subsets[0.1]) <= set(subsets[0.5]) <= set(subsets[1.0])
        assert len(subsets[1.0]) == len(y)
        assert set(label_subset(y, per_class=2, seed=seed)) <= set(label_subset(y, per_class=5, seed=seed))
    assert np.array_equal(label_subset(y, fraction=0.1, seed=4), label_subset(y, fraction=0.1, seed=4))
    assert not np.array_equal(label_subset(y, fraction=0.1, seed=4), label_subset(y, fraction=0.1, seed=5))


@pytest.mark.parametrize("kwargs, needle", [
    ({"fraction": 0.0}, "got 0.0"), ({"fraction": 1.5}, "got 1.5"), ({"fraction": -0.1}, "got -0.1"),
    ({"per_class": 31}, "per_class=31 is above the smallest class's 30"), ({"per_class": 0}, "got 0"),
])
def test_bad_amounts_name_the_value(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        label_subset(_imbalanced_labels(), **kwargs)


def test_an_amount_of_labels_given_twice_is_refused():
    from multissl.evaluation.efficiency import amounts_from

    with pytest.raises(ValueError, match="fractions lists 0.5 more than once"):
        amounts_from(fractions=[0.5, 0.1, 0.5])
    with pytest.raises(ValueError, match="per_class lists 5, all more than once"):
        amounts_from(per_class=[5, None, 5, "all"])
    assert [a.fraction for a in amounts_from(fractions=[1.0, 0.1])] == [0.1, 1.0]


def test_labels_must_be_labels():
    with pytest.raises(ValueError, match="no labelled examples"):
        label_subset(np.array([], dtype=np.int64), fraction=0.5)
    with pytest.raises(ValueError, match="-1"):
        label_subset(np.array([0, 1, -1]), fraction=0.5)
    with pytest.raises(ValueError, match="integer"):
        label_subset(np.array([0.0, 1.0]), fraction=0.5)


def test_validation_is_carved_from_the_subset_class_by_class():
    y = _imbalanced_labels()
    subset = label_subset(y, fraction=0.1, seed=1)
    fit, val = validation_split(y, subset, fraction=0.2, seed=1)
    assert not set(fit) & set(val) and set(fit) | set(val) == set(subset)
    assert np.bincount(y[val], minlength=5).tolist() == [4, 2, 1, 1, 1]


def _blobs(n_per_class=60, classes=4, dim=8, seed=0, spread=0.6):
    """Gaussian blobs around fixed centres; ``seed`` draws the samples (train and test share the centres)."""
    centres = torch.randn(classes, dim, generator=torch.Generator().manual_seed(1234)) * 2
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(classes).repeat_interleave(n_per_class)
    x = centres[y] + spread * torch.randn(len(y), dim, generator=g)
    order = torch.randperm(len(y), generator=g)
    return x[order], y[order]


def _encoder(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 3))  # a 3-d bottleneck: random features lose information


def test_finetune_changes_a_copy_of_the_encoder_and_a_linear_probe_changes_nothing():
    x, y = _blobs()
    xt, yt = _blobs(seed=1)
    encoder = _encoder()
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    result = finetune(encoder, x, y, xt, yt, config=TINY)
    assert all(torch.equal(before[k], v) for k, v in encoder.state_dict().items())  # the caller's encoder is untouched
    tuned = result.model.encoder.state_dict()
    assert any(not torch.equal(before[k], tuned[k]) for k in before)  # the fine-tuned copy moved
    linear_probe(extract_features(encoder, x), y, extract_features(encoder, xt), yt)
    assert all(torch.equal(before[k], v) for k, v in encoder.state_dict().items())


def test_finetuning_reaches_the_linear_probe_on_separable_data():
    x, y = _blobs()
    xt, yt = _blobs(seed=1)
    encoder = _encoder()
    linear = linear_probe(extract_features(encoder, x), y, extract_features(encoder, xt), yt).accuracy
    tuned = finetune(encoder, x, y, xt, yt, config=TINY)
    assert tuned.accuracy >= max(linear, 0.9), (tuned.accuracy, linear)
    assert 0 < tuned.epoch and tuned.fit_size + tuned.val_size == len(y)


def test_supervised_baseline_sees_only_the_labelled_subset():
    x, y = _blobs()
    xt, yt = _blobs(seed=1)
    subset = label_subset(y, per_class=6, seed=0)
    poisoned = y.clone()
    outside = torch.ones(len(y), dtype=torch.bool)
    outside[torch.as_tensor(subset)] = False
    poisoned[outside] = torch.randint(0, 4, (int(outside.sum()),), generator=torch.Generator().manual_seed(3))
    assert not torch.equal(poisoned, y)
    config = FinetuneConfig(lrs=(3e-3,), epochs=3, min_steps=10, batch_size=8, warmup_steps=2)
    clean = supervised_baseline(_encoder(5), x, y, xt, yt, indices=subset, config=config)
    dirty = supervised_baseline(_encoder(5), x, poisoned, xt, yt, indices=subset, config=config)
    assert clean.accuracy == dirty.accuracy and clean.val_accuracy == dirty.val_accuracy
    for a, b in zip(clean.model.state_dict().values(), dirty.model.state_dict().values()):
        assert torch.equal(a, b)


def test_finetune_leaves_the_global_rng_alone_and_resumes_from_its_folder(tmp_path):
    x, y = _blobs(n_per_class=20)
    config = FinetuneConfig(lrs=(1e-3, 3e-3), epochs=2, min_steps=4, batch_size=16, warmup_steps=1)
    encoder = _encoder()
    state = torch.get_rng_state()
    first = finetune(encoder, x, y, x, y, config=config, output=tmp_path / "ft")
    assert torch.equal(state, torch.get_rng_state())
    assert sorted(p.name for p in (tmp_path / "ft").iterdir()) == ["lr-0.001", "lr-0.003", "result.json"]
    assert json.loads((tmp_path / "ft" / "result.json").read_text())["accuracy"] == first.accuracy
    with pytest.raises(FileExistsError, match="already holds checkpoints"):
        finetune(_encoder(), x, y, x, y, config=config, output=tmp_path / "ft")
    again = finetune(_encoder(), x, y, x, y, config=config, output=tmp_path / "ft", resume=True)
    assert again.accuracy == first.accuracy and again.steps == first.steps


def test_label_efficiency_runs_seeds_where_labels_are_scarce(tmp_path):
    y = np.repeat(np.arange(4), 50)
    calls = []

    def share(indices, seed):
        calls.append((len(indices), seed))
        return len(indices) / len(y)

    result = label_efficiency({"a": share, "b": lambda idx, seed: 0.5 + seed / 10}, y, fractions=[1.0, 0.1], seeds=3, verbose=False)
    assert [row["amount"] for row in result.rows] == ["0.1", "1"]
    assert result.rows[0]["seeds"] == [0, 1, 2] and result.rows[1]["seeds"] == [0]
    assert result.rows[0]["a"]["mean"] == pytest.approx(0.1) and result.rows[0]["b"]["std"] == pytest.approx(np.std([0.5, 0.6, 0.7]))
    assert sorted(set(calls)) == [(20, 0), (20, 1), (20, 2), (200, 0)]
    payload = json.loads(result.write_json(tmp_path / "e.json").read_text())
    assert set(payload["by_amount"]["0.1"]) == {"a", "b"} and {"mean", "std"} <= set(payload["by_amount"]["0.1"]["a"])
    assert "± " in result.markdown()
    fig = result.figure()
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"] and ax.get_xscale() == "log"
    assert result.plot(tmp_path / "curve.png").stat().st_size > 1000


def test_label_efficiency_rejects_bad_amounts_before_training():
    y = np.repeat(np.arange(3), [5, 5, 2])
    never = {"x": lambda idx, seed: pytest.fail("an evaluator ran before the amounts were checked")}
    with pytest.raises(ValueError, match="per_class=3 is above the smallest class's 2"):
        label_efficiency(never, y, per_class=[1, 3], verbose=False)
    with pytest.raises(ValueError, match="got 2.0"):
        label_efficiency(never, y, fractions=[0.5, 2.0], verbose=False)


def test_linear_evaluator_uses_only_the_subset():
    x, y = _blobs()
    evaluate = linear_evaluator(x, y, x, y)
    subset = label_subset(y, per_class=10, seed=0)
    assert evaluate(subset, 0) > 0.9


class _Splits:
    def __init__(self, x, y, xt, yt):
        self.x_train, self.y_train, self.x_test, self.y_test = x, y, xt, yt


def test_transfer_table_and_its_checks():
    x, y = _blobs()
    xt, yt = _blobs(seed=1)
    result = transfer({"": lambda v: v, "random_": lambda v: torch.randn(len(v), 8)}, {"blobs": _Splits(x, y, xt, yt)},
                      extra={"extra_acc": lambda data: 0.25}, verbose=False)
    row = result.as_dict()["by_dataset"]["blobs"]
    assert row["linear_acc"] > 0.9 and row["random_linear_acc"] < 0.5 and row["extra_acc"] == 0.25
    with pytest.raises(ValueError, match="train has 4 classes and test has 3"):
        transfer({"": lambda v: v}, {"bad": _Splits(x, y, xt[yt < 3], yt[yt < 3])}, verbose=False)
    with pytest.raises(ValueError, match="no labels"):
        transfer({"": lambda v: v}, {"none": _Splits(x, y, xt[:0], yt[:0])}, verbose=False)


def test_one_example_per_class_trains_the_first_rate_without_validation():
    x, y = _blobs()
    subset = label_subset(y, per_class=1, seed=0)
    result = finetune(_encoder(), x, y, x, y, indices=subset, config=FinetuneConfig(lrs=(3e-3, 1e-2), epochs=1, min_steps=5))
    assert result.val_size == 0 and result.fit_size == 4 and result.lr == 3e-3 and np.isnan(result.val_accuracy)
    assert result.steps == 5 and result.epoch == 5


def test_a_resume_with_other_labels_is_refused_and_a_fresh_start_forgets_old_best_weights(tmp_path):
    x, y = _blobs(n_per_class=20)
    config = FinetuneConfig(lrs=(1e-3,), epochs=2, min_steps=4, batch_size=16, warmup_steps=1)
    finetune(_encoder(), x, y, x, y, indices=label_subset(y, per_class=5), config=config, output=tmp_path / "ft")
    with pytest.raises(ValueError, match="other labels or settings"):
        finetune(_encoder(), x, y, x, y, indices=label_subset(y, per_class=10), config=config, output=tmp_path / "ft", resume=True)
    stale = tmp_path / "ft" / "lr-0.001" / "best.pt"
    assert stale.exists()
    import shutil

    shutil.rmtree(tmp_path / "ft" / "lr-0.001" / "checkpoints")  # a run killed before its only checkpoint
    fresh = finetune(_encoder(), x, y, x, y, indices=label_subset(y, per_class=10), config=config, output=tmp_path / "ft")
    assert fresh.fit_size + fresh.val_size == 40


def test_the_callers_modules_keep_their_mode():
    """A wrapper made in train mode around modules in eval mode (audio wraps a run's encoder + GRU like this)."""
    inner = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU()).eval()
    wrapper = nn.Sequential(inner, nn.Linear(16, 4))
    assert wrapper.training and not inner.training
    x, y = _blobs(n_per_class=10)
    finetune(wrapper, x, y, x, y, config=FinetuneConfig(lrs=(1e-3,), epochs=1, min_steps=2, batch_size=8))
    assert wrapper.training and not inner.training and not inner[1].training


def test_a_frozen_encoder_is_fine_tuned_all_the_same():
    encoder = _encoder().requires_grad_(False)
    x, y = _blobs(n_per_class=10)
    result = finetune(encoder, x, y, x, y, config=FinetuneConfig(lrs=(1e-2,), epochs=1, min_steps=5, batch_size=8))
    before = dict(encoder.named_parameters())
    assert any(not torch.equal(before[k], v) for k, v in result.model.encoder.named_parameters())
