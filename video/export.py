"""The encoder of a video run for :mod:`multissl.export`: the colorizer's network (the colour clusters stay behind)."""
from __future__ import annotations

from typing import Any, Dict

import torch
from torch import nn

from multissl.export import Exported
from multissl.run import Run

from .colorizer import ColorizationNetwork, ColorizerConfig


def encoder_of(run: Run) -> Exported:
    network = run.model.network
    config = network.config
    facts = {"input": "gray frames (B, T, 1, H, W) in [-1, 1] (L / 50 - 1), H and W multiples of 8",
             "output": f"embeddings (B, T, {config.embed_dim}, H/8, W/8)", "model": config.as_dict()}
    return Exported(network, facts, torch.zeros(1, 2, 1, 64, 64))


def encoder_from(description: Dict[str, Any]) -> nn.Module:
    return ColorizationNetwork(ColorizerConfig(**description["model"]))


__all__ = ["encoder_from", "encoder_of"]
