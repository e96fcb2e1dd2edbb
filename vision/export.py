"""The encoder of a vision run for :mod:`multissl.export`: the task's trunk (images in [0, 1] -> (B, D))."""
from __future__ import annotations

from typing import Any, Dict

import torch
from torch import nn

from multissl.export import Exported
from multissl.run import Run

from .encoder import BackboneConfig, ImageEncoder
from .external_backbones import external_trunk, is_external


def encoder_of(run: Run) -> Exported:
    """The run's encoder: a ``torchvision:NAME`` trunk as torchvision's own module (its keys), the library ResNet
    as an :class:`ImageEncoder`; traced, either takes images in [0, 1]."""
    encoder = run.model.encoder
    backbone = run.recipe.get("backbone", {})
    side = int(run.config.get("image_size") or 32)
    channels = int(run.config.get("in_channels", 3))
    example = torch.rand(1, channels, side, side)
    facts = {"input": f"images (B, {channels}, H, W) in [0, 1]", "output": f"features (B, {encoder.out_dim})",
             "image_size": side, "in_channels": channels, "backbone": backbone}
    if is_external(backbone.get("arch", "")):
        facts["input"] = f"images (B, 3, H, W) normalised with the ImageNet mean and std (traced: in [0, 1])"
        return Exported(encoder.net, facts, example, traced=encoder)  # the encoder normalises, then calls the trunk
    return Exported(encoder, facts, example)


def encoder_from(description: Dict[str, Any]) -> nn.Module:
    """The network an export's state dict loads into."""
    backbone = BackboneConfig(**description["backbone"])
    if is_external(backbone.arch):
        return external_trunk(backbone.arch, int(description["in_channels"]))
    return ImageEncoder(backbone, int(description["in_channels"]))


__all__ = ["encoder_of", "encoder_from"]
