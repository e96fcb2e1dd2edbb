"""One training loop for every pretext task.

A task is an ``nn.Module`` whose ``forward(batch)`` returns the loss, or
``(loss, metrics)``, or a dict with a ``"loss"`` key and metrics. :func:`fit`
trains it:

- device selection (CUDA when present), mixed precision on CUDA;
- DDP when started by ``torchrun`` (or when a process group already exists):
  each rank sees its own shard of every epoch; rank 0 logs and checkpoints;
- gradient clipping; a non-finite-loss guard (skip the step, warn, and stop
  after ``max_nonfinite`` in a row);
- a wall-clock budget (``max_minutes``), ``steps`` and/or ``epochs``,
  whichever ends first (a budget alone trains until it is spent; nothing
  at all trains one epoch);
- checkpoints every ``checkpoint_every`` steps, at the end, and when
  interrupted; ``resume`` restores model, optimizer, scheduler, step, data
  position and RNG states, so that (with ``num_workers=0``) a resumed run ends
  with exactly the parameters of an uninterrupted one;
- a tqdm bar with samples/s and metrics to ``metrics.jsonl``.

Tasks may define ``after_optimizer_step(step, max_steps)`` (or with a
``progress`` keyword: the training progress in [0, 1], see
:mod:`multissl.schedules`), called after every optimizer step (momentum
encoders use it), and ``train_metadata()``, whose dict is stored in every
checkpoint. A scheduler with ``set_progress(step, progress)`` (such as
:class:`multissl.schedules.LRSchedule`) is driven by progress, so a time
budget alone is enough for a cosine schedule; a time budget counts the time
before a resume too. ``fit`` leaves the caller's global RNG states as they were.
"""
from __future__ import annotations

import inspect
import json
import math
import os
import random
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Union

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler
from tqdm.auto import tqdm

from . import distributed as dist_utils
from .allocator import keep_freed_memory
from .schedules import training_progress

CHECKPOINT_DIR = "checkpoints"
DEFAULT_BATCH_SIZE = 64  # when neither the caller nor a method preset sets one
LAST_CHECKPOINT = "last.pt"
METRICS_FILE = "metrics.jsonl"


@dataclass
class TrainConfig:
    """Settings of the training loop; every field is a ``--flag`` of each train command."""

    steps: Optional[int] = field(default=None, metadata={"help": "optimizer steps to run (with --epochs: whichever ends first)"})
    epochs: Optional[int] = field(default=None, metadata={"help": "passes over the data (default: 1, or until --max-minutes when only that is given)"})
    max_minutes: Optional[float] = field(default=None, metadata={"help": "wall-clock budget; training stops cleanly and checkpoints"})
    batch_size: Optional[int] = field(default=None, metadata={"help": "samples per step on each process (default: the method's, "
                                                                    f"else {DEFAULT_BATCH_SIZE})"})
    num_workers: int = field(default=0, metadata={"help": "DataLoader worker processes (0: exact resume)"})
    drop_last: bool = field(default=True, metadata={"help": "drop the last incomplete batch of each epoch"})
    seed: int = field(default=0, metadata={"help": "seed of every random number generator"})
    grad_clip: Optional[float] = field(default=None, metadata={"help": "clip the gradient norm to this value"})
    amp: bool = field(default=True, metadata={"help": "mixed precision on CUDA (bf16, or fp16 with loss scaling)"})
    cpu_amp: bool = field(
        default=False,
        metadata={"help": "with --amp, also bf16 autocast on CPU (1.5-1.8x the steps per minute measured on an "
                          "AVX512-BF16 CPU; slow on CPUs without oneDNN bf16 kernels)"},
    )
    device: Optional[str] = field(default=None, metadata={"help": "cpu, cuda or cuda:N (default: CUDA if available)"})
    output_dir: Optional[str] = field(default=None, metadata={"help": "folder for checkpoints and metrics.jsonl"})
    checkpoint_every: int = field(default=500, metadata={"help": "save a checkpoint every N steps (0: only at the end)"})
    keep_checkpoints: int = field(default=2, metadata={"help": "numbered checkpoints to keep besides last.pt"})
    resume: Optional[str] = field(
        default=None,
        metadata={"help": "resume from this checkpoint; bare --resume: the latest in output_dir", "nargs": "?", "const": "auto"},
    )
    log_every: int = field(default=10, metadata={"help": "write metrics every N steps"})
    max_nonfinite: int = field(default=10, metadata={"help": "stop after this many non-finite losses in a row"})
    verbose: bool = field(default=True, metadata={"help": "progress bar (on a terminal) and messages"})
    keep_freed_memory: bool = field(
        default=False,
        metadata={"help": "tune glibc malloc so each step reuses the memory the last one freed (no page faults, "
                          "SimCLR steps ~1.4x faster on 2 cores; memory stays at its peak; changes the whole process)"},
    )

    def __post_init__(self):
        for name in ("steps", "epochs", "batch_size", "log_every", "max_nonfinite"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"TrainConfig.{name} must be > 0, got {value}")
        for name in ("num_workers", "checkpoint_every", "keep_checkpoints"):
            if getattr(self, name) < 0:
                raise ValueError(f"TrainConfig.{name} must be >= 0, got {getattr(self, name)}")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise ValueError(f"TrainConfig.max_minutes must be > 0, got {self.max_minutes}")
        if self.grad_clip is not None and self.grad_clip <= 0:
            raise ValueError(f"TrainConfig.grad_clip must be > 0, got {self.grad_clip}")


@dataclass
class TrainState:
    """Where training stands; passed to callbacks."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    max_steps: Optional[int] = None
    loss: float = float("nan")
    metrics: Dict[str, float] = field(default_factory=dict)
    task: Optional[nn.Module] = None


@dataclass
class FitResult:
    """What :func:`fit` returns."""

    step: int
    epoch: int
    stop_reason: str
    elapsed_s: float
    history: List[Dict[str, Any]]
    last_checkpoint: Optional[str]


class NonFiniteLossError(RuntimeError):
    """Raised when the loss was NaN/Inf for ``max_nonfinite`` steps in a row."""


# --------------------------------------------------------------------------- #
# Randomness
# --------------------------------------------------------------------------- #
def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's (CPU and CUDA) global generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _rng_state() -> Dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: Dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# --------------------------------------------------------------------------- #
# Data
# --------------------------------------------------------------------------- #
class EpochSampler(Sampler[int]):
    """Shuffled indices for one epoch, reproducible from (seed, epoch), shardable, restartable.

    Each epoch's order is a permutation drawn from a generator seeded with
    ``seed`` and the epoch number. Under DDP the order is padded to a multiple
    of ``world_size`` and rank r takes every world_size-th index from r.
    ``set_epoch(epoch, start)`` skips the first ``start`` indices of this
    rank's share (to resume mid-epoch).
    """

    def __init__(self, num_items: int, seed: int = 0, shuffle: bool = True, rank: int = 0, world_size: int = 1):
        if num_items <= 0:
            raise ValueError(f"the dataset is empty (num_items={num_items})")
        self.num_items, self.seed, self.shuffle = num_items, seed, shuffle
        self.rank, self.world_size = rank, world_size
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        self.epoch, self.start = epoch, start

    def _indices(self) -> List[int]:
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            order = torch.randperm(self.num_items, generator=g).tolist()
        else:
            order = list(range(self.num_items))
        per_rank = math.ceil(self.num_items / self.world_size)
        order += order[: per_rank * self.world_size - self.num_items]
        return order[self.rank :: self.world_size]

    def __iter__(self):
        return iter(self._indices()[self.start :])

    def __len__(self) -> int:
        return math.ceil(self.num_items / self.world_size) - self.start


def move_to_device(batch: Any, device: torch.device) -> Any:
    """Move every tensor inside nested tuples/lists/dicts to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: move_to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        moved = [move_to_device(v, device) for v in batch]
        return type(batch)(*moved) if hasattr(batch, "_fields") else type(batch)(moved)
    return batch


def batch_size_of(batch: Any) -> int:
    """Number of samples in a batch: the length of its first tensor (1 if none)."""
    if isinstance(batch, torch.Tensor):
        return len(batch) if batch.ndim else 1
    if isinstance(batch, dict):
        batch = list(batch.values())
    if isinstance(batch, (list, tuple)):
        for item in batch:
            n = batch_size_of(item)
            if n:
                return n
    return 0


# --------------------------------------------------------------------------- #
# Checkpoints
# --------------------------------------------------------------------------- #
def checkpoint_dir(output_dir: Union[str, Path]) -> Path:
    return Path(output_dir) / CHECKPOINT_DIR


def find_last_checkpoint(output_dir: Union[str, Path]) -> Optional[Path]:
    """``output_dir/checkpoints/last.pt`` if it exists, else None."""
    path = checkpoint_dir(output_dir) / LAST_CHECKPOINT
    return path if path.is_file() else None


def load_checkpoint(path: Union[str, Path], map_location: Union[str, torch.device] = "cpu") -> Dict[str, Any]:
    """Load a checkpoint written by :func:`fit` (keys: model, optimizer, step, ...)."""
    path = Path(path)
    if path.is_dir():
        found = find_last_checkpoint(path)
        if found is None:
            raise FileNotFoundError(f"no checkpoint found in {path} (expected {checkpoint_dir(path) / LAST_CHECKPOINT})")
        path = found
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    except Exception as err:  # torch raises many kinds for a damaged file
        raise RuntimeError(f"checkpoint {path} could not be read ({err}); it may be truncated") from err


def _atomic_save(obj: Any, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


class _Checkpointer:
    def __init__(self, output_dir: Optional[str], keep: int):
        self.dir = checkpoint_dir(output_dir) if output_dir else None
        self.keep = keep
        self.last: Optional[str] = None

    def save(self, payload: Dict[str, Any]) -> Optional[str]:
        if self.dir is None or not dist_utils.is_main_process():
            return None
        self.dir.mkdir(parents=True, exist_ok=True)
        numbered = self.dir / f"step_{payload['step']:09d}.pt"
        if self.keep > 0:
            _atomic_save(payload, numbered)
            for old in sorted(self.dir.glob("step_*.pt"))[: -self.keep]:
                old.unlink()
        _atomic_save(payload, self.dir / LAST_CHECKPOINT)
        self.last = str(self.dir / LAST_CHECKPOINT)
        return self.last


# --------------------------------------------------------------------------- #
# The loop
# --------------------------------------------------------------------------- #
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


def _select_device(config: TrainConfig) -> torch.device:
    if dist_utils.launched_by_torchrun():
        return dist_utils.init_from_env()
    if config.device:
        return torch.device(config.device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _autocast_dtype(device: torch.device, config: TrainConfig) -> Optional[torch.dtype]:
    """The autocast dtype of the forward pass, or None for full precision."""
    if not config.amp:
        return None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and config.cpu_amp:
        if not cpu_supports_bf16():
            warnings.warn("--cpu-amp: oneDNN has no bf16 kernels for this CPU (they need AVX-512, AMX or Arm "
                          "BF16); bf16 autocast will be slow")
        return torch.bfloat16
    return None


def _accepts_progress(hook: Any) -> bool:
    """True when a task's ``after_optimizer_step`` takes a ``progress`` keyword."""
    if not callable(hook):
        return False
    try:
        return "progress" in inspect.signature(hook).parameters
    except (TypeError, ValueError):
        return False


def cpu_supports_bf16() -> bool:
    """True when oneDNN has bf16 kernels for this CPU (x86 AVX-512 and up, fastest with AVX512-BF16
    or AMX; Arm with BF16)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def _agree(flag: bool) -> bool:
    """True on every rank only if ``flag`` is True on every rank."""
    if not dist_utils.is_distributed():
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=_comm_device())
    torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MIN)
    return bool(t.item() > 0)


def _comm_device() -> torch.device:
    backend = torch.distributed.get_backend()
    return torch.device("cuda", torch.cuda.current_device()) if backend == "nccl" else torch.device("cpu")


class _Trainer:
    """Holds the state of one :func:`fit` call; split into short methods."""

    def __init__(self, task, data, optimizer, config, scheduler, collate_fn, callbacks, metadata):
        self.config = config
        if config.keep_freed_memory:
            keep_freed_memory()
        self.device = _select_device(config)
        self.task = task.to(self.device)
        self.model = self._wrap(task)
        self.optimizer, self.scheduler = optimizer, scheduler
        self.callbacks = list(callbacks)
        self.metadata = dict(metadata or {})
        self.amp_dtype = _autocast_dtype(self.device, config)
        self.scaler = torch.amp.GradScaler("cuda") if self.amp_dtype == torch.float16 else None
        self.state = TrainState(task=task)
        self.elapsed_before = 0.0  # seconds trained before a resume: the time budget spans the whole run
        self.data_seed = config.seed
        self.loader, self.sampler = self._make_loader(data, collate_fn)
        self.state.max_steps = self._max_steps()
        self._check_schedule_length()
        self._hook_takes_progress = _accepts_progress(getattr(task, "after_optimizer_step", None))
        self.checkpointer = _Checkpointer(config.output_dir, config.keep_checkpoints)
        self.history: List[Dict[str, Any]] = []
        self.nonfinite_in_a_row = 0
        self._window: Dict[str, List[float]] = {}
        self._window_samples = 0
        self._window_start = time.perf_counter()

    # -- set-up ------------------------------------------------------------ #
    def _wrap(self, task: nn.Module) -> nn.Module:
        if not dist_utils.is_distributed():
            return task
        ids = [self.device.index] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(task, device_ids=ids)

    def _make_loader(self, data, collate_fn):
        if isinstance(data, Dataset) and hasattr(data, "__len__") and not isinstance(data, torch.utils.data.IterableDataset):
            sampler = EpochSampler(len(data), self.config.seed, True, dist_utils.rank(), dist_utils.world_size())
            per_rank = len(sampler)
            if self.config.drop_last and per_rank < self.config.batch_size:
                raise ValueError(
                    f"the dataset has {len(data)} items ({per_rank} per process), fewer than one batch of "
                    f"{self.config.batch_size}; lower batch_size or pass drop_last=False"
                )
            loader = DataLoader(
                data,
                batch_size=self.config.batch_size,
                sampler=sampler,
                drop_last=self.config.drop_last,
                collate_fn=collate_fn,
                num_workers=self.config.num_workers,
                pin_memory=self.device.type == "cuda",
                generator=torch.Generator(),
            )
            return loader, sampler
        if isinstance(data, Iterable):
            return data, getattr(data, "sampler", None)
        raise TypeError(f"data must be a Dataset or an iterable of batches, got {type(data).__name__}")

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
        if getattr(self.scheduler, "needs_length", False) and self.state.max_steps is None and self.config.max_minutes is None:
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
        by_epochs = epochs * per_epoch if (epochs and per_epoch) else None
        candidates = [s for s in (self.config.steps, by_epochs) if s]
        return min(candidates) if candidates else None

    # -- checkpoints ------------------------------------------------------- #
    def payload(self) -> Dict[str, Any]:
        return {
            "model": self.task.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "step": self.state.step,
            "epoch": self.state.epoch,
            "batch_in_epoch": self.state.batch_in_epoch,
            "rng": _rng_state(),
            "elapsed_s": self.elapsed(),
            "config": asdict(self.config),
            "metadata": {**self.metadata, **self._task_metadata()},
        }

    def _task_metadata(self) -> Dict[str, Any]:
        fn = getattr(self.task, "train_metadata", None)
        return dict(fn()) if callable(fn) else {}

    def save(self) -> None:
        self.checkpointer.save(self.payload())

    def restore(self, resume: str) -> None:
        path = self._resolve_resume(resume)
        if path is None:
            return
        ckpt = load_checkpoint(path, map_location=self.device)
        self.task.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        if self.scheduler is not None and ckpt.get("scheduler") is not None:
            self.scheduler.load_state_dict(ckpt["scheduler"])
        if self.scaler is not None and ckpt.get("scaler") is not None:
            self.scaler.load_state_dict(ckpt["scaler"])
        self.state.step, self.state.epoch = ckpt["step"], ckpt["epoch"]
        self.state.batch_in_epoch = ckpt["batch_in_epoch"]
        self.elapsed_before = float(ckpt.get("elapsed_s", 0.0))
        self.start_time = time.perf_counter()
        _set_rng_state(ckpt["rng"])
        self._adopt_data_seed(ckpt.get("config", {}).get("seed", self.config.seed))
        self._say(f"resumed from {path} at step {self.state.step} (epoch {self.state.epoch})")

    def _adopt_data_seed(self, seed: int) -> None:
        """Keep the interrupted run's data order, whatever seed the resuming call passed."""
        if seed != self.config.seed:
            self._say(f"resuming with the checkpoint's seed {seed} (not {self.config.seed}) for the data order")
        self.data_seed = seed
        if isinstance(self.sampler, EpochSampler):
            self.sampler.seed = seed

    def _resolve_resume(self, resume: str) -> Optional[Path]:
        if resume != "auto":
            return Path(resume)
        if not self.config.output_dir:
            raise ValueError("resume='auto' needs output_dir to look for checkpoints")
        found = find_last_checkpoint(self.config.output_dir)
        if found is None:
            self._say(f"no checkpoint in {self.config.output_dir}; starting from scratch")
        return found

    # -- logging ----------------------------------------------------------- #
    def _say(self, message: str) -> None:
        if self.config.verbose and dist_utils.is_main_process():
            tqdm.write(f"[multissl] {message}")

    def _record(self, loss: float, metrics: Dict[str, Any], batch: Any) -> None:
        self._window.setdefault("loss", []).append(loss)
        for k, v in metrics.items():
            self._window.setdefault(k, []).append(_scalar(v))
        self._window_samples += batch_size_of(batch) * dist_utils.world_size()

    def _flush_log(self, bar) -> None:
        if not self._window:
            return
        elapsed = time.perf_counter() - self._window_start
        entry = {"step": self.state.step, "epoch": self.state.epoch}
        entry.update({k: float(np.mean(v)) for k, v in self._window.items()})
        entry["lr"] = self.optimizer.param_groups[0]["lr"]
        entry["samples_per_s"] = self._window_samples / max(elapsed, 1e-9)
        entry["elapsed_s"] = self.elapsed()
        self.history.append(entry)
        self._write_jsonl(entry)
        bar.set_postfix(loss=f"{entry['loss']:.4f}", samples_s=f"{entry['samples_per_s']:.0f}")
        self._window, self._window_samples = {}, 0
        self._window_start = time.perf_counter()

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

    def train_step(self, batch) -> bool:
        """One optimizer step; returns False when the step was skipped (non-finite loss)."""
        if hasattr(self.scheduler, "set_progress"):
            self.scheduler.set_progress(self.state.step, self.progress())
        loss, metrics = self._forward(batch)
        finite = _agree(bool(torch.isfinite(loss.detach()).all()))
        if not finite:
            self._skip(f"loss is {float(loss.detach().float().mean())}")
            return False
        (self.scaler.scale(loss) if self.scaler else loss).backward()
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
        self.state.loss = float(loss.detach())
        self._record(self.state.loss, metrics, batch)
        return True

    def _clip_and_check(self) -> bool:
        if self.config.grad_clip is None:
            return True
        if self.scaler:
            self.scaler.unscale_(self.optimizer)
        norm = torch.nn.utils.clip_grad_norm_(self.task.parameters(), self.config.grad_clip)
        if self.scaler is None and not _agree(bool(torch.isfinite(norm))):
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
        return not _agree(not over)

    def _epochs_done(self) -> bool:
        epochs = 1 if self._default_one_epoch() else self.config.epochs
        return epochs is not None and self.state.epoch >= epochs

    def _steps_done(self) -> bool:
        return self.config.steps is not None and self.state.step >= self.config.steps

    def _epoch_batches(self):
        start = self.state.batch_in_epoch
        if isinstance(self.sampler, EpochSampler):
            self.sampler.set_epoch(self.state.epoch, start * self.config.batch_size)
            self.loader.generator.manual_seed(self.data_seed * 7_919 + self.state.epoch)
            return iter(self.loader)
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(self.state.epoch)
        batches = iter(self.loader)
        for _ in range(start):  # fast-forward a user loader to the saved position
            next(batches, None)
        return batches

    def run(self) -> FitResult:
        self.start_time = time.perf_counter()
        if self.config.resume:
            self.restore(self.config.resume)
        else:
            seed_everything(self.config.seed)
        self.model.train()
        show = self.config.verbose and dist_utils.is_main_process()
        bar = tqdm(total=self.state.max_steps, initial=self.state.step, unit="step", disable=None if show else True, dynamic_ncols=True)
        reason = self._loop(bar)
        self._flush_log(bar)
        bar.close()
        self.save()
        self._say(f"stopped after step {self.state.step} ({reason}); checkpoint: {self.checkpointer.last}")
        return FitResult(self.state.step, self.state.epoch, reason, self.elapsed(), self.history, self.checkpointer.last)

    def _loop(self, bar) -> str:
        try:
            while True:
                if self._steps_done():
                    return "steps"
                if self._epochs_done():
                    return "epochs"
                reason = self._run_epoch(bar)
                if reason:
                    return reason
        except KeyboardInterrupt:
            self._say(f"interrupted at step {self.state.step}; saving a checkpoint")
            self.save()
            raise

    def _run_epoch(self, bar) -> Optional[str]:
        saw_batch = False
        for batch in self._epoch_batches():
            saw_batch = True
            if self.train_step(batch):
                self.state.step += 1
                self.state.batch_in_epoch += 1
                bar.update(1)
                self._after_step()
                self._periodic(bar)
            else:
                self.state.batch_in_epoch += 1
            if self._steps_done():
                return "steps"
            if self._out_of_time():
                return "time"
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


def fit(
    task: nn.Module,
    data: Union[Dataset, Iterable],
    optimizer: torch.optim.Optimizer,
    config: Optional[TrainConfig] = None,
    scheduler: Optional[torch.optim.lr_scheduler.LRScheduler] = None,
    collate_fn: Optional[Callable] = None,
    callbacks: Sequence[Any] = (),
    metadata: Optional[Dict[str, Any]] = None,
    **overrides: Any,
) -> FitResult:
    """Train ``task`` on ``data``.

    Args:
        task: ``nn.Module`` with ``forward(batch) -> loss | (loss, metrics) | {"loss": ...}``.
        data: a map-style ``Dataset`` (fit builds the loader: shuffled per
            epoch from the seed, sharded under DDP, exactly resumable) or any
            iterable of batches such as a ``DataLoader`` (resumed by skipping
            the batches already seen in the interrupted epoch).
        optimizer: built on ``task.parameters()``.
        config: :class:`TrainConfig`; keyword ``overrides`` replace its fields.
        scheduler: stepped after every optimizer step.
        collate_fn: passed to the DataLoader built for a ``Dataset``.
        callbacks: objects with optional ``on_step_end(state)`` and
            ``on_epoch_end(state) -> dict | None`` (the dict is logged).
        metadata: stored in every checkpoint under ``"metadata"`` (e.g. the
            model config, so that the run can be rebuilt for evaluation).
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
    outer_rng = _rng_state()
    try:
        trainer = _Trainer(task, data, optimizer, config, scheduler, collate_fn, callbacks, metadata)
        return trainer.run()
    finally:
        _set_rng_state(outer_rng)  # training seeds the global generators; the caller's state comes back


__all__ = [
    "EpochSampler",
    "FitResult",
    "NonFiniteLossError",
    "TrainConfig",
    "TrainState",
    "batch_size_of",
    "find_last_checkpoint",
    "fit",
    "load_checkpoint",
    "move_to_device",
    "seed_everything",
]
