"""Rotation prediction (Gidaris, Singh & Komodakis 2018).

Every image of the batch is shown at 0, 90, 180 and 270 degrees in the same
batch, and a classifier on the encoder's features predicts which rotation
was applied (4-way cross-entropy).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import torch

from multissl.heads import MLPHead

from ..encoder import Backbone
from .base import PretextTask, ProbedTaskConfig, classification_output


@dataclass
class RotationConfig(ProbedTaskConfig):
    head_hidden: int = field(default=256, metadata={"help": "hidden units of the rotation classifier (0: linear)"})


def rotate_batch(x: torch.Tensor):
    """(B, C, S, S) -> all four rotations (4B, C, S, S) and their labels (4B,) in 0..3 (k x 90 degrees)."""
    if x.shape[-1] != x.shape[-2]:
        raise ValueError(f"rotation needs square images, got {x.shape[-2]}x{x.shape[-1]}")
    rotated = torch.cat([torch.rot90(x, k, dims=(-2, -1)) for k in range(4)])
    labels = torch.arange(4, device=x.device).repeat_interleave(len(x))
    return rotated, labels


class RotationTask(PretextTask):
    name = "rotation"

    config_class = RotationConfig

    def __init__(self, config: Optional[RotationConfig] = None, backbone: Backbone = None, in_channels: int = 3, image_size: int = 32,
                 num_classes: int = 0, *, feature_dim: Optional[int] = None, **overrides):
        super().__init__(config, backbone, in_channels, num_classes, image_size=image_size, feature_dim=feature_dim, **overrides)
        config = self.config
        dims = [self.encoder.out_dim, config.head_hidden, 4] if config.head_hidden else [self.encoder.out_dim, 4]
        self.head = MLPHead(dims)

    def forward(self, batch):
        x = self.images(batch)
        rotated, labels = rotate_batch(x)
        features = self.encoder.features(rotated)
        loss, metrics = classification_output(self.head(features), labels)
        return loss + self.online_probe_loss(features[: len(x)], batch, metrics), metrics
