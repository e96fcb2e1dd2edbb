"""The image encoder every vision task trains: a core ResNet behind fixed input normalisation.

Images enter as floats in [0, 1]; the encoder maps them to (x - 0.5) / 0.25
so tasks and probes never deal with normalisation themselves.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from multissl.backbones import resnet


@dataclass
class BackboneConfig:
    """The trunk shared by all vision tasks (CPU-sized defaults; the papers use width 64 and larger nets)."""

    arch: str = field(default="resnet18", metadata={"help": "resnet10/18/34/50/101", "choices": ["resnet10", "resnet18", "resnet34", "resnet50", "resnet101"]})
    width: int = field(default=16, metadata={"help": "channels of the first stage (64 in the papers)"})
    cifar_stem: bool = field(default=True, metadata={"help": "3x3 stride-1 stem for small images (else the ImageNet 7x7 stem + pool)"})
    norm: str = field(default="batch", metadata={"help": "batch or group normalisation", "choices": ["batch", "group"]})


class ImageEncoder(nn.Module):
    """Shapes: ``feature_map``: (B, C_in, H, W) in [0, 1] -> (B, D, H/s, W/s);
    ``features``: -> (B, D); ``probe_features(x, pool)``: -> (B, D * pool * pool);
    ``stage_maps``: one (B, stage_dims[i], h_i, w_i) map per ResNet stage."""

    def __init__(self, config: BackboneConfig, in_channels: int = 3):
        super().__init__()
        self.config = config
        self.net = resnet(config.arch, cifar_stem=config.cifar_stem, width=config.width, in_channels=in_channels, norm=config.norm)
        self.out_dim = self.net.out_dim
        self.in_channels = in_channels
        self.output_stride = self.net.output_stride
        self.stage_dims = self.net.stage_dims

    @staticmethod
    def normalize(x: torch.Tensor) -> torch.Tensor:
        return (x - 0.5) / 0.25

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.feature_map(self.normalize(x))

    def stage_maps(self, x: torch.Tensor):
        """Every stage's map, [(B, stage_dims[i], H/s_i, W/s_i)]; the last is ``feature_map(x)``."""
        return self.net.stage_maps(self.normalize(x))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.feature_map(x).mean(dim=(2, 3))

    def probe_features(self, x: torch.Tensor, pool: int = 1) -> torch.Tensor:
        return F.adaptive_avg_pool2d(self.feature_map(x), pool).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


class ConvDecoder(nn.Sequential):
    """Upsample a feature map by ``factor`` (a power of two) to ``out_channels`` values in [0, 1].

    Shapes: (B, in_channels, h, w) -> (B, out_channels, h * factor, w * factor).
    """

    def __init__(self, in_channels: int, out_channels: int, factor: int, min_channels: int = 16):
        if factor < 1 or factor & (factor - 1):
            raise ValueError(f"factor must be a power of two, got {factor}")
        layers, ch = [], in_channels
        while factor > 1:
            nxt = max(ch // 2, min_channels)
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(ch, nxt, 3, padding=1, bias=False),
                       nn.BatchNorm2d(nxt), nn.ReLU(inplace=True)]
            ch, factor = nxt, factor // 2
        layers += [nn.Conv2d(ch, out_channels, 3, padding=1), nn.Sigmoid()]
        super().__init__(*layers)


__all__ = ["BackboneConfig", "ConvDecoder", "ImageEncoder"]
