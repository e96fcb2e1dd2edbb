"""Multinomial logistic regression on frozen features too large for full-batch L-BFGS.

The linear probe minimises the mean cross-entropy of ``standardise(x) @ W + b`` plus
``weight_decay * ||W||²``. On small sets :func:`multissl.evaluation.linear_probe` does it with
full-batch L-BFGS, which holds standardised copies of the features and (N, C) logits.
Above :data:`FULL_BATCH_MEMORY` of such copies (:func:`full_batch_bytes`) the same objective
is minimised here with minibatches, without copying the features:

- the per-dimension mean and standard deviation come from one pass over the training rows
  (float64 sums over blocks of :func:`block_rows` rows, 32 MiB as float64), and each minibatch
  is standardised as it is gathered;
- the recipe is fixed: Adam, learning rate :data:`LEARNING_RATE` decayed to 0 with a cosine
  over the run, batches of :data:`BATCH_SIZE` rows (fewer on small sets: at least 10 steps an
  epoch), a seeded shuffle each epoch, and :func:`epochs_for` epochs (about
  :data:`TARGET_STEPS` steps, between :data:`MIN_EPOCHS` and :data:`MAX_EPOCHS`);
- ``weight_decay="auto"`` fits every value of :data:`WEIGHT_DECAY_GRID` (L-BFGS's grid) on four
  fifths of the training rows for a quarter of the epochs (at least :data:`MIN_EPOCHS_SELECT`)
  and keeps the best on the held-out fifth, then refits on all the rows.

The memory beyond the features is the weights (D, C), their gradient and Adam's two copies,
the per-epoch permutation (N,) int64, one batch and one block: about 150 MB at N = 1.28M,
D = 2048, C = 1000. The accuracies are counted block by block (no (N, C) logits), and the
test log-probabilities (N_test, C) are made only when asked for.
"""
from __future__ import annotations

import math
from contextlib import contextmanager, nullcontext
from typing import Iterator, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from ..schedules import cosine_factor
from ..threads import one_torch_thread

FULL_BATCH_MEMORY = 2**30  # bytes of copies full-batch L-BFGS may make beyond the features
LEARNING_RATE = 1e-2
BATCH_SIZE = 1024
TARGET_STEPS = 2000
MIN_EPOCHS, MAX_EPOCHS, MIN_EPOCHS_SELECT = 10, 200, 3
BLOCK_BYTES = 32 * 2**20  # float64 bytes of one block of rows (moments, predictions)
ONE_THREAD_BELOW = 2**21  # multiply-adds of a step below which one thread is faster than waking the others
WEIGHT_DECAY_GRID = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)  # penalties weight_decay="auto" chooses from (both solvers)


def full_batch_bytes(n_train: int, n_test: int, dim: int, classes: int, select: bool) -> int:
    """Bytes full-batch L-BFGS needs beyond the features: standardised copies of the rows it fits and scores
    (with ``select``, the held-out split copies the training rows and standardises the copy: twice the training
    rows), four (N, C) arrays of logits and their gradients, and its 20-step history of (D, C) pairs."""
    rows = max(2 * n_train, n_train + n_test) if select else n_train + n_test
    return 4 * (rows * dim + 4 * n_train * classes + 42 * dim * classes)


def batch_size_for(n: int) -> int:
    """:data:`BATCH_SIZE`, or fewer rows for small sets so that an epoch has at least 10 steps (at least 32)."""
    return max(1, min(BATCH_SIZE, max(32, math.ceil(n / 10)), n))


def epochs_for(n: int) -> int:
    """Epochs of the minibatch recipe on ``n`` rows: enough for about :data:`TARGET_STEPS` steps, clamped to
    [:data:`MIN_EPOCHS`, :data:`MAX_EPOCHS`] (200,000 rows: 11 epochs; 1.28M rows: 10)."""
    steps_per_epoch = math.ceil(n / batch_size_for(n))
    return min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(TARGET_STEPS / steps_per_epoch)))


def _rows(x: torch.Tensor, rows: Optional[torch.Tensor]) -> int:
    return len(x) if rows is None else len(rows)


def block_rows(dim: int) -> int:
    """Rows of ``dim`` values in a block of :data:`BLOCK_BYTES` as float64 (8,192 at D = 512)."""
    return max(1, BLOCK_BYTES // (8 * dim))


def _blocks(x: torch.Tensor, rows: Optional[torch.Tensor]):
    """Blocks of :func:`block_rows` rows of ``x`` (the rows ``rows`` when given)."""
    n, size = _rows(x, rows), block_rows(x.shape[1])
    for start in range(0, n, size):
        yield x[start:start + size] if rows is None else x[rows[start:start + size]]


def moments(x: torch.Tensor, rows: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per-dimension mean (D,) and standard deviation (D,) (Bessel-corrected, at least 1e-6) of the rows ``rows``
    of ``x`` (N, D) (all rows by default), from float64 sums over blocks of :func:`block_rows` rows."""
    total = torch.zeros(x.shape[1], dtype=torch.float64)
    for block in _blocks(x, rows):
        total += block.sum(0, dtype=torch.float64)
    n = _rows(x, rows)
    mean = total / n
    squares = torch.zeros_like(total)
    for block in _blocks(x, rows):
        centred = block.double()
        centred -= mean
        squares += centred.square_().sum(0)
    std = (squares / max(1, n - 1)).sqrt().clamp_min(1e-6)
    return mean.float(), std.float()


class Standardized:
    """Rows of ``x`` (N, D), standardised as they are read with ``mean``/``std`` (D,), on ``device``."""

    def __init__(self, x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, device: torch.device):
        self.x, self.device = x, device
        self.mean, self.std = mean.to(device), std.to(device)

    def rows(self, index: torch.Tensor) -> torch.Tensor:
        return (self.x[index].to(self.device, non_blocking=True) - self.mean) / self.std

    def logit_blocks(self, weight: torch.Tensor, bias: torch.Tensor, rows: Optional[torch.Tensor] = None):
        """(index (B,), logits (B, C)) for blocks of :func:`block_rows` of the rows ``rows`` (all by default)."""
        n, size = _rows(self.x, rows), block_rows(self.x.shape[1])
        for start in range(0, n, size):
            index = torch.arange(start, min(n, start + size)) if rows is None else rows[start:start + size]
            yield index, self.rows(index) @ weight + bias


@contextmanager
def threads_for(step_macs: int) -> Iterator[None]:
    """One torch thread while steps are smaller than :data:`ONE_THREAD_BELOW` multiply-adds (waking other threads
    for each tiny operation costs more than the operation, up to 20x on a busy machine); the caller's count after."""
    with nullcontext() if step_macs >= ONE_THREAD_BELOW else one_torch_thread():
        yield


def fit_minibatch(data: Standardized, labels: torch.Tensor, rows: torch.Tensor, classes: int, weight_decay: float,
                  epochs: int, seed: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Weights (D, C) and bias (C,) minimising mean cross-entropy + ``weight_decay * ||W||²`` over the rows
    ``rows`` (K,) of ``data``, with the recipe of this module (Adam, cosine decay, seeded shuffles)."""
    g = torch.Generator().manual_seed(seed)
    dim, device = data.x.shape[1], data.device
    weight = (torch.randn(dim, classes, generator=g) * 0.01).to(device).requires_grad_()
    bias = torch.zeros(classes, device=device, requires_grad=True)
    batch = batch_size_for(len(rows))
    steps = epochs * math.ceil(len(rows) / batch)
    opt = torch.optim.Adam([weight, bias], lr=LEARNING_RATE)
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: cosine_factor(step / steps))
    y = labels.to(device)
    with threads_for(batch * dim * classes if device.type == "cpu" else ONE_THREAD_BELOW):
        for _ in range(epochs):
            for index in rows[torch.randperm(len(rows), generator=g)].split(batch):
                loss = F.cross_entropy(data.rows(index) @ weight + bias, y[index]) + weight_decay * weight.pow(2).sum()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                schedule.step()
    return weight.detach(), bias.detach()


@torch.no_grad()
def accuracy_of(data: Standardized, labels: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                rows: Optional[torch.Tensor] = None) -> float:
    """Share of the rows ``rows`` (all by default) whose largest logit is their label, block by block."""
    labels = labels.to(data.device)
    correct = sum(int((logits.argmax(1) == labels[index]).sum()) for index, logits in data.logit_blocks(weight, bias, rows))
    return correct / _rows(data.x, rows)


@torch.no_grad()
def log_probs(data: Standardized, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """(N, C) class log-probabilities of every row, on the CPU."""
    out = torch.empty(len(data.x), weight.shape[1])
    for index, logits in data.logit_blocks(weight, bias):
        out[index] = F.log_softmax(logits, 1).cpu()
    return out


def select_weight_decay(x: torch.Tensor, labels: torch.Tensor, classes: int, epochs: int, seed: int, device: torch.device,
                        grid: Optional[Sequence[float]] = None) -> float:
    """The value of ``grid`` (default :data:`WEIGHT_DECAY_GRID`) with the best accuracy on a seeded held-out fifth
    of the rows of ``x`` (N, D), each fitted on the other four fifths (standardised with their own moments) for a
    quarter of ``epochs`` (at least :data:`MIN_EPOCHS_SELECT`); ties go to the smaller penalty."""
    grid = WEIGHT_DECAY_GRID if grid is None else tuple(grid)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    n_val = max(1, len(x) // 5)
    val, fit = order[:n_val], order[n_val:]
    mean, std = moments(x, fit)
    fit_data = Standardized(x, mean, std, device)
    short = max(MIN_EPOCHS_SELECT, epochs // 4)
    scores = [accuracy_of(fit_data, labels, *fit_minibatch(fit_data, labels, fit, classes, wd, short, seed), rows=val)
              for wd in grid]
    return grid[max(range(len(grid)), key=scores.__getitem__)]


__all__ = ["BATCH_SIZE", "FULL_BATCH_MEMORY", "LEARNING_RATE", "MAX_EPOCHS", "ONE_THREAD_BELOW", "MIN_EPOCHS", "MIN_EPOCHS_SELECT",
           "BLOCK_BYTES", "Standardized", "TARGET_STEPS", "WEIGHT_DECAY_GRID", "accuracy_of", "batch_size_for", "block_rows", "epochs_for",
           "fit_minibatch", "full_batch_bytes", "log_probs", "moments", "select_weight_decay", "threads_for"]
