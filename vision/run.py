"""A training run folder: ``config.json`` (what to rebuild) and the engine's checkpoints."""
from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import torch

from multissl.engine import load_checkpoint

from .encoder import BackboneConfig
from .registry import build_task, task_spec
from .tasks.base import PretextTask

CONFIG_FILE = "config.json"


def save_run_config(run_dir, task: str, config, backbone: BackboneConfig, in_channels: int, image_size: int,
                    data: str, extra: Optional[Dict[str, Any]] = None) -> Path:
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    payload = {"task": task, "task_config": asdict(config), "backbone": asdict(backbone), "in_channels": in_channels,
               "image_size": image_size, "data": data, **(extra or {})}
    path = run_dir / CONFIG_FILE
    path.write_text(json.dumps(payload, indent=2))
    return path


def read_run_config(run_dir) -> Dict[str, Any]:
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: {run_dir} is not a vision training run (made by `multissl vision train`)")
    return json.loads(path.read_text())


def _dataclass_from_dict(cls, values: Dict[str, Any]):
    names = {f.name for f in fields(cls)}
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in names}
    return cls(**kwargs)


def build_from_config(cfg: Dict[str, Any]) -> PretextTask:
    """A freshly initialised task as described by a run's config.json."""
    spec = task_spec(cfg["task"])
    config = _dataclass_from_dict(spec.config, cfg["task_config"])
    backbone = _dataclass_from_dict(BackboneConfig, cfg["backbone"])
    return build_task(cfg["task"], config, backbone, cfg["in_channels"], cfg["image_size"], cfg.get("num_classes", 0))


def load_run(run_dir, seed: int = 0) -> Tuple[PretextTask, PretextTask, Dict[str, Any]]:
    """(trained task, the same task at its random initialisation, config) of a run folder.

    The random twin is built with the seed the run was trained with, so it
    is exactly the initialisation training started from.
    """
    cfg = read_run_config(run_dir)
    torch.manual_seed(cfg.get("seed", seed))
    random_task = build_from_config(cfg)
    trained = build_from_config(cfg)
    ckpt = load_checkpoint(run_dir)
    trained.load_state_dict(ckpt["model"])
    return trained.eval(), random_task.eval(), cfg


__all__ = ["build_from_config", "load_run", "read_run_config", "save_run_config"]
