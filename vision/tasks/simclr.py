"""SimCLR (Chen, Kornblith, Norouzi & Hinton 2020).

Two augmented views of every image go through the encoder and a projection
head; the core's NT-Xent loss (temperature 0.5 on CIFAR) pulls the two
views of each image together against the other 2B-2 embeddings (gathered
from every rank under DDP).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import torch

from multissl.heads import SimCLRProjectionHead
from multissl.losses import NTXentLoss

from ..batch_augment import make_views, simclr_views
from ..data import to_float
from ..encoder import Backbone
from .base import PretextTask, ProbedTaskConfig, crop_specs


@dataclass
class SimCLRConfig(ProbedTaskConfig):
    temperature: float = field(default=0.5, metadata={"help": "NT-Xent temperature (0.5 on CIFAR, 0.1 on ImageNet)"})
    proj_hidden: int = field(default=512, metadata={"help": "hidden units of the projection head (2048 in the paper)"})
    proj_out: int = field(default=128, metadata={"help": "projection size"})
    proj_layers: int = field(default=2, metadata={"help": "linear layers in the projection head"})
    proj_last_bn: bool = field(default=True, metadata={"help": "batch norm on the projection output (the official SimCLR code and lightly)"})
    color_strength: float = field(default=0.5, metadata={"help": "colour-jitter strength (0.5 on CIFAR, 1.0 on ImageNet)"})
    chunk_size: Optional[int] = field(default=None, metadata={"help": "compute NT-Xent logits this many rows at a time (memory linear in the batch)"})


def check_contrastive_batch(name: str, x: torch.Tensor) -> None:
    if len(x) < 2:
        raise ValueError(f"{name} needs at least 2 images per batch for in-batch negatives, got a batch of {len(x)}")


class SimCLR(PretextTask):
    name = "simclr"
    global_batch_norm = True  # the paper's batch norm over all devices' batch (--sync-bn, on by default)

    config_class = SimCLRConfig

    def __init__(self, config: Optional[SimCLRConfig] = None, backbone: Backbone = None, in_channels: int = 3, image_size: int = 32,
                 num_classes: int = 0, *, feature_dim: Optional[int] = None, **overrides):
        super().__init__(config, backbone, in_channels, num_classes, image_size=image_size, feature_dim=feature_dim, **overrides)
        config = self.config
        self.projector = SimCLRProjectionHead(self.encoder.out_dim, config.proj_hidden, config.proj_out, config.proj_layers,
                                              last_batch_norm=config.proj_last_bn)
        self.criterion = NTXentLoss(config.temperature, chunk_size=config.chunk_size)
        self.views = simclr_views(config.color_strength)

    def view_crops(self):
        return crop_specs([self.views, self.views])

    def forward(self, batch):
        x = to_float(batch[0])
        check_contrastive_batch(self.name, x)
        views = torch.cat(make_views(x, [self.views, self.views]))
        features = self.encoder.features(views)
        z0, z1 = self.projector(features).chunk(2)
        loss = self.criterion(z0, z1)
        metrics = {}
        return loss + self.online_probe_loss(features, batch, metrics), metrics
