"""A user's own training data (a torch ``Dataset``, ``IterableDataset`` or ``DataLoader``), checked as it is read.

Each modality says what one item (and one batch) must look like and gives a check
``check(x, where=...)`` that returns the item in the library's form or raises an error
naming ``where`` ("item 17 of the MyDataset"). :func:`checked` wraps the user's data so
that every item or batch passes through it, in DataLoader worker processes too (the check
must pickle: a module-level function or a ``functools.partial`` of one).

A wrapped map-style data set keeps what the engine reads from it (``keyed_items``,
``streams``, ``batch_sampler``, ``set_epoch`` ...): attributes the wrapper lacks are the
user's data set's.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Optional

from torch.utils.data import DataLoader, Dataset, IterableDataset

Check = Callable[..., Any]


def is_user_data(data: Any) -> bool:
    """Whether ``data`` is a user's data set, loader or iterable of batches rather than paths."""
    return isinstance(data, (Dataset, IterableDataset, DataLoader)) or (
        isinstance(data, Iterable) and not isinstance(data, (str, bytes, list, tuple, dict)) and not hasattr(data, "__fspath__"))


class _Forwarding:
    """Attributes the wrapper lacks are the wrapped data's (a batch sampler, ``set_epoch``, ``speakers`` ...)."""

    data: Any

    def __getattr__(self, name: str) -> Any:
        if name == "data":  # not set yet (unpickling in a worker): no recursion
            raise AttributeError(name)
        return getattr(self.data, name)

    @property
    def name(self) -> str:
        return type(self.data).__name__


class CheckedItems(_Forwarding, Dataset):
    """A user's map-style data set whose items pass ``check`` when loaded; ``len`` and keys are the data set's."""

    def __init__(self, data: Dataset, check: Check):
        self.data, self.check = data, check
        self.keyed_items = bool(getattr(data, "keyed_items", False))
        self.streams = bool(getattr(data, "streams", False))

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, key: Any) -> Any:
        index = getattr(key, "index", key)  # an engine SampleKey or a plain index
        return self.check(self.data[key], where=f"item {index} of the {self.name}")


class CheckedStream(_Forwarding, IterableDataset):
    """A user's iterable data set whose items pass ``check`` as they come; ``set_epoch`` is passed on."""

    def __init__(self, data: IterableDataset, check: Check):
        self.data, self.check = data, check
        self.streams = bool(getattr(data, "streams", False))

    def __iter__(self) -> Iterator[Any]:
        for n, item in enumerate(self.data):
            yield self.check(item, where=f"item {n} of this process's share of the {self.name}")

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.data, "set_epoch"):
            self.data.set_epoch(epoch)


class CheckedBatches(_Forwarding):
    """A user's DataLoader (or iterable of batches) whose batches pass ``check`` as they come; its length and
    sampler are kept."""

    def __init__(self, data: Iterable, check: Check):
        self.data, self.check = data, check

    def __iter__(self) -> Iterator[Any]:
        for n, batch in enumerate(self.data):
            yield self.check(batch, where=f"batch {n} of the {self.name}")

    def __len__(self) -> int:
        return len(self.data)


def checked(data: Any, check_item: Check, check_batch: Optional[Check] = None) -> Any:
    """``data`` wrapped so that every item (:class:`CheckedItems`, :class:`CheckedStream`) or batch
    (:class:`CheckedBatches`; a loader is returned as it is when ``check_batch`` is None) is checked."""
    if isinstance(data, IterableDataset):
        return CheckedStream(data, check_item)
    if isinstance(data, Dataset):
        return CheckedItems(data, check_item)
    return data if check_batch is None else CheckedBatches(data, check_batch)


__all__ = ["CheckedBatches", "CheckedItems", "CheckedStream", "checked", "is_user_data"]
