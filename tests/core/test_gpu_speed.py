"""GPU throughput settings: set for one fit on CUDA and given back, no-ops on the CPU."""
import pytest
import torch
from torch import nn

from multissl.engine import TrainConfig, fit
from multissl.engine.gpu_speed import cuda_speed_settings, maybe_compiled, to_channels_last


def _flags():
    return torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark


def test_backend_flags_are_set_for_cuda_inside_the_block_and_given_back():
    before = _flags()
    with cuda_speed_settings(torch.device("cuda"), tf32=not before[0], cudnn_benchmark=not before[2]):
        assert _flags() == (not before[0], not before[0], not before[2])
    assert _flags() == before
    with cuda_speed_settings(torch.device("cpu"), tf32=not before[0], cudnn_benchmark=not before[2]):
        assert _flags() == before  # a no-op on the CPU


def test_channels_last_applies_to_cuda_runs_only():
    net = nn.Conv2d(3, 8, 3)
    assert to_channels_last(net, torch.device("cpu"), True).weight.is_contiguous()
    converted = to_channels_last(nn.Conv2d(3, 8, 3), torch.device("cuda"), True).weight
    assert converted.is_contiguous(memory_format=torch.channels_last) and not converted.is_contiguous()
    assert to_channels_last(nn.Conv2d(3, 8, 3), torch.device("cuda"), False).weight.is_contiguous()


def test_compile_on_the_cpu_is_skipped_with_a_warning_and_training_goes_on(tmp_path):
    net = nn.Linear(2, 1)
    with pytest.warns(RuntimeWarning, match="compile applies on CUDA only"):
        assert maybe_compiled(net, torch.device("cpu"), True) is net
    assert maybe_compiled(net, torch.device("cpu"), False) is net

    class Task(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 1)

        def forward(self, batch):
            return self.lin(batch).pow(2).mean()

    task = Task()
    with pytest.warns(RuntimeWarning, match="compile applies on CUDA only"):
        result = fit(task, [torch.randn(4, 2)] * 3, torch.optim.SGD(task.parameters(), lr=0.1),
                     TrainConfig(steps=3, compile=True, device="cpu", output_dir=str(tmp_path / "run"), verbose=False))
    assert result.step == 3
