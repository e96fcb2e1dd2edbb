"""The vision tasks by command-line name, and how to build one."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Type

from multissl.presets import tracks_given

from .encoder import BackboneConfig
from .tasks.base import PretextTask, TaskConfig
from .tasks.byol import BYOL, BYOLConfig
from .tasks.cpc_v2 import CPCv2, CPCv2Config
from .tasks.dim import DeepInfoMax, DIMConfig
from .tasks.moco import MoCo, MoCoConfig, MoCoV1Config
from .tasks.simclr import SimCLR, SimCLRConfig
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
    defaults: Dict[str, object]  # training-loop defaults (batch size ...) for this task
    optim_defaults: Dict[str, object] = field(default_factory=dict)


TRAIN_DEFAULTS = {"batch_size": 128}  # every method's, unless its spec says otherwise (Python API and CLI alike)

TASKS: Dict[str, TaskSpec] = {
    "dae": TaskSpec(DAEConfig, DenoisingAutoencoder, "denoising autoencoder (Vincent et al. 2010)", {}),
    "context-encoder": TaskSpec(ContextEncoderConfig, ContextEncoder, "inpainting context encoder (Pathak et al. 2016)", {}),
    "split-brain": TaskSpec(SplitBrainConfig, SplitBrainAutoencoder, "split-brain autoencoder, L<->ab (Zhang et al. 2017)", {}),
    "relative-patch": TaskSpec(RelativePatchConfig, RelativePatchTask, "relative patch position (Doersch et al. 2015)", {}),
    "jigsaw": TaskSpec(JigsawConfig, JigsawTask, "jigsaw puzzles (Noroozi & Favaro 2016)", {"batch_size": 64}),
    "rotation": TaskSpec(RotationConfig, RotationTask, "rotation prediction (Gidaris et al. 2018)", {}),
    "dim": TaskSpec(DIMConfig, DeepInfoMax, "Deep InfoMax, local-global MI (Hjelm et al. 2019)", {}),
    "cpc-v2": TaskSpec(CPCv2Config, CPCv2, "CPC v2: patch grids predicted in four directions (Henaff et al. 2020)", {"batch_size": 32}),
    "moco-v1": TaskSpec(MoCoV1Config, MoCo, "MoCo v1: momentum encoder and queue (He et al. 2020)", {"batch_size": 256}),
    "moco-v2": TaskSpec(MoCoConfig, MoCo, "MoCo v2: MLP head, blur, cosine schedule (Chen et al. 2020)", {"batch_size": 256},
                        {"schedule": "cosine"}),
    "simclr": TaskSpec(SimCLRConfig, SimCLR, "SimCLR: NT-Xent on two views (Chen et al. 2020)", {"batch_size": 256}),
    "byol": TaskSpec(BYOLConfig, BYOL, "BYOL: online predictor and EMA target (Grill et al. 2020)", {"batch_size": 256}),
}
for _spec in TASKS.values():
    tracks_given(_spec.config)  # a partial task config overrides the defaults with exactly the fields it was given


# Image-size recipes: per method, the section values that replace the registry defaults above for that image size.
# "32px" is the CIFAR recipe of each method (the defaults themselves); "64px" is the recipe for 64-pixel photographs
# such as Tiny-ImageNet, where the Gaussian blur of SimCLR, MoCo v2 and BYOL acts (it is off below 64 pixels, as in
# SimCLR's CIFAR recipe) and the ImageNet papers' photometric settings apply. A method without an entry keeps its defaults.
SIZE_RECIPES: Dict[str, Dict[str, Dict[str, Dict[str, object]]]] = {
    "32px": {},
    "64px": {
        "simclr": {"task": {"color_strength": 1.0}},  # the paper's ImageNet colour strength (0.5 is its CIFAR value)
        "moco-v2": {"task": {"temperature": 0.2}},  # MoCo v2's ImageNet temperature; momentum stays 0.99 for short runs
        "byol": {"task": {}},  # BYOL's recipe is already the paper's ImageNet one (blur 1.0 / 0.1, solarize 0 / 0.2)
    },
}
AUTO_SIZE = "auto"
LARGE_IMAGE_SIDE = 64
# Compute-budget presets, as in every modality: "cpu" is the registry's recipe (minutes on a CPU).
PRESETS: Dict[str, Dict[str, Dict[str, object]]] = {"cpu": {}}
DEFAULT_PRESET = "cpu"


def size_recipe_for(image_size: int) -> str:
    """The image-size recipe ``auto`` picks: "64px" for images of at least 64 pixels a side, else "32px"."""
    return "64px" if image_size >= LARGE_IMAGE_SIDE else "32px"


def size_recipe_values(size_recipe: str, method: str) -> Dict[str, Dict[str, object]]:
    """Section values of image-size recipe ``size_recipe`` for ``method`` (empty where it keeps the defaults)."""
    if size_recipe not in SIZE_RECIPES:
        raise ValueError(f"unknown vision size_recipe {size_recipe!r}; choose from {sorted(SIZE_RECIPES) + [AUTO_SIZE]}")
    return {section: dict(values) for section, values in SIZE_RECIPES[size_recipe].get(method, {}).items()}


def task_spec(name: str) -> TaskSpec:
    if name not in TASKS:
        raise ValueError(f"unknown vision method {name!r}; choose from {sorted(TASKS)}")
    return TASKS[name]


def build_task(name: str, config: TaskConfig, backbone: BackboneConfig, in_channels: int, image_size: int,
               num_classes: int = 0) -> PretextTask:
    """Build task ``name``; ``num_classes`` sizes the optional online probe."""
    spec = task_spec(name)
    if not isinstance(config, spec.config):
        raise ValueError(f"task {name!r} needs a {spec.config.__name__}, got {type(config).__name__}")
    task = spec.task(config, backbone, in_channels, image_size=image_size, num_classes=num_classes)
    task.name = name
    return task


__all__ = ["AUTO_SIZE", "DEFAULT_PRESET", "LARGE_IMAGE_SIDE", "PRESETS", "SIZE_RECIPES", "TASKS", "TRAIN_DEFAULTS", "TaskSpec",
           "build_task", "size_recipe_for", "size_recipe_values", "task_spec"]
