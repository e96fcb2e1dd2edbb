"""The training loop: :func:`fit` and the trainer behind it."""
from __future__ import annotations

import contextlib
import functools
import gc
import inspect
import json
import time
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Union

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, IterableDataset

from .. import distributed as dist_utils
from ..allocator import keep_freed_memory
from ..progress import Progress, process_age_s, say
from ..schedules import training_progress
from ..sync_batchnorm import convert_batchnorm, has_batchnorm
from ..warm_start import import_in_background
from .checkpoints import (Checkpointer, atomic_write_bytes, checkpoint_candidates, load_checkpoint, load_newest_readable,
                          remove_checkpoints)
from .signals import StopSignals, TrainingInterrupted
from .config import DEFAULT_BATCH_SIZE, FitResult, NonFiniteLossError, TrainConfig, TrainState
from .data import EpochSampler, batch_size_of, default_num_workers, move_to_device, quiet_worker, streams_from_disk
from .devices import agree, autocast_dtype, select_device
from .gpu_speed import cuda_speed_settings, maybe_compiled, to_channels_last
from .tensorboard_log import TensorBoardLog, remove_event_files
from .rng import rank_seed, rng_state, seed_everything, set_rng_state

METRICS_FILE = "metrics.jsonl"


def _split_output(out: Any):
    if isinstance(out, torch.Tensor):
        return out, {}
    if isinstance(out, dict):
        if "loss" not in out:
            raise ValueError(f"a task returning a dict must include 'loss'; got keys {sorted(out)}")
        return out["loss"], {k: v for k, v in out.items() if k != "loss"}
    if isinstance(out, (tuple, list)) and len(out) == 2 and isinstance(out[1], dict):
        return out[0], dict(out[1])
    raise TypeError(f"task(batch) must return a loss tensor, (loss, metrics) or a dict, got {type(out).__name__}")


def _scalar(v: Any) -> float:
    return float(v.detach().float().mean()) if isinstance(v, torch.Tensor) else float(v)



_END = object()


def _postfix(loss: float, samples_per_s: float, data_wait: float, unit: str = "samples") -> Dict[str, str]:
    return {"loss": f"{loss:.4f}", f"{unit}/s": f"{samples_per_s:.1f}", "waiting for data": f"{100 * data_wait:.0f}%"}


class _LineWindow:
    """Loss, samples and data-wait time since the last progress line."""

    def __init__(self, unit: str = "samples"):
        self.unit = unit
        self.reset()

    def reset(self) -> None:
        self.loss_sum, self.steps, self.samples, self.wait = 0.0, 0, 0, 0.0
        self.start = time.perf_counter()

    def add(self, loss: float, samples: int) -> None:
        self.loss_sum += loss
        self.steps += 1
        self.samples += samples

    def postfix(self) -> Dict[str, str]:
        """The values of the next line (then the window starts anew)."""
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        values = _postfix(self.loss_sum / max(self.steps, 1), self.samples / elapsed, min(1.0, self.wait / elapsed), self.unit)
        self.reset()
        return values


def _accepts_progress(hook: Any) -> bool:
    """True when a task's ``after_optimizer_step`` takes a ``progress`` keyword."""
    if not callable(hook):
        return False
    try:
        return "progress" in inspect.signature(hook).parameters
    except (TypeError, ValueError):
        return False


def resolve_num_workers(config: TrainConfig, data: Any) -> int:
    """``config.num_workers``, else the default for ``data`` (:func:`~multissl.engine.data.default_num_workers`)."""
    return config.num_workers if config.num_workers is not None else default_num_workers(streams_from_disk(data))


def _warn_unsharded(loader: Any) -> None:
    """Under DDP, a caller's DataLoader whose sampler is not distributed gives every rank the same batches."""
    sampler = getattr(loader, "sampler", None)
    if dist_utils.is_distributed() and isinstance(loader, DataLoader) and not isinstance(loader.dataset, IterableDataset) \
            and not isinstance(sampler, (torch.utils.data.DistributedSampler, EpochSampler)):
        warnings.warn("training under torchrun on a DataLoader without a DistributedSampler: every rank reads the same "
                      "batches; pass the Dataset itself (fit shards it) or a DistributedSampler", stacklevel=4)


def _check_world_size(ckpt: Dict[str, Any], path: Path) -> None:
    """A run resumes with the number of processes that wrote its checkpoint: each rank's data share and random
    generators belong to that number. One line naming both otherwise."""
    written_by, now = ckpt.get("world_size"), dist_utils.world_size()
    if written_by is not None and written_by != now:
        raise ValueError(f"checkpoint {path} was written by a run of {written_by} process(es) and this run has {now}: "
                         f"resume it with {written_by}, as each process's data share and random generators belong to that number")


class _Trainer:
    """Holds the state of one :func:`fit` call; split into short methods."""

    def __init__(self, task, data, optimizer, config, scheduler, collate_fn, callbacks, metadata, prepare=None):
        self.config = config
        self._prepare = prepare
        self._data = data
        if config.keep_freed_memory:
            keep_freed_memory()
        self.device = select_device(config)
        self.task = to_channels_last(task.to(self.device), self.device, config.channels_last)
        self.ddp: Optional[nn.parallel.DistributedDataParallel] = None
        self.averages_own_gradients = False  # set by _wrap for sparse embeddings under several processes
        self.model = maybe_compiled(self._wrap(task), self.device, config.compile)
        self._optimizer, self._make_optimizer = _optimizer_or_factory(optimizer, scheduler)
        self._warming = False
        self.scheduler, self._make_scheduler = (None, scheduler) if self._make_optimizer else (scheduler, None)
        self.callbacks = list(callbacks)
        self.metadata = dict(metadata or {})
        self.amp_dtype = autocast_dtype(self.device, config)
        self.scaler = torch.amp.GradScaler("cuda") if self.amp_dtype == torch.float16 else None
        self.state = TrainState(task=task)
        self.elapsed_before = 0.0  # seconds trained before a resume: the time budget spans the whole run
        self.data_seed = config.seed
        self.loader, self.sampler = self._make_loader(data, collate_fn)
        self.state.max_steps = self._max_steps()
        self._check_schedule_length()
        self._hook_takes_progress = _accepts_progress(getattr(task, "after_optimizer_step", None))
        self.checkpointer = Checkpointer(config.output_dir, config.keep_checkpoints)
        self.history: List[Dict[str, Any]] = []
        self.nonfinite_in_a_row = 0
        self._window: Dict[str, List[float]] = {}
        self._window_samples = 0
        self._window_wait = 0.0  # seconds spent waiting for batches since the last log entry
        self._window_start = time.perf_counter()
        self._line = _LineWindow(getattr(task, "sample_unit", "samples"))  # e.g. "images" for the vision methods
        main = config.output_dir and config.tensorboard and dist_utils.is_main_process()
        self.tensorboard = TensorBoardLog(Path(config.output_dir), self.device) if main else None
        self._first_step_done = False
        self._micro = 0  # batches whose gradients wait for the next optimizer step (gradient accumulation)

    # -- set-up ------------------------------------------------------------ #
    @property
    def optimizer(self) -> torch.optim.Optimizer:
        """The caller's optimizer, or the one its factory makes when first needed (by then the first batches
        are being read, and the optimizer's first-use imports overlap them)."""
        if self._optimizer is None:
            self._optimizer = self._make_optimizer(self.task.parameters())
            if self._make_scheduler is not None:
                self.scheduler = self._make_scheduler(self._optimizer)
        return self._optimizer

    def _wrap(self, task: nn.Module) -> nn.Module:
        if not dist_utils.is_distributed():
            return task
        sync = self.config.sync_bn if self.config.sync_bn is not None else getattr(task, "global_batch_norm", False)
        if sync and has_batchnorm(task):
            convert_batchnorm(task)
            self._say(f"batch norm over the global batch of {dist_utils.world_size()} processes")
        if dist_utils.sparse_parameters(task):  # DDP would send dense (V, D) tables; train_step sends the used rows
            dist_utils.broadcast_parameters(task)
            self.averages_own_gradients = True
            return task
        ids = [self.device.index] if self.device.type == "cuda" else None
        # a task that trains only some of its parameters at a step (the stacked DAE's layer-wise training) says so
        unused = bool(getattr(task, "leaves_parameters_unused", False))
        self.ddp = nn.parallel.DistributedDataParallel(task, device_ids=ids, find_unused_parameters=unused)
        return self.ddp

    def _make_loader(self, data, collate_fn):
        """(batches, sampler): a DataLoader the engine builds for a Dataset, or the caller's iterable of batches."""
        if isinstance(data, IterableDataset):
            return self._loader(data, collate_fn), None
        if isinstance(data, Dataset) and callable(getattr(data, "batch_sampler", None)):
            sampler = data.batch_sampler(self.config.batch_size, self.config.seed, dist_utils.rank(), dist_utils.world_size())
            return self._loader(data, collate_fn, batch_sampler=sampler), sampler
        if isinstance(data, Dataset) and hasattr(data, "__len__"):
            keyed = bool(getattr(data, "keyed_items", False))
            sampler = EpochSampler(len(data), self.config.seed, True, dist_utils.rank(), dist_utils.world_size(), keyed=keyed,
                                   drop_last=self.config.drop_last and dist_utils.world_size() <= len(data))
            per_rank = len(sampler)
            if self.config.drop_last and per_rank < self.config.batch_size:
                raise ValueError(
                    f"the dataset has {len(data)} items ({per_rank} per process), fewer than one batch of "
                    f"{self.config.batch_size}; lower batch_size or pass drop_last=False"
                )
            return self._loader(data, collate_fn, sampler), sampler
        if isinstance(data, Iterable):
            _warn_unsharded(data)
            return data, getattr(data, "sampler", None)
        raise TypeError(f"data must be a Dataset, an IterableDataset or an iterable of batches (a DataLoader), "
                        f"got {type(data).__name__}")

    def _loader(self, data, collate_fn, sampler=None, batch_sampler=None) -> DataLoader:
        workers = self.num_workers = resolve_num_workers(self.config, data)
        # an IterableDataset's workers are made anew each epoch, so that they see its set_epoch
        extra = dict(persistent_workers=not isinstance(data, IterableDataset), prefetch_factor=self.config.prefetch_factor,
                     worker_init_fn=functools.partial(quiet_worker, nice=self.config.worker_nice)) if workers else {}
        batching = dict(batch_sampler=batch_sampler) if batch_sampler is not None else dict(
            batch_size=self.config.batch_size, sampler=sampler, drop_last=self.config.drop_last)
        return DataLoader(data, collate_fn=collate_fn, num_workers=workers, pin_memory=self.device.type == "cuda",
                          generator=torch.Generator(), **batching, **extra)

    def _batches_per_epoch(self) -> Optional[int]:
        try:
            return len(self.loader)
        except TypeError:
            return None

    def _default_one_epoch(self) -> bool:
        """Neither steps, epochs nor a time budget: train for one epoch."""
        c = self.config
        return c.epochs is None and c.steps is None and c.max_minutes is None

    def _check_schedule_length(self) -> None:
        if getattr(self.scheduler or self._make_scheduler, "needs_length", False) and self.state.max_steps is None and self.config.max_minutes is None:
            raise ValueError("the learning-rate schedule needs the run's length: give steps, epochs or max_minutes "
                             "(data without a length has no epoch size)")

    def elapsed(self) -> float:
        """Seconds of training so far, including the time before a resume."""
        return self.elapsed_before + time.perf_counter() - self.start_time

    def progress(self) -> float:
        """Training progress in [0, 1]: the larger of steps / planned steps and time / time budget."""
        budget = self.config.max_minutes * 60 if self.config.max_minutes else None
        return training_progress(self.state.step, self.state.max_steps, self.elapsed(), budget)

    def _max_steps(self) -> Optional[int]:
        per_epoch = self._batches_per_epoch()
        epochs = 1 if self._default_one_epoch() else self.config.epochs
        by_epochs = epochs * max(1, per_epoch // self.config.accumulate) if (epochs and per_epoch) else None
        candidates = [s for s in (self.config.steps, by_epochs) if s]
        return min(candidates) if candidates else None

    def _run_prepare(self) -> None:
        """The work before step 1, once the loader's workers (just started) decode the first batches: the imports of
        an optimizer still to be made, in a background thread (no worker is forked while it runs), and the caller's
        set-up."""
        if self._optimizer is None and not self._warming:
            self._warming = True
            import_in_background()
        if self._prepare is not None:
            prepare, self._prepare = self._prepare, None
            prepare()

    def _log_first_step(self) -> None:
        """metrics.jsonl event ``first_step``: seconds from the process's start (and from fit's) to this process's first
        step; tells the data (``first_step_done()``, where it has one) that background work may start now."""
        self._first_step_done = True
        for source in (self._data, getattr(self._data, "dataset", None)):
            hook = getattr(source, "first_step_done", None)
            if callable(hook):
                hook()
                break
        since_process = process_age_s()
        entry = {"event": "first_step", "step": self.state.step, "fit_s": round(time.perf_counter() - self.start_time, 3),
                 "process_s": None if since_process is None else round(since_process, 3)}
        self._write_jsonl(entry)
        if since_process is not None:
            self._say(f"step {self.state.step} done {since_process:.1f} s after the process started")

    def _say_data(self) -> None:
        """One line on how the data is read: workers, or the main process."""
        workers = getattr(self, "num_workers", None)
        if workers is None:
            return
        how = f"{workers} worker process{'es' if workers > 1 else ''}" if workers else "the training process"
        self._say(f"batches of {self.config.batch_size} made by {how}")

    # -- checkpoints ------------------------------------------------------- #
    def payload(self, every_rank: bool = True) -> Dict[str, Any]:
        """The checkpoint; with ``every_rank`` (a collective: every rank calls it) it holds each rank's generators."""
        return {
            "model": self.task.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "step": self.state.step,
            "epoch": self.state.epoch,
            "batch_in_epoch": self.state.batch_in_epoch,
            "rng": rng_state(),
            "rng_by_rank": dist_utils.gather_objects(rng_state()) if every_rank else None,
            "world_size": dist_utils.world_size(),
            "elapsed_s": self.elapsed(),
            "config": asdict(self.config),
            "metadata": {**self.metadata, **self._task_metadata()},
        }

    def _task_metadata(self) -> Dict[str, Any]:
        fn = getattr(self.task, "train_metadata", None)
        return dict(fn()) if callable(fn) else {}

    def save(self, every_rank: bool = True) -> None:
        self.checkpointer.save(self.payload(every_rank))

    def restore(self, resume: str) -> bool:
        """Load the checkpoint ``resume`` names; False when there is none to resume from."""
        found = self._resolve_resume(resume)
        if found is None:
            return False
        ckpt, path = found
        _check_world_size(ckpt, path)
        try:
            self.task.load_state_dict(ckpt["model"])
        except RuntimeError as err:
            raise ValueError(f"checkpoint {path} does not fit this model (was it written by another method or "
                             f"configuration?): {str(err).splitlines()[0]}") from None
        self.optimizer.load_state_dict(ckpt["optimizer"])
        if self.scheduler is not None and ckpt.get("scheduler") is not None:
            self.scheduler.load_state_dict(ckpt["scheduler"])
        if self.scaler is not None and ckpt.get("scaler") is not None:
            self.scaler.load_state_dict(ckpt["scaler"])
        self.state.step, self.state.epoch = ckpt["step"], ckpt["epoch"]
        self.state.batch_in_epoch = ckpt["batch_in_epoch"]
        self.elapsed_before = float(ckpt.get("elapsed_s", 0.0))
        self.start_time = time.perf_counter()
        by_rank = ckpt.get("rng_by_rank")
        set_rng_state(by_rank[dist_utils.rank()] if by_rank else ckpt["rng"])
        self._adopt_data_seed(ckpt.get("config", {}).get("seed", self.config.seed))
        self._drop_metrics_after(self.state.step)
        self._say(f"resumed from {path} at step {self.state.step} (epoch {self.state.epoch})")
        return True

    def _drop_metrics_after(self, step: int) -> None:
        """Remove metrics.jsonl lines logged after the checkpoint a resume starts from (they are trained again)."""
        if not self.config.output_dir or not dist_utils.is_main_process():
            return
        path = Path(self.config.output_dir) / METRICS_FILE
        if not path.is_file():
            return
        kept = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line torn by a kill
            if entry.get("step", 0) <= step and not (entry.get("event") == "epoch_end" and entry.get("step", 0) > step):
                kept.append(line)
        atomic_write_bytes(path, "".join(k + "\n" for k in kept).encode("utf-8"))

    def _adopt_data_seed(self, seed: int) -> None:
        """Keep the interrupted run's data order, whatever seed the resuming call passed."""
        if seed != self.config.seed:
            self._say(f"resuming with the checkpoint's seed {seed} (not {self.config.seed}) for the data order")
        self.data_seed = seed
        if isinstance(self.sampler, EpochSampler) or getattr(self.sampler, "counts_batches", False):
            self.sampler.seed = seed

    def _resolve_resume(self, resume: str):
        """(checkpoint, path) to resume from, or None to start from scratch."""
        if resume != "auto":
            return load_checkpoint(resume, map_location=self.device), Path(resume)
        if not self.config.output_dir:
            raise ValueError("resume='auto' needs output_dir to look for checkpoints")
        if not checkpoint_candidates(self.config.output_dir):
            self._say(f"no checkpoint in {self.config.output_dir}; starting from scratch")
            return None
        found = load_newest_readable(self.config.output_dir, map_location=self.device)
        for path, why in found.skipped:
            self._say(f"skipped checkpoint {path}: {why}")
        return found.checkpoint, found.path

    # -- logging ----------------------------------------------------------- #
    def _say(self, message: str) -> None:
        say(message, self.config.verbose)

    def _record(self, loss: float, metrics: Dict[str, Any], batch: Any) -> None:
        self._window.setdefault("loss", []).append(loss)
        for k, v in metrics.items():
            self._window.setdefault(k, []).append(_scalar(v))
        samples = batch_size_of(batch) * dist_utils.world_size()
        self._window_samples += samples
        self._line.add(loss, samples)

    def _waited(self, seconds: float) -> None:
        """Time spent waiting for the next batch (the data pipeline behind the training step)."""
        self._window_wait += seconds
        self._line.wait += seconds

    def _flush_log(self, bar) -> None:
        if not self._window:
            return
        elapsed = time.perf_counter() - self._window_start
        entry = {"step": self.state.step, "epoch": self.state.epoch}
        entry.update(self._mean_over_ranks({k: float(np.mean(v)) for k, v in self._window.items()}))
        entry["lr"] = self.optimizer.param_groups[0]["lr"]
        entry["samples_per_s"] = self._window_samples / max(elapsed, 1e-9)
        entry["data_wait"] = min(1.0, self._window_wait / max(elapsed, 1e-9))
        entry["elapsed_s"] = self.elapsed()
        self.history.append(entry)
        self._write_jsonl(entry)
        if self.tensorboard is not None:
            self.tensorboard.write(entry)
        if bar.bar is not None:
            bar.set_postfix(**_postfix(entry["loss"], entry["samples_per_s"], entry["data_wait"], self._line.unit))
        self._window, self._window_samples, self._window_wait = {}, 0, 0.0
        self._window_start = time.perf_counter()

    def _mean_over_ranks(self, values: Dict[str, float]) -> Dict[str, float]:
        """Each logged value averaged over the processes that logged it (a metric a batch may lack, such as the
        online probe's accuracy on a batch without labels, is missing on some ranks)."""
        if not dist_utils.is_distributed():
            return values
        names = sorted(set().union(*dist_utils.gather_objects(sorted(values))))
        if not names:
            return values
        sums = torch.tensor([[values.get(n, 0.0), float(n in values)] for n in names], dtype=torch.float64, device=self.device)
        torch.distributed.all_reduce(sums)
        return {n: total / count for n, (total, count) in zip(names, sums.tolist())}

    def _write_jsonl(self, entry: Dict[str, Any]) -> None:
        if self.config.output_dir and dist_utils.is_main_process():
            path = Path(self.config.output_dir) / METRICS_FILE
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")

    # -- one step ---------------------------------------------------------- #
    def _forward(self, batch):
        batch = move_to_device(batch, self.device)
        if self.amp_dtype is None:
            return _split_output(self.model(batch))
        with torch.autocast(self.device.type, dtype=self.amp_dtype):
            return _split_output(self.model(batch))

    def train_step(self, batch) -> Optional[bool]:
        """One batch: forward and backward, and after every ``accumulate`` batches the optimizer step. Returns True
        after an optimizer step, False when the step was skipped (non-finite loss), None while accumulating."""
        self.optimizer  # noqa: B018 -- a factory's optimizer (and its schedule) exist from step 1 on
        if self._micro == 0 and hasattr(self.scheduler, "set_progress"):
            self.scheduler.set_progress(self.state.step, self.progress())
        last = self._micro == self.config.accumulate - 1
        with self._gradient_sync(last):
            loss, metrics = self._forward(batch)
            finite = agree(bool(torch.isfinite(loss.detach()).all()))
            if not finite:
                self._micro = 0
                self._skip(f"loss is {float(loss.detach().float().mean())}")
                return False
            scaled = loss / self.config.accumulate if self.config.accumulate > 1 else loss
            (self.scaler.scale(scaled) if self.scaler else scaled).backward()
        self.state.loss = float(loss.detach())
        self._record(self.state.loss, metrics, batch)
        if not last:
            self._micro += 1
            return None
        self._micro = 0
        if self.averages_own_gradients:
            dist_utils.average_gradients(self.task)
        if not self._clip_and_check():
            return False
        if self.scaler:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.scheduler is not None and not hasattr(self.scheduler, "set_progress"):
            self.scheduler.step()
        self.nonfinite_in_a_row = 0
        return True

    def _gradient_sync(self, last: bool):
        """DDP's ``no_sync`` for the batches before the last of an accumulated step (their gradients stay local)."""
        if last or self.ddp is None:
            return contextlib.nullcontext()
        return self.ddp.no_sync()

    def _clip_and_check(self) -> bool:
        if self.config.grad_clip is None:
            return True
        if self.scaler:
            self.scaler.unscale_(self.optimizer)
        norm = torch.nn.utils.clip_grad_norm_(self.task.parameters(), self.config.grad_clip)
        if self.scaler is None and not agree(bool(torch.isfinite(norm))):
            self._skip(f"gradient norm is {float(norm)}")
            return False
        return True

    def _skip(self, why: str) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        self.nonfinite_in_a_row += 1
        warnings.warn(f"step {self.state.step}: {why}; step skipped ({self.nonfinite_in_a_row} in a row)", RuntimeWarning, stacklevel=3)
        if self.nonfinite_in_a_row >= self.config.max_nonfinite:
            raise NonFiniteLossError(
                f"{self.nonfinite_in_a_row} non-finite losses in a row at step {self.state.step}; "
                f"stopping (last checkpoint: {self.checkpointer.last})"
            )

    def _after_step(self) -> None:
        hook = getattr(self.task, "after_optimizer_step", None)
        if callable(hook):
            if self._hook_takes_progress:
                hook(self.state.step, self.state.max_steps, progress=self.progress())
            else:
                hook(self.state.step, self.state.max_steps)
        for cb in self.callbacks:
            if hasattr(cb, "on_step_end"):
                cb.on_step_end(self.state)

    # -- the loop ---------------------------------------------------------- #
    def _out_of_time(self) -> bool:
        if self.config.max_minutes is None:
            return False
        over = self.elapsed() > self.config.max_minutes * 60
        return not agree(not over)

    def _epochs_done(self) -> bool:
        epochs = 1 if self._default_one_epoch() else self.config.epochs
        return epochs is not None and self.state.epoch >= epochs

    def _steps_done(self) -> bool:
        return self.config.steps is not None and self.state.step >= self.config.steps

    def _epoch_batches(self):
        start = self.state.batch_in_epoch
        if getattr(self.sampler, "counts_batches", False):  # a data set's own batch sampler: restarts at a batch
            self.sampler.set_epoch(self.state.epoch, start)
            return iter(self.loader)
        if isinstance(self.sampler, EpochSampler):
            self.sampler.set_epoch(self.state.epoch, start * self.config.batch_size)
            self.loader.generator.manual_seed(self.data_seed * 7_919 + self.state.epoch)
            return iter(self.loader)
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(self.state.epoch)
        dataset = getattr(self.loader, "dataset", None)
        if isinstance(dataset, IterableDataset) and hasattr(dataset, "set_epoch"):
            dataset.set_epoch(self.state.epoch)
        batches = iter(self.loader)
        for _ in range(start):  # fast-forward a user loader to the saved position
            next(batches, None)
        return batches

    def run(self, signals: StopSignals) -> FitResult:
        """Train; ``signals`` is the :class:`StopSignals` installed around the whole :func:`fit` call."""
        self.signals = signals
        self.start_time = time.perf_counter()
        if self.config.resume and self.restore(self.config.resume):
            if self.state.step > 0:  # prepare's result is part of the restored state (a step-0 checkpoint may lack it)
                self._prepare = None
        else:
            seed_everything(rank_seed(self.config.seed, dist_utils.rank()))  # a fresh start, also when resume found none
        self.model.train()
        show = self.config.verbose and dist_utils.is_main_process()
        bar = Progress("training", "step", total=self.state.max_steps, initial=self.state.step, verbose=show)
        self._say_data()
        reason = self._loop(bar)  # a signal before step 1 (set-up, restore) stops here too, after a checkpoint
        self._flush_log(bar)
        bar.close()
        if self.tensorboard is not None:
            self.tensorboard.close()
        self.save()
        self._say(f"stopped after step {self.state.step} ({reason}); checkpoint: {self.checkpointer.last}")
        if reason == "signal":
            raise TrainingInterrupted(self.signals.signum or 2, self.state.step, self.checkpointer.last)
        return FitResult(self.state.step, self.state.epoch, reason, self.elapsed(), self.history, self.checkpointer.last)

    def _signalled(self) -> bool:
        """True on every rank once any rank received a stop signal."""
        return not agree(self.signals.signum is None)

    def _stop_reason(self, at_epoch_start: bool) -> Optional[str]:
        """Why training stops now, or None. Between epochs the epoch count is checked, after a batch the time
        budget; ``_out_of_time`` and ``_signalled`` are collective, so every rank checks in the same order."""
        if self._steps_done():
            return "steps"
        if at_epoch_start and self._epochs_done():
            return "epochs"
        if not at_epoch_start and self._out_of_time():
            return "time"
        if self._signalled():
            return "signal"
        return None

    def _loop(self, bar) -> str:
        try:
            while True:
                reason = self._stop_reason(at_epoch_start=True) or self._run_epoch(bar)
                if reason:
                    return reason
        except KeyboardInterrupt:
            self._say(f"interrupted at step {self.state.step}; saving a checkpoint")
            self.save(every_rank=False)  # the other ranks may not be here to answer
            raise

    def _run_epoch(self, bar) -> Optional[str]:
        saw_batch = False
        batches = self._epoch_batches()
        self._run_prepare()
        while True:
            asked = time.perf_counter()
            batch = next(batches, _END)
            self._waited(time.perf_counter() - asked)
            if batch is _END:
                break
            saw_batch = True
            stepped = self.train_step(batch)
            if stepped is None:  # gradients accumulate until the step's last batch
                self.state.batch_in_epoch += 1
                continue
            if stepped:
                self.state.step += 1
                self.state.batch_in_epoch += 1
                if not self._first_step_done:
                    self._log_first_step()
                if bar.due():
                    bar.set_postfix(**self._line.postfix())
                bar.update(1)
                self._after_step()
                self._periodic(bar)
            else:
                self.state.batch_in_epoch += 1
            reason = self._stop_reason(at_epoch_start=False)
            if reason:
                return reason
        if not saw_batch and self.state.batch_in_epoch == 0:
            raise ValueError("the data yielded no batch in a whole epoch (empty dataset or loader)")
        self._end_epoch()
        self.state.epoch += 1
        self.state.batch_in_epoch = 0
        return None

    def _periodic(self, bar) -> None:
        if self.state.step % self.config.log_every == 0:
            self._flush_log(bar)
        if self.config.checkpoint_every and self.state.step % self.config.checkpoint_every == 0:
            self.save()

    def _end_epoch(self) -> None:
        entry: Dict[str, Any] = {"event": "epoch_end", "epoch": self.state.epoch, "step": self.state.step}
        for cb in self.callbacks:
            if hasattr(cb, "on_epoch_end"):
                result = cb.on_epoch_end(self.state)
                if isinstance(result, dict):
                    entry.update(result)
        self.history.append(entry)
        self._write_jsonl(entry)


def _optimizer_or_factory(optimizer: Any, scheduler: Any):
    """(the optimizer, None) or (None, a factory of it: ``factory(task.parameters())``)."""
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer, None
    if not callable(optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer or a function of the task's parameters that makes one, "
                        f"got {type(optimizer).__name__}")
    if scheduler is not None and not callable(scheduler):
        raise ValueError("a scheduler is bound to its optimizer: with an optimizer factory, give fit a scheduler factory "
                         "(scheduler(optimizer) -> scheduler, e.g. multissl.schedules.ScheduleFactory)")
    return None, optimizer


def guard_output_dir(config: TrainConfig) -> None:
    """Never mix two runs in one folder: checkpoints there need ``resume`` (continue) or ``overwrite`` (replace).
    Under torchrun rank 0 alone checks and clears the folder, and every rank raises what it raised."""
    if not config.output_dir or config.resume:
        return
    dist_utils.main_process_first(_guard_output_dir, config)


def _guard_output_dir(config: TrainConfig) -> None:
    if not checkpoint_candidates(config.output_dir):
        return
    if not config.overwrite:
        raise FileExistsError(f"{config.output_dir} already holds checkpoints of a run; pass resume='auto' (--resume) to "
                              "continue it or overwrite=True (--overwrite) to replace it")
    kept = remove_checkpoints(config.output_dir)
    if kept:
        warnings.warn(f"--overwrite removed the run's checkpoints but kept {len(kept)} other file(s) of "
                      f"{Path(config.output_dir) / 'checkpoints'}: {', '.join(p.name for p in kept[:5])}", RuntimeWarning,
                      stacklevel=3)
    metrics = Path(config.output_dir) / METRICS_FILE
    if metrics.exists():
        metrics.unlink()
    remove_event_files(Path(config.output_dir))


def fit(
    task: nn.Module,
    data: Union[Dataset, Iterable],
    optimizer: Union[torch.optim.Optimizer, Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]],
    config: Optional[TrainConfig] = None,
    scheduler: Optional[torch.optim.lr_scheduler.LRScheduler] = None,
    collate_fn: Optional[Callable] = None,
    callbacks: Sequence[Any] = (),
    metadata: Optional[Dict[str, Any]] = None,
    prepare: Optional[Callable[[], None]] = None,
    **overrides: Any,
) -> FitResult:
    """Train ``task`` on ``data``.

    Args:
        task: ``nn.Module`` with ``forward(batch) -> loss | (loss, metrics) | {"loss": ...}``; an attribute
            ``sample_unit`` (e.g. ``"images"``) names what the progress lines count per second.
        data: a map-style ``Dataset`` (fit builds the loader: shuffled per
            epoch from the seed, sharded under DDP, exactly resumable; a data
            set with ``keyed_items`` gets :class:`~multissl.engine.data.SampleKey`
            keys, one with ``streams`` worker processes by default, one with a
            ``batch_sampler(batch_size, seed, rank, world_size)`` method its own
            batches, see :mod:`multissl.engine.data`), an ``IterableDataset``
            (batched by fit; it shards itself with
            :func:`~multissl.engine.data.current_shard`) or any iterable of
            batches such as a ``DataLoader`` (resumed by skipping the batches
            already seen in the interrupted epoch).
        optimizer: built on ``task.parameters()``; or a function that builds it from them
            (``functools.partial(torch.optim.Adam, lr=1e-3)``), called when the optimizer is first
            needed: torch's first optimizer imports ``torch._dynamo`` (about 1 s), which then overlaps
            the set-up before step 1 instead of preceding it.
        config: :class:`TrainConfig`; keyword ``overrides`` replace its fields.
        scheduler: stepped after every optimizer step (an :class:`~multissl.schedules.LRSchedule` is set
            from the step and progress instead); with an optimizer factory, a scheduler factory
            ``scheduler(optimizer)`` such as :class:`~multissl.schedules.ScheduleFactory`.
        collate_fn: passed to the DataLoader built for a ``Dataset``.
        callbacks: objects with optional ``on_step_end(state)`` and
            ``on_epoch_end(state) -> dict | None`` (the dict is logged).
        metadata: stored in every checkpoint under ``"metadata"`` (e.g. the
            model config, so that the run can be rebuilt for evaluation).
        prepare: set-up that must be done before step 1 but needs no batch
            (the colorizer fits its colour clusters here): called once, in a
            run that starts afresh (not in a resumed one: its result is in the
            checkpoint), after the loader's worker processes have started, so
            that it runs while they decode the first batches. What it changes
            is not seen by the workers.
    Returns:
        :class:`FitResult` with the final step, epoch, why it stopped
        (``"steps"``, ``"epochs"`` or ``"time"``), elapsed seconds, the logged
        history and the path of the last checkpoint.
    """
    config = config or TrainConfig()
    if overrides:
        config = TrainConfig(**{**asdict(config), **overrides})
    if config.batch_size is None:
        config = TrainConfig(**{**asdict(config), "batch_size": DEFAULT_BATCH_SIZE})
    dist_utils.init_if_launched()  # before the folder is touched: rank 0 alone prepares it
    guard_output_dir(config)
    outer_rng = rng_state()
    try:
        # From here until the last checkpoint is written a stop signal only sets a flag (the loop stops at the
        # next step boundary, also before step 1): never a KeyboardInterrupt in the middle of torch's C++.
        with StopSignals(verbose=config.verbose and dist_utils.is_main_process()) as signals:
            trainer = _Trainer(task, data, optimizer, config, scheduler, collate_fn, callbacks, metadata, prepare)
            with cuda_speed_settings(trainer.device, config.tf32, config.cudnn_benchmark):
                return trainer.run(signals)
    finally:
        set_rng_state(outer_rng)  # training seeds the global generators; the caller's state comes back
        if dist_utils.is_distributed():
            # The DDP wrapper and its loader hold gloo work objects with tensors; freed at interpreter exit they
            # take the GIL during finalisation and the process aborts ("terminate called without an active
            # exception"): free them now, while the interpreter is whole.
            trainer = None
            gc.collect()


__all__ = ["METRICS_FILE", "fit"]
