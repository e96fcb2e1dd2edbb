"""One pretext task per file; :mod:`multissl.vision.registry` lists them by CLI name.

Every task class takes a :class:`~multissl.vision.encoder.BackboneConfig`
(the library ResNet) or any ``nn.Module`` backbone, and trains with one call
per step::

    from multissl.vision.tasks import SimCLR
    task = SimCLR(backbone=net, feature_dim=512)
    loss = task.training_loss(images)

See :class:`~multissl.vision.tasks.base.PretextTask` for the constructor's
arguments.
"""
from ..encoder import BackboneConfig, UserBackbone
from .base import PretextTask, ProbedTaskConfig, TaskConfig
from .byol import BYOL, BYOLConfig
from .context_encoder import ContextEncoder, ContextEncoderConfig
from .cpc_v2 import CPCv2, CPCv2Config
from .dae import DAEConfig, DenoisingAutoencoder
from .dim import DeepInfoMax, DIMConfig
from .jigsaw import JigsawConfig, JigsawTask
from .moco import MoCo, MoCoConfig, MoCoV1Config
from .relative_patch import RelativePatchConfig, RelativePatchTask
from .rotation import RotationConfig, RotationTask
from .simclr import SimCLR, SimCLRConfig
from .split_brain import SplitBrainAutoencoder, SplitBrainConfig

__all__ = [
    "BYOL", "BYOLConfig", "BackboneConfig", "CPCv2", "CPCv2Config", "ContextEncoder", "ContextEncoderConfig", "DAEConfig",
    "DIMConfig", "DeepInfoMax", "DenoisingAutoencoder", "JigsawConfig", "JigsawTask", "MoCo", "MoCoConfig", "MoCoV1Config",
    "PretextTask", "ProbedTaskConfig", "RelativePatchConfig", "RelativePatchTask", "RotationConfig", "RotationTask", "SimCLR",
    "SimCLRConfig", "SplitBrainAutoencoder", "SplitBrainConfig", "TaskConfig", "UserBackbone",
]
