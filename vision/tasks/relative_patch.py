"""Relative patch position (Doersch, Gupta & Efros 2015).

A 3x3 grid of patches separated by a gap is laid over each image, every
patch jittered independently; the network sees the centre patch and one of
its 8 neighbours through a shared (Siamese) encoder and classifies the
neighbour's position (8-way). Colour dropping (keep one random channel per
patch) stops the network from using chromatic aberration.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import torch

from multissl.heads import MLPHead

from ..batch_augment import resize_square
from ..patches import drop_color_channels, extract_patches
from ..encoder import Backbone
from .base import PretextTask, TaskConfig, classification_output

# (row, col) grid offsets of the 8 neighbours, label = index
NEIGHBOURS = ((0, 0), (0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1), (2, 2))


@dataclass
class RelativePatchConfig(TaskConfig):
    resize: int = field(default=64, metadata={"help": "resize images to this side before cutting patches (0: keep)"})
    patch_size: int = field(default=16, metadata={"help": "side of each patch (pixels, after resizing)"})
    gap: int = field(default=3, metadata={"help": "pixels between neighbouring grid cells"})
    jitter: int = field(default=2, metadata={"help": "maximal random shift of each patch (pixels)"})
    color_drop: bool = field(default=True, metadata={"help": "keep one random colour channel per patch, noise the others"})
    head_hidden: int = field(default=256, metadata={"help": "hidden units of the pair classifier"})


class RelativePatchTask(PretextTask):
    name = "relative-patch"

    config_class = RelativePatchConfig

    def __init__(self, config: Optional[RelativePatchConfig] = None, backbone: Backbone = None, in_channels: int = 3, image_size: int = 32,
                 num_classes: int = 0, *, feature_dim: Optional[int] = None, **overrides):
        super().__init__(config, backbone, in_channels, num_classes, image_size=image_size, feature_dim=feature_dim, **overrides)
        config = self.config
        self.head = MLPHead([2 * self.encoder.out_dim, config.head_hidden, 8])

    def required_size(self) -> int:
        c = self.config
        return 3 * c.patch_size + 2 * c.gap + 2 * c.jitter

    def sample_pairs(self, x: torch.Tensor):
        """Centre and neighbour patches (B, C, P, P) each, and neighbour labels (B,)."""
        c = self.config
        x = resize_square(x, c.resize)
        b, _, h, w = x.shape
        need = self.required_size()
        if min(h, w) < need:
            raise ValueError(f"images of {h}x{w} are too small for a 3x3 grid of {c.patch_size}-pixel patches with gap "
                             f"{c.gap} and jitter {c.jitter} (need at least {need}x{need}); raise resize or shrink the patches")
        cell = c.patch_size + c.gap
        origin_r = torch.randint(c.jitter, h - 3 * c.patch_size - 2 * c.gap - c.jitter + 1, (b,), device=x.device)
        origin_c = torch.randint(c.jitter, w - 3 * c.patch_size - 2 * c.gap - c.jitter + 1, (b,), device=x.device)
        labels = torch.randint(8, (b,), device=x.device)
        offsets = torch.tensor(NEIGHBOURS, device=x.device)[labels]  # (B, 2)
        grid = torch.stack([torch.ones_like(offsets), offsets], dim=1)  # centre (1,1), neighbour
        jitter = torch.randint(-c.jitter, c.jitter + 1, (b, 2, 2), device=x.device)
        tops = origin_r[:, None] + grid[..., 0] * cell + jitter[..., 0]
        lefts = origin_c[:, None] + grid[..., 1] * cell + jitter[..., 1]
        patches = extract_patches(x, tops, lefts, c.patch_size)  # (B, 2, C, P, P)
        if c.color_drop:
            patches = drop_color_channels(patches)
        return patches[:, 0], patches[:, 1], labels

    def forward(self, batch):
        centre, neighbour, labels = self.sample_pairs(self.images(batch))
        feats = self.encoder.features(torch.cat([centre, neighbour]))
        pair = torch.cat(feats.chunk(2), dim=1)
        return classification_output(self.head(pair), labels)
