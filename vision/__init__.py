"""multissl.vision: image pretext tasks: reconstruction, proxy and contrastive methods.

- training: :func:`train` (``train(data, output, method, **overrides) -> Run``),
  :func:`recipe` (the merged settings), :func:`load_run`; the methods by name in
  :data:`TASKS` (``multissl vision methods``);
- methods you can put in your own loop, with the library ResNet or your own
  backbone: :class:`SimCLR`, :class:`MoCo`, :class:`BYOL`, :class:`RotationTask`, ...
  (``task = SimCLR(backbone=net, feature_dim=512); loss = task.training_loss(images)``);
- data: :func:`load_images` -> :class:`ImageSplits`;
- evaluation: :func:`features` (frozen (N, D) features), :func:`evaluate`
  (linear probe and kNN vs random init and raw pixels); with labels:
  :func:`finetune_run`, :func:`efficiency_run` (label-efficiency curves) and
  :func:`transfer_run` (docs/evaluation.md).
"""
from .data import ImageSplits, load_images
from .encoder import BackboneConfig, ImageEncoder
from .label_evaluation import efficiency_run, finetune_run, transfer_run
from .probe import evaluate, features, probe_run
from .registry import TASKS, build_task
from .run import load_run
from .tasks import (BYOL, BYOLConfig, ContextEncoder, ContextEncoderConfig, CPCv2, CPCv2Config, DAEConfig, DeepInfoMax,
                    DenoisingAutoencoder, DIMConfig, JigsawConfig, JigsawTask, MoCo, MoCoConfig, MoCoV1Config, PretextTask,
                    RelativePatchConfig, RelativePatchTask, RotationConfig, RotationTask, SimCLR, SimCLRConfig,
                    SplitBrainAutoencoder, SplitBrainConfig, UserBackbone)
from .training import OptimConfig, recipe, train

__all__ = [
    "BYOL", "BYOLConfig", "BackboneConfig", "CPCv2", "CPCv2Config", "ContextEncoder", "ContextEncoderConfig", "DAEConfig",
    "DIMConfig", "DeepInfoMax", "DenoisingAutoencoder", "ImageEncoder", "ImageSplits", "JigsawConfig", "JigsawTask", "MoCo",
    "MoCoConfig", "MoCoV1Config", "OptimConfig", "PretextTask", "RelativePatchConfig", "RelativePatchTask", "RotationConfig",
    "RotationTask", "SimCLR", "SimCLRConfig", "SplitBrainAutoencoder", "SplitBrainConfig", "TASKS", "UserBackbone",
    "build_task", "efficiency_run", "evaluate", "features", "finetune_run", "load_images", "load_run", "probe_run", "recipe",
    "train", "transfer_run",
]
