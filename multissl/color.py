"""Colour spaces and colour quantization shared by video colorization and
the split-brain autoencoder.

- :func:`rgb_to_lab` / :func:`lab_to_rgb`: sRGB (D65) <-> CIE Lab in torch,
  numerically equal to scikit-image's ``rgb2lab`` / ``lab2rgb``.
- :func:`kmeans`: seeded k-means++ / Lloyd in torch.
- :class:`ABQuantizer`: k-means clusters of the ab plane, as an ``nn.Module``
  whose centres are saved with the model.

Layouts: images are (..., 3, H, W) with RGB in [0, 1]; Lab has L in
[0, 100] and a, b roughly in [-110, 110].
"""
from __future__ import annotations

from typing import Tuple

import torch
from torch import nn

from .checks import check_positive

_RGB_TO_XYZ = torch.tensor([[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]])
_WHITE_D65 = torch.tensor([0.95047, 1.0, 1.08883])
_EPS = 0.008856
_KAPPA = 7.787


def _check_channels(name: str, x: torch.Tensor) -> None:
    if x.ndim < 3 or x.shape[-3] != 3:
        raise ValueError(f"{name} must have shape (..., 3, H, W), got {tuple(x.shape)}")


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1], (..., 3, H, W) -> Lab, same shape (float32 or the input's float dtype)."""
    _check_channels("rgb", rgb)
    rgb = rgb.float() if not rgb.is_floating_point() else rgb
    linear = torch.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    matrix = _RGB_TO_XYZ.to(rgb)
    xyz = torch.einsum("ij,...jhw->...ihw", matrix, linear) / _WHITE_D65.to(rgb)[:, None, None]
    f = torch.where(xyz > _EPS, xyz.clamp_min(1e-12) ** (1 / 3), _KAPPA * xyz + 16 / 116)
    fx, fy, fz = f.unbind(-3)
    lightness = torch.where(xyz[..., 1, :, :] > _EPS, 116 * fy - 16, 903.3 * xyz[..., 1, :, :])
    return torch.stack([lightness, 500 * (fx - fy), 200 * (fy - fz)], dim=-3)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """Lab (..., 3, H, W) -> sRGB in [0, 1] (out-of-gamut values are clipped)."""
    _check_channels("lab", lab)
    lightness, a, b = lab.unbind(-3)
    fy = (lightness + 16) / 116
    f = torch.stack([fy + a / 500, fy, fy - b / 200], dim=-3)
    xyz = torch.where(f**3 > _EPS, f**3, (f - 16 / 116) / _KAPPA) * _WHITE_D65.to(lab)[:, None, None]
    linear = torch.einsum("ij,...jhw->...ihw", torch.linalg.inv(_RGB_TO_XYZ).to(lab), xyz).clamp_min(0)
    rgb = torch.where(linear > 0.0031308, 1.055 * linear.clamp_min(1e-12) ** (1 / 2.4) - 0.055, 12.92 * linear)
    return rgb.clamp(0, 1)


def kmeans(x: torch.Tensor, k: int, iters: int = 50, seed: int = 0, tol: float = 1e-6) -> Tuple[torch.Tensor, torch.Tensor]:
    """k-means++ initialisation and Lloyd iterations.

    Args:
        x: (N, D) points.
        k: number of clusters (<= N).
    Returns:
        centres (k, D) and assignments (N,) long. Deterministic for a seed.
    """
    if x.ndim != 2:
        raise ValueError(f"x must have shape (N, D), got {tuple(x.shape)}")
    check_positive("k", k)
    if k > len(x):
        raise ValueError(f"k ({k}) must not exceed the number of points ({len(x)})")
    x = x.float()
    g = torch.Generator().manual_seed(seed)
    centres = _kmeans_plus_plus(x, k, g)
    assign = torch.zeros(len(x), dtype=torch.long)
    for _ in range(iters):
        assign = torch.cdist(x, centres).argmin(1)
        new = torch.zeros_like(centres).index_add_(0, assign, x)
        counts = torch.bincount(assign, minlength=k).float()
        empty = counts == 0
        new = new / counts.clamp_min(1)[:, None]
        if empty.any():  # re-seed empty clusters at the points farthest from their centre
            far = torch.cdist(x, new).min(1).values.topk(int(empty.sum())).indices
            new[empty] = x[far]
        shift = (new - centres).norm(dim=1).max()
        centres = new
        if shift < tol:
            break
    return centres, torch.cdist(x, centres).argmin(1)


def _kmeans_plus_plus(x: torch.Tensor, k: int, g: torch.Generator) -> torch.Tensor:
    centres = [x[torch.randint(len(x), (1,), generator=g)].squeeze(0)]
    dist = ((x - centres[0]) ** 2).sum(1)
    for _ in range(1, k):
        probs = dist / dist.sum() if dist.sum() > 0 else torch.full_like(dist, 1 / len(dist))
        idx = torch.multinomial(probs, 1, generator=g)
        centres.append(x[idx].squeeze(0))
        dist = torch.minimum(dist, ((x - centres[-1]) ** 2).sum(1))
    return torch.stack(centres)


class ABQuantizer(nn.Module):
    """Quantize the ab plane of Lab images into ``num_colors`` k-means clusters.

    ``fit(lab_or_ab)`` picks up to ``num_samples`` random pixels (seeded) and
    runs :func:`kmeans`; the centres are a buffer, saved in ``state_dict``.
    Shapes: ``encode``: (B, 2, H, W) ab -> (B, H, W) long;
    ``decode``: (B, H, W) -> (B, 2, H, W); ``decode_distribution``:
    (B, K, H, W) probabilities -> (B, 2, H, W) expected ab.
    """

    def __init__(self, num_colors: int = 16):
        super().__init__()
        check_positive("num_colors", num_colors)
        self.num_colors = num_colors
        self.register_buffer("centers", torch.zeros(num_colors, 2))
        self.register_buffer("fitted", torch.tensor(False))

    @torch.no_grad()
    def fit(self, ab: torch.Tensor, num_samples: int = 100_000, seed: int = 0) -> "ABQuantizer":
        """Fit on ab (..., 2, H, W) or Lab (..., 3, H, W) images, on any device: the k-means runs on the CPU
        (a few thousand 2-d points), so a seed gives the same centres wherever the images are."""
        if ab.ndim < 3 or ab.shape[-3] not in (2, 3):
            raise ValueError(f"expected ab (..., 2, H, W) or Lab (..., 3, H, W), got {tuple(ab.shape)}")
        ab = ab[..., -2:, :, :]
        pixels = ab.movedim(-3, -1).reshape(-1, 2).float().cpu()
        g = torch.Generator().manual_seed(seed)
        if len(pixels) > num_samples:
            pixels = pixels[torch.randperm(len(pixels), generator=g)[:num_samples]]
        unique = torch.unique(pixels, dim=0)
        if len(unique) < self.num_colors:
            raise ValueError(f"only {len(unique)} distinct ab values to fit {self.num_colors} colour clusters")
        centres, _ = kmeans(pixels, self.num_colors, seed=seed)
        self.centers.copy_(centres)
        self.fitted.fill_(True)
        return self

    def _require_fit(self) -> None:
        if not bool(self.fitted):
            raise RuntimeError("ABQuantizer is not fitted; call fit() on sample images first")

    def encode(self, ab: torch.Tensor) -> torch.Tensor:
        self._require_fit()
        if ab.ndim != 4 or ab.shape[1] != 2:
            raise ValueError(f"ab must have shape (B, 2, H, W), got {tuple(ab.shape)}")
        b, _, h, w = ab.shape
        flat = ab.permute(0, 2, 3, 1).reshape(-1, 2)
        return torch.cdist(flat.float(), self.centers).argmin(1).view(b, h, w)

    def decode(self, labels: torch.Tensor) -> torch.Tensor:
        self._require_fit()
        return self.centers[labels].permute(0, 3, 1, 2)

    def decode_distribution(self, probs: torch.Tensor) -> torch.Tensor:
        self._require_fit()
        if probs.ndim != 4 or probs.shape[1] != self.num_colors:
            raise ValueError(f"probs must have shape (B, {self.num_colors}, H, W), got {tuple(probs.shape)}")
        return torch.einsum("bkhw,kc->bchw", probs, self.centers.to(probs))

    def extra_repr(self) -> str:
        return f"num_colors={self.num_colors}, fitted={bool(self.fitted)}"


__all__ = ["ABQuantizer", "kmeans", "lab_to_rgb", "rgb_to_lab"]
