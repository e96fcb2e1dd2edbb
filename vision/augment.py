"""Batched, seeded image augmentations that run on the training device.

All functions take (B, C, H, W) float images and an optional
``torch.Generator`` (on the images' device); without one they use torch's
global generator, which the engine seeds and checkpoints.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F


def _rand(shape, x: torch.Tensor, generator: Optional[torch.Generator]) -> torch.Tensor:
    return torch.rand(shape, generator=generator, device=x.device)


def random_flip(x: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Mirror each image left-right with probability 1/2."""
    flip = _rand((len(x),), x, generator) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def random_translate(x: torch.Tensor, padding: int = 4, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Pad by ``padding`` (reflect) and crop back to the original size at a random offset per image."""
    if padding <= 0:
        return x
    b, _, h, w = x.shape
    padded = F.pad(x, (padding,) * 4, mode="reflect")
    offsets = (_rand((b, 2), x, generator) * (2 * padding + 1)).long()
    rows = offsets[:, 0, None] + torch.arange(h, device=x.device)  # (B, H)
    cols = offsets[:, 1, None] + torch.arange(w, device=x.device)  # (B, W)
    batch = torch.arange(b, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def flip_and_translate(x: torch.Tensor, padding: int = 4, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """The standard CIFAR augmentation: random horizontal flip and random translation."""
    return random_translate(random_flip(x, generator), padding, generator)


__all__ = ["flip_and_translate", "random_flip", "random_translate"]
