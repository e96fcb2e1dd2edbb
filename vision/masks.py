"""Hole masks for the context encoder (Pathak et al. 2016, section 3.3).

Every function returns a bool tensor (B, 1, H, W), True where the image is
hidden from the encoder.

- :func:`center_mask`: the central square (side ``fraction`` x the image side).
- :func:`random_block_mask`: several random, possibly overlapping rectangles
  until at least ``coverage`` of the image is hidden.
- :func:`random_region_mask`: smooth random blobs covering exactly
  ``round(coverage * H * W)`` pixels (thresholded low-frequency noise; the
  paper used PASCAL segmentation shapes, which we do not ship).
- :func:`overlap_ring`: the visible pixels within ``width`` of a hole, where
  the paper weights the reconstruction loss 10x.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

MASKS = ("center", "blocks", "regions")


def _check_fraction(name: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be in (0, 1), got {value}")


def center_mask(batch: int, height: int, width: int, fraction: float = 0.5, device=None) -> torch.Tensor:
    _check_fraction("fraction", fraction)
    mask = torch.zeros(batch, 1, height, width, dtype=torch.bool, device=device)
    mh, mw = max(1, round(height * fraction)), max(1, round(width * fraction))
    top, left = (height - mh) // 2, (width - mw) // 2
    mask[:, :, top : top + mh, left : left + mw] = True
    return mask


def random_block_mask(batch: int, height: int, width: int, coverage: float = 0.25, min_size: float = 0.125,
                      max_size: float = 0.375, generator: Optional[torch.Generator] = None, device=None) -> torch.Tensor:
    """Rectangles with sides in [min_size, max_size] x the image side, added until coverage is reached."""
    _check_fraction("coverage", coverage)
    mask = torch.zeros(batch, 1, height, width, dtype=torch.bool, device=device)
    target = coverage * height * width
    for b in range(batch):
        while mask[b].sum() < target:
            sides = torch.rand(2, generator=generator) * (max_size - min_size) + min_size
            bh, bw = max(1, int(sides[0] * height)), max(1, int(sides[1] * width))
            top = int(torch.randint(0, height - bh + 1, (1,), generator=generator))
            left = int(torch.randint(0, width - bw + 1, (1,), generator=generator))
            mask[b, :, top : top + bh, left : left + bw] = True
    return mask


def random_region_mask(batch: int, height: int, width: int, coverage: float = 0.25, smoothness: int = 4,
                       generator: Optional[torch.Generator] = None, device=None) -> torch.Tensor:
    """Blobs from bicubically upsampled ``smoothness x smoothness`` noise, thresholded at its quantile."""
    _check_fraction("coverage", coverage)
    noise = torch.rand(batch, 1, smoothness, smoothness, generator=generator)
    field = F.interpolate(noise, size=(height, width), mode="bicubic", align_corners=False).flatten(1)
    k = int(round(coverage * height * width))
    mask = torch.zeros_like(field, dtype=torch.bool)
    mask.scatter_(1, field.topk(k, dim=1).indices, True)
    return mask.view(batch, 1, height, width).to(device)


def make_mask(kind: str, batch: int, height: int, width: int, coverage: float, generator=None, device=None) -> torch.Tensor:
    """Dispatch on ``kind`` in :data:`MASKS`; for ``center``, ``coverage`` is the hidden area fraction."""
    if kind == "center":
        return center_mask(batch, height, width, coverage**0.5, device)
    if kind == "blocks":
        return random_block_mask(batch, height, width, coverage, generator=generator, device=device)
    if kind == "regions":
        return random_region_mask(batch, height, width, coverage, generator=generator, device=device)
    raise ValueError(f"mask must be one of {MASKS}, got {kind!r}")


def overlap_ring(mask: torch.Tensor, width: int) -> torch.Tensor:
    """Visible pixels within ``width`` pixels (Chebyshev distance) of the hidden ones. (B, 1, H, W) bool."""
    if width <= 0:
        return torch.zeros_like(mask)
    grown = F.max_pool2d(mask.float(), 2 * width + 1, stride=1, padding=width) > 0
    return grown & ~mask


__all__ = ["MASKS", "center_mask", "make_mask", "overlap_ring", "random_block_mask", "random_region_mask"]
