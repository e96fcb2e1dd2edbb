"""Denoising autoencoders (Vincent, Larochelle, Lajoie, Bengio & Manzagol 2010).

The input is corrupted (Gaussian, masking or salt-and-pepper noise) and the
network reconstructs the clean input; the squared error weighs corrupted
components by ``alpha`` and the others by ``beta`` (the paper's "emphasised"
DAE; alpha = beta is the plain DAE).

Two variants:
- ``conv`` (default): the shared ResNet encoder and a convolutional decoder.
- ``mlp``: the paper's stacked DAE: fully connected sigmoid layers with tied
  weights, pretrained greedily layer by layer (layer k learns to denoise the
  codes of the frozen layers below; ``steps_per_layer`` each), and the top
  code is the representation.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Tuple

import torch
from torch import nn

from ..corruptions import CORRUPTIONS, corrupt, weighted_reconstruction_loss
from ..data import to_float
from ..encoder import Backbone, ConvDecoder
from .base import PretextTask, TaskConfig


@dataclass
class DAEConfig(TaskConfig):
    variant: str = field(default="conv", metadata={"help": "conv (ResNet encoder + decoder) or mlp (stacked, layer-wise)", "choices": ["conv", "mlp"]})
    corruption: str = field(default="masking", metadata={"help": "the noise process", "choices": list(CORRUPTIONS)})
    level: float = field(default=0.25, metadata={"help": "fraction of corrupted components, or sigma for gaussian"})
    alpha: float = field(default=1.0, metadata={"help": "loss weight of corrupted components"})
    beta: float = field(default=0.5, metadata={"help": "loss weight of uncorrupted components"})
    hidden: Tuple[int, ...] = field(default=(1000, 1000), metadata={"help": "mlp variant: sizes of the stacked hidden layers"})
    steps_per_layer: int = field(default=2000, metadata={"help": "mlp variant: training steps of each layer before the next"})


class TiedDenoisingLayer(nn.Module):
    """One sigmoid layer with tied decoder weights: h = s(Wx + b), z = s(W^T h + b')."""

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.encode = nn.Linear(in_dim, out_dim)
        self.decoder_bias = nn.Parameter(torch.zeros(in_dim))
        bound = 4 * (6 / (in_dim + out_dim)) ** 0.5  # the paper's uniform initialisation for sigmoid units
        nn.init.uniform_(self.encode.weight, -bound, bound)
        nn.init.zeros_(self.encode.bias)

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.encode(x))

    def reconstruct(self, h: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(h @ self.encode.weight + self.decoder_bias)


class DenoisingAutoencoder(PretextTask):
    name = "dae"

    config_class = DAEConfig

    def __init__(self, config: Optional[DAEConfig] = None, backbone: Backbone = None, in_channels: int = 3, image_size: int = 32,
                 num_classes: int = 0, *, feature_dim: Optional[int] = None, **overrides):
        super().__init__(config, backbone, in_channels, num_classes, image_size=image_size, feature_dim=feature_dim, **overrides)
        config = self.config
        if config.variant not in ("conv", "mlp"):
            raise ValueError(f"variant must be 'conv' or 'mlp', got {config.variant!r}")
        if config.corruption not in CORRUPTIONS:
            raise ValueError(f"corruption must be one of {CORRUPTIONS}, got {config.corruption!r}")
        self.image_size = image_size
        if config.variant == "conv":
            self.decoder = ConvDecoder(self.encoder.out_dim, in_channels, self._require_feature_map(image_size))
        else:
            dims = [in_channels * image_size * image_size, *config.hidden]
            self.layers = nn.ModuleList(TiedDenoisingLayer(a, b) for a, b in zip(dims[:-1], dims[1:]))
            self.register_buffer("active_layer", torch.zeros((), dtype=torch.long))

    # -- conv variant ------------------------------------------------------- #
    def reconstruct(self, noisy: torch.Tensor) -> torch.Tensor:
        """Denoise images (B, C, H, W) in [0, 1] (conv variant) or flat inputs (mlp variant)."""
        if self.config.variant == "conv":
            return self.decoder(self.encoder.feature_map(noisy))
        h = noisy.flatten(1)
        for layer in self.layers:
            h = layer.hidden(h)
        for layer in reversed(self.layers):
            h = layer.reconstruct(h)
        return h.view_as(noisy)

    def forward(self, batch):
        x = self.images(batch)
        if self.config.variant == "mlp":
            return self._mlp_step(x)
        noisy, mask = corrupt(x, self.config.corruption, self.config.level)
        out = self.decoder(self.encoder.feature_map(noisy))
        loss = weighted_reconstruction_loss(out, x, mask, self.config.alpha, self.config.beta)
        return loss, {"mse": ((out - x) ** 2).mean().detach()}

    @torch.no_grad()
    def picture_rows(self, x: torch.Tensor):
        """(title, images) rows for a reconstruction picture: clean, corrupted, denoised."""
        x = to_float(x)
        noisy, _ = corrupt(x, self.config.corruption, self.config.level)
        return [("clean", x), (f"{self.config.corruption} {self.config.level:g}", noisy.clamp(0, 1)), ("denoised", self.reconstruct(noisy))]

    @property
    def leaves_parameters_unused(self) -> bool:
        """The stacked mlp variant trains one layer at a time (DDP must look for unused parameters)."""
        return self.config.variant == "mlp"

    # -- stacked mlp variant ------------------------------------------------ #
    def _check_size(self, x: torch.Tensor) -> None:
        if x.shape[-1] != self.image_size or x.shape[-2] != self.image_size:
            raise ValueError(f"the mlp DAE was built for {self.image_size}x{self.image_size} images, got {tuple(x.shape[-2:])}")

    def _mlp_step(self, x: torch.Tensor):
        self._check_size(x)
        k = int(self.active_layer)
        with torch.no_grad():  # the layers below are frozen
            h = x.flatten(1)
            for layer in self.layers[:k]:
                h = layer.hidden(h)
        noisy, mask = corrupt(h, self.config.corruption, self.config.level)
        layer = self.layers[k]
        out = layer.reconstruct(layer.hidden(noisy))
        loss = weighted_reconstruction_loss(out, h, mask, self.config.alpha, self.config.beta)
        return loss, {"layer": float(k)}

    def after_optimizer_step(self, step: int, max_steps: Optional[int] = None, progress: Optional[float] = None) -> None:
        """mlp variant: train layer ``step // steps_per_layer`` next (``step``: optimizer steps done)."""
        if self.config.variant == "mlp":
            self.active_layer.fill_(min(step // self.config.steps_per_layer, len(self.layers) - 1))

    def encode(self, x: torch.Tensor, pool: int = 1) -> torch.Tensor:
        if self.config.variant == "conv":
            return super().encode(x, pool)
        x = to_float(x)
        self._check_size(x)
        h = x.flatten(1)
        for layer in self.layers:
            h = layer.hidden(h)
        return h
