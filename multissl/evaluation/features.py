"""Frozen features of a whole data set, streamed batch by batch into one preallocated array.

:func:`extract_features` takes the data in any of the forms the library meets — a tensor
(N, ...), a map-style ``Dataset`` (a DataLoader is built for it, with worker processes
when the data set ``streams`` from disk), a ``DataLoader`` or any iterable of batches —
and writes the encoder's outputs into one (N, D) float32 CPU tensor allocated once, so the
peak memory is the features themselves (never a list of parts plus their concatenation).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Optional, Tuple, Union

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset

from ..checks import check_positive
from ..engine.data import default_num_workers, quiet_worker, streams_from_disk
from ..progress import Progress

Data = Union[torch.Tensor, Dataset, DataLoader, Iterable]
GROWTH = 1.5  # an output of unknown length grows by half when full


def _encoder_device(encoder: Callable, device) -> torch.device:
    if device is not None:
        return torch.device(device)
    param = next(encoder.parameters(), None) if isinstance(encoder, torch.nn.Module) else None
    return param.device if param is not None else torch.device("cpu")


def _loader_for(dataset: Dataset, batch_size: int, num_workers: Optional[int], device: torch.device) -> DataLoader:
    """Batches of a map-style data set in index order; workers by default when it streams from disk."""
    workers = default_num_workers(streams_from_disk(dataset)) if num_workers is None else num_workers
    extra = dict(worker_init_fn=quiet_worker) if workers else {}
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=workers,
                      pin_memory=device.type == "cuda", **extra)


def count_items(data: Data) -> Optional[int]:
    """How many items ``data`` yields when that is known without reading it: a tensor's or a map-style data set's
    length, a DataLoader's number of sampled items (automatic batching); else None."""
    if isinstance(data, torch.Tensor):
        return len(data)
    if isinstance(data, DataLoader):
        if isinstance(data.dataset, IterableDataset) or data.batch_size is None:
            return None
        n = len(data.sampler)
        return n - n % data.batch_size if data.drop_last else n
    if isinstance(data, Dataset) and not isinstance(data, IterableDataset):
        try:
            return len(data)
        except TypeError:
            return None
    return None


def _split_batch(batch: Any, index: int) -> Tuple[torch.Tensor, Any]:
    """(inputs, labels or None) of one batch: a tensor, or a tuple/list whose first element is the input and
    second (if any) the labels."""
    if isinstance(batch, torch.Tensor):
        return batch, None
    if isinstance(batch, (tuple, list)) and batch:
        return batch[0], batch[1] if len(batch) > 1 else None
    raise TypeError(f"batch {index}: expected a tensor or a tuple (inputs, labels, ...), got {type(batch).__name__}")


class _Rows:
    """A (capacity, *shape) CPU tensor filled row block by row block; grows by :data:`GROWTH` when full."""

    def __init__(self, capacity: Optional[int]):
        self.capacity, self.filled, self.data = capacity, 0, None

    def append(self, block: torch.Tensor) -> None:
        n = self.filled + len(block)
        if self.data is None:
            rows = self.capacity if self.capacity is not None and self.capacity >= n else max(n, 1024)
            self.data = torch.empty((rows, *block.shape[1:]), dtype=block.dtype)
        elif n > len(self.data):
            self.data.resize_((max(n, int(len(self.data) * GROWTH)), *self.data.shape[1:]))
        self.data[self.filled:n].copy_(block)
        self.filled = n

    def result(self) -> torch.Tensor:
        return self.data[:self.filled]


@torch.no_grad()
def extract_features(
    encoder: Callable[[torch.Tensor], torch.Tensor],
    data: Data,
    batch_size: int = 256,
    device: Optional[Union[str, torch.device]] = None,
    verbose: bool = False,
    with_labels: bool = False,
    num_workers: Optional[int] = None,
    num_items: Optional[int] = None,
) -> Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]:
    """Run ``encoder`` over ``data`` in eval mode, batch by batch, into one preallocated output.

    Args:
        encoder: maps a batch (B, ...) to features (B, D) or (B, ...) (flattened to (B, D)); an
            ``nn.Module`` is put in eval mode for the call and restored afterwards.
        data: a tensor (N, ...) (cut into ``batch_size`` rows); a map-style ``Dataset`` whose items are
            inputs or ``(input, label, ...)`` tuples (a DataLoader of ``batch_size`` in index order is built,
            with ``num_workers`` workers: by default :func:`multissl.engine.data.default_num_workers`, i.e.
            workers when the data set ``streams`` from disk); a ``DataLoader``; or any iterable of batches
            (tensors, or tuples whose first element is the input and second the labels).
        device: where the encoder runs (default: the device of its parameters); each batch is moved there.
        verbose: progress lines on stderr (:class:`multissl.progress.Progress`).
        with_labels: also return the labels the batches carry as their second element.
        num_items: the number of items of an iterable without a length; without it such an output
            grows by half whenever it is full (the rows of a tensor, a Dataset or a DataLoader are known).
    Returns:
        (N, D) float32 CPU tensor, or ``(features (N, D), labels (N,) int64)`` with ``with_labels``.
    """
    check_positive("batch_size", batch_size)
    device = _encoder_device(encoder, device)
    total = num_items if num_items is not None else count_items(data)
    if isinstance(data, torch.Tensor):
        batches: Iterable = data.split(batch_size)
    elif isinstance(data, Dataset) and not isinstance(data, IterableDataset):
        batches = _loader_for(data, batch_size, num_workers, device)
    else:
        batches = data
    was_training = getattr(encoder, "training", None)
    if was_training is not None:
        encoder.eval()
    features, labels = _Rows(total), _Rows(total)
    try:
        with Progress("features", "item", total=total, verbose=verbose) as progress:
            for i, batch in enumerate(batches):
                x, y = _split_batch(batch, i)
                out = encoder(x.to(device, non_blocking=True)).float().flatten(1)
                features.append(out)
                if with_labels:
                    labels.append(_batch_labels(y, len(out), i))
                progress.update(len(out))
    finally:
        if was_training:
            encoder.train()
    if features.data is None:
        raise ValueError("no data to extract features from")
    return (features.result(), labels.result()) if with_labels else features.result()


def _batch_labels(y: Any, n: int, index: int) -> torch.Tensor:
    if y is None:
        raise ValueError(f"batch {index} carries no labels (expected (inputs, labels, ...)); call with with_labels=False")
    t = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y).reshape(-1)
    if len(t) != n or t.is_floating_point():
        raise ValueError(f"batch {index}: labels must be {n} integers, one per input, got {tuple(t.shape)} {t.dtype}")
    return t.long().cpu()


__all__ = ["count_items", "extract_features"]
