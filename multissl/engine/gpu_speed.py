"""GPU throughput settings of a training run: channels_last, TF32, the cudnn autotuner and torch.compile.

Each applies on CUDA only and is a no-op on the CPU (``TrainConfig.channels_last``, ``tf32``,
``cudnn_benchmark``, ``compile``). The backend flags are process-wide in torch: :func:`cuda_speed_settings`
sets them for the length of one :func:`~multissl.engine.fit` call and gives the caller's values back.
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn


@contextmanager
def cuda_speed_settings(device: torch.device, tf32: bool, cudnn_benchmark: bool) -> Iterator[None]:
    """TF32 matmuls/convolutions and the cudnn autotuner as asked, inside the block, on CUDA; the caller's after."""
    if device.type != "cuda":
        yield
        return
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cudnn.benchmark = cudnn_benchmark
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark = saved


def to_channels_last(task: nn.Module, device: torch.device, enabled: bool) -> nn.Module:
    """``task`` with its 4-d weights in channels_last memory order on CUDA when ``enabled`` (convolutions then run
    in NHWC, the layout tensor cores want); unchanged on the CPU."""
    if enabled and device.type == "cuda":
        task.to(memory_format=torch.channels_last)
    return task


def maybe_compiled(model: nn.Module, device: torch.device, enabled: bool) -> nn.Module:
    """``torch.compile(model)`` on CUDA when ``enabled`` (the first steps compile); ``model`` itself otherwise, with a
    warning when compiling was asked for on another device."""
    if not enabled:
        return model
    if device.type != "cuda":
        warnings.warn(f"compile applies on CUDA only; training on {device.type} without it", RuntimeWarning, stacklevel=3)
        return model
    return torch.compile(model)


__all__ = ["cuda_speed_settings", "maybe_compiled", "to_channels_last"]
