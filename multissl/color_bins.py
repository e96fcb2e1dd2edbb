"""A quantised ab plane restricted to the colours the data uses (the "in-gamut" bins).

Colorful Image Colorization (Zhang et al. 2016) and Split-Brain Autoencoders
(Zhang et al. 2017) quantise the ab plane of Lab on a grid of size 10 and
classify over the bins that occur: 313 of them on ImageNet.
:class:`GamutBins` holds such a grid, the ab histogram of the data seen so
far and the kept-bin mask (all buffers, so ``state_dict`` carries the bin
set), and maps ab values to kept bins and back:

- ``update(ab)`` adds pixels to the histogram (until ``freeze()``);
  ``fit(ab)`` = reset, update, freeze;
- ``encode_hard(ab)``: each pixel's kept bin (its own grid cell when kept,
  else the kept bin nearest that cell's centre);
- ``encode_soft(ab)``: the ``k`` kept bins nearest each pixel with Gaussian
  weights (sigma in ab units), the paper's soft-encoding (a lookup table on
  a grid ten times finer);
- ``decode(idx)`` / ``decode_distribution(probs, temperature)``: bin centres,
  expected (or annealed-mean) ab of a distribution over kept bins.

Units: ab in Lab units (roughly [-110, 110]); tensors (B, 2, H, W).
Kept-bin indices run over 0..K-1 in grid order (``kept_index`` maps them
to grid cells 0..n*n-1).
"""
from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from typing import Tuple

import torch
from torch import nn

from .checks import check_positive

_FINE = 10  # encode_soft looks its neighbours up on a grid 10 times finer than the bins
_FIT_CACHE: "OrderedDict[tuple, torch.Tensor]" = OrderedDict()  # (data fingerprint, grid) -> histogram
_FIT_CACHE_SIZE = 8


def grid_layout(grid: float, ab_range: float, centred: bool) -> Tuple[int, float]:
    """(bins per axis n, low edge) of a grid of ``grid`` ab units covering [-ab_range, ab_range].

    ``centred``: bin centres on multiples of ``grid`` (the paper: 23 x 23 for 10 and 110);
    else edges at +-ab_range (``round(2 ab_range / grid)`` bins per axis).
    """
    check_positive("grid", grid)
    if centred:
        m = int(math.floor(ab_range / grid + 1e-9))
        return 2 * m + 1, -(m + 0.5) * grid
    return int(round(2 * ab_range / grid)), -ab_range


class GamutBins(nn.Module):
    """A grid over the ab plane, the data's ab histogram on it and the kept (in-gamut) bins.

    Args:
        grid: bin size in ab units (10 in the papers).
        ab_range: the grid covers [-ab_range, ab_range]^2 (values beyond are clamped into the edge bins).
        centred: bin centres on multiples of ``grid`` (paper layout) or edges at +-ab_range.
        min_fraction: a bin is kept when it holds more than this fraction of the pixels seen (0: at least one).
        keep_all: keep every grid bin whatever the histogram (the unrestricted grid).
    Buffers (saved): ``counts`` (n*n,) long pixel counts, ``mask`` (n*n,) bool, ``frozen`` bool.
    """

    def __init__(self, grid: float = 10.0, ab_range: float = 110.0, centred: bool = True, min_fraction: float = 0.0,
                 keep_all: bool = False):
        super().__init__()
        if min_fraction < 0 or min_fraction >= 1:
            raise ValueError(f"min_fraction must be in [0, 1), got {min_fraction}")
        self.grid, self.ab_range, self.min_fraction, self.keep_all = float(grid), float(ab_range), float(min_fraction), keep_all
        self.n, self.low = grid_layout(grid, ab_range, centred)
        axis = self.low + (torch.arange(self.n, dtype=torch.float32) + 0.5) * self.grid
        self.register_buffer("centres", torch.cartesian_prod(axis, axis), persistent=False)  # (n*n, 2): (a, b)
        self.register_buffer("counts", torch.zeros(self.n**2, dtype=torch.long))
        self.register_buffer("mask", torch.full((self.n**2,), keep_all))
        self.register_buffer("frozen", torch.tensor(keep_all))
        self._tables_for = None

    # -- the bin set --------------------------------------------------------- #
    @property
    def num_grid_bins(self) -> int:
        return self.n**2

    @property
    def num_kept(self) -> int:
        """K, the number of kept bins (all grid bins while nothing has been seen)."""
        k = int(self.mask.sum())
        return k if k else self.num_grid_bins

    @property
    def kept_index(self) -> torch.Tensor:
        """(K,) grid-cell index of each kept bin, ascending."""
        return self._tables()[0]

    def cell_index(self, ab: torch.Tensor) -> torch.Tensor:
        """ab (..., 2, H, W) -> (..., H, W) long grid cell in 0..n*n-1 (a major, b minor; clamped to the grid)."""
        ij = ((ab.float() - self.low) / self.grid).floor().long().clamp_(0, self.n - 1)
        return ij.select(-3, 0) * self.n + ij.select(-3, 1)

    def histogram(self, ab: torch.Tensor) -> torch.Tensor:
        """Pixel counts (n*n,) long of ab images (..., 2, H, W)."""
        return torch.bincount(self.cell_index(ab).reshape(-1), minlength=self.num_grid_bins)

    @torch.no_grad()
    def update(self, ab: torch.Tensor) -> None:
        """Add the pixels of ab (..., 2, H, W) to the histogram and refresh the kept bins (no-op once frozen;
        summed over processes under torch.distributed)."""
        if bool(self.frozen):
            return
        counts = self.histogram(ab).to(self.counts.device)
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.all_reduce(counts)  # every process keeps the same bins
        self.counts += counts
        self._refresh_mask()

    def _refresh_mask(self) -> None:
        total = float(self.counts.sum())
        self.mask.copy_(self.counts.float() > self.min_fraction * total if self.min_fraction > 0 else self.counts > 0)

    def freeze(self) -> None:
        """Stop updating: the kept bins are final."""
        self.frozen.fill_(True)

    @torch.no_grad()
    def fit(self, ab: torch.Tensor, chunk: int = 4096) -> "GamutBins":
        """Reset, count all pixels of ab (N, 2, H, W) (in chunks of ``chunk`` images) and freeze."""
        self.counts.zero_()
        for start in range(0, len(ab), chunk):
            self.counts += self.histogram(ab[start:start + chunk]).to(self.counts.device)
        self._refresh_mask()
        self.freeze()
        return self

    @torch.no_grad()
    def fit_images(self, images: torch.Tensor, to_lab, chunk: int = 2048, cache: bool = True) -> "GamutBins":
        """Fit on RGB images (N, 3, H, W) (uint8 or float in [0, 1]) through ``to_lab`` (RGB float -> Lab).

        The histogram is cached in memory per data set (a SHA-1 of the image bytes and the grid), so building
        the same task again on the same images does not recount.
        """
        key = (_fingerprint(images), self.n, self.low, self.grid)
        if cache and key in _FIT_CACHE:
            _FIT_CACHE.move_to_end(key)
            self.counts.copy_(_FIT_CACHE[key])
        else:
            self.counts.zero_()
            for start in range(0, len(images), chunk):
                x = images[start:start + chunk]
                x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
                self.counts += self.histogram(to_lab(x)[:, 1:]).to(self.counts.device)
            if cache:
                _FIT_CACHE[key] = self.counts.detach().cpu().clone()
                while len(_FIT_CACHE) > _FIT_CACHE_SIZE:
                    _FIT_CACHE.popitem(last=False)
        self._refresh_mask()
        self.freeze()
        return self

    # -- lookup tables --------------------------------------------------------- #
    def _tables(self):
        """(kept_index (K,), nearest (n*n,) kept position of each grid cell)."""
        mask = self.mask if bool(self.mask.any()) else torch.ones_like(self.mask)
        key = (mask.device, mask.cpu().numpy().tobytes())
        if self._tables_for != key:
            kept = mask.nonzero().squeeze(1)
            dist = torch.cdist(self.centres, self.centres[kept])  # (n*n, K)
            self._cached_tables = (kept, dist.argmin(1))
            self._tables_for = key
        return self._cached_tables

    # -- encoding and decoding ------------------------------------------------- #
    def encode_hard(self, ab: torch.Tensor) -> torch.Tensor:
        """ab (B, 2, H, W) -> (B, H, W) kept-bin positions 0..K-1: the pixel's own cell when kept, else the kept
        bin nearest that cell's centre (out-of-gamut and out-of-range colours go to the nearest kept bin)."""
        _, nearest = self._tables()
        return nearest[self.cell_index(ab)]

    def encode_soft(self, ab: torch.Tensor, k: int = 5, sigma: float = 5.0) -> Tuple[torch.Tensor, torch.Tensor]:
        """Soft-encoding: ab (B, 2, H, W) -> (positions (B, k, H, W) long, weights (B, k, H, W) summing to 1).

        The ``k`` kept bins nearest each pixel, weighted by a Gaussian of the distance with ``sigma`` ab units.
        Looked up in a table over a fine grid (``grid / 10`` ab units), so distances are measured from the
        centre of the pixel's fine cell (at most ``grid / 14`` away).
        """
        pos, weight = self._soft_table(k, sigma)
        idx = self.fine_index(ab)
        return pos[idx].movedim(-1, 1), weight[idx].movedim(-1, 1)

    def fine_index(self, ab: torch.Tensor) -> torch.Tensor:
        """ab (..., 2, H, W) -> (..., H, W) index into the fine grid of ``grid / 10`` units (clamped to the grid)."""
        fine = self.grid / _FINE
        m = self.n * _FINE
        ij = ((ab.float() - self.low) / fine).floor().long().clamp_(0, m - 1)
        return ij.select(-3, 0) * m + ij.select(-3, 1)

    def _soft_table(self, k: int, sigma: float):
        """(positions (m*m, k) long, weights (m*m, k)) of every fine cell's k nearest kept bins."""
        kept = self._tables()[0]
        key = (self._tables_for, k, float(sigma))
        if getattr(self, "_soft_for", None) != key:
            m, fine = self.n * _FINE, self.grid / _FINE
            axis = self.low + (torch.arange(m, dtype=torch.float32, device=self.centres.device) + 0.5) * fine
            d2 = torch.cdist(torch.cartesian_prod(axis, axis), self.centres[kept]) ** 2  # (m*m, K)
            d2, pos = d2.topk(min(k, len(kept)), dim=1, largest=False)
            self._soft = (pos, torch.softmax(-d2 / (2 * sigma**2), dim=1))
            self._soft_for = key
        return self._soft

    def decode(self, positions: torch.Tensor) -> torch.Tensor:
        """Kept-bin positions (B, H, W) -> their centres (B, 2, H, W)."""
        return self.centres[self.kept_index][positions].permute(0, 3, 1, 2)

    def decode_distribution(self, probs: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        """Probabilities over kept bins (B, K, H, W) -> ab (B, 2, H, W): their mean (temperature 1) or the
        annealed mean (probabilities ** (1/T), renormalised; the colorization paper used T = 0.38)."""
        if probs.ndim != 4 or probs.shape[1] != self.num_kept:
            raise ValueError(f"probs must have shape (B, {self.num_kept}, H, W), got {tuple(probs.shape)}")
        if temperature != 1.0:
            probs = torch.softmax(probs.clamp_min(1e-12).log() / temperature, dim=1)
        return torch.einsum("bkhw,kc->bchw", probs, self.centres[self.kept_index].to(probs))

    def extra_repr(self) -> str:
        return f"grid={self.grid}, bins={self.n}x{self.n}, kept={int(self.mask.sum())}, frozen={bool(self.frozen)}"


def _fingerprint(images: torch.Tensor) -> Tuple:
    data = images.detach().cpu().contiguous()
    digest = hashlib.sha1(data.numpy().tobytes()).hexdigest()
    return tuple(data.shape), str(data.dtype), digest


__all__ = ["GamutBins", "grid_layout"]
