"""The engine on data read item by item: keyed randomness, workers, exact resume, bad items, shards, users' loaders."""
import io
import re
import warnings

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, IterableDataset, TensorDataset

from multissl import progress
from multissl.engine import TrainConfig, fit
from multissl.engine.data import EpochSampler, SampleKey, Shard, current_shard, default_num_workers
from multissl.streamed import StreamedDataset


class NoisyPoints(StreamedDataset):
    """Item i: a fixed point plus noise drawn from the item's key; items in ``broken`` fail to 'decode'."""

    def __init__(self, n=48, d=4, broken=()):
        self.points = torch.randn(n, d, generator=torch.Generator().manual_seed(5))
        self.broken = set(broken)

    def __len__(self):
        return len(self.points)

    def load(self, key: SampleKey):
        if key.index in self.broken:
            raise OSError("truncated file")
        noise = torch.from_numpy(key.rng().normal(size=self.points.shape[1]).astype(np.float32))
        return self.points[key.index] + 0.1 * noise, key.index

    def describe(self, index):
        return f"point file p{index}.bin"


class Regression(nn.Module):
    def __init__(self, d=4):
        super().__init__()
        torch.manual_seed(0)
        self.lin = nn.Linear(d, 1)

    def forward(self, batch):
        x, _ = batch
        return ((self.lin(x) - x.sum(1, keepdim=True)) ** 2).mean()


def _train(tmp_path, name, workers, steps, resume=None, data=None, prepare=None, **kw):
    task = Regression()
    opt = torch.optim.SGD(task.parameters(), lr=0.05)
    cfg = TrainConfig(steps=steps, batch_size=8, num_workers=workers, output_dir=str(tmp_path / name), verbose=False,
                      checkpoint_every=3, resume=resume, seed=2, **kw)
    fit(task, data if data is not None else NoisyPoints(), opt, cfg, prepare=prepare)
    return task.lin.weight.detach().clone()


def test_keyed_items_do_not_depend_on_workers():
    data = NoisyPoints()
    sampler = EpochSampler(len(data), seed=3, keyed=True)
    sampler.set_epoch(2)
    keys = list(sampler)
    assert all(k.epoch == 2 and k.seed == 3 for k in keys)
    batches = {}
    for workers in (0, 2):
        loader = DataLoader(data, batch_size=8, sampler=sampler, num_workers=workers)
        batches[workers] = [b[0] for b in loader]
    assert all(torch.equal(a, b) for a, b in zip(batches[0], batches[2]))
    other_epoch = data[SampleKey(keys[0].index, 3, 3)][0]
    assert not torch.equal(other_epoch, data[keys[0]][0])  # a new epoch draws new noise


@pytest.mark.slow
def test_resume_mid_epoch_with_two_workers_gives_bit_identical_weights(tmp_path):
    whole = _train(tmp_path, "whole", workers=2, steps=10)
    _train(tmp_path, "cut", workers=2, steps=4)  # checkpoints at 3 and the end (4): mid-epoch (6 batches/epoch)
    resumed = _train(tmp_path, "cut", workers=2, steps=10, resume="auto")
    assert torch.equal(whole, resumed)
    assert torch.equal(whole, _train(tmp_path, "no_workers", workers=0, steps=10))


def test_an_unreadable_item_is_replaced_by_the_next_with_a_warning_naming_it():
    data = NoisyPoints(broken={3})
    with pytest.warns(RuntimeWarning, match=r"skipping unreadable point file p3\.bin: OSError: truncated file"):
        x, index = data[3]
    assert index == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert data[3][1] == 4  # known bad: no second warning in this process
    with pytest.raises(RuntimeError, match="could not be read"):
        with pytest.warns(RuntimeWarning):
            NoisyPoints(n=40, broken=range(40))[0]


class PointsInFiles(NoisyPoints):
    """Items 4k .. 4k+3 are read from file k; reading a broken file fails, and every read is counted."""

    reads = 0

    def load(self, key: SampleKey):
        self.reads += 1
        return super().load(key)

    def source_of(self, index):
        return index // 4

    def describe(self, index):
        return f"item {index} of file f{index // 4}.bin"


def test_a_files_first_error_condemns_its_other_items_without_reading_it_again():
    data = PointsInFiles(broken={4})  # file 1 holds items 4..7; only item 4 trips on the corruption
    with pytest.warns(RuntimeWarning) as caught:
        assert data[4][1] == 8  # items 5..7 are in the same file: condemned with it, so the next readable one is 8
    assert data.reads == 2  # item 4 (failed) and item 8: the rest of file 1 is not read again
    assert data.failed_sources.keys() == {1} and data.unreadable == {4, 5, 6, 7}
    assert [str(w.message) for w in caught] == [f"skipping unreadable item {i} of file f1.bin: OSError: truncated file"
                                                for i in (4, 5, 6, 7)]
    assert data[3][1] == 3 and data[9][1] == 9  # other files are read as before


def test_a_run_with_unreadable_items_in_workers_keeps_its_batch_size(tmp_path):
    seen = []

    class Counting(Regression):
        def forward(self, batch):
            seen.append(len(batch[0]))
            return super().forward(batch)

    task = Counting()
    cfg = TrainConfig(steps=6, batch_size=8, num_workers=2, verbose=False)
    fit(task, NoisyPoints(broken={0, 7, 20}), torch.optim.SGD(task.parameters(), lr=0.05), cfg)
    assert seen == [8] * 6


@pytest.mark.parametrize("n, world", [(48, 2), (50, 4), (7, 3)])
def test_rank_shares_are_disjoint_and_cover_the_epoch(n, world):
    dropped = [list(EpochSampler(n, seed=1, rank=r, world_size=world, drop_last=True)) for r in range(world)]
    flat = sum(dropped, [])
    assert len(flat) == len(set(flat)) == n - n % world  # disjoint; only the remainder waits for another epoch
    padded = [list(EpochSampler(n, seed=1, rank=r, world_size=world)) for r in range(world)]
    assert set(sum(padded, [])) == set(range(n)) and all(len(p) == -(-n // world) for p in padded)


class CountingStream(IterableDataset):
    """Yields (x, i) for the items of its shard; a user's IterableDataset would do the same with its files."""

    def __init__(self, n=64):
        self.n = n
        self.epochs = []

    def set_epoch(self, epoch):
        self.epochs.append(epoch)

    def __iter__(self):
        for i in current_shard().take(range(self.n)):
            yield torch.full((4,), float(i)), i


def test_workers_of_an_iterable_read_disjoint_shards_that_cover_it():
    loader = DataLoader(CountingStream(), batch_size=None, num_workers=2)
    seen = [int(i) for _, i in loader]
    assert sorted(seen) == list(range(64))
    assert Shard(1, 4).take(list(range(10))) == [1, 5, 9]
    assert list(Shard(0, 3).take(iter(range(7)))) == [0, 3, 6]


def test_a_user_iterable_dataset_and_a_user_dataloader_both_train():
    task = Regression()
    stream = CountingStream()
    result = fit(task, stream, torch.optim.SGD(task.parameters(), lr=1e-4), TrainConfig(epochs=2, batch_size=8, verbose=False))
    assert result.step == 16 and stream.epochs == [0, 1]  # the engine batched the items; set_epoch each epoch
    points = NoisyPoints()
    loader = DataLoader(TensorDataset(points.points, torch.arange(48)), batch_size=12, shuffle=True)
    result = fit(task, loader, torch.optim.SGD(task.parameters(), lr=1e-3), TrainConfig(steps=5, verbose=False))
    assert result.step == 5 and result.history[-1]["step"] == 5


def test_default_workers_only_for_data_read_from_disk(monkeypatch):
    assert default_num_workers(False) == 0
    monkeypatch.setattr("multissl.engine.data.usable_cpus", lambda: 16)
    assert default_num_workers(True) == 8
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")
    assert default_num_workers(True) == 3
    monkeypatch.setattr("multissl.engine.data.usable_cpus", lambda: 2)
    assert default_num_workers(True) == 1
    with pytest.raises(ValueError, match="num_workers must be >= 0"):
        TrainConfig(num_workers=-1)


def test_progress_lines_in_a_log_show_step_loss_rate_and_data_wait(monkeypatch, capsys):
    monkeypatch.setattr(progress, "LOG_EVERY_S", 0.0)
    monkeypatch.setattr("multissl.engine.data.usable_cpus", lambda: 2)
    log = io.StringIO()
    monkeypatch.setattr("sys.stderr", log)
    task = Regression()
    result = fit(task, NoisyPoints(), torch.optim.SGD(task.parameters(), lr=0.05), TrainConfig(steps=4, batch_size=8, log_every=2))
    lines = [l for l in log.getvalue().splitlines() if l.startswith("[multissl] training:")]
    assert len(lines) >= 3
    assert re.search(r"training: 4 / 4 steps \(100%\), [\d.]+ steps/s, .*loss [\d.]+, samples/s [\d.]+, waiting for data \d+%",
                     lines[-1]), lines[-1]
    assert "batches of 8 made by 1 worker process" in capsys.readouterr().out  # a data set read from disk: a worker
    assert all(0 <= h["data_wait"] <= 1 for h in result.history)


class PairedBatches:
    """A data set's own batch sampler: batches of two neighbouring items, this rank's share, restartable."""

    counts_batches = True

    def __init__(self, n, batch_size, seed, rank, world_size):
        self.n, self.batch_size, self.seed, self.rank, self.world = n, batch_size, seed, rank, world_size
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch, start_batch=0):
        self.epoch, self.start = epoch, start_batch

    def _batches(self):
        rng = np.random.default_rng([self.seed, self.epoch])
        firsts = rng.permutation(self.n // 2) * 2
        batches = [[SampleKey(int(i) + j, self.epoch, self.seed) for i in firsts[k:k + self.batch_size // 2] for j in (0, 1)]
                   for k in range(0, len(firsts) - self.batch_size // 2 + 1, self.batch_size // 2)]
        return batches[self.rank::self.world]

    def __len__(self):
        return len(self._batches()) - self.start

    def __iter__(self):
        return iter(self._batches()[self.start:])


class PairedPoints(NoisyPoints):
    def batch_sampler(self, batch_size, seed, rank, world_size):
        return PairedBatches(len(self), batch_size, seed, rank, world_size)


def test_a_data_sets_own_batches_train_with_workers_and_resume_exactly(tmp_path):
    seen = []

    class Pairs(Regression):
        def forward(self, batch):
            seen.append(batch[1].tolist())
            return super().forward(batch)

    task = Pairs()
    fit(task, PairedPoints(), torch.optim.SGD(task.parameters(), lr=0.05), TrainConfig(steps=2, batch_size=8, num_workers=2,
                                                                                        verbose=False))
    assert all(b[0::2] == [i - 1 for i in b[1::2]] and b[0] % 2 == 0 for b in seen)
    whole = _train(tmp_path, "pairs_whole", workers=2, steps=8, data=PairedPoints())
    _train(tmp_path, "pairs_cut", workers=2, steps=4, data=PairedPoints())
    assert torch.equal(whole, _train(tmp_path, "pairs_cut", workers=2, steps=8, resume="auto", data=PairedPoints()))
    shares = [[k.index for b in PairedBatches(48, 8, 1, r, 2) for k in b] for r in range(2)]
    assert not set(shares[0]) & set(shares[1]) and len(shares[0]) + len(shares[1]) == 48


def test_the_first_step_is_timed_in_the_metrics(tmp_path, capsys):
    import json

    _train(tmp_path, "timed", workers=0, steps=2)
    events = [json.loads(l) for l in (tmp_path / "timed" / "metrics.jsonl").read_text().splitlines()]
    first = [e for e in events if e.get("event") == "first_step"]
    assert len(first) == 1 and first[0]["step"] == 1 and 0 <= first[0]["fit_s"] <= first[0]["process_s"]


def test_data_mode_auto_holds_in_memory_what_fits(monkeypatch):
    from multissl import streamed

    monkeypatch.setattr(streamed, "memory_budget", lambda: 1000)
    assert streamed.choose_data_mode("auto", 1000) == "memory"
    assert streamed.choose_data_mode("auto", 1001) == "stream"
    assert streamed.choose_data_mode("memory", 10**12) == "memory" and streamed.choose_data_mode("stream", 1) == "stream"
    with pytest.raises(ValueError, match="data_mode must be one of"):
        streamed.choose_data_mode("ram", 1)


class MarkedPoints(NoisyPoints):
    """NoisyPoints whose loads leave a file in ``folder`` (worker processes too); counts ``first_step_done`` calls."""

    def __init__(self, folder, **kw):
        super().__init__(**kw)
        self.folder, self.first_step_calls = folder, 0

    def load(self, key):
        (self.folder / f"loaded-{key.index}").touch()
        return super().load(key)

    def first_step_done(self):
        self.first_step_calls += 1


def _wait_for_a_load(folder, timeout=60.0):
    import time

    start = time.monotonic()
    while not any(folder.glob("loaded-*")):
        assert time.monotonic() - start < timeout, "prepare ran but no worker had started loading"
        time.sleep(0.01)


def test_prepare_runs_once_while_the_workers_load_and_not_again_on_resume(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    calls = []

    def prepare():
        _wait_for_a_load(marks)  # the workers are loading while prepare runs: it would time out otherwise
        calls.append("prepare")

    data = MarkedPoints(marks)
    _train(tmp_path, "run", 1, 4, data=data, prepare=prepare)
    assert calls == ["prepare"] and data.first_step_calls == 1
    _train(tmp_path, "run", 1, 8, resume="auto", data=MarkedPoints(marks), prepare=prepare)
    assert calls == ["prepare"]  # its result is in the checkpoint
    _train(tmp_path, "fresh", 0, 2, resume="auto", data=MarkedPoints(marks), prepare=lambda: calls.append("again"))
    assert calls == ["prepare", "again"]  # resume found no checkpoint: a fresh start prepares


def test_first_step_done_reaches_the_data_set_behind_a_users_loader(tmp_path):
    data = MarkedPoints(tmp_path)
    task = Regression()
    fit(task, DataLoader(data, batch_size=8), torch.optim.SGD(task.parameters(), lr=0.05),
        TrainConfig(steps=3, output_dir=str(tmp_path / "run"), verbose=False))
    assert data.first_step_calls == 1


class Niceness(torch.utils.data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        import os

        return torch.tensor(os.nice(0))


def test_workers_run_at_a_lower_priority_than_training():
    import functools
    import os

    from multissl.engine.data import quiet_worker

    own = os.nice(0)
    for nice in (10, 0):
        loader = DataLoader(Niceness(), batch_size=4, num_workers=1, worker_init_fn=functools.partial(quiet_worker, nice=nice))
        assert next(iter(loader)).tolist() == [min(own + nice, 19)] * 4
    with pytest.raises(ValueError, match="worker_nice"):
        TrainConfig(worker_nice=20)
