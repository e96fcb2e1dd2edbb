"""Patch geometry for the relative-position (Doersch et al. 2015) and jigsaw
(Noroozi & Favaro 2016) tasks: batched patch extraction, colour dropping,
per-tile normalisation and maximal-Hamming-distance permutation sets.
"""
from __future__ import annotations

import math
from itertools import permutations
from typing import Optional

import numpy as np
import torch
from numba import njit


def extract_patches(x: torch.Tensor, tops: torch.Tensor, lefts: torch.Tensor, size: int) -> torch.Tensor:
    """Cut one ``size x size`` patch per (image, position).

    Args:
        x: (B, C, H, W).
        tops, lefts: (B, P) top-left corners.
    Returns:
        (B, P, C, size, size).
    """
    b, c, h, w = x.shape
    if int(tops.min()) < 0 or int(lefts.min()) < 0 or int(tops.max()) + size > h or int(lefts.max()) + size > w:
        raise ValueError(f"patches of size {size} at rows [{int(tops.min())}, {int(tops.max())}] and columns "
                         f"[{int(lefts.min())}, {int(lefts.max())}] do not fit images of size {h}x{w}")
    offsets = torch.arange(size, device=x.device)
    rows = tops[..., None] + offsets  # (B, P, S)
    cols = lefts[..., None] + offsets
    batch = torch.arange(b, device=x.device)[:, None, None, None]
    pixels = x.permute(0, 2, 3, 1)[batch, rows[..., :, None], cols[..., None, :]]  # (B, P, S, S, C)
    return pixels.permute(0, 1, 4, 2, 3)


def drop_color_channels(patches: torch.Tensor, noise_std: float = 0.01, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Doersch et al.'s colour dropping: keep one random channel per patch, replace the others by
    Gaussian noise around 0.5, so chromatic aberration cannot reveal the position.

    Shapes: (..., C, S, S) -> same.
    """
    if patches.shape[-3] == 1:
        return patches
    lead = patches.shape[:-3]
    keep = torch.randint(patches.shape[-3], lead, generator=generator, device=patches.device)
    channel = torch.arange(patches.shape[-3], device=patches.device)
    kept = (channel == keep[..., None])[..., None, None]
    noise = 0.5 + noise_std * torch.randn(patches.shape, generator=generator, device=patches.device)
    return torch.where(kept, patches, noise)


def normalize_tiles(tiles: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Noroozi & Favaro's per-tile normalisation: each tile to zero mean and unit std (over C, H, W).

    The result is mapped back around 0.5 with std 0.25 so encoders expecting
    [0, 1] inputs see the same scale. Shapes: (..., C, S, S) -> same.
    """
    mean = tiles.mean(dim=(-3, -2, -1), keepdim=True)
    std = tiles.std(dim=(-3, -2, -1), keepdim=True)
    return 0.5 + 0.25 * (tiles - mean) / (std + eps)


@njit(cache=True, nogil=True)
def _greedy_max_min_hamming(all_perms, count, first, tie_noise):
    n = all_perms.shape[0]
    cells = all_perms.shape[1]
    chosen = np.empty(count, np.int64)
    min_dist = np.full(n, cells + 1, np.int64)
    current = first
    for i in range(count):
        chosen[i] = current
        best, best_score = -1, -1.0
        for j in range(n):
            d = 0
            for c in range(cells):
                if all_perms[j, c] != all_perms[current, c]:
                    d += 1
            if d < min_dist[j]:
                min_dist[j] = d
            score = min_dist[j] + tie_noise[j]
            if score > best_score:
                best_score = score
                best = j
        current = best
    return chosen


def hamming_permutations(count: int, cells: int = 9, seed: int = 0) -> np.ndarray:
    """A set of ``count`` permutations of ``cells`` tiles with maximal minimal Hamming distance.

    Greedy farthest-point selection over all ``cells!`` permutations: start
    from a random one, then repeatedly add the permutation whose smallest
    Hamming distance to the chosen set is largest (ties broken by a seeded
    random order). Returns (count, cells) int64.
    """
    total = math.factorial(cells)
    if not 1 <= count <= total:
        raise ValueError(f"num_permutations must be in [1, {total}] for {cells} tiles ({cells}! = {total}), got {count}")
    if cells > 10:
        raise ValueError(f"enumerating {cells}! permutations is not feasible; use at most 10 cells")
    all_perms = np.array(list(permutations(range(cells))), dtype=np.int8)
    rng = np.random.default_rng(seed)
    chosen = _greedy_max_min_hamming(all_perms, count, int(rng.integers(total)), rng.random(total) * 0.5)
    return all_perms[chosen].astype(np.int64)


def min_pairwise_hamming(perms: np.ndarray) -> int:
    """Smallest Hamming distance between two different rows of ``perms`` (K, cells)."""
    d = (perms[:, None, :] != perms[None, :, :]).sum(-1)
    np.fill_diagonal(d, perms.shape[1] + 1)
    return int(d.min())


__all__ = ["drop_color_channels", "extract_patches", "hamming_permutations", "min_pairwise_hamming", "normalize_tiles"]
