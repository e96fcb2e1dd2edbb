"""Checkpoint files of a run folder: ``checkpoints/last.pt`` and numbered ones, written atomically."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Optional, Union

import torch

from .. import distributed as dist_utils

CHECKPOINT_DIR = "checkpoints"
LAST_CHECKPOINT = "last.pt"


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


def atomic_save(obj: Any, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


class Checkpointer:
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
            atomic_save(payload, numbered)
            for old in sorted(self.dir.glob("step_*.pt"))[: -self.keep]:
                old.unlink()
        atomic_save(payload, self.dir / LAST_CHECKPOINT)
        self.last = str(self.dir / LAST_CHECKPOINT)
        return self.last



__all__ = ["CHECKPOINT_DIR", "Checkpointer", "LAST_CHECKPOINT", "atomic_save", "checkpoint_dir", "find_last_checkpoint", "load_checkpoint"]
