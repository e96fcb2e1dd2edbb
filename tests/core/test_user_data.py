"""The core wrappers that check a user's own Dataset / IterableDataset / DataLoader item by item."""
import pickle
from functools import partial
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset

from multissl.user_data import CheckedBatches, CheckedItems, CheckedStream, checked, is_user_data


def positive(x, where, scale=1):
    if not isinstance(x, torch.Tensor) or (x <= 0).any():
        raise ValueError(f"{where}: expected positive numbers, got {x!r}")
    return x * scale


class Numbers(Dataset):
    speakers = [0, 0, 1, 1]
    keyed_items = True

    def __init__(self, bad=None):
        self.bad = bad

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return torch.tensor([-1.0 if i == self.bad else i + 1.0])

    def batch_sampler(self, epoch, seed):
        return [[0, 1], [2, 3]]


class NumberStream(IterableDataset):
    def __init__(self):
        self.epoch = 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __iter__(self):
        yield from (torch.tensor([float(self.epoch + i)]) for i in range(3))


def test_items_are_checked_and_the_data_sets_attributes_kept():
    items = checked(Numbers(), partial(positive, scale=2))
    assert isinstance(items, CheckedItems) and len(items) == 4 and items.keyed_items
    assert items[2].item() == 6.0
    assert items.speakers == [0, 0, 1, 1] and items.batch_sampler(0, 0) == [[0, 1], [2, 3]]
    with pytest.raises(ValueError, match=r"item 1 of the Numbers: expected positive numbers"):
        checked(Numbers(bad=1), positive)[1]


def test_checked_items_pickle_and_are_checked_in_worker_processes():
    items = pickle.loads(pickle.dumps(checked(Numbers(), partial(positive, scale=2))))
    assert items[0].item() == 2.0
    loader = DataLoader(checked(Numbers(bad=3), positive), batch_size=2, num_workers=1)
    with pytest.raises(ValueError, match="item 3 of the Numbers"):
        list(loader)


def test_a_stream_is_checked_as_it_comes_and_gets_its_epoch():
    stream = checked(NumberStream(), positive)
    assert isinstance(stream, CheckedStream)
    stream.set_epoch(5)
    assert [x.item() for x in stream] == [5.0, 6.0, 7.0]
    with pytest.raises(ValueError, match=r"item 0 of this process's share of the NumberStream"):
        list(checked(NumberStream(), positive))  # epoch 0 starts at 0, not positive


def test_a_loader_is_kept_as_it_is_or_its_batches_checked():
    loader = DataLoader(Numbers(), batch_size=2)
    assert checked(loader, positive) is loader
    batches = checked(loader, positive, partial(positive, scale=10))
    assert isinstance(batches, CheckedBatches) and len(batches) == 2 and batches.batch_size == 2
    assert [b.flatten().tolist() for b in batches] == [[10.0, 20.0], [30.0, 40.0]]
    with pytest.raises(ValueError, match=r"batch 1 of the DataLoader"):
        list(checked(DataLoader(Numbers(bad=2), batch_size=2), positive, positive))


def test_paths_are_not_user_data():
    assert not any(is_user_data(x) for x in ("videos/", Path("videos"), ["a.mp4"], ("a.mp4",), b"x"))
    assert all(is_user_data(x) for x in (Numbers(), NumberStream(), DataLoader(Numbers()), (torch.zeros(2) for _ in range(2))))
