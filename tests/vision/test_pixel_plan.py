"""The raw-pixel baseline follows the core's size rule: all images, a class-balanced subsample, or none."""
import torch

from multissl.evaluation import raw_inputs
from multissl.vision.data import ImageSplits
from multissl.vision.probe import evaluate, pixel_plan, pixel_scores

from .test_data_probe_cli import OracleTask


def _splits():
    g = torch.Generator().manual_seed(0)
    y = torch.arange(160) % 4
    x = torch.randint(0, 256, (160, 1, 6, 6), generator=g, dtype=torch.uint8)
    x[:, 0, 0, 0] = y.to(torch.uint8)  # the oracle encoder reads the class here
    x[:, 0, 1, :4] = 255 * torch.nn.functional.one_hot(y, 4).to(torch.uint8)  # and a pixel probe here
    return ImageSplits(x[:120], y[:120], x[120:], y[120:])


def test_pixel_probe_runs_on_everything_a_subsample_or_nothing(monkeypatch, capsys):
    splits = _splits()
    assert pixel_plan(splits).action == "all"
    monkeypatch.setattr(raw_inputs, "MAX_ITEMS", 40)
    plan = pixel_plan(splits)
    assert plan.action == "subsample" and len(plan.train) == 40 and plan.test is None
    assert torch.bincount(splits.y_train[torch.as_tensor(plan.train)]).tolist() == [10] * 4
    assert pixel_scores(splits, knn_k=5) == {"linear_acc": 1.0, "knn_acc": 1.0}  # 40 of the training images suffice
    monkeypatch.setattr(raw_inputs, "MAX_ITEMS", 12)  # fewer than 5 per class for 4 classes
    assert pixel_scores(splits) == {}
    scores = evaluate(OracleTask(True), OracleTask(False), splits, verbose=True)
    assert scores["pixels_train_images"] == scores["pixels_test_images"] == 0 and "pixels_linear_acc" not in scores
    assert "pixels: skipped: 120 training images of 36 values" in capsys.readouterr().err
