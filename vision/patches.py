"""Patch geometry for the relative-position (Doersch et al. 2015) and jigsaw
(Noroozi & Favaro 2016) tasks: batched patch extraction, colour dropping,
per-tile normalisation, per-tile colour jitter (cell-wise photometric
factors, channel shifts, grayscale) and maximal-Hamming-distance
permutation sets.
"""
from __future__ import annotations

import math
from functools import lru_cache
from itertools import permutations
from typing import Optional, Tuple

import numpy as np
import torch
from numba import njit

from .batch_augment import grayscale


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


def grid_origins(grid: int, cell: int, device=None) -> Tuple[torch.Tensor, torch.Tensor]:
    """Top-left corners of a grid x grid split into cells of side ``cell``, row by row: rows and columns, each (grid²,)."""
    steps = torch.arange(grid, device=device) * cell
    return steps.repeat_interleave(grid), steps.repeat(grid)


def grid_cells(x: torch.Tensor, grid: int) -> torch.Tensor:
    """The whole cells of a grid x grid split of each image's top-left square, row by row.

    Shapes: (B, C, H, W) -> (B, grid², C, cell, cell) with cell = min(H, W) // grid
    (rows and columns past the last cell are not part of any cell, as in the jigsaw's tiling).
    """
    cell = min(x.shape[-2:]) // grid
    if cell < 1:
        raise ValueError(f"images of {x.shape[-2]}x{x.shape[-1]} are smaller than a {grid}x{grid} grid")
    rows, cols = grid_origins(grid, cell, x.device)
    return extract_patches(x, rows.expand(len(x), -1), cols.expand(len(x), -1), cell)


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


def shifted_channel_patches(x: torch.Tensor, tops: torch.Tensor, lefts: torch.Tensor, size: int, max_shift: int,
                            generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """:func:`extract_patches` with every channel of every patch moved by its own random offset in
    [-max_shift, max_shift] pixels (kept inside the image): Noroozi & Favaro's colour-channel jitter
    against chromatic-aberration shortcuts.

    Shapes: x (B, C, H, W), tops / lefts (B, P) -> (B, P, C, size, size).
    """
    if max_shift <= 0:
        return extract_patches(x, tops, lefts, size)
    b, c, h, w = x.shape
    shifts = torch.randint(-max_shift, max_shift + 1, (2, c, *tops.shape), generator=generator, device=x.device)
    planes = [extract_patches(x[:, i:i + 1], (tops + shifts[0, i]).clamp(0, h - size), (lefts + shifts[1, i]).clamp(0, w - size), size)
              for i in range(c)]
    return torch.cat(planes, dim=2)


def _luminance(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, 1, H, W): ITU-R 601 luma for RGB, the mean otherwise."""
    if x.shape[1] == 3:
        return grayscale(x)
    return x.mean(1, keepdim=True)


def _cell_index(h: int, w: int, grid: int, device) -> torch.Tensor:
    """(H, W) long: the cell (row-major, of a grid x grid split of the top-left square) of every pixel;
    pixels beyond the last cell count to it."""
    cell = max(1, min(h, w) // grid)
    rows = (torch.arange(h, device=device) // cell).clamp(max=grid - 1)
    cols = (torch.arange(w, device=device) // cell).clamp(max=grid - 1)
    return rows[:, None] * grid + cols[None, :]


def cell_color_jitter(x: torch.Tensor, grid: int, strength: float, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Independent random brightness, contrast and saturation per cell of a grid x grid split, so the
    tiles later cut from the cells differ in colour statistics (a per-tile colour jitter).

    Each factor is uniform in [1 - strength, 1 + strength]; contrast blends with the cell's mean
    luminance, saturation with each pixel's luminance. Shapes: (B, C, H, W) in [0, 1] -> same.
    """
    if strength <= 0:
        return x
    b, _, h, w = x.shape
    cells = grid * grid
    factors = 1 + strength * (2 * torch.rand(3, b, cells, generator=generator, device=x.device) - 1)
    index = _cell_index(h, w, grid, x.device).flatten()  # (H*W,)
    per_pixel = factors[:, :, index].view(3, b, 1, h, w)
    out = x * per_pixel[0]
    gray = _luminance(out).flatten(1)  # (B, H*W)
    sums = torch.zeros(b, cells, device=x.device, dtype=x.dtype).index_add_(1, index, gray)
    means = (sums / torch.bincount(index, minlength=cells).clamp(min=1))[:, index].view(b, 1, h, w)
    out = means + per_pixel[1] * (out - means)
    if x.shape[1] > 1:
        luma = _luminance(out)
        out = luma + per_pixel[2] * (out - luma)
    return out.clamp(0, 1)


def random_grayscale(x: torch.Tensor, p: float, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Replace each image by its luminance (in every channel) with probability ``p``. (B, C, H, W) -> same."""
    if p <= 0 or x.shape[1] == 1:
        return x
    gray = torch.rand(x.shape[0], generator=generator, device=x.device) < p
    return torch.where(gray[:, None, None, None], _luminance(x).expand_as(x), x)


PERMUTATION_SELECTIONS = ("max-avg", "max-min")


@njit(cache=True, nogil=True)
def _greedy_hamming(all_perms, buckets, count, first, tie_rank, use_min):
    """Greedy farthest-point selection over all permutations (Noroozi & Favaro's Algorithm 1).

    all_perms: (N, cells) int8; buckets: (cells, cells, N // cells) int32, the
    rows of ``all_perms`` with value v at position c; tie_rank: (N,) int64, a
    permutation of 0..N-1 that breaks ties (highest wins). Score of a
    candidate: its minimal (``use_min``) or summed Hamming distance to the
    chosen set. Returns (count,) row indices.

    The matches of an added permutation with every candidate are counted by
    visiting the ``cells`` buckets of its values (N increments in all), so a
    step costs O(N) rather than O(N * cells); the argmax runs on one integer
    key, score * N + tie_rank, with chosen rows pushed below zero.
    """
    n, cells = all_perms.shape
    chosen = np.empty(count, np.int64)
    score = np.full(n, cells + 1 if use_min else 0, np.int64)
    taken = np.zeros(n, np.int64)
    matches = np.zeros(n, np.int64)
    current = first
    for i in range(count):
        chosen[i] = current
        taken[current] = -(1 << 62)  # below every reachable key
        if i + 1 == count:
            break
        matches[:] = 0
        for c in range(cells):
            bucket = buckets[c, all_perms[current, c]]
            for k in range(bucket.shape[0]):
                matches[bucket[k]] += 1
        best, best_key = 0, np.int64(-1)
        for j in range(n):
            d = cells - matches[j]
            s = min(score[j], d) if use_min else score[j] + d
            score[j] = s
            key = s * n + tie_rank[j] + taken[j]
            if key > best_key:
                best_key = key
                best = j
        current = best
    return chosen


@lru_cache(maxsize=4)
def all_permutations(cells: int) -> Tuple[np.ndarray, np.ndarray]:
    """Every permutation of ``cells`` items in lexicographic order (N, cells) int8, and the
    bucket index (cells, cells, N // cells) int32: rows holding value v at position c."""
    perms = np.array(list(permutations(range(cells))), dtype=np.int8)
    order = np.argsort(perms.T, axis=1, kind="stable")  # (cells, N): rows sorted by their value at c
    buckets = order.reshape(cells, cells, -1).astype(np.int32)
    for a in (perms, buckets):
        a.flags.writeable = False
    return perms, buckets


def selection_start(cells: int, seed: int) -> Tuple[int, np.ndarray]:
    """The seeded random start (a row of :func:`all_permutations`) and tie-break noise (N,) in [0, 0.5):
    among equally far candidates the one with the largest noise wins."""
    total = math.factorial(cells)
    rng = np.random.default_rng(seed)
    return int(rng.integers(total)), rng.random(total) * 0.5


@lru_cache(maxsize=16)
def _cached_selection(count: int, cells: int, seed: int, selection: str) -> np.ndarray:
    perms, buckets = all_permutations(cells)
    first, noise = selection_start(cells, seed)
    tie_rank = np.argsort(np.argsort(noise, kind="stable"), kind="stable")
    chosen = _greedy_hamming(perms, buckets, count, first, tie_rank, selection == "max-min")
    out = perms[chosen].astype(np.int64)
    out.flags.writeable = False
    return out


def hamming_permutations(count: int, cells: int = 9, seed: int = 0, selection: str = "max-min") -> np.ndarray:
    """A set of ``count`` permutations of ``cells`` tiles far apart in Hamming distance.

    Greedy selection over all ``cells!`` permutations (Noroozi & Favaro 2016,
    Algorithm 1): start from a seeded random one, then repeatedly add the
    unchosen permutation farthest from the chosen set, ties broken by a
    seeded random order. ``selection``: "max-avg" (the paper's main setting:
    largest average distance to the chosen set) or "max-min" (largest
    minimal distance: maximises the set's minimal pairwise distance).
    1000 of 9! take about a second (cached per process). Returns (count, cells) int64.
    """
    if selection not in PERMUTATION_SELECTIONS:
        raise ValueError(f"permutation selection must be one of {PERMUTATION_SELECTIONS}, got {selection!r}")
    if not 2 <= cells <= 10:
        raise ValueError(f"permutation sets need 2 to 10 tiles (enumerating {cells}! permutations is not feasible), got {cells}")
    total = math.factorial(cells)
    if not 1 <= count <= total:
        raise ValueError(f"num_permutations must be in [1, {total}] for {cells} tiles ({cells}! = {total}), got {count}")
    return _cached_selection(int(count), int(cells), int(seed), selection).copy()


def pairwise_hamming(perms: np.ndarray) -> np.ndarray:
    """Hamming distances (K, K) between the rows of ``perms`` (K, cells)."""
    return (perms[:, None, :] != perms[None, :, :]).sum(-1)


def mean_pairwise_hamming(perms: np.ndarray) -> float:
    """Average Hamming distance between two different rows of ``perms`` (K, cells), K >= 2."""
    k = len(perms)
    return float(pairwise_hamming(perms).sum() / (k * (k - 1)))


def min_pairwise_hamming(perms: np.ndarray) -> int:
    """Smallest Hamming distance between two different rows of ``perms`` (K, cells)."""
    d = pairwise_hamming(perms)
    np.fill_diagonal(d, perms.shape[1] + 1)
    return int(d.min())


__all__ = ["PERMUTATION_SELECTIONS", "all_permutations", "cell_color_jitter", "drop_color_channels", "extract_patches",
           "grid_cells", "grid_origins", "hamming_permutations", "mean_pairwise_hamming", "min_pairwise_hamming",
           "normalize_tiles", "pairwise_hamming", "random_grayscale", "selection_start", "shifted_channel_patches"]
