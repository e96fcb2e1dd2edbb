"""Jigsaw puzzles (Noroozi & Favaro 2016).

Each image is cut into a 3x3 grid of cells; a tile is cropped at a random
position inside every cell (leaving gaps between tiles) and normalised on
its own. The tiles are shuffled by one permutation from a fixed set chosen
for large Hamming distance (the paper's greedy Algorithm 1: maximal minimal
distance by default, the paper's maximal average on request), passed one by
one through a shared encoder, and a classifier on the concatenated tile
features predicts which permutation was used.

Shortcut prevention as in the paper: gaps and random crops inside the cells
(no edge continuity) and per-tile normalisation (no low-level statistics),
on by default, as are per-tile colour jitter (``color_jitter``), colour
channels shifted independently by a pixel (``channel_shift``, against
chromatic aberration) and grayscale puzzles (``grayscale_prob``, 0.3 in the
paper): with them the puzzle is harder (0.74 vs 0.93 accuracy after 15 CPU
minutes on CIFAR) and both probes rise.

Probes read what the encoder was trained on: the grid's cells, normalised
like tiles, one by one, with their features averaged (``probe_input``,
after Kolesnikov et al. 2019); whole images, which the encoder never saw
in training, are the ``image`` option.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Dict, Optional, Tuple

import torch
import torch.nn as nn

from multissl.checks import check_choice
from multissl.heads import MLPHead

from ..patches import (PERMUTATION_SELECTIONS, cell_color_jitter, grid_cells, grid_origins, hamming_permutations, normalize_tiles,
                       random_grayscale, shifted_channel_patches)
from ..batch_augment import resize_square
from ..data import to_float
from ..encoder import Backbone
from .base import PretextTask, TaskConfig, classification_output


PROBE_INPUTS = ("tiles", "image")


@dataclass
class JigsawConfig(TaskConfig):
    # runs recorded before these fields existed were probed on whole images at the last stage and trained without colour
    # tricks (see vision/run.py)
    legacy_values: ClassVar[Dict[str, object]] = {"probe_stage": -1, "color_jitter": 0.0, "grayscale_prob": 0.0, "channel_shift": 0,
                                                  "probe_input": "image"}
    resize: int = field(default=64, metadata={"help": "resize images to this side before tiling (0: keep)"})
    grid: int = field(default=3, metadata={"help": "tiles per side (3 in the paper)"})
    tile_size: int = field(default=14, metadata={
        "help": "side of each tile (pixels); the rest of each cell is gap (14 of 21: a third of the cell; 18 left edges "
                "continuous enough to solve the puzzle 97 times in 100, with features below random init)"})
    num_permutations: int = field(default=100, metadata={"help": "size of the permutation set (1000 in the paper; at most grid²!)"})
    permutation_selection: str = field(default="max-min", metadata={
        "help": "greedy permutation-set selection (the paper's Algorithm 1): max-min (largest minimal Hamming distance to "
                "the chosen set; better probes in short CIFAR runs) or max-avg (the paper's main setting: largest average "
                "distance)", "choices": list(PERMUTATION_SELECTIONS)})
    permutation_seed: int = field(default=0, metadata={"help": "seed of the permutation-set generation"})
    normalize_tiles: bool = field(default=True, metadata={"help": "normalise every tile to zero mean, unit std"})
    color_jitter: float = field(default=0.4, metadata={
        "help": "per-tile random brightness, contrast and saturation factors in [1 - x, 1 + x] (0: off)"})
    grayscale_prob: float = field(default=0.3, metadata={"help": "probability that a puzzle is shown in grayscale (0.3 in the paper)"})
    channel_shift: int = field(default=1, metadata={
        "help": "shift every colour channel of every tile by up to this many pixels (0: off; the paper jitters by a few pixels)"})
    tile_hidden: int = field(default=0, metadata={
        "help": "units of a per-tile layer between the encoder and the classifier, like the paper's fc6 (0: none, the "
                "encoder's features go straight to the classifier; 256 probed lower in short CIFAR runs)"})
    head_hidden: int = field(default=512, metadata={"help": "hidden units of the permutation classifier"})
    probe_stage: int = field(default=-2, metadata={
        "help": "backbone stage whose map the probes read, counted from the last (-1); the default -2 is the one before "
                "the last, where jigsaw features transfer best (the last stage specialises in the puzzle); backbones with "
                "fewer stages use their earliest, vector backbones their vector"})
    probe_input: str = field(default="tiles", metadata={
        "help": "what the probes encode: tiles (the image resized as in training and cut into the grid's whole cells, "
                "each normalised like a training tile and encoded alone, features averaged over the cells, as Kolesnikov "
                "et al. 2019 evaluate patch-based tasks: the encoder sees inputs like its training tiles) or image (the "
                "whole image, at probe_resize)", "choices": list(PROBE_INPUTS)})
    probe_resize: int = field(default=0, metadata={
        "help": "with probe_input image: resize the images given to encode() (the probes) to this side, e.g. the "
                "training resize, to show objects at the magnification the tiles had in training (0: as given)"})


def _resized(x: torch.Tensor, side: int) -> torch.Tensor:
    """(B, C, H, W) in [0, 1] -> (B, C, side, side) in [0, 1] (unchanged when ``side`` is 0 or already the size)."""
    out = resize_square(x, side)
    return x if out is x else out.clamp(0, 1)


def check_jigsaw_config(c: JigsawConfig) -> None:
    """ValueError for out-of-range fields (the permutation count is checked by :func:`hamming_permutations`)."""
    check_choice("permutation_selection", c.permutation_selection, PERMUTATION_SELECTIONS)
    if c.tile_hidden < 0:
        raise ValueError(f"tile_hidden must be >= 0, got {c.tile_hidden}")
    if c.grid < 2 or c.tile_size < 1 or c.resize < 0:
        raise ValueError(f"jigsaw needs grid >= 2, tile_size >= 1 and resize >= 0, got {c.grid}, {c.tile_size}, {c.resize}")
    if not 0 <= c.grayscale_prob <= 1:
        raise ValueError(f"grayscale_prob must be in [0, 1], got {c.grayscale_prob}")
    if not 0 <= c.color_jitter < 1:
        raise ValueError(f"color_jitter must be in [0, 1), got {c.color_jitter}")
    if c.probe_stage >= 0:
        raise ValueError(f"probe_stage counts from the last stage (-1, -2, ...), got {c.probe_stage}")
    check_choice("probe_input", c.probe_input, PROBE_INPUTS)
    if c.probe_resize < 0:
        raise ValueError(f"probe_resize must be >= 0, got {c.probe_resize}")
    if c.probe_resize and c.probe_input != "image":
        raise ValueError(f"probe_resize applies to probe_input 'image', got probe_input {c.probe_input!r}")
    if c.channel_shift < 0:
        raise ValueError(f"channel_shift must be >= 0, got {c.channel_shift}")


class JigsawTask(PretextTask):
    name = "jigsaw"

    config_class = JigsawConfig

    def __init__(self, config: Optional[JigsawConfig] = None, backbone: Backbone = None, in_channels: int = 3, image_size: int = 32,
                 num_classes: int = 0, *, feature_dim: Optional[int] = None, **overrides):
        super().__init__(config, backbone, in_channels, num_classes, image_size=image_size, feature_dim=feature_dim, **overrides)
        config = self.config
        check_jigsaw_config(config)
        cells = config.grid**2
        perms = hamming_permutations(config.num_permutations, cells, config.permutation_seed, config.permutation_selection)
        self.register_buffer("permutations", torch.from_numpy(perms))
        tile_dim = config.tile_hidden or self.encoder.out_dim
        self.tile_layer = (nn.Sequential(nn.Linear(self.encoder.out_dim, tile_dim, bias=False), nn.BatchNorm1d(tile_dim), nn.ReLU(inplace=True))
                           if config.tile_hidden else nn.Identity())
        self.head = MLPHead([cells * tile_dim, config.head_hidden, config.num_permutations])

    def resized(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, C, resize, resize) (unchanged when ``resize`` is 0)."""
        return _resized(x, self.config.resize)

    def augment_colors(self, x: torch.Tensor) -> torch.Tensor:
        """Photometric shortcut prevention before tiling: grayscale puzzles, then independent colour
        jitter per grid cell (so per tile). (B, C, H, W) in [0, 1] -> same."""
        c = self.config
        return cell_color_jitter(random_grayscale(x, c.grayscale_prob), c.grid, c.color_jitter)

    def make_puzzles(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Shuffled tiles (B, cells, C, T, T) and the index (B,) of the permutation applied.

        Geometry only (resize, random crop per cell, channel shifts, per-tile
        normalisation, shuffle); the colour jitter is :meth:`augment_colors`.
        """
        c = self.config
        x = self.resized(x)
        b, _, h, w = x.shape
        cell = min(h, w) // c.grid
        if cell < c.tile_size:
            raise ValueError(f"images of {h}x{w} give {c.grid}x{c.grid} cells of {cell} pixels, smaller than tiles of "
                             f"{c.tile_size}; raise resize or lower tile_size")
        cells = c.grid**2
        rows, cols = grid_origins(c.grid, cell, x.device)
        slack = cell - c.tile_size
        tops = rows + torch.randint(0, slack + 1, (b, cells), device=x.device)
        lefts = cols + torch.randint(0, slack + 1, (b, cells), device=x.device)
        shift = c.channel_shift if self.training else 0
        tiles = shifted_channel_patches(x, tops, lefts, c.tile_size, shift)
        if c.normalize_tiles:
            tiles = normalize_tiles(tiles)
        labels = torch.randint(len(self.permutations), (b,), device=x.device)
        order = self.permutations[labels]  # (B, cells): tile shown at slot i is tile order[i]
        shuffled = tiles[torch.arange(b, device=x.device)[:, None], order]
        return shuffled, labels

    def encode(self, x: torch.Tensor, pool: int = 1) -> torch.Tensor:
        """Frozen features for probes from stage ``probe_stage``: (B, C, H, W) -> (B, stage_dims[probe_stage]·pool²).

        ``probe_input`` tiles: the mean over the grid's cells of each cell's
        features (cells of the resized image, normalised as tiles); image:
        the whole image's features, at ``probe_resize`` when set.
        """
        c = self.config
        x = to_float(x)
        if c.probe_input == "image":
            return self.encoder.probe_features(_resized(x, c.probe_resize), pool, c.probe_stage)
        cells = grid_cells(self.resized(x), c.grid)  # (B, grid², C, cell, cell)
        if c.normalize_tiles:
            cells = normalize_tiles(cells)
        feats = self.encoder.probe_features(cells.flatten(0, 1), pool, c.probe_stage)
        return feats.view(len(x), cells.shape[1], -1).mean(1)

    def forward(self, batch):
        x = self.images(batch)
        if self.training:
            x = self.augment_colors(self.resized(x))
        tiles, labels = self.make_puzzles(x)
        b, cells = tiles.shape[:2]
        feats = self.tile_layer(self.encoder.features(tiles.flatten(0, 1))).view(b, -1)
        return classification_output(self.head(feats), labels)
