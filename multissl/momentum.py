"""Momentum (exponential moving average) encoders for MoCo and BYOL."""
from __future__ import annotations

import copy

import torch
from torch import nn

from .schedules import cosine_momentum


def momentum_copy(module: nn.Module) -> nn.Module:
    """A deep copy of ``module`` with gradients switched off, to serve as momentum target."""
    target = copy.deepcopy(module)
    for p in target.parameters():
        p.requires_grad_(False)
    return target


@torch.no_grad()
def update_momentum(online: nn.Module, target: nn.Module, m: float) -> None:
    """``target = m · target + (1 - m) · online`` for every parameter; buffers are copied.

    ``m`` in [0, 1]: 0.999 in MoCo, 0.996 -> 1 in BYOL. Both modules must have
    the same architecture.
    """
    if not 0.0 <= m <= 1.0:
        raise ValueError(f"momentum m must be in [0, 1], got {m}")
    online_params, target_params = list(online.parameters()), list(target.parameters())
    if len(online_params) != len(target_params):
        raise ValueError(f"online has {len(online_params)} parameters but target has {len(target_params)}")
    torch._foreach_mul_(target_params, m)
    torch._foreach_add_(target_params, online_params, alpha=1.0 - m)
    for b_online, b_target in zip(online.buffers(), target.buffers()):
        b_target.copy_(b_online)


def cosine_schedule(step: int, max_steps: int, start: float, end: float) -> float:
    """Cosine interpolation from ``start`` (step 0) to ``end`` (step ``max_steps``).

    BYOL's momentum: ``cosine_schedule(step, total, 0.996, 1.0)`` gives
    ``1 - (1 - 0.996) · (cos(π·step/total) + 1) / 2``. Steps past
    ``max_steps`` return ``end``.
    """
    if max_steps <= 0:
        raise ValueError(f"max_steps must be > 0, got {max_steps}")
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")
    return cosine_momentum(step / max_steps, start, end)


__all__ = ["momentum_copy", "update_momentum", "cosine_schedule"]
