"""Train a vision task from Python: ``train_task(name, splits, ...)``; used by the CLI,
the examples, the demo and the benchmarks."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import torch

from multissl.engine import FitResult, TrainConfig, fit

from .data import ImageSplits
from .encoder import BackboneConfig
from .registry import build_task, task_spec
from .run import save_run_config
from .tasks.base import PretextTask, TaskConfig


@dataclass
class OptimConfig:
    """Optimiser and learning-rate schedule."""

    optimizer: str = field(default="adamw", metadata={"help": "adamw or sgd (momentum 0.9, nesterov)", "choices": ["adamw", "sgd"]})
    lr: float = field(default=2e-3, metadata={"help": "peak learning rate"})
    weight_decay: float = field(default=1e-4, metadata={"help": "decoupled weight decay"})
    schedule: str = field(default="constant", metadata={"help": "constant, or cosine decay over --steps/--epochs", "choices": ["constant", "cosine"]})
    warmup_steps: int = field(default=100, metadata={"help": "linear warm-up steps"})


def _param_groups(task: torch.nn.Module, lr: float) -> List[dict]:
    """One optimiser group per learning-rate multiplier the task asks for (``PretextTask.lr_scales``)."""
    scales = task.lr_scales() if hasattr(task, "lr_scales") else [([p for p in task.parameters() if p.requires_grad], 1.0)]
    return [{"params": params, "lr": lr * scale} for params, scale in scales if params]


def make_optimizer(task: torch.nn.Module, cfg: OptimConfig, total_steps: Optional[int]):
    """(optimizer, per-step LambdaLR scheduler); parameter groups follow the task's ``lr_scales()``."""
    groups = _param_groups(task, cfg.lr)
    if cfg.optimizer == "adamw":
        opt = torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    elif cfg.optimizer == "sgd":
        opt = torch.optim.SGD(groups, lr=cfg.lr, momentum=0.9, nesterov=True, weight_decay=cfg.weight_decay)
    else:
        raise ValueError(f"optimizer must be 'adamw' or 'sgd', got {cfg.optimizer!r}")
    if cfg.schedule == "cosine" and not total_steps:
        raise ValueError("the cosine schedule needs a known length: pass --steps or --epochs")

    def factor(step: int) -> float:
        warm = min(1.0, (step + 1) / cfg.warmup_steps) if cfg.warmup_steps else 1.0
        if cfg.schedule == "constant":
            return warm
        return warm * 0.5 * (1 + math.cos(math.pi * min(step / total_steps, 1.0)))

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)


def _total_steps(train: TrainConfig, num_items: int) -> Optional[int]:
    per_epoch = num_items // train.batch_size if train.drop_last else math.ceil(num_items / train.batch_size)
    candidates = [s for s in (train.steps, train.epochs * per_epoch if train.epochs else None) if s]
    return min(candidates) if candidates else None


def train_task(
    name: str,
    splits: ImageSplits,
    task_config: Optional[TaskConfig] = None,
    backbone: Optional[BackboneConfig] = None,
    optim: Optional[OptimConfig] = None,
    train: Optional[TrainConfig] = None,
    data_spec: str = "",
    callbacks=(),
) -> Tuple[PretextTask, FitResult]:
    """Build task ``name`` for ``splits``' images, train it on the train split with the engine.

    Writes ``config.json`` into ``train.output_dir`` (when set) so that
    :func:`multissl.vision.run.load_run` can rebuild the task for probing.
    """
    spec = task_spec(name)
    task_config = task_config or spec.config()
    backbone = backbone or BackboneConfig()
    optim = optim or OptimConfig(**spec.optim_defaults)
    train = train or TrainConfig(**spec.defaults)
    size = splits.image_size[0]
    torch.manual_seed(train.seed)  # the initialisation is part of the run: load_run rebuilds it
    num_classes = len(splits.classes) if splits.has_labels else 0
    task = build_task(name, task_config, backbone, splits.channels, size, num_classes)
    if train.output_dir:
        save_run_config(train.output_dir, name, task_config, backbone, splits.channels, size, data_spec,
                        {"seed": train.seed, "num_classes": num_classes})
    optimizer, scheduler = make_optimizer(task, optim, _total_steps(train, len(splits.x_train)))
    result = fit(task, splits.train_dataset(), optimizer, train, scheduler=scheduler, callbacks=callbacks,
                 metadata={"task": name})
    return task, result


__all__ = ["OptimConfig", "make_optimizer", "train_task"]
