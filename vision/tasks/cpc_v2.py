"""Contrastive Predictive Coding v2 for images (Hénaff et al. 2020).

Each image is cut into an overlapping grid of patches (``grid`` x ``grid``,
e.g. 7 x 7 patches of 8 pixels with stride 4 on 32 x 32 images); every patch
is augmented on its own and encoded by the shared encoder. A masked
(PixelCNN-style) convolutional context network reads the grid top-down, so
the context at row i sees rows <= i only, and for k = 1..``predict_steps`` a linear
predictor guesses the patch embedding k rows below from it. InfoNCE scores
each prediction against every patch embedding of the batch (other patches of
the image and of other images are the negatives). The representation of an
image is the mean of its patch embeddings.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from multissl.cpc import CPCCriterion, legacy_predictor_hook

from ..data import to_float
from ..encoder import Backbone
from .base import PretextTask, ProbedTaskConfig


@dataclass
class CPCv2Config(ProbedTaskConfig):
    grid: int = field(default=7, metadata={"help": "patches per side (overlapping by half)"})
    patch_size: int = field(default=8, metadata={"help": "patch side in pixels (images are resized so the grid fits exactly)"})
    predict_steps: int = field(default=3, metadata={"help": "predict up to this many rows below"})
    context_layers: int = field(default=2, metadata={"help": "masked residual conv blocks of the context network"})
    temperature: float = field(default=1.0, metadata={"help": "divides the prediction scores"})
    patch_augment: bool = field(default=True, metadata={"help": "random flip and colour-channel dropping per patch"})


class MaskedConv2d(nn.Conv2d):
    """A 3x3 convolution whose output row i sees input rows i-2..i only (pad on top)."""

    def __init__(self, channels: int):
        super().__init__(channels, channels, kernel_size=(3, 3), padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, (1, 1, 2, 0)))


class ContextNetwork(nn.Module):
    """Residual stack of masked convolutions: (B, D, G, G) -> (B, D, G, G), causal over rows."""

    def __init__(self, channels: int, layers: int):
        super().__init__()
        self.blocks = nn.ModuleList(nn.Sequential(nn.ReLU(), MaskedConv2d(channels), nn.ReLU(), MaskedConv2d(channels)) for _ in range(layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = x + block(x)
        return x


class CPCv2(PretextTask):
    name = "cpc-v2"

    config_class = CPCv2Config

    def __init__(self, config: Optional[CPCv2Config] = None, backbone: Backbone = None, in_channels: int = 3, image_size: int = 32,
                 num_classes: int = 0, *, feature_dim: Optional[int] = None, **overrides):
        super().__init__(config, backbone, in_channels, num_classes, image_size=image_size, feature_dim=feature_dim, **overrides)
        config = self.config
        if config.grid < 2 or not 1 <= config.predict_steps < config.grid:
            raise ValueError(f"need grid >= 2 and 1 <= predict_steps < grid, got grid={config.grid}, predict_steps={config.predict_steps}")
        if config.patch_size < 4:
            raise ValueError(f"patch_size must be at least 4 pixels, got {config.patch_size}")
        d = self.encoder.out_dim
        self.context = ContextNetwork(d, config.context_layers)
        # the core CPC criterion: k-step linear predictors (per-patch, as 1x1 convolutions) + InfoNCE over every patch of the batch
        self.criterion = CPCCriterion(d, d, config.predict_steps, negatives="all", temperature=config.temperature, bias=True)
        self._register_load_state_dict_pre_hook(legacy_predictor_hook("criterion"))  # checkpoints with predictors.<k>

    @property
    def stride(self) -> int:
        return self.config.patch_size // 2

    @property
    def input_size(self) -> int:
        return self.config.patch_size + (self.config.grid - 1) * self.stride

    def patches(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, G, G, C, P, P) overlapping patches (images resized to fit the grid)."""
        if x.shape[-1] != self.input_size or x.shape[-2] != self.input_size:
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False, antialias=True)
        p, s = self.config.patch_size, self.stride
        tiles = x.unfold(2, p, s).unfold(3, p, s)  # (B, C, G, G, P, P)
        return rearrange(tiles, "b c gh gw ph pw -> b gh gw c ph pw")

    def _augment(self, patches: torch.Tensor) -> torch.Tensor:
        n = len(patches)
        flip = torch.rand(n, device=patches.device) < 0.5
        patches = torch.where(flip[:, None, None, None], patches.flip(-1), patches)
        if patches.shape[1] == 3:
            keep = torch.randint(3, (n,), device=patches.device)
            drop = torch.rand(n, device=patches.device) < 0.5
            kept = torch.arange(3, device=patches.device)[None] == keep[:, None]
            gray = torch.where(kept[:, :, None, None], patches, torch.zeros_like(patches)).sum(1, keepdim=True)
            patches = torch.where(drop[:, None, None, None], gray.expand_as(patches), patches)
        return patches

    def embed_patches(self, x: torch.Tensor, augment: bool) -> torch.Tensor:
        """(B, C, H, W) -> patch embeddings (B, D, G, G)."""
        patches = self.patches(x)
        b, g = patches.shape[:2]
        flat = patches.flatten(0, 2)
        if augment:
            flat = self._augment(flat)
        z = self.encoder.features(flat)
        return rearrange(z, "(b gh gw) d -> b d gh gw", b=b, gh=g)

    def forward(self, batch):
        x = self.images(batch)
        z = self.embed_patches(x, self.training and self.config.patch_augment)
        c = self.context(z)
        # rows are the prediction axis, columns independent positions: (B, rows, cols, D)
        loss, metrics = self.criterion(rearrange(c, "b d gh gw -> b gh gw d"), rearrange(z, "b d gh gw -> b gh gw d"))
        return loss + self.online_probe_loss(z.mean(dim=(2, 3)), batch, metrics), metrics

    def encode(self, x: torch.Tensor, pool: int = 1) -> torch.Tensor:
        """Mean of the patch embeddings: (B, C, H, W) -> (B, D) (``pool`` is ignored)."""
        return self.embed_patches(to_float(x), augment=False).mean(dim=(2, 3))
