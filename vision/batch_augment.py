"""Contrastive-view augmentations computed for a whole batch at once, on its device.

Per-sample torchvision pipelines transform one image at a time in the data
loader; these do the same operations with per-sample random parameters as a
few batched tensor operations, so augmentation costs little next to the
network (and runs on the GPU when training does):

- random resized crop + horizontal flip: one affine ``grid_sample`` (bilinear;
  torchvision's area parameters: scale, log-uniform aspect ratio, 10 tries,
  centre-crop fallback);
- colour jitter (brightness, contrast, saturation, hue with torchvision's
  formulas, each image's operations in its own random order), applied with probability ``p``;
- random grayscale; Gaussian blur (separable, per-sample sigma) where the
  image is large enough; solarisation.

:class:`ViewConfig` holds the parameters; :func:`simclr_views`,
:func:`moco_v1_views`, :func:`moco_v2_views` and :func:`byol_views` give the
papers' settings. All randomness comes from torch's global generator (seeded
and checkpointed by the engine).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Tuple

import torch
import torch.nn.functional as F

MIN_IMAGE_SIDE = 8  # the smallest side the methods train on (crops, patches and pooling below it break)

GRAY_WEIGHTS = (0.299, 0.587, 0.114)


@dataclass(frozen=True)
class ViewConfig:
    min_scale: float = 0.08
    max_scale: float = 1.0
    flip: bool = True
    jitter: Tuple[float, float, float, float] = (0.4, 0.4, 0.4, 0.1)  # brightness, contrast, saturation, hue
    jitter_p: float = 0.8
    grayscale_p: float = 0.2
    blur_p: float = 0.0
    blur_min_size: int = 64
    solarize_p: float = 0.0


def simclr_views(strength: float = 0.5) -> ViewConfig:
    """SimCLR: crop 0.08-1, flip, jitter (0.8s, 0.8s, 0.8s, 0.2s) p=0.8, grayscale 0.2, blur 0.5 (large images)."""
    return ViewConfig(jitter=(0.8 * strength, 0.8 * strength, 0.8 * strength, 0.2 * strength), blur_p=0.5)


def moco_v1_views() -> ViewConfig:
    return ViewConfig(min_scale=0.2, jitter=(0.4, 0.4, 0.4, 0.4), jitter_p=1.0, grayscale_p=0.2)


def moco_v2_views() -> ViewConfig:
    return ViewConfig(min_scale=0.2, jitter=(0.4, 0.4, 0.4, 0.1), jitter_p=0.8, grayscale_p=0.2, blur_p=0.5)


def byol_views(min_scale: float = 0.08) -> Tuple[ViewConfig, ViewConfig]:
    """BYOL's two asymmetric views: blur 1.0 / 0.1 (large images), solarisation 0 / 0.2; crops from ``min_scale`` of the area."""
    base = dict(min_scale=min_scale, jitter=(0.4, 0.4, 0.2, 0.1), jitter_p=0.8, grayscale_p=0.2)
    return ViewConfig(blur_p=1.0, solarize_p=0.0, **base), ViewConfig(blur_p=0.1, solarize_p=0.2, **base)


def uniform(b: int, low: float, high: float, device=None, dtype=None) -> torch.Tensor:
    """(b,) draws uniform in [low, high) from torch's global RNG."""
    return torch.rand(b, device=device, dtype=dtype) * (high - low) + low


def resize_square(x: torch.Tensor, side: int) -> torch.Tensor:
    """(B, C, H, W) float -> (B, C, side, side), bilinear and antialiased (unchanged when ``side`` is 0 or already the size)."""
    if not side or x.shape[-2:] == (side, side):
        return x
    return F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False, antialias=True)


def crop_boxes(b: int, height: int, width: int, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), device=None) -> torch.Tensor:
    """torchvision's RandomResizedCrop boxes for b images: (B, 4) float (top, left, h, w)."""
    area = height * width
    tries = 10
    target = area * (torch.rand(b, tries, device=device) * (scale[1] - scale[0]) + scale[0])
    log_r = torch.rand(b, tries, device=device) * (math.log(ratio[1]) - math.log(ratio[0])) + math.log(ratio[0])
    aspect = log_r.exp()
    w = (target * aspect).sqrt().round()
    h = (target / aspect).sqrt().round()
    valid = (w > 0) & (w <= width) & (h > 0) & (h <= height)
    first = valid.float().argmax(1)
    rows = torch.arange(b, device=device)
    w, h = w[rows, first], h[rows, first]
    ok = valid.any(1)
    # fallback: the whole image (torchvision's centre crop at the clamped ratio; for square images the whole image)
    in_ratio = width / height
    fw = width if in_ratio <= ratio[1] else round(height * ratio[1])
    fh = height if in_ratio >= ratio[0] else round(width / ratio[0])
    w = torch.where(ok, w, torch.full_like(w, float(min(fw, width))))
    h = torch.where(ok, h, torch.full_like(h, float(min(fh, height))))
    top = (torch.rand(b, device=device) * (height - h + 1)).floor()
    left = (torch.rand(b, device=device) * (width - w + 1)).floor()
    top = torch.where(ok, top, ((height - h) / 2).floor())
    left = torch.where(ok, left, ((width - w) / 2).floor())
    return torch.stack([top, left, h, w], dim=1)


def resized_crop(x: torch.Tensor, boxes: torch.Tensor, size: int, flip: torch.Tensor) -> torch.Tensor:
    """Crop boxes (B, 4) out of x (B, C, H, W), resize to size x size, mirror where ``flip`` (B,) bool."""
    b, _, height, width = x.shape
    top, left, h, w = boxes.unbind(1)
    sx = (w / width) * torch.where(flip, -1.0, 1.0)
    sy = h / height
    cx = (2 * left + w) / width - 1
    cy = (2 * top + h) / height - 1
    zeros = torch.zeros_like(sx)
    theta = torch.stack([torch.stack([sx, zeros, cx], 1), torch.stack([zeros, sy, cy], 1)], 1)
    grid = F.affine_grid(theta, (b, x.shape[1], size, size), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def grayscale(x: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) -> (B, 1, H, W) luma."""
    w = torch.tensor(GRAY_WEIGHTS, device=x.device, dtype=x.dtype)
    return torch.einsum("bchw,c->bhw", x, w)[:, None]


def rgb_to_hsv(x: torch.Tensor) -> torch.Tensor:
    r, g, b = x.unbind(1)
    maxc, _ = x.max(1)
    minc, _ = x.min(1)
    delta = maxc - minc
    safe = torch.where(delta > 0, delta, torch.ones_like(delta))
    s = torch.where(maxc > 0, delta / torch.where(maxc > 0, maxc, torch.ones_like(maxc)), torch.zeros_like(maxc))
    rc, gc, bc = (maxc - r) / safe, (maxc - g) / safe, (maxc - b) / safe
    h = torch.where(maxc == r, bc - gc, torch.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    h = torch.where(delta > 0, (h / 6.0) % 1.0, torch.zeros_like(h))
    return torch.stack([h, s, maxc], 1)


def hsv_to_rgb(x: torch.Tensor) -> torch.Tensor:
    """Branch-free HSV -> RGB: channel n in (5, 3, 1) is v - v·s·clamp(min(k, 4 - k), 0, 1), k = (n + 6h) mod 6."""
    h, s, v = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    n = torch.tensor([5.0, 3.0, 1.0], device=x.device, dtype=x.dtype)[None, :, None, None]
    k = (n + 6.0 * h) % 6.0
    return v - v * s * torch.minimum(k, 4.0 - k).clamp(0.0, 1.0)


def jitter_parameters(b: int, strengths, device=None) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per-sample ColorJitter draws, as torchvision's ``get_params``: factors (B, 4) and op order (B, 4).

    ``factors[:, 0:3]`` are the brightness, contrast and saturation factors drawn from
    ``[max(0, 1 - s), 1 + s]``; ``factors[:, 3]`` the hue shift from ``[-s, s]``; a strength of 0
    gives the identity (factor 1, shift 0). Row ``order[i]`` is a random permutation of 0..3.
    """
    brightness, contrast, saturation, hue = strengths
    factors = torch.stack([uniform(b, max(0.0, 1 - s), 1 + s, device) for s in (brightness, contrast, saturation)]
                          + [uniform(b, -hue, hue, device)], dim=1)
    order = torch.rand(b, 4, device=device).argsort(dim=1)
    return factors, order


def _jitter_op(op: int, x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """One ColorJitter operation with per-sample factor (N,) on x (N, C, H, W), torchvision's formulas."""
    f = factor[:, None, None, None]
    if op == 0:
        return (x * f).clamp(0, 1)
    if op == 1:
        mean = grayscale(x).mean(dim=(1, 2, 3), keepdim=True)
        return (f * x + (1 - f) * mean).clamp(0, 1)
    if op == 2:
        return (f * x + (1 - f) * grayscale(x)).clamp(0, 1)
    hsv = rgb_to_hsv(x)
    return hsv_to_rgb(torch.stack([(hsv[:, 0] + factor[:, None, None]) % 1.0, hsv[:, 1], hsv[:, 2]], 1))


def jitter_with(x: torch.Tensor, factors: torch.Tensor, order: torch.Tensor, ops=(0, 1, 2, 3)) -> torch.Tensor:
    """Apply the ColorJitter ``ops`` to x (B, C, H, W), sample i in the order ``order[i]`` with ``factors[i]``.

    Each sample goes through each op once; at each of the four steps the samples whose
    permutation names op j there are gathered and transformed together (16 small batches),
    so the cost is that of one pass of each op over the batch.
    """
    out = x.clone()
    for step in range(order.shape[1]):
        for op in ops:
            idx = (order[:, step] == op).nonzero().squeeze(1)
            if len(idx):
                out[idx] = _jitter_op(op, out[idx], factors[idx, op])
    return out


def color_jitter(x: torch.Tensor, strengths, apply: torch.Tensor) -> torch.Tensor:
    """torchvision's ColorJitter with per-sample factors and per-sample op order, applied where ``apply`` (B,) bool.

    x: (B, C, H, W) in [0, 1]; contrast, saturation and hue need C == 3 (skipped otherwise).
    """
    factors, order = jitter_parameters(len(x), strengths, x.device)
    colour = x.shape[1] == 3
    ops = [op for op, s in enumerate(strengths) if s and (op == 0 or colour)]
    keep = apply.nonzero().squeeze(1)
    out = x.clone()
    if ops and len(keep):
        out[keep] = jitter_with(x[keep], factors[keep], order[keep], ops)
    return out


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor, apply: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian blur with per-sample sigma (B,), kernel 10% of the side, where ``apply``."""
    b, c, h, w = x.shape
    k = max(3, int(0.1 * h) // 2 * 2 + 1)
    offsets = torch.arange(k, device=x.device, dtype=x.dtype) - k // 2
    kernel = torch.exp(-(offsets[None] ** 2) / (2 * sigma[:, None] ** 2))
    kernel = (kernel / kernel.sum(1, keepdim=True)).repeat_interleave(c, 0)  # (B*C, k)
    flat = x.reshape(1, b * c, h, w)
    flat = F.conv2d(F.pad(flat, (k // 2, k // 2, 0, 0), mode="reflect"), kernel[:, None, None, :], groups=b * c)
    flat = F.conv2d(F.pad(flat, (0, 0, k // 2, k // 2), mode="reflect"), kernel[:, None, :, None], groups=b * c)
    return torch.where(apply[:, None, None, None], flat.view(b, c, h, w), x)


def augment_views(x: torch.Tensor, config: ViewConfig, size: int = 0) -> torch.Tensor:
    """One augmented view of every image: (B, C, H, W) in [0, 1] -> (B, C, size, size) (size 0: H).

    The geometric part (:func:`crop_views`) then the colour part (:func:`colour_views`).
    """
    return colour_views(crop_views(x, config, size), config)


def crop_views(x: torch.Tensor, config: ViewConfig, size: int = 0) -> torch.Tensor:
    """The geometric half of a view: random resized crop and flip, (B, C, H, W) -> (B, C, size, size) (size 0: H)."""
    if x.ndim != 4:
        raise ValueError(f"images must have shape (B, C, H, W), got {tuple(x.shape)}")
    b, c, h, w = x.shape
    size = size or h
    if min(h, w) < MIN_IMAGE_SIDE or size < MIN_IMAGE_SIDE:
        raise ValueError(f"images of {h}x{w} (output {size}) are too small for the augmentation pipeline "
                         f"(need >= {MIN_IMAGE_SIDE} pixels)")
    device = x.device
    boxes = crop_boxes(b, h, w, (config.min_scale, config.max_scale), device=device)
    flip = (torch.rand(b, device=device) < 0.5) if config.flip else torch.zeros(b, dtype=torch.bool, device=device)
    return resized_crop(x, boxes, size, flip)


def colour_views(out: torch.Tensor, config: ViewConfig) -> torch.Tensor:
    """The colour half of a view on crops (B, C, S, S) in [0, 1]: jitter, grayscale, blur (S >= blur_min_size), solarisation."""
    b, c, size = out.shape[0], out.shape[1], out.shape[-1]
    device = out.device
    if any(config.jitter) and config.jitter_p > 0:
        out = color_jitter(out, config.jitter, torch.rand(b, device=device) < config.jitter_p)
    if c == 3 and config.grayscale_p > 0:
        gray = torch.rand(b, device=device) < config.grayscale_p
        out = torch.where(gray[:, None, None, None], grayscale(out).expand_as(out), out)
    if config.blur_p > 0 and size >= config.blur_min_size:
        out = gaussian_blur(out, uniform(b, 0.1, 2.0, device), torch.rand(b, device=device) < config.blur_p)
    if config.solarize_p > 0:
        sol = torch.rand(b, device=device) < config.solarize_p
        out = torch.where(sol[:, None, None, None] & (out >= 0.5), 1.0 - out, out)
    return out


def make_views(x: torch.Tensor, configs) -> list:
    """One view per config of every image.

    ``x`` (B, C, H, W) in [0, 1]: each view is cut and coloured here (:func:`augment_views`);
    ``x`` (B, V, C, S, S): views already cropped and flipped (in the data loader's workers, from
    the original images), so only their colour part is applied, view i with ``configs[i]``.
    """
    if x.ndim == 5:
        if x.shape[1] != len(configs):
            raise ValueError(f"a batch of pre-cropped views (B, V, C, S, S) needs V = {len(configs)}, got {tuple(x.shape)}")
        return [colour_views(x[:, i], config) for i, config in enumerate(configs)]
    return [augment_views(x, config) for config in configs]


__all__ = ["ViewConfig", "augment_views", "byol_views", "color_jitter", "colour_views", "crop_boxes", "crop_views", "gaussian_blur",
           "grayscale", "make_views",
           "hsv_to_rgb", "jitter_parameters", "jitter_with", "moco_v1_views", "moco_v2_views", "resized_crop", "rgb_to_hsv", "simclr_views",
           "resize_square", "uniform"]
