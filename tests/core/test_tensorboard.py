"""fit writes TensorBoard event files in the run folder that TensorBoard's own reader reads."""
import json

import torch

from multissl.engine import TrainConfig, fit
from multissl.toy import ToyContrastiveTask


def _pairs(n=32, d=6):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, d, generator=g)
    return torch.utils.data.TensorDataset(x, x + 0.3 * torch.randn(n, d, generator=g))


def test_tensorboards_event_accumulator_reads_the_runs_scalars(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    task = ToyContrastiveTask(6, hidden=8, out_dim=4)
    config = TrainConfig(steps=4, batch_size=8, log_every=2, output_dir=str(tmp_path), verbose=False)
    fit(task, _pairs(), torch.optim.SGD(task.parameters(), lr=0.1), config)
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"train/loss", "train/lr", "train/samples_per_s", "train/data_wait"} <= tags
    losses = events.Scalars("train/loss")
    assert [e.step for e in losses] == [2, 4]
    logged = [line for line in (tmp_path / "metrics.jsonl").read_text().splitlines() if '"loss"' in line]
    assert abs(losses[-1].value - json.loads(logged[-1])["loss"]) < 1e-6


def test_tensorboard_false_writes_no_event_file(tmp_path):
    task = ToyContrastiveTask(6, hidden=8, out_dim=4)
    config = TrainConfig(steps=2, batch_size=8, log_every=1, output_dir=str(tmp_path), verbose=False, tensorboard=False)
    fit(task, _pairs(), torch.optim.SGD(task.parameters(), lr=0.1), config)
    assert not list(tmp_path.glob("events.out.tfevents.*")) and (tmp_path / "metrics.jsonl").is_file()


def test_overwrite_removes_the_runs_event_files(tmp_path):
    task = ToyContrastiveTask(6, hidden=8, out_dim=4)
    config = TrainConfig(steps=2, batch_size=8, log_every=1, output_dir=str(tmp_path), verbose=False)
    fit(task, _pairs(), torch.optim.SGD(task.parameters(), lr=0.1), config)
    first = set(tmp_path.glob("events.out.tfevents.*"))
    assert first
    fit(task, _pairs(), torch.optim.SGD(task.parameters(), lr=0.1), TrainConfig(**{**config.__dict__, "overwrite": True}))
    assert not first & set(tmp_path.glob("events.out.tfevents.*"))
