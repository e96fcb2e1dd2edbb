"""Weighted cosine kNN (Wu et al. 2018) on the caller's device, block by block.

Train rows are read :data:`TRAIN_BLOCK` at a time (moved to the device and normalised once
each), test rows :data:`TEST_BLOCK` at a time; every test row keeps a running top-k of the
similarities seen so far, merged with each block's own top-k. Memory on the device:
one (TEST_BLOCK, TRAIN_BLOCK) similarity block, one train block, and (N_test, k) values
and indices; never the (N_test, N_train) matrix.
"""
from __future__ import annotations

from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F

from ..checks import check_positive
from .validate import Array, check_same_dim, features_of, labels_of

TRAIN_BLOCK = 16384
TEST_BLOCK = 1024


def top_k_neighbours(train: torch.Tensor, test: torch.Tensor, k: int, device: torch.device,
                     train_block: int = TRAIN_BLOCK, test_block: int = TEST_BLOCK) -> Tuple[torch.Tensor, torch.Tensor]:
    """Cosine similarities (N_test, k) and train indices (N_test, k) of every test row's ``k`` nearest train rows,
    most similar first; ``train`` (N_train, D) and ``test`` (N_test, D) stay where they are, blocks go to ``device``."""
    values = torch.full((len(test), k), -float("inf"), device=device)
    indices = torch.zeros((len(test), k), dtype=torch.long, device=device)
    for start in range(0, len(train), train_block):
        block = F.normalize(train[start:start + train_block].to(device, torch.float32), dim=1)
        kb = min(k, len(block))
        for first in range(0, len(test), test_block):
            rows = slice(first, first + test_block)
            query = F.normalize(test[rows].to(device, torch.float32), dim=1)
            sims, idx = (query @ block.T).topk(kb, dim=1)
            merged, pick = torch.cat([values[rows], sims], 1).topk(k, dim=1)
            values[rows] = merged
            indices[rows] = torch.cat([indices[rows], idx + start], 1).gather(1, pick)
    return values, indices


def knn_classify(
    train_features: Array,
    train_labels: Array,
    test_features: Array,
    k: int = 20,
    temperature: float = 0.07,
    batch_size: int = TEST_BLOCK,
    device: Optional[Union[str, torch.device]] = None,
    train_block: int = TRAIN_BLOCK,
) -> torch.Tensor:
    """Predict labels by a similarity-weighted vote of the k nearest (cosine) neighbours.

    Each neighbour votes ``exp(cos / temperature)`` for its class (Wu et al.
    2018). Features (N, D) stay on the CPU; blocks of ``batch_size`` test and
    ``train_block`` train rows are compared on ``device`` (default CPU).
    Returns (N_test,) predicted labels (CPU).
    """
    xtr, xte = features_of("train_features", train_features), features_of("test_features", test_features)
    ytr = labels_of("train_labels", train_labels, len(xtr), "train_features")
    check_positive("k", k)
    check_positive("temperature", temperature)
    check_positive("batch_size", batch_size)
    check_positive("train_block", train_block)
    check_same_dim(xtr, xte)
    device = torch.device(device) if device is not None else torch.device("cpu")
    k = min(k, len(xtr))
    sims, idx = top_k_neighbours(xtr, xte, k, device, train_block, batch_size)
    num_classes = int(ytr.max()) + 1
    neighbours = ytr.to(device)[idx]
    preds = torch.empty(len(xte), dtype=torch.long)
    for first in range(0, len(xte), batch_size):
        rows = slice(first, first + batch_size)
        votes = torch.zeros(len(idx[rows]), num_classes, device=device).scatter_add_(
            1, neighbours[rows], (sims[rows] / temperature).exp())
        preds[rows] = votes.argmax(1).cpu()
    return preds


__all__ = ["TEST_BLOCK", "TRAIN_BLOCK", "knn_classify", "top_k_neighbours"]
