import pytest
import torch

from multissl.audio.training import PRESETS, CPCTrainOptions, recipe
from multissl.engine import TrainConfig


def test_presets():
    paper = recipe(preset="paper")
    assert (paper.model.encoder_channels, paper.model.context_dim, paper.model.num_negatives, paper.model.window) == (512, 256, 128, 20480)
    cpu = recipe(preset="cpu")
    assert cpu.model.hop == 160 and cpu.train.max_minutes < 10 and cpu.optim.schedule == "cosine"
    assert set(PRESETS) == {"cpu", "paper"}
    with pytest.raises(ValueError, match="unknown audio preset 'gpu'"):
        recipe(preset="gpu")
    with pytest.raises(ValueError, match="unknown audio method 'gpu'"):
        recipe("gpu")


def test_partial_train_config_merges_into_the_preset():
    cpu = recipe(preset="cpu")
    merged = recipe(preset="cpu", train=TrainConfig(max_minutes=5))
    assert merged.train.max_minutes == 5
    assert (merged.train.steps, merged.train.batch_size, merged.optim.schedule) == (cpu.train.steps, 8, "cosine")
    flat = recipe(preset="cpu", max_minutes=5, window=10240, lr=1e-3)
    assert (flat.train.max_minutes, flat.model.window, flat.optim.lr, flat.train.batch_size) == (5, 10240, 1e-3, 8)
    assert recipe(preset="cpu", optim={"schedule": "constant"}).optim.schedule == "constant"
    assert recipe(preset="cpu", options=CPCTrainOptions(holdout=0.5)).optim.lr == 2e-3
    with pytest.raises(ValueError, match="unknown setting 'windw'"):
        recipe(preset="cpu", windw=3)


def test_time_budget_alone_trains_with_the_cosine_preset(tiny_corpus, tmp_path):
    from multissl.audio import load_run, train

    torch.set_num_threads(1)
    try:
        run = train(tiny_corpus, tmp_path / "run", train=TrainConfig(max_minutes=0.02), steps=None, encoder_channels=8,
                    context_dim=8, window=2048, prediction_steps=2, batch_size=4, verbose=False, checkpoint_every=0)
    finally:
        torch.set_num_threads(2)
    assert run.result.stop_reason == "time" and run.result.step > 0
    loaded = load_run(tmp_path / "run")
    assert loaded.kind == "audio" and loaded.method == "cpc" and loaded.config["recipe"]["train"]["max_minutes"] == 0.02
