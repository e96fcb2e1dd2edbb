"""Samplers shared by the modalities: alias tables, word2vec's unigram and
subsampling distributions, grouped negative sampling and MoCo's memory queue.

Random numbers in the numba kernels come from a counter-based generator
(SplitMix64 of ``seed + counter``), so a draw depends only on the seed and its
position in the stream: results are reproducible and identical whatever the
number of threads.
"""
from __future__ import annotations

import os
from typing import Optional, Union

import numba
import numpy as np
import torch
from numba import njit, prange
from torch import nn

from .checks import as_1d_array, check_ndim, check_positive

# numba's default threading layer on Linux is OpenMP, a second OpenMP runtime beside
# torch's: with both thread pools in one process a training step that calls these
# parallel kernels ran about 20x slower in CPU time on 2 cores, mostly spinning.
# numba's own "workqueue" layer avoids that and changes no result (draws do not
# depend on threads). It is chosen by _use_own_thread_pool just before the first
# parallel kernel of this module runs, never at import, and only if the user has not
# chosen a layer (NUMBA_THREADING_LAYER or numba.config.THREADING_LAYER) and numba
# has not started its threads yet.
_thread_pool_checked = False


def _use_own_thread_pool() -> None:
    """Switch numba to its "workqueue" threading layer unless a layer was chosen or already runs."""
    global _thread_pool_checked
    if _thread_pool_checked:
        return
    if not os.environ.get("NUMBA_THREADING_LAYER") and numba.config.THREADING_LAYER == "default":  # else: the user's choice
        try:
            numba.threading_layer()  # numba already started a layer: a new setting would not apply
        except ValueError:  # not started yet
            numba.config.THREADING_LAYER = "workqueue"
    _thread_pool_checked = True


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MASK32 = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)

ArrayLike = Union[np.ndarray, torch.Tensor, list]


@njit(inline="always", nogil=True, cache=True)
def splitmix64(x):
    """SplitMix64 finaliser of a uint64: a well-mixed 64-bit random value."""
    z = x + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(inline="always", nogil=True, cache=True)
def uniform_below(r, n):
    """Map the high 32 bits of the uint64 ``r`` to an integer in [0, n) (n < 2**32)."""
    return np.int64(((r >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32))


@njit(inline="always", nogil=True, cache=True)
def alias_draw(table, r):
    """One draw from a packed alias table given the random uint64 ``r``.

    ``table[i]`` packs the acceptance threshold of column i (high 32 bits)
    and its alias (low 32 bits); see :class:`AliasSampler`.
    """
    col = uniform_below(r, table.shape[0])
    entry = table[col]
    if (r & np.uint64(0xFFFFFFFF)) < (entry >> np.uint64(32)):
        return col
    return np.int64(entry & np.uint64(0xFFFFFFFF))


@njit(nogil=True, cache=True)
def _build_alias_table(weights):
    n = weights.shape[0]
    scaled = weights * (n / weights.sum())
    small = np.empty(n, np.int64)
    large = np.empty(n, np.int64)
    n_small = 0
    n_large = 0
    for i in range(n):
        if scaled[i] < 1.0:
            small[n_small] = i
            n_small += 1
        else:
            large[n_large] = i
            n_large += 1
    table = np.empty(n, np.uint64)
    full = np.uint64(0xFFFFFFFF)
    while n_small > 0 and n_large > 0:
        n_small -= 1
        s = small[n_small]
        n_large -= 1
        big = large[n_large]
        threshold = min(np.uint64(scaled[s] * 4294967296.0), full)
        table[s] = (threshold << np.uint64(32)) | np.uint64(big)
        scaled[big] = (scaled[big] + scaled[s]) - 1.0
        if scaled[big] < 1.0:
            small[n_small] = big
            n_small += 1
        else:
            large[n_large] = big
            n_large += 1
    # Leftovers have probability 1 up to rounding: accept always, alias to self.
    for k in range(n_large):
        i = large[k]
        table[i] = (full << np.uint64(32)) | np.uint64(i)
    for k in range(n_small):
        i = small[k]
        table[i] = (full << np.uint64(32)) | np.uint64(i)
    return table


@njit(parallel=True, nogil=True, cache=True)
def _alias_draw_many(table, key, start, out):
    for i in prange(out.shape[0]):
        r = splitmix64(key + np.uint64(start + i) * np.uint64(0x9E3779B97F4A7C15))
        out[i] = alias_draw(table, r)


def _prefaulted_empty(n: int) -> np.ndarray:
    """np.empty whose pages are touched once by this thread.

    Fresh pages faulted concurrently by several numba threads contend on the
    kernel's memory map lock and cost several times more than touching one
    word per page here first.
    """
    out = np.empty(n, np.int64)
    out[::512] = 0
    return out


def _whole_number(name: str, value) -> int:
    """``value`` as an int when it is a whole number (int, numpy integer, or an integral float); else ValueError."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, (int, np.integer)):
        return int(value)
    raise ValueError(f"{name} must be an integer, got {value!r}")


def _seed_key(seed: Optional[int]) -> np.uint64:
    if seed is not None:
        seed = _whole_number("seed", seed)
    if seed is None:
        seed = int(torch.randint(0, 2**62, (1,)).item())
    return np.uint64(int(seed) % 2**64)


class AliasSampler:
    """O(1) sampling from a fixed discrete distribution (Walker/Vose alias method).

    Args:
        weights: (V,) non-negative, not all zero; need not sum to 1.
        seed: seeds the stream of draws; ``None`` draws a seed from torch's
            global generator (so ``torch.manual_seed`` makes it reproducible).

    ``draw(n)`` returns (n,) int64 indices, drawn in parallel numba threads;
    the same seed gives the same draws whatever the thread count. The packed
    table (``sampler.table``, (V,) uint64) can be passed to numba kernels that
    call :func:`alias_draw` themselves.
    """

    def __init__(self, weights: ArrayLike, seed: Optional[int] = None):
        w = as_1d_array("weights", weights, np.float64)
        if len(w) == 0:
            raise ValueError("weights must not be empty")
        if len(w) >= 2**32:
            raise ValueError(f"weights has {len(w)} entries; at most 2**32 - 1 are supported")
        if not np.all(np.isfinite(w)):
            raise ValueError(f"weights contains NaN or Inf at index {int(np.argmin(np.isfinite(w)))}")
        if np.any(w < 0):
            raise ValueError(f"weights must be non-negative; weights[{int(np.argmin(w))}] = {w.min()}")
        if not w.sum() > 0:
            raise ValueError(f"weights must not be all zero (got {len(w)} zeros)")
        self.num_outcomes = len(w)
        self.probabilities = w / w.sum()
        self.table = _build_alias_table(w.copy())
        self._key = _seed_key(seed)
        self._counter = 0

    def draw(self, n: int, out: Optional[np.ndarray] = None) -> np.ndarray:
        """Draw ``n`` indices: an int64 array of shape (n,) (written into ``out`` if given)."""
        n = _whole_number("n", n)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if out is None:
            out = _prefaulted_empty(int(n))
        elif out.shape != (n,) or out.dtype != np.int64:
            raise ValueError(f"out must be an int64 array of shape ({n},), got {out.dtype} {out.shape}")
        _use_own_thread_pool()
        _alias_draw_many(self.table, self._key, np.uint64(self._counter), out)
        self._counter += int(n)
        return out

    def __len__(self) -> int:
        return self.num_outcomes

    def __repr__(self) -> str:
        return f"AliasSampler(num_outcomes={self.num_outcomes})"


def unigram_weights(counts: ArrayLike, power: float = 0.75) -> np.ndarray:
    """word2vec's noise distribution: ``counts ** power`` (float64, unnormalised).

    Args:
        counts: (V,) non-negative word counts.
        power: 0.75 in word2vec; 1 is the unigram, 0 the uniform distribution.
    """
    c = as_1d_array("counts", counts, np.float64)
    if np.any(c < 0):
        raise ValueError(f"counts must be non-negative; counts[{int(np.argmin(c))}] = {c.min()}")
    return c**power


def subsample_keep_prob(counts: ArrayLike, sample: float = 1e-3) -> np.ndarray:
    """Probability of keeping each occurrence of a word (word2vec.c's formula).

    ``keep = (sqrt(f / (sample·N)) + 1) · (sample·N) / f``, clipped to 1,
    where ``f`` is the word's count and ``N`` the total count. ``sample <= 0``
    keeps everything.

    Returns:
        (V,) float64 in (0, 1].
    """
    c = as_1d_array("counts", counts, np.float64)
    if np.any(c <= 0):
        raise ValueError(f"counts must be positive; counts[{int(np.argmin(c))}] = {c.min()}")
    if sample <= 0:
        return np.ones_like(c)
    threshold = sample * c.sum()
    return np.minimum((np.sqrt(c / threshold) + 1.0) * threshold / c, 1.0)


@njit(parallel=True, nogil=True, cache=True)
def _grouped_negatives(order, starts, sizes, group_of, rank_in_group, positives, k, key, out):
    for m in prange(positives.shape[0]):
        p = positives[m]
        g = group_of[p]
        size = sizes[g]
        own = rank_in_group[p]
        for j in range(k):
            r = splitmix64(key + np.uint64(m * k + j) * np.uint64(0x9E3779B97F4A7C15))
            pick = uniform_below(r, size - 1)
            if pick >= own:
                pick += 1
            out[m, j] = order[starts[g] + pick]


def sample_negative_indices(
    groups: ArrayLike,
    positives: ArrayLike,
    num_negatives: int,
    seed: Optional[int] = None,
) -> Union[np.ndarray, torch.Tensor]:
    """Draw negatives uniformly from the positive's group, never the positive itself.

    Items 0..N-1 each belong to a group (``groups[i]``). For every positive
    index, ``num_negatives`` items are drawn with replacement from the other
    members of its group. Choose the groups to get the usual schemes:

    - same sequence (CPC "within sequence"): ``groups = sequence id`` of each frame;
    - same batch: ``groups = zeros(N)``;
    - same speaker / class: ``groups = speaker id`` of each item.

    Args:
        groups: (N,) integer group id of every candidate item.
        positives: (M,) indices into the N items.
        num_negatives: K.
        seed: seed of the draws; ``None`` draws one from torch's global RNG.
    Returns:
        (M, K) int64 indices into the N items, as a torch tensor on the device
        of ``positives`` if that is a tensor, else a numpy array.
    """
    as_tensor = isinstance(positives, torch.Tensor)
    device = positives.device if as_tensor else None
    g = as_1d_array("groups", groups)
    pos = as_1d_array("positives", positives).astype(np.int64)
    check_positive("num_negatives", num_negatives)
    if not np.issubdtype(g.dtype, np.integer):
        raise ValueError(f"groups must hold integers, got dtype {g.dtype}")
    if len(pos) and (pos.min() < 0 or pos.max() >= len(g)):
        bad = int(np.flatnonzero((pos < 0) | (pos >= len(g)))[0])
        raise ValueError(f"positives[{bad}] = {pos[bad]} is out of range for {len(g)} items")
    _, group_of, sizes = np.unique(g, return_inverse=True, return_counts=True)
    lonely = sizes[group_of[pos]] < 2
    if lonely.any():
        bad = int(np.flatnonzero(lonely)[0])
        raise ValueError(
            f"positives[{bad}] = {pos[bad]} is alone in its group {g[pos[bad]]}: no negative can be drawn"
        )
    order = np.argsort(group_of, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    rank_in_group = np.empty(len(g), np.int64)
    rank_in_group[order] = np.arange(len(g)) - starts[group_of[order]]
    out = np.empty((len(pos), int(num_negatives)), np.int64)
    _use_own_thread_pool()
    _grouped_negatives(order, starts, sizes.astype(np.int64), group_of.astype(np.int64), rank_in_group, pos, int(num_negatives), _seed_key(seed), out)
    return torch.from_numpy(out).to(device) if as_tensor else out


class MemoryQueue(nn.Module):
    """MoCo's first-in-first-out queue of keys.

    Args:
        size: number of keys held (K, e.g. 65536; 4096 on CIFAR).
        dim: key dimension D.
        init: ``"random"`` fills the queue with random unit vectors (as MoCo
            does, so it is usable from the first step); ``"empty"`` starts
            empty and ``keys`` returns only what has been enqueued.
    The keys are a buffer, so they are saved in ``state_dict`` and checkpoints.
    Shapes: ``enqueue(keys (B, D))``; ``keys`` -> (filled, D).
    """

    def __init__(self, size: int, dim: int, init: str = "random"):
        super().__init__()
        check_positive("size", size)
        check_positive("dim", dim)
        if init not in ("random", "empty"):
            raise ValueError(f"init must be 'random' or 'empty', got {init!r}")
        start = nn.functional.normalize(torch.randn(size, dim), dim=1) if init == "random" else torch.zeros(size, dim)
        self.register_buffer("queue", start)
        self.register_buffer("pointer", torch.zeros((), dtype=torch.long))
        self.register_buffer("filled", torch.tensor(size if init == "random" else 0, dtype=torch.long))

    @property
    def size(self) -> int:
        return self.queue.shape[0]

    @property
    def keys(self) -> torch.Tensor:
        """(filled, D) the keys currently held (a view; do not modify)."""
        return self.queue[: int(self.filled)]

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor) -> None:
        """Replace the oldest ``len(keys)`` entries with ``keys`` (B, D), detached."""
        check_ndim("keys", keys, 2, "(B, D)")
        if keys.shape[1] != self.queue.shape[1]:
            raise ValueError(f"keys must have dimension {self.queue.shape[1]}, got {tuple(keys.shape)}")
        if len(keys) > self.size:
            raise ValueError(f"cannot enqueue {len(keys)} keys into a queue of size {self.size}")
        keys = keys.detach().to(self.queue.dtype)
        ptr, n = int(self.pointer), len(keys)
        first = min(n, self.size - ptr)
        self.queue[ptr : ptr + first] = keys[:first]
        self.queue[: n - first] = keys[first:]
        self.pointer.fill_((ptr + n) % self.size)
        self.filled.fill_(min(self.size, int(self.filled) + n))

    def extra_repr(self) -> str:
        return f"size={self.size}, dim={self.queue.shape[1]}"


__all__ = [
    "AliasSampler",
    "MemoryQueue",
    "alias_draw",
    "sample_negative_indices",
    "splitmix64",
    "subsample_keep_prob",
    "uniform_below",
    "unigram_weights",
]
