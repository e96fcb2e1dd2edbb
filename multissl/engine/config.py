"""The settings and results of a training run: :class:`TrainConfig`, :class:`TrainState`, :class:`FitResult`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from torch import nn

from ..presets import tracks_given

DEFAULT_BATCH_SIZE = 64  # when neither the caller nor a method preset sets one


@tracks_given
@dataclass
class TrainConfig:
    """Settings of the training loop; every field is a ``--flag`` of each train command."""

    steps: Optional[int] = field(default=None, metadata={"help": "optimizer steps to run (with --epochs: whichever ends first)"})
    epochs: Optional[int] = field(default=None, metadata={"help": "passes over the data (default: 1, or until --max-minutes when only that is given)"})
    max_minutes: Optional[float] = field(default=None, metadata={"help": "wall-clock budget; training stops cleanly and checkpoints"})
    batch_size: Optional[int] = field(default=None, metadata={"help": "samples per step on each process (default: the method's, "
                                                                    f"else {DEFAULT_BATCH_SIZE})"})
    num_workers: Optional[int] = field(default=None, metadata={"help": "DataLoader worker processes (default: 0 for data held in "
                                                                       "memory; for data read from disk, this process's share of "
                                                                       "the cores minus one, at most 8)"})
    prefetch_factor: int = field(default=2, metadata={"help": "batches each worker prepares ahead"})
    worker_nice: int = field(default=10, metadata={"help": "how much lower the workers' CPU priority is than training's "
                                                           "(0-19; 0: the same): short of cores, the training step goes first"})
    drop_last: bool = field(default=True, metadata={"help": "drop the last incomplete batch of each epoch"})
    accumulate: int = field(default=1, metadata={"help": "gradient accumulation: one optimizer step per N batches (the "
                                                         "global batch is batch_size x processes x N)"})
    sync_bn: Optional[bool] = field(default=None, metadata={"help": "with several processes, batch norm over the global batch "
                                                                  "(SimCLR's and BYOL's global BN; CPU and GPU); default: "
                                                                  "on for the methods whose papers use it"})
    seed: int = field(default=0, metadata={"help": "seed of every random number generator"})
    grad_clip: Optional[float] = field(default=None, metadata={"help": "clip the gradient norm to this value"})
    amp: bool = field(default=True, metadata={"help": "mixed precision on CUDA (bf16, or fp16 with loss scaling)"})
    cpu_amp: bool = field(
        default=False,
        metadata={"help": "with --amp, also bf16 autocast on CPU (1.5-1.8x the steps per minute measured on an "
                          "AVX512-BF16 CPU; slow on CPUs without oneDNN bf16 kernels)"},
    )
    device: Optional[str] = field(default=None, metadata={"help": "cpu, cuda or cuda:N (default: CUDA if available)"})
    channels_last: bool = field(default=True, metadata={"help": "channels_last memory order for the network's 4-d weights "
                                                                  "(NHWC convolutions; CUDA only, no-op on CPU)"})
    tf32: bool = field(default=True, metadata={"help": "TF32 matmuls and convolutions (CUDA only, no-op on CPU)"})
    cudnn_benchmark: bool = field(default=True, metadata={"help": "cudnn tries the convolution algorithms for the batch "
                                                                    "shape and keeps the fastest (CUDA only, no-op on CPU)"})
    compile: bool = field(default=False, metadata={"help": "torch.compile the task (CUDA only; the first steps compile)"})
    output_dir: Optional[str] = field(default=None, metadata={"help": "folder for checkpoints and metrics.jsonl"})
    checkpoint_every: int = field(default=500, metadata={"help": "save a checkpoint every N steps (0: only at the end)"})
    keep_checkpoints: int = field(default=2, metadata={"help": "numbered checkpoints to keep besides last.pt"})
    resume: Optional[str] = field(
        default=None,
        metadata={"help": "resume from this checkpoint; bare --resume: the latest in output_dir", "nargs": "?", "const": "auto"},
    )
    overwrite: bool = field(default=False, metadata={"help": "replace the run already in the output folder (without it, "
                                                             "training into a run folder needs --resume)"})
    log_every: int = field(default=10, metadata={"help": "write metrics every N steps"})
    tensorboard: bool = field(default=True, metadata={"help": "also write the metrics as TensorBoard event files in the run "
                                                               "folder (tensorboard --logdir RUN)"})
    max_nonfinite: int = field(default=10, metadata={"help": "stop after this many non-finite losses in a row"})
    verbose: bool = field(default=True, metadata={"help": "progress bar (on a terminal) and messages"})
    keep_freed_memory: bool = field(
        default=False,
        metadata={"help": "tune glibc malloc so each step reuses the memory the last one freed (no page faults, "
                          "SimCLR steps ~1.4x faster on 2 cores; memory stays at its peak; changes the whole process; the multissl "
                          "executable does it at start unless MULTISSL_KEEP_FREED_MEMORY=0)"},
    )

    def __post_init__(self):
        for name in ("steps", "epochs", "batch_size", "log_every", "max_nonfinite", "prefetch_factor", "accumulate"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"TrainConfig.{name} must be > 0, got {value}")
        if not 0 <= self.worker_nice <= 19:
            raise ValueError(f"TrainConfig.worker_nice must be in 0..19, got {self.worker_nice}")
        for name in ("num_workers", "checkpoint_every", "keep_checkpoints"):
            if getattr(self, name) is not None and getattr(self, name) < 0:
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



__all__ = ["DEFAULT_BATCH_SIZE", "FitResult", "NonFiniteLossError", "TrainConfig", "TrainState"]
