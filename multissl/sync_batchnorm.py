"""Batch normalisation over the global batch of every process (SimCLR's and BYOL's "global BN"), on CPU and GPU.

``torch.nn.SyncBatchNorm`` refuses CPU tensors; :class:`GlobalBatchNorm` computes the same statistics with one
``all_reduce`` of (sum, sum of squares, count) per layer that carries gradients
(:func:`multissl.distributed.all_reduce_with_grad`), so it also runs under ``torchrun`` with gloo on CPUs, and its gradients are those of one process
holding the whole batch. Outside a process group, or in eval mode, it is a plain batch norm.
:func:`convert_batchnorm` turns every ``BatchNorm1d/2d/3d`` of a network into one in place (the same parameter
and buffer objects, so optimizers made before keep working and checkpoints load either way).
"""
from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn

from .distributed import all_reduce_with_grad


class GlobalBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Batch norm whose training statistics cover the batches of all processes. Input (B, C, ...) of any rank."""

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.ndim < 2:
            raise ValueError(f"GlobalBatchNorm expects (B, C, ...) inputs, got shape {tuple(x.shape)}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        self._check_input_dim(x)
        dims, xf = [0, *range(2, x.ndim)], x.float()  # statistics in float32 also under autocast
        count = torch.tensor([x.numel() / x.shape[1]], dtype=torch.float32, device=x.device)
        local = torch.cat([xf.sum(dims), (xf * xf).sum(dims), count])
        total = all_reduce_with_grad(local)
        channels = x.shape[1]
        n = total[-1]
        mean = total[:channels] / n
        var = (total[channels:2 * channels] / n - mean * mean).clamp_min(0)
        self._update_running_stats(mean, var, n)
        shape = (1, channels, *([1] * (x.ndim - 2)))
        out = (xf - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out.to(x.dtype)

    @torch.no_grad()
    def _update_running_stats(self, mean: torch.Tensor, var: torch.Tensor, n: torch.Tensor) -> None:
        if not self.track_running_stats:
            return
        self.num_batches_tracked.add_(1)
        momentum = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
        unbiased = var * n / (n - 1).clamp_min(1)
        self.running_mean.lerp_(mean.detach(), momentum)
        self.running_var.lerp_(unbiased.detach(), momentum)


def convert_batchnorm(module: nn.Module) -> nn.Module:
    """``module`` with every ``BatchNorm1d/2d/3d`` in it turned into a :class:`GlobalBatchNorm`, in place: each
    layer keeps its very parameters and buffers (an optimizer or an EMA target made before still holds them)."""
    for layer in module.modules():
        if isinstance(layer, nn.modules.batchnorm._BatchNorm) and not isinstance(layer, GlobalBatchNorm):
            layer.__class__ = GlobalBatchNorm
    return module


def has_batchnorm(module: nn.Module) -> bool:
    """True when ``module`` holds a batch norm layer."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


__all__ = ["GlobalBatchNorm", "convert_batchnorm", "has_batchnorm"]
