"""TensorBoard event files in the run folder, beside ``metrics.jsonl``: ``tensorboard --logdir RUN`` shows the curves.

Every logged entry of :func:`multissl.engine.fit` (loss, learning rate, samples/s, the share of time spent
waiting for data, a method's own metrics such as the online probe's accuracy, and on CUDA the peak GPU
memory) becomes one scalar per name at the entry's step, written by the ``tensorboard`` package's
``SummaryWriter`` (through ``torch.utils.tensorboard``). Only the main process writes. Without the
``tensorboard`` package the run goes on with one warning and ``metrics.jsonl`` alone.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Dict, Optional

import torch

NOT_SCALARS = ("step", "epoch", "event")
EVENT_FILES = "events.out.tfevents.*"  # SummaryWriter's file names


def remove_event_files(folder: Path) -> None:
    """Delete the TensorBoard event files a run wrote in ``folder`` (``--overwrite`` replaces the run)."""
    for path in Path(folder).glob(EVENT_FILES):
        path.unlink()


class TensorBoardLog:
    """``write(entry)``: each numeric value of a metrics entry as a scalar ``train/NAME`` at ``entry["step"]``."""

    def __init__(self, folder: Path, device: torch.device):
        self.folder, self.device = Path(folder), device
        self._writer: Optional[Any] = None
        self._failed = False

    def _open(self):
        if self._writer is None and not self._failed:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as err:  # the tensorboard package is missing or broken
                self._failed = True
                warnings.warn(f"no TensorBoard files ({err}); install tensorboard to get them. metrics.jsonl has every value",
                              RuntimeWarning, stacklevel=3)
                return None
            self._writer = SummaryWriter(log_dir=str(self.folder))
        return self._writer

    def write(self, entry: Dict[str, Any]) -> None:
        writer = self._open()
        if writer is None:
            return
        step = int(entry["step"])
        for name, value in entry.items():
            if name not in NOT_SCALARS and isinstance(value, (int, float)) and not isinstance(value, bool):
                writer.add_scalar(f"train/{name}", value, step)
        if self.device.type == "cuda":
            writer.add_scalar("train/gpu_memory_gb", torch.cuda.max_memory_allocated(self.device) / 2**30, step)
        writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


__all__ = ["EVENT_FILES", "TensorBoardLog", "remove_event_files"]
