"""The vision tasks by command-line name, and how to build one."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Type

from .encoder import BackboneConfig
from .tasks.base import PretextTask, TaskConfig
from .tasks.context_encoder import ContextEncoder, ContextEncoderConfig
from .tasks.dae import DAEConfig, DenoisingAutoencoder
from .tasks.jigsaw import JigsawConfig, JigsawTask
from .tasks.relative_patch import RelativePatchConfig, RelativePatchTask
from .tasks.rotation import RotationConfig, RotationTask
from .tasks.split_brain import SplitBrainAutoencoder, SplitBrainConfig


@dataclass(frozen=True)
class TaskSpec:
    config: Type[TaskConfig]
    task: Type[PretextTask]
    summary: str
    defaults: Dict[str, object]  # training-loop defaults (batch size, optimizer) for this task


OPTIMIZER_DEFAULTS = {"batch_size": 128}

TASKS: Dict[str, TaskSpec] = {
    "dae": TaskSpec(DAEConfig, DenoisingAutoencoder, "denoising autoencoder (Vincent et al. 2010)", {}),
    "context-encoder": TaskSpec(ContextEncoderConfig, ContextEncoder, "inpainting context encoder (Pathak et al. 2016)", {}),
    "split-brain": TaskSpec(SplitBrainConfig, SplitBrainAutoencoder, "split-brain autoencoder, L<->ab (Zhang et al. 2017)", {}),
    "relative-patch": TaskSpec(RelativePatchConfig, RelativePatchTask, "relative patch position (Doersch et al. 2015)", {}),
    "jigsaw": TaskSpec(JigsawConfig, JigsawTask, "jigsaw puzzles (Noroozi & Favaro 2016)", {"batch_size": 64}),
    "rotation": TaskSpec(RotationConfig, RotationTask, "rotation prediction (Gidaris et al. 2018)", {}),
}


def task_spec(name: str) -> TaskSpec:
    if name not in TASKS:
        raise ValueError(f"unknown vision task {name!r}; choose from {sorted(TASKS)}")
    return TASKS[name]


def build_task(name: str, config: TaskConfig, backbone: BackboneConfig, in_channels: int, image_size: int) -> PretextTask:
    spec = task_spec(name)
    if not isinstance(config, spec.config):
        raise ValueError(f"task {name!r} needs a {spec.config.__name__}, got {type(config).__name__}")
    return spec.task(config, backbone, in_channels, image_size=image_size)


__all__ = ["TASKS", "TaskSpec", "build_task", "task_spec"]
