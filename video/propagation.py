"""Label propagation through a video by feature affinities, independent of the encoder.

Given per-frame features (T, D, h, w) from any encoder (the colorization
network, raw pixels, a random network, ...) and the labels of the first
frame (C, H, W) -- one channel per object including the background, or one
Gaussian heatmap per keypoint -- :func:`propagate_labels` predicts the labels
of every later frame: each pixel of frame t attends to the pixels of a
context made of the first frame and the ``context`` most recent frames,
keeps the ``topk`` most similar keys within ``radius`` feature cells of its
own position, and copies their labels weighted by a softmax of
similarity / ``temperature``. Predictions (soft labels) of earlier frames
serve as labels of the context.

Labels are moved to the feature grid by area averaging and back to the
label grid by bilinear interpolation.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from einops import rearrange
from tqdm.auto import tqdm


@dataclass
class PropagationConfig:
    """Settings of :func:`propagate_labels` (defaults as in Jabri et al.'s label propagation)."""

    context: int = field(default=20, metadata={"help": "most recent frames used as context besides the first"})
    topk: int = field(default=10, metadata={"help": "keys kept per query pixel"})
    radius: Optional[float] = field(default=12.0, metadata={"help": "spatial radius in feature cells (None: whole frame)"})
    temperature: float = field(default=0.05, metadata={"help": "softmax temperature of the affinities"})
    normalize: bool = field(default=True, metadata={"help": "L2-normalise features (cosine similarity)"})

    def __post_init__(self):
        if self.context < 0:
            raise ValueError(f"context must be >= 0, got {self.context}")
        if self.topk < 1:
            raise ValueError(f"topk must be >= 1, got {self.topk}")
        if self.radius is not None and self.radius <= 0:
            raise ValueError(f"radius must be > 0 or None, got {self.radius}")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")

    def as_dict(self):
        return asdict(self)


def labels_to_grid(labels: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """(..., C, H, W) labels -> (..., C, h, w) by area averaging."""
    lead = labels.shape[:-3]
    flat = labels.reshape(-1, *labels.shape[-3:]).float()
    out = F.interpolate(flat, size=size, mode="area") if flat.shape[-2:] != size else flat
    return out.reshape(*lead, *out.shape[-3:])


def labels_to_image(labels: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """(..., C, h, w) labels -> (..., C, H, W) by bilinear interpolation."""
    lead = labels.shape[:-3]
    flat = labels.reshape(-1, *labels.shape[-3:]).float()
    out = F.interpolate(flat, size=size, mode="bilinear", align_corners=False) if flat.shape[-2:] != size else flat
    return out.reshape(*lead, *out.shape[-3:])


def context_indices(t: int, context: int) -> list:
    """The first frame plus the ``context`` frames before t (no duplicates)."""
    return [0] + list(range(max(1, t - context), t))


def _weighted_copy(affinity: torch.Tensor, values: torch.Tensor, topk: int, temperature: float) -> torch.Tensor:
    """affinity (B, Q, N), values (B, N, C) -> (B, Q, C): softmax over the top-k keys."""
    k = min(topk, affinity.shape[-1])
    top, idx = affinity.topk(k, dim=-1)
    weights = torch.softmax(top / temperature, dim=-1)  # (B, Q, k)
    batch = torch.arange(values.shape[0], device=values.device)[:, None, None]
    return torch.einsum("bqk,bqkc->bqc", weights, values[batch, idx])


def _attend_global(query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, topk: int, temperature: float,
                   chunk: int = 2048) -> torch.Tensor:
    """query (D, h, w), keys (n, D, h, w), values (n, C, h, w) -> (C, h, w), every key allowed."""
    _, h, w = query.shape
    q = rearrange(query, "d h w -> (h w) d")
    k = rearrange(keys, "n d h w -> d (n h w)")
    v = rearrange(values, "n c h w -> (n h w) c")[None]
    out = [_weighted_copy((q[i : i + chunk] @ k)[None], v, topk, temperature)[0] for i in range(0, len(q), chunk)]
    return rearrange(torch.cat(out), "(h w) c -> c h w", h=h, w=w)


def _window_mask(tile: int, reach: int, radius: float, device) -> torch.Tensor:
    """(tile*tile, win*win) bool: key offset within ``radius`` of the query, win = tile + 2 reach."""
    q = torch.stack(torch.meshgrid(torch.arange(tile), torch.arange(tile), indexing="ij"), -1).reshape(-1, 1, 2)
    win = tile + 2 * reach
    k = torch.stack(torch.meshgrid(torch.arange(win), torch.arange(win), indexing="ij"), -1).reshape(1, -1, 2) - reach
    return (((k - q) ** 2).sum(-1) <= radius**2).to(device)


def _windows(x: torch.Tensor, win: int, tile: int) -> torch.Tensor:
    """(n, C, win, W') band -> (L, C, n, win*win): the window of each of the L tiles (one copy)."""
    return rearrange(x.unfold(3, win, tile), "n c a l b -> l c n (a b)")


def _attend_local(query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, topk: int, temperature: float,
                  radius: float, tile: int = 8) -> torch.Tensor:
    """Like :func:`_attend_global` but each query sees only keys within ``radius`` cells.

    The query grid is cut into tiles of ``tile`` x ``tile`` cells; a tile's
    keys are the window of ``tile + 2 * reach`` cells around it in every
    context frame, so the cost grows with the window, not the frame.
    """
    d, h, w = query.shape
    n, c = keys.shape[0], values.shape[1]
    reach = int(math.floor(radius))
    rows, cols = math.ceil(h / tile), math.ceil(w / tile)
    pad = (reach, reach + cols * tile - w, reach, reach + rows * tile - h)
    win = tile + 2 * reach
    valid = F.pad(torch.ones(1, 1, h, w, device=query.device), pad)
    keys_p, values_p = F.pad(keys, pad), F.pad(values, pad)
    query_p = F.pad(query, (0, cols * tile - w, 0, rows * tile - h))
    allowed = _window_mask(tile, reach, radius, query.device)  # (tile², win²)
    out = torch.empty(rows, cols, tile * tile, c, device=query.device)
    for r in range(rows):
        band = slice(r * tile, r * tile + win)
        k = _windows(keys_p[:, :, band], win, tile)  # (L, D, n, S)
        v = _windows(values_p[:, :, band], win, tile)  # (L, C, n, S)
        ok = _windows(valid[:, :, band], win, tile)[:, 0]  # (L, 1, S)
        bias = torch.zeros(ok.shape[0], tile * tile, 1, win * win, device=query.device)
        bias.masked_fill_(~(allowed[None] & (ok > 0))[:, :, None], float("-inf"))
        q = rearrange(query_p[:, r * tile : (r + 1) * tile], "d a (l b) -> l (a b) d", b=tile)
        affinity = (q @ k.flatten(2)).view(len(q), tile * tile, n, -1) + bias
        out[r] = _weighted_copy(affinity.flatten(2), rearrange(v, "l c n s -> l (n s) c"), topk, temperature)
    full = rearrange(out, "r l (a b) c -> c (r a) (l b)", a=tile)
    return full[:, :h, :w]


def _attend_masked(query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, topk: int, temperature: float,
                   radius: float, chunk: int = 1024) -> torch.Tensor:
    """Every key of the frame scored, then keys beyond ``radius`` masked out (cheap for small grids)."""
    _, h, w = query.shape
    n = keys.shape[0]
    pos = torch.stack(torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij"), -1).reshape(-1, 2).float()
    far = torch.cdist(pos, pos) > radius  # (hw, hw)
    q = rearrange(query, "d h w -> (h w) d")
    k = rearrange(keys, "n d h w -> d (n h w)")
    v = rearrange(values, "n c h w -> (n h w) c")[None]
    out = []
    for i in range(0, len(q), chunk):
        affinity = (q[i : i + chunk] @ k).view(-1, n, h * w).masked_fill(far[i : i + chunk, None].to(q.device), float("-inf"))
        out.append(_weighted_copy(affinity.flatten(1)[None], v, topk, temperature)[0])
    return rearrange(torch.cat(out), "(h w) c -> c h w", h=h, w=w)


def attend(query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, topk: int = 10, temperature: float = 0.05,
           radius: Optional[float] = None) -> torch.Tensor:
    """One propagation step: labels (C, h, w) of ``query`` (D, h, w) from ``keys`` (n, D, h, w) and ``values`` (n, C, h, w)."""
    h, w = query.shape[1:]
    if radius is None or radius**2 >= (h - 1) ** 2 + (w - 1) ** 2:
        return _attend_global(query, keys, values, topk, temperature)
    if h * w <= 4096:
        return _attend_masked(query, keys, values, topk, temperature, radius)
    return _attend_local(query, keys, values, topk, temperature, radius)


def _check_inputs(features: torch.Tensor, first_labels: torch.Tensor) -> None:
    if not isinstance(features, torch.Tensor) or features.ndim != 4:
        raise ValueError(f"features must be a tensor of shape (T, D, h, w), got {getattr(features, 'shape', type(features))}")
    if len(features) < 1:
        raise ValueError("features hold no frame")
    if not isinstance(first_labels, torch.Tensor) or first_labels.ndim != 3:
        raise ValueError(f"first_labels must be a tensor of shape (C, H, W), got {getattr(first_labels, 'shape', type(first_labels))}")
    fh, fw = features.shape[-2:]
    lh, lw = first_labels.shape[-2:]
    if abs(lh / fh - lw / fw) > 0.25 * max(lh / fh, lw / fw):
        raise ValueError(f"first_labels {lh}x{lw} and features {fh}x{fw} have different aspect ratios; "
                         "resize the labels to the frames the features came from")
    if not torch.isfinite(first_labels).all():
        raise ValueError("first_labels contain NaN or Inf")


@torch.no_grad()
def propagate_labels(
    features: torch.Tensor,
    first_labels: torch.Tensor,
    context: int = 20,
    topk: int = 10,
    radius: Optional[float] = 12.0,
    temperature: float = 0.05,
    normalize: bool = True,
    upsample: bool = True,
    verbose: bool = False,
) -> torch.Tensor:
    """Propagate the first frame's labels through a video.

    Args:
        features: (T, D, h, w) per-frame features (any encoder).
        first_labels: (C, H, W) labels of frame 0 at label resolution: a
            one-hot mask (background + one channel per object) or keypoint
            heatmaps.
        context: frames before t used as context, besides frame 0.
        topk: keys kept per query; radius: in feature cells (None: all).
        temperature: softmax temperature; normalize: cosine similarity.
        upsample: return labels at (H, W) (default) or at the feature grid (h, w).
    Returns:
        (T, C, H, W) soft labels (or (T, C, h, w)); frame 0 is ``first_labels``.
    """
    PropagationConfig(context, topk, radius, temperature, normalize)  # validates the settings
    _check_inputs(features, first_labels)
    feats = F.normalize(features.float(), dim=1) if normalize else features.float()
    grid = feats.shape[-2:]
    labels = [labels_to_grid(first_labels.to(feats.device), grid)]
    for t in tqdm(range(1, len(feats)), desc="propagate", disable=None if verbose else True, leave=False):
        ctx = context_indices(t, context)
        labels.append(attend(feats[t], feats[ctx], torch.stack([labels[i] for i in ctx]), topk, temperature, radius))
    out = torch.stack(labels)
    if not upsample:
        return out
    out = labels_to_image(out, first_labels.shape[-2:])
    out[0] = first_labels.to(out)
    return out


__all__ = ["PropagationConfig", "attend", "context_indices", "labels_to_grid", "labels_to_image", "propagate_labels"]
