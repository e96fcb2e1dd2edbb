"""Input corruptions of the denoising autoencoder (Vincent et al. 2010, section 4.1).

Each function takes images (B, ...) in [0, 1] and returns ``(corrupted,
mask)`` where ``mask`` (same shape, bool) marks the corrupted components.
The masking and salt-and-pepper corruptions corrupt exactly
``round(level * D)`` of the D components of every sample.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch

CORRUPTIONS = ("gaussian", "masking", "salt_pepper")


def _exact_fraction_mask(x: torch.Tensor, fraction: float, generator: Optional[torch.Generator]) -> torch.Tensor:
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"corruption level must be a fraction in [0, 1], got {fraction}")
    flat = x.reshape(len(x), -1)
    k = int(round(fraction * flat.shape[1]))
    scores = torch.rand(flat.shape, generator=generator, device=x.device)
    mask = torch.zeros_like(flat, dtype=torch.bool)
    if k > 0:
        mask.scatter_(1, scores.topk(k, dim=1).indices, True)
    return mask.view_as(x)


def gaussian_noise(x: torch.Tensor, sigma: float, generator: Optional[torch.Generator] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """Additive isotropic Gaussian noise N(0, sigma^2); every component counts as corrupted."""
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype) * sigma
    return x + noise, torch.ones_like(x, dtype=torch.bool)


def masking_noise(x: torch.Tensor, fraction: float, generator: Optional[torch.Generator] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """A random fraction of the components of each sample is forced to 0."""
    mask = _exact_fraction_mask(x, fraction, generator)
    return x.masked_fill(mask, 0.0), mask


def salt_and_pepper(x: torch.Tensor, fraction: float, generator: Optional[torch.Generator] = None,
                    low: float = 0.0, high: float = 1.0) -> Tuple[torch.Tensor, torch.Tensor]:
    """A random fraction of the components is set to ``low`` or ``high`` (each with probability 1/2)."""
    mask = _exact_fraction_mask(x, fraction, generator)
    salt = torch.rand(x.shape, generator=generator, device=x.device) < 0.5
    values = torch.where(salt, torch.full_like(x, high), torch.full_like(x, low))
    return torch.where(mask, values, x), mask


def corrupt(x: torch.Tensor, kind: str, level: float, generator: Optional[torch.Generator] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """Dispatch on ``kind`` in :data:`CORRUPTIONS`; ``level`` is sigma or the fraction."""
    if kind == "gaussian":
        return gaussian_noise(x, level, generator)
    if kind == "masking":
        return masking_noise(x, level, generator)
    if kind == "salt_pepper":
        return salt_and_pepper(x, level, generator)
    raise ValueError(f"corruption must be one of {CORRUPTIONS}, got {kind!r}")


def weighted_reconstruction_loss(output: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, alpha: float, beta: float) -> torch.Tensor:
    """Vincent et al.'s emphasised squared error: weight ``alpha`` on corrupted components, ``beta`` on the rest.

    Per sample: ``(alpha * sum_corrupted (z - x)^2 + beta * sum_clean (z - x)^2) / D``; mean over the batch.
    """
    if output.shape != target.shape or mask.shape != target.shape:
        raise ValueError(f"output {tuple(output.shape)}, target {tuple(target.shape)} and mask {tuple(mask.shape)} must have the same shape")
    weights = torch.where(mask, torch.full_like(target, alpha), torch.full_like(target, beta))
    per_sample = (weights * (output - target) ** 2).reshape(len(target), -1).mean(1)
    return per_sample.mean()


__all__ = ["CORRUPTIONS", "corrupt", "gaussian_noise", "masking_noise", "salt_and_pepper", "weighted_reconstruction_loss"]
