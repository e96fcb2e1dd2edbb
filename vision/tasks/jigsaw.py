"""Jigsaw puzzles (Noroozi & Favaro 2016).

Each image is cut into a 3x3 grid of cells; a tile is cropped at a random
position inside every cell (leaving gaps between tiles) and normalised on
its own. The tiles are shuffled by one permutation from a fixed set chosen
for maximal Hamming distance, passed one by one through a shared encoder,
and a classifier on the concatenated tile features predicts which
permutation was used.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import torch
import torch.nn.functional as F

from multissl.heads import MLPHead

from ..patches import extract_patches, hamming_permutations, normalize_tiles
from ..encoder import Backbone
from .base import PretextTask, TaskConfig, classification_output


@dataclass
class JigsawConfig(TaskConfig):
    resize: int = field(default=64, metadata={"help": "resize images to this side before tiling (0: keep)"})
    grid: int = field(default=3, metadata={"help": "tiles per side (3 in the paper)"})
    tile_size: int = field(default=18, metadata={"help": "side of each tile (pixels); the rest of each cell is gap"})
    num_permutations: int = field(default=100, metadata={"help": "size of the permutation set (1000 in the paper)"})
    permutation_seed: int = field(default=0, metadata={"help": "seed of the permutation-set generation"})
    normalize_tiles: bool = field(default=True, metadata={"help": "normalise every tile to zero mean, unit std"})
    head_hidden: int = field(default=512, metadata={"help": "hidden units of the permutation classifier"})


class JigsawTask(PretextTask):
    name = "jigsaw"

    config_class = JigsawConfig

    def __init__(self, config: Optional[JigsawConfig] = None, backbone: Backbone = None, in_channels: int = 3, image_size: int = 32,
                 num_classes: int = 0, *, feature_dim: Optional[int] = None, **overrides):
        super().__init__(config, backbone, in_channels, num_classes, image_size=image_size, feature_dim=feature_dim, **overrides)
        config = self.config
        cells = config.grid**2
        self.register_buffer("permutations", torch.from_numpy(hamming_permutations(config.num_permutations, cells, config.permutation_seed)))
        self.head = MLPHead([cells * self.encoder.out_dim, config.head_hidden, config.num_permutations])

    def make_puzzles(self, x: torch.Tensor):
        """Shuffled tiles (B, cells, C, T, T) and the index (B,) of the permutation applied."""
        c = self.config
        if c.resize:
            x = F.interpolate(x, size=(c.resize, c.resize), mode="bilinear", align_corners=False, antialias=True)
        b, _, h, w = x.shape
        cell = min(h, w) // c.grid
        if cell < c.tile_size:
            raise ValueError(f"images of {h}x{w} give {c.grid}x{c.grid} cells of {cell} pixels, smaller than tiles of "
                             f"{c.tile_size}; raise resize or lower tile_size")
        cells = c.grid**2
        rows = torch.arange(c.grid, device=x.device).repeat_interleave(c.grid) * cell
        cols = torch.arange(c.grid, device=x.device).repeat(c.grid) * cell
        slack = cell - c.tile_size
        tops = rows + torch.randint(0, slack + 1, (b, cells), device=x.device)
        lefts = cols + torch.randint(0, slack + 1, (b, cells), device=x.device)
        tiles = extract_patches(x, tops, lefts, c.tile_size)
        if c.normalize_tiles:
            tiles = normalize_tiles(tiles)
        labels = torch.randint(len(self.permutations), (b,), device=x.device)
        order = self.permutations[labels]  # (B, cells): tile shown at slot i is tile order[i]
        shuffled = tiles[torch.arange(b, device=x.device)[:, None], order]
        return shuffled, labels

    def forward(self, batch):
        tiles, labels = self.make_puzzles(self.images(batch))
        b, cells = tiles.shape[:2]
        feats = self.encoder.features(tiles.flatten(0, 1)).view(b, cells * self.encoder.out_dim)
        return classification_output(self.head(feats), labels)
