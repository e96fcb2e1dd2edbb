"""One training loop for every pretext task (a small package: ``config``, ``data``,
``checkpoints``, ``devices``, ``rng``, ``loop``).

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
- checkpoints every ``checkpoint_every`` steps, at the end, and on SIGINT,
  SIGTERM or SIGHUP (the step finishes, a checkpoint is written, then
  :class:`TrainingInterrupted`); every file is written atomically and listed
  with its size and SHA-256 in ``checkpoints/manifest.json``; ``resume``
  takes the newest readable checkpoint and restores model, optimizer,
  scheduler, step, data position and RNG states, so that (with
  ``num_workers=0``) a resumed run ends with exactly the parameters of an
  uninterrupted one; an output folder that already holds checkpoints needs
  ``resume`` or ``overwrite``;
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
from .checkpoints import (CHECKPOINT_DIR, LAST_CHECKPOINT, CheckpointError, checkpoint_dir, find_last_checkpoint, load_checkpoint,
                          load_newest_readable)
from .config import DEFAULT_BATCH_SIZE, FitResult, NonFiniteLossError, TrainConfig, TrainState
from .data import EpochSampler, batch_size_of, move_to_device
from .devices import cpu_supports_bf16
from .loop import METRICS_FILE, fit
from .rng import seed_everything
from .signals import StopSignals, TrainingInterrupted

__all__ = [
    "CHECKPOINT_DIR", "CheckpointError", "DEFAULT_BATCH_SIZE", "EpochSampler", "FitResult", "LAST_CHECKPOINT", "METRICS_FILE", "NonFiniteLossError",
    "TrainConfig", "TrainState", "batch_size_of", "checkpoint_dir", "cpu_supports_bf16", "find_last_checkpoint", "fit",
    "StopSignals", "TrainingInterrupted", "load_checkpoint", "load_newest_readable", "move_to_device", "seed_everything",
]
