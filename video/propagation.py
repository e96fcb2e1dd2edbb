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

Each frame's keys and soft labels are gathered once, when the frame enters
the context (a ring buffer of frames), and each query frame costs one
batched matmul per chunk of query tiles against the cells within ``radius``
of the tile, a gather of each query's own disk and one top-k; the results
are those of scoring every (query, key) pair of the context frame by frame.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Optional, Tuple, Union

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


# ----------------------------------------------------------------------------- attention over a context
# The context's keys and values are written once per frame into the slots of a ring buffer (slot 0:
# frame 0, never evicted; frame s >= 1: slot 1 + (s - 1) % context), so the context of frame t is
# always slots 0 .. m - 1 with m = 1 + min(t - 1, context) and no frame is re-arranged twice.
# Within the affinities, keys are ordered by slot, not by time: only the order of exactly tied
# keys inside torch.topk can depend on it.

_CHUNK_BYTES = 32 * 2**20  # affinity workspace per chunk of queries (reused from frame to frame)
_WINDOW_CACHE_BYTES = 2**30  # above this, the local context gathers its windows anew for every frame


def _topk_copy(top: torch.Tensor, rows: torch.Tensor, values: torch.Tensor, temperature: float) -> torch.Tensor:
    """Scores top (..., k) of the value rows ``rows`` (..., k) of values (N, C) -> (..., C) softmax-weighted labels."""
    weights = torch.softmax(top / temperature, dim=-1)
    return torch.einsum("...k,...kc->...c", weights, values[rows])


class _DenseContext:
    """Every query against every key of every context frame (small grids, or no radius).

    Keys (slots * h * w, D) and values (slots * h * w, C) are kept channels-last; with a
    ``radius``, keys farther than ``radius`` cells from the query are masked out.
    """

    def __init__(self, size: Tuple[int, int], dim: int, channels: int, slots: int, radius: Optional[float], device):
        h, w = size
        self.size, self.cells = (h, w), h * w
        self.keys = torch.empty(slots * h * w, dim, device=device)
        self.values = torch.empty(slots * h * w, channels, device=device)
        self.far = None
        if radius is not None:
            pos = torch.stack(torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij"), -1).reshape(-1, 2).float()
            self.far = (torch.cdist(pos, pos) > radius).to(device)  # (hw, hw)
        self.chunk = max(1, _CHUNK_BYTES // (4 * slots * h * w))
        self.workspace = torch.empty(min(self.chunk, h * w) * slots * h * w, device=device)

    def put(self, slot: int, keys: torch.Tensor, values: torch.Tensor) -> None:
        """Keys (D, h, w) and values (C, h, w) of one frame into ``slot``."""
        n = self.cells
        self.keys[slot * n : (slot + 1) * n] = keys.flatten(1).T
        self.values[slot * n : (slot + 1) * n] = values.flatten(1).T

    def query(self, query: torch.Tensor, used: int, topk: int, temperature: float) -> torch.Tensor:
        """Labels (C, h, w) of ``query`` (D, h, w) from slots 0 .. used - 1."""
        n = self.cells
        q = query.flatten(1).T.contiguous()  # (hw, D)
        keys, values = self.keys[: used * n], self.values[: used * n]
        k = min(topk, used * n)
        out = []
        for i in range(0, n, self.chunk):
            rows = min(self.chunk, n - i)
            affinity = torch.mm(q[i : i + rows], keys.T, out=self.workspace[: rows * used * n].view(rows, used * n))
            if self.far is not None:
                affinity.view(rows, used, n).masked_fill_(self.far[i : i + rows, None], float("-inf"))
            top, idx = affinity.topk(k, dim=-1)  # (rows, k)
            out.append(_topk_copy(top, idx, values, temperature))
        return torch.cat(out).T.reshape(-1, *self.size)


def _union_window(tile: int, reach: int, radius: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """Cells of the (tile + 2 reach)² window around a tile that lie within ``radius`` of some cell of the tile.

    Returns (S,) flat window positions (row-major) and (tile², S) bool: cell within ``radius`` of
    each query cell of the tile (row-major). Every query sees its whole disk inside the window.
    """
    win = tile + 2 * reach
    qy, qx = torch.meshgrid(torch.arange(tile) + reach, torch.arange(tile) + reach, indexing="ij")
    ky, kx = torch.meshgrid(torch.arange(win), torch.arange(win), indexing="ij")
    d2 = (ky.reshape(1, -1) - qy.reshape(-1, 1)) ** 2 + (kx.reshape(1, -1) - qx.reshape(-1, 1)) ** 2
    allowed = d2 <= radius**2  # (tile², win²)
    cells = allowed.any(0).nonzero()[:, 0]
    return cells, allowed[:, cells]


class _LocalContext:
    """Each query sees only the keys within ``radius`` cells of its position (large grids).

    The query grid is cut into ``tile`` x ``tile`` tiles (L of them, M = tile² queries each). For
    every tile, the S cells within ``radius`` of some cell of the tile (a square window with its
    corners cut off) are gathered once per frame when the frame enters the context:
    keys (L, slots * S, D) and values (L, slots * S, C). A frame's query is then one batched
    matmul per chunk of tiles, (M, D) x (D, m * S), reusing a preallocated workspace; each query's
    own disk (the same N cells for every query) is picked from its affinities with one gather,
    cells outside the frame are masked, and topk runs on (m * N) scores per query.

    The windows hold every cell S / tile² times (20 for tile 6, 13 for tile 8 at radius 12);
    with ``cache=False`` only the padded frames (slots, padded cells, D) are kept and each
    chunk's windows are gathered for every query frame instead (slower, far less memory).
    """

    def __init__(self, size: Tuple[int, int], dim: int, channels: int, slots: int, radius: float, device, tile: int = 8,
                 cache: bool = True):
        h, w = size
        reach = int(math.floor(radius))
        rows, cols = math.ceil(h / tile), math.ceil(w / tile)
        self.size, self.tile, self.grid = (h, w), tile, (rows, cols)
        self.pad = (reach, reach + cols * tile - w, reach, reach + rows * tile - h)
        width = cols * tile + 2 * reach  # of the padded frame
        win = tile + 2 * reach
        cells, allowed = _union_window(tile, reach, radius)
        self.S, self.M, self.L = len(cells), tile * tile, rows * cols
        counts = allowed.sum(1)
        self.N = int(counts[0])
        assert bool((counts == self.N).all())
        self.disk = allowed.nonzero()[:, 1].view(self.M, self.N).to(device)  # (M, N) positions among the S cells
        top = torch.arange(rows).view(-1, 1, 1) * tile + torch.div(cells, win, rounding_mode="floor")
        left = torch.arange(cols).view(1, -1, 1) * tile + cells % win
        self.index = (top * width + left).reshape(-1).to(device)  # (L * S,) into the padded frame, flattened
        inside = F.pad(torch.ones(h, w, dtype=torch.bool), self.pad).reshape(-1)[self.index.cpu()].view(self.L, self.S)
        outside = ~inside.gather(1, self.disk.cpu().reshape(1, -1).expand(self.L, -1)).view(self.L, self.M, self.N)
        # per tile: (query, disk cell) pairs beyond the frame (None: the tile's disks stay inside)
        self.outside = [tuple(i.to(device) for i in o.nonzero(as_tuple=True)) if o.any() else None for o in outside]
        self.cache, self.cells = cache, (rows * tile + 2 * reach) * width
        self.values = torch.empty(self.L, slots * self.S, channels, device=device)
        self.chunk = max(1, _CHUNK_BYTES // (4 * self.M * slots * self.S))
        chunk = min(self.chunk, self.L)
        if cache:
            self.keys = torch.empty(self.L, slots * self.S, dim, device=device)
        else:
            self.frames = torch.empty(slots * self.cells, dim, device=device)  # padded frames, channels last
            self.keys = torch.empty(chunk * slots * self.S * dim, device=device)  # one chunk's windows
        self.workspace = torch.empty(chunk * self.M * slots * self.S, device=device)
        self.near = torch.empty(chunk * self.M * slots * self.N, device=device)

    @staticmethod
    def bytes(size: Tuple[int, int], dim: int, slots: int, radius: float, tile: int = 8) -> int:
        """Memory of the cached key windows (L, slots * S, D) in bytes."""
        tiles = math.ceil(size[0] / tile) * math.ceil(size[1] / tile)
        return 4 * tiles * slots * dim * len(_union_window(tile, int(math.floor(radius)), radius)[0])

    def _windows(self, x: torch.Tensor) -> torch.Tensor:
        """(X, h, w) -> (L, S, X): each tile's window cells, channels last."""
        flat = F.pad(x, self.pad).flatten(1).T.contiguous()  # (padded cells, X)
        return flat.index_select(0, self.index).view(self.L, self.S, -1)

    def put(self, slot: int, keys: torch.Tensor, values: torch.Tensor) -> None:
        """Keys (D, h, w) and values (C, h, w) of one frame into ``slot``."""
        part = slice(slot * self.S, (slot + 1) * self.S)
        if self.cache:
            self.keys[:, part] = self._windows(keys)
        else:
            self.frames[slot * self.cells : (slot + 1) * self.cells] = F.pad(keys, self.pad).flatten(1).T
        self.values[:, part] = self._windows(values)

    def _keys(self, start: int, stop: int, used: int) -> torch.Tensor:
        """(stop - start, used * S, D): the windows of tiles start..stop-1 in slots 0..used-1."""
        if self.cache:
            return self.keys[start:stop, : used * self.S]
        slots = self.cells * torch.arange(used, device=self.index.device).view(1, -1, 1)
        index = self.index.view(self.L, 1, self.S)[start:stop] + slots  # (tiles, used, S) into the padded frames
        dim = self.frames.shape[1]
        out = self.keys[: index.numel() * dim].view(-1, dim)
        return torch.index_select(self.frames, 0, index.reshape(-1), out=out).view(stop - start, used * self.S, dim)

    def query(self, query: torch.Tensor, used: int, topk: int, temperature: float) -> torch.Tensor:
        """Labels (C, h, w) of ``query`` (D, h, w) from slots 0 .. used - 1."""
        (h, w), t, (rows, cols) = self.size, self.tile, self.grid
        M, S, N = self.M, self.S, self.N
        q = F.pad(query, (0, cols * t - w, 0, rows * t - h))
        q = rearrange(q, "d (r a) (c b) -> (r c) (a b) d", a=t, b=t).contiguous()  # (L, M, D)
        k = min(topk, used * N)
        out = torch.empty(self.L, M, self.values.shape[-1], device=query.device)
        for s in range(0, self.L, self.chunk):
            e = min(self.L, s + self.chunk)
            n = e - s
            affinity = self.workspace[: n * M * used * S].view(n, M, used * S)
            torch.bmm(q[s:e], self._keys(s, e, used).transpose(1, 2), out=affinity)  # (n, M, m S)
            near = self.near[: n * M * used * N].view(n, M, used, N)
            torch.gather(affinity.view(n, M, used, S), 3, self.disk.view(1, M, 1, N).expand(n, M, used, N), out=near)
            for i, cells in enumerate(self.outside[s:e]):
                if cells is not None:
                    near[i][cells[0], :, cells[1]] = float("-inf")
            top, idx = near.view(n, M, used * N).topk(k, dim=-1)  # (n, M, k) over the m N disk cells
            slot = torch.div(idx, N, rounding_mode="floor")
            cell = self.disk.expand(n, M, N).gather(2, idx - slot * N)  # position among the window's S cells
            rows_ = (slot * S + cell) + (torch.arange(n, device=idx.device) * self.values.shape[1]).view(n, 1, 1)
            out[s:e] = _topk_copy(top, rows_, self.values[s:e].reshape(-1, self.values.shape[-1]), temperature)
        return rearrange(out, "(r c) (a b) ch -> ch (r a) (c b)", r=rows, a=t)[:, :h, :w]


_TILES = (6, 8)  # tile sizes tried by _context (6: fewer wasted scores at radius 12, 8: fewer copies of each cell)


def _context(size: Tuple[int, int], dim: int, channels: int, slots: int, radius: Optional[float], device):
    """The cheaper attention for this grid: dense (no radius, radius covering the frame, or small
    grids) or tiled local windows, with the tile size that scores the fewest keys per context
    frame (L M S for local windows against (h w)² for dense)."""
    h, w = size
    if radius is None or radius**2 >= (h - 1) ** 2 + (w - 1) ** 2:
        return _DenseContext(size, dim, channels, slots, None, device)
    reach = int(math.floor(radius))
    scores = {t: math.ceil(h / t) * math.ceil(w / t) * t * t * len(_union_window(t, reach, radius)[0]) for t in _TILES}
    tile = min(scores, key=lambda t: (scores[t], -t))
    local_scores = scores[tile]
    if local_scores >= (h * w) ** 2:
        return _DenseContext(size, dim, channels, slots, radius, device)
    cache = _LocalContext.bytes(size, dim, slots, radius, tile) <= _WINDOW_CACHE_BYTES
    return _LocalContext(size, dim, channels, slots, radius, device, tile, cache)


def attend(query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, topk: int = 10, temperature: float = 0.05,
           radius: Optional[float] = None) -> torch.Tensor:
    """One propagation step: labels (C, h, w) of ``query`` (D, h, w) from ``keys`` (n, D, h, w) and ``values`` (n, C, h, w).

    Each query cell keeps the ``topk`` keys (of all n frames) most similar to it within ``radius``
    cells of its position (None: anywhere) and averages their values with softmax(similarity /
    ``temperature``) weights. :func:`propagate_labels` runs the same computation, keeping the
    context's keys from frame to frame instead of rebuilding them.
    """
    n = len(keys)
    ctx = _context(tuple(query.shape[1:]), query.shape[0], values.shape[1], n, radius, query.device)
    for i in range(n):
        ctx.put(i, keys[i].float(), values[i].float())
    return ctx.query(query.float(), n, topk, temperature)


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


def progress_disable(progress: Optional[bool], verbose: bool = True) -> Optional[bool]:
    """tqdm's ``disable`` for a progress setting: True: a bar; False: none; None: a bar when
    ``verbose`` and stderr is a terminal."""
    if progress is None:
        return None if verbose else True
    return not progress


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
    progress: Union[None, bool, tqdm] = None,
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
        progress: a progress bar over the frames (unit "frame", with frames/s and
            ETA) on stderr: True always, False never, None (default) when
            ``verbose`` and stderr is a terminal; or an open tqdm bar to advance
            by one per propagated frame.
    Returns:
        (T, C, H, W) soft labels (or (T, C, h, w)); frame 0 is ``first_labels``.

    Each frame's keys and labels are gathered once, when the frame enters the
    context (a ring buffer of ``1 + min(context, T - 2)`` frames); on grids
    larger than the window around a query the affinities are computed tile by
    tile against each tile's window only (see :class:`_LocalContext`).
    """
    PropagationConfig(context, topk, radius, temperature, normalize)  # validates the settings
    _check_inputs(features, first_labels)
    feats = F.normalize(features.float(), dim=1) if normalize else features.float()
    feats = feats.contiguous()
    frames, dim, h, w = feats.shape
    first = labels_to_grid(first_labels.to(feats.device), (h, w)).contiguous()  # (C, h, w)
    out = torch.empty(frames, *first.shape, device=feats.device)
    out[0] = first
    if frames > 1:
        slots = 1 + min(context, frames - 2)  # the last frame never serves as context
        ctx = _context((h, w), dim, len(first), slots, radius, feats.device)
        ctx.put(0, feats[0], first)
        bar = progress if isinstance(progress, tqdm) else None
        steps = range(1, frames)
        if bar is None:
            steps = tqdm(steps, desc="propagate", unit="frame", leave=False, disable=progress_disable(progress, verbose))
        for t in steps:
            out[t] = ctx.query(feats[t], 1 + min(t - 1, context), topk, temperature)
            if context > 0 and t < frames - 1:
                ctx.put(1 + (t - 1) % context, feats[t], out[t])
            if bar is not None:
                bar.update(1)
    if not upsample:
        return out
    out = labels_to_image(out, first_labels.shape[-2:])
    out[0] = first_labels.to(out)
    return out


__all__ = ["PropagationConfig", "attend", "context_indices", "labels_to_grid", "labels_to_image", "progress_disable",
           "propagate_labels"]
