import pytest
import torch

from multissl.audio.train import PRESETS, CPCTrainOptions, _scheduler, preset
from multissl.engine import TrainConfig


def test_cosine_schedule_decays_to_zero_over_the_steps():
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([param], lr=1e-2)
    sched = _scheduler(opt, CPCTrainOptions(learning_rate=1e-2, lr_schedule="cosine"), TrainConfig(steps=10))
    lrs = []
    for _ in range(10):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs == sorted(lrs, reverse=True) and abs(lrs[4] - 5e-3) < 1e-3 and lrs[-1] == pytest.approx(0.0, abs=1e-12)
    assert _scheduler(opt, CPCTrainOptions(), TrainConfig(steps=10)) is None
    with pytest.raises(ValueError, match="needs a step count"):
        _scheduler(opt, CPCTrainOptions(lr_schedule="cosine"), TrainConfig(epochs=1))


def test_presets():
    paper, _, paper_train = preset("paper")
    assert (paper.encoder_channels, paper.context_dim, paper.num_negatives, paper.window) == (512, 256, 128, 20480)
    cpu, options, train = preset("cpu")
    assert cpu.hop == 160 and train["max_minutes"] < 10 and options.lr_schedule == "cosine"
    assert set(PRESETS) == {"cpu", "paper"}
    with pytest.raises(ValueError, match="unknown preset"):
        preset("gpu")
