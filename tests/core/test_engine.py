import json
import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from multissl.engine import EpochSampler, NonFiniteLossError, TrainConfig, fit, find_last_checkpoint, load_checkpoint
from multissl.toy import ToyContrastiveTask, ToyViews


class NoisyToyTask(ToyContrastiveTask):
    """Adds dropout so that the task itself consumes random numbers."""

    def __init__(self, dim):
        super().__init__(dim)
        self.dropout = nn.Dropout(0.2)

    def forward(self, batch):
        v0, v1 = self.dropout(batch[0]), self.dropout(batch[1])
        return super().forward((v0, v1))


def _run(tmp, steps=20, callbacks=(), resume=None, checkpoint_every=7, seed=0):
    torch.manual_seed(seed)
    data = ToyViews(300, seed=1)
    task = NoisyToyTask(data.dim)
    opt = torch.optim.Adam(task.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
    cfg = TrainConfig(steps=steps, batch_size=32, seed=seed, output_dir=str(tmp), checkpoint_every=checkpoint_every,
                      resume=resume, verbose=False, log_every=1)
    result = fit(task, data, opt, cfg, scheduler=sched, callbacks=callbacks)
    return task, result


def _params(task):
    return {k: v.clone() for k, v in task.state_dict().items()}


class CrashAt:
    def __init__(self, step, error=RuntimeError):
        self.step, self.error = step, error

    def on_step_end(self, state):
        if state.step == self.step:
            raise self.error("simulated crash")


def test_loss_drops_on_toy_task(tmp_path):
    torch.manual_seed(0)
    data = ToyViews(1000, seed=0)
    task = ToyContrastiveTask(data.dim)
    opt = torch.optim.Adam(task.parameters(), lr=3e-3)
    result = fit(task, data, opt, TrainConfig(steps=120, batch_size=64, log_every=10, verbose=False))
    losses = [h["loss"] for h in result.history if "loss" in h]
    assert result.stop_reason == "steps" and result.step == 120
    assert losses[-1] < losses[0] - 0.5


def test_crash_then_resume_gives_identical_parameters(tmp_path):
    # 300 samples / 32 per batch = 9 batches per epoch: the run crosses epochs
    reference, _ = _run(tmp_path / "a", steps=20)
    with pytest.raises(RuntimeError, match="simulated crash"):
        _run(tmp_path / "b", steps=20, callbacks=[CrashAt(12)])
    assert load_checkpoint(tmp_path / "b")["step"] == 7  # last periodic checkpoint before the crash
    resumed, result = _run(tmp_path / "b", steps=20, resume="auto", seed=123)  # seed ignored on resume
    assert result.step == 20
    ref, got = _params(reference), _params(resumed)
    assert ref.keys() == got.keys()
    for k in ref:
        assert torch.equal(ref[k], got[k]), k


def test_interrupt_checkpoints_current_step_and_resume_matches(tmp_path):
    reference, _ = _run(tmp_path / "a", steps=15)
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / "b", steps=15, callbacks=[CrashAt(11, KeyboardInterrupt)], checkpoint_every=0)
    assert load_checkpoint(find_last_checkpoint(tmp_path / "b"))["step"] == 11
    resumed, _ = _run(tmp_path / "b", steps=15, resume=str(find_last_checkpoint(tmp_path / "b")))
    for k, v in _params(reference).items():
        assert torch.equal(v, resumed.state_dict()[k]), k


def test_checkpoint_contents_and_rotation(tmp_path):
    _run(tmp_path, steps=20, checkpoint_every=3)
    ckpt = load_checkpoint(tmp_path)
    assert {"model", "optimizer", "scheduler", "step", "epoch", "rng", "config", "metadata"} <= ckpt.keys()
    numbered = sorted((tmp_path / "checkpoints").glob("step_*.pt"))
    assert [p.name for p in numbered] == ["step_000000018.pt", "step_000000020.pt"]


class NaNTask(nn.Module):
    def __init__(self, bad_steps):
        super().__init__()
        self.w = nn.Parameter(torch.ones(2))
        self.bad_steps, self.calls = set(bad_steps), 0

    def forward(self, batch):
        self.calls += 1
        loss = (self.w * batch[0]).sum()
        return loss * float("nan") if self.calls in self.bad_steps else loss


def _xdata(n=64):
    return TensorDataset(torch.randn(n, 2))


def test_nonfinite_loss_is_skipped_with_warning():
    task = NaNTask(bad_steps={2, 3})
    opt = torch.optim.SGD(task.parameters(), lr=0.1)
    with pytest.warns(RuntimeWarning, match="loss is nan; step skipped"):
        result = fit(task, _xdata(), opt, TrainConfig(steps=5, batch_size=8, verbose=False))
    assert result.step == 5 and task.calls == 7
    assert torch.isfinite(task.w).all()


def test_too_many_nonfinite_losses_in_a_row_stop_training():
    task = NaNTask(bad_steps=set(range(1, 100)))
    opt = torch.optim.SGD(task.parameters(), lr=0.1)
    with pytest.warns(RuntimeWarning), pytest.raises(NonFiniteLossError, match="3 non-finite losses in a row"):
        fit(task, _xdata(), opt, TrainConfig(steps=50, batch_size=8, max_nonfinite=3, verbose=False))


def test_time_budget_stops_training(tmp_path):
    class Slow(NaNTask):
        def forward(self, batch):
            import time

            time.sleep(0.05)
            return super().forward(batch)

    task = Slow(bad_steps=())
    opt = torch.optim.SGD(task.parameters(), lr=0.01)
    result = fit(task, _xdata(10_000), opt, TrainConfig(epochs=100, batch_size=8, max_minutes=0.01, output_dir=str(tmp_path), verbose=False))
    assert result.stop_reason == "time"
    assert 3 <= result.step < 100
    assert load_checkpoint(tmp_path)["step"] == result.step


def test_time_budget_alone_trains_past_one_epoch():
    class Slowish(NaNTask):
        def forward(self, batch):
            import time

            time.sleep(0.01)
            return super().forward(batch)

    task = Slowish(bad_steps=())
    result = fit(task, _xdata(16), torch.optim.SGD(task.parameters(), lr=0.01), TrainConfig(batch_size=8, max_minutes=0.01, verbose=False))
    assert result.stop_reason == "time" and result.epoch >= 2
    plain = fit(task, _xdata(16), torch.optim.SGD(task.parameters(), lr=0.01), TrainConfig(batch_size=8, verbose=False))
    assert plain.stop_reason == "epochs" and plain.step == 2


def test_epochs_metrics_file_and_hook(tmp_path):
    class Hooked(NaNTask):
        seen = []

        def after_optimizer_step(self, step, max_steps):
            self.seen.append((step, max_steps))

    task = Hooked(bad_steps=())
    opt = torch.optim.SGD(task.parameters(), lr=0.01)
    result = fit(task, _xdata(40), opt, TrainConfig(epochs=3, batch_size=8, log_every=2, output_dir=str(tmp_path), verbose=False))
    assert result.step == 15 and result.epoch == 3 and result.stop_reason == "epochs"
    assert task.seen[0] == (1, 15) and task.seen[-1] == (15, 15)
    lines = [json.loads(l) for l in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    steps = [l for l in lines if "loss" in l]
    assert [l["step"] for l in steps][:3] == [2, 4, 6]
    assert all(l["samples_per_s"] > 0 and math.isfinite(l["loss"]) for l in steps)
    assert [l["epoch"] for l in lines if l.get("event") == "epoch_end"] == [0, 1, 2]


def test_user_dataloader_resume_fast_forwards(tmp_path):
    def run(out, crash=None, resume=None):
        torch.manual_seed(0)
        task = nn.Linear(2, 1)
        wrapped = _LinearTask(task)
        opt = torch.optim.SGD(wrapped.parameters(), lr=0.05)
        loader = DataLoader(TensorDataset(torch.arange(40.0).reshape(20, 2) / 40), batch_size=4, shuffle=False)
        cb = [CrashAt(crash)] if crash else []
        fit(wrapped, loader, opt, TrainConfig(steps=12, output_dir=str(out), checkpoint_every=3, resume=resume, verbose=False), callbacks=cb)
        return task

    ref = run(tmp_path / "a")
    with pytest.raises(RuntimeError):
        run(tmp_path / "b", crash=8)
    got = run(tmp_path / "b", resume="auto")
    assert torch.equal(ref.weight, got.weight) and torch.equal(ref.bias, got.bias)


class _LinearTask(nn.Module):
    def __init__(self, lin):
        super().__init__()
        self.lin = lin

    def forward(self, batch):
        return (self.lin(batch[0]) ** 2).mean()


def test_epoch_sampler_shards_cover_everything_once():
    samplers = [EpochSampler(10, seed=3, rank=r, world_size=3) for r in range(3)]
    parts = [list(s) for s in samplers]
    assert all(len(p) == 4 for p in parts)  # padded to 12
    assert set(sum(parts, [])) == set(range(10))
    s = EpochSampler(10, seed=3)
    first = list(s)
    s.set_epoch(1)
    second = list(s)
    assert second != first and sorted(second) == list(range(10))
    s.set_epoch(1, start=4)
    assert len(s) == 6 and list(s) == second[4:]


def test_load_checkpoint_from_run_folder_without_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint found in"):
        load_checkpoint(tmp_path)


def test_bad_input_errors():
    with pytest.raises(ValueError, match="TrainConfig.steps must be > 0, got 0"):
        TrainConfig(steps=0)
    with pytest.raises(ValueError, match="fewer than one batch of 64"):
        fit(NaNTask(()), _xdata(10), torch.optim.SGD(NaNTask(()).parameters(), lr=0.1), TrainConfig(steps=1, verbose=False))

    class Bad(NaNTask):
        def forward(self, batch):
            return "loss"

    task = Bad(())
    with pytest.raises(TypeError, match="must return a loss tensor"):
        fit(task, _xdata(), torch.optim.SGD(task.parameters(), lr=0.1), TrainConfig(steps=1, batch_size=8, verbose=False))
    with pytest.raises(FileNotFoundError, match="checkpoint /nonexistent-file.pt does not exist"):
        load_checkpoint("/nonexistent-file.pt")


class _DtypeProbe(nn.Module):
    """Records the dtype of its linear layer's output (bf16 under autocast)."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)
        self.seen = []

    def forward(self, batch):
        out = self.lin(batch[0])
        self.seen.append(out.dtype)
        return (out.float() ** 2).mean()


@pytest.mark.parametrize("amp, cpu_amp, expected", [(True, True, torch.bfloat16), (True, False, torch.float32),
                                                    (False, True, torch.float32)])
def test_cpu_amp_autocasts_forward_to_bf16_only_when_asked(amp, cpu_amp, expected, monkeypatch):
    monkeypatch.setattr("multissl.engine.devices.cpu_supports_bf16", lambda: True)
    task = _DtypeProbe()
    before = task.lin.weight.detach().clone()
    cfg = TrainConfig(steps=3, batch_size=8, device="cpu", amp=amp, cpu_amp=cpu_amp, verbose=False)
    result = fit(task, _xdata(), torch.optim.SGD(task.parameters(), lr=0.1), cfg)
    assert result.step == 3 and task.seen == [expected] * 3
    assert task.lin.weight.dtype == torch.float32 and not torch.equal(task.lin.weight, before)


def test_cpu_amp_warns_on_a_cpu_without_native_bf16(monkeypatch):
    monkeypatch.setattr("multissl.engine.devices.cpu_supports_bf16", lambda: False)
    task = _DtypeProbe()
    with pytest.warns(UserWarning, match="no bf16 kernels"):
        fit(task, _xdata(), torch.optim.SGD(task.parameters(), lr=0.1),
            TrainConfig(steps=1, batch_size=8, device="cpu", cpu_amp=True, verbose=False))
    assert task.seen == [torch.bfloat16]
