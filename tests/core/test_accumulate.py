"""Gradient accumulation: N batches of B take the optimizer step one batch of N x B takes."""
import json

import torch
from torch import nn

from multissl.engine import TrainConfig, fit


class Regression(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.linear = nn.Linear(4, 1)

    def forward(self, batch):
        x, y = batch
        return ((self.linear(x).squeeze(1) - y) ** 2).mean()


def _data(n=64):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, 4, generator=g)
    return torch.utils.data.TensorDataset(x, x @ torch.tensor([1.0, -2.0, 0.5, 3.0]))


def _train(tmp_path, name, batch_size, accumulate, steps=3):
    task = Regression()
    config = TrainConfig(steps=steps, batch_size=batch_size, accumulate=accumulate, output_dir=str(tmp_path / name),
                         verbose=False, log_every=1, tensorboard=False)
    result = fit(task, _data(), torch.optim.SGD(task.parameters(), lr=0.05), config)
    return task, result


def test_two_batches_of_8_step_like_one_batch_of_16(tmp_path):
    big, big_result = _train(tmp_path, "big", 16, 1)
    small, small_result = _train(tmp_path, "small", 8, 2)
    assert big_result.step == small_result.step == 3
    for a, b in zip(big.parameters(), small.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)
    logged = [json.loads(line) for line in (tmp_path / "small" / "metrics.jsonl").read_text().splitlines() if '"loss"' in line]
    assert [e["step"] for e in logged] == [1, 2, 3]


def test_accumulate_counts_steps_not_batches_for_epochs(tmp_path):
    task = Regression()
    config = TrainConfig(epochs=1, batch_size=8, accumulate=4, output_dir=str(tmp_path), verbose=False, tensorboard=False)
    assert fit(task, _data(), torch.optim.SGD(task.parameters(), lr=0.05), config).step == 2  # 64 / (8 x 4)
