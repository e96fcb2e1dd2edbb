"""Contrastive Predictive Coding v2 for images (Hénaff et al. 2020).

Each image is cut into an overlapping grid of patches: ``grid`` x ``grid``
patches of ``patch_size`` pixels with stride ``patch_size / 2`` (the paper's
7 x 7 grid of 64-pixel patches overlapping by 32 on 256-pixel images).
``patch_size=0`` scales the patch to the image, ``2 * (image // (grid + 1))``:
8 px (stride 4) on 32-px CIFAR, 16 px (stride 8) on 64-px images, 64 px on
256-px ones; images are resized so the grid covers them exactly.

Every patch is augmented on its own (random crop resized back, horizontal
flip, colour jitter, random grayscale, colour dropping) and encoded by the
shared encoder, with layer normalisation by default (``encoder_norm``): the
paper found that batch statistics let patches leak information to each
other, a shortcut around the masked receptive fields.

For each direction of ``directions`` (the paper's final model predicts in all
four: top-down, bottom-up, left-right, right-left) the grid of embeddings is
turned so that the direction reads top to bottom, a masked (PixelCNN-style)
context network of that direction (residual blocks; by default bottlenecks
1x1 -> masked 3x3 -> 1x1 at a quarter of the width, ``context_width``) sees
only the rows at or above each position, and the direction's own :class:`~multissl.cpc.CPCCriterion`
predicts the embeddings 1..``predict_steps`` rows ahead with linear
predictors and scores them with InfoNCE against every patch of the batch.
The loss is the mean over directions. The patches are encoded once and
shared by all directions.

Shapes: images (B, C, H, W) -> patches (B, G, G, C, P, P) -> embeddings
(B, D, G, G); per direction: context (B, D, G, G) -> predictions of the
cells k = 1..K ahead; ``encode``: (B, C, H, W) -> (B, D).

Checkpoints saved before the directions (``context.*``, ``criterion.*``)
load as the top-down direction into a task built with
``directions=("top-down",), encoder_norm="batch", context_width=-1`` (run folders
recorded before these fields load that way by themselves). The representation of an image is the mean of its
patch embeddings.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar, Dict, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from multissl.backbones import NORMS
from multissl.cpc import CPCCriterion, legacy_predictor_hook

from ..batch_augment import grayscale, resize_square, uniform
from ..data import to_float
from ..encoder import Backbone, BackboneConfig
from .base import PretextTask, ProbedTaskConfig, resolve_config

DIRECTIONS = ("top-down", "bottom-up", "left-right", "right-left")
ENCODER_NORMS = NORMS + ("backbone",)


def parse_directions(value: Union[str, Tuple[str, ...], list]) -> Tuple[str, ...]:
    """``"top-down,left-right"`` or ``["top-down", "left-right"]`` -> a checked tuple of directions."""
    items = value.split(",") if isinstance(value, str) else [part for v in value for part in str(v).split(",")]
    names = tuple(item.strip().lower() for item in items if item.strip())
    unknown = [n for n in names if n not in DIRECTIONS]
    if unknown or not names or len(set(names)) != len(names):
        raise ValueError(f"directions must be distinct names among {', '.join(DIRECTIONS)} (a list or a comma-separated "
                         f"string), got {value!r}")
    return names


@dataclass
class CPCv2Config(ProbedTaskConfig):
    # what runs recorded before these fields existed trained with (see vision/run.py): top-down only, the backbone's
    # norm, full-width context blocks, flips and colour dropping only
    legacy_values: ClassVar[Dict[str, object]] = {"directions": ("top-down",), "encoder_norm": "backbone", "context_width": -1,
                                                  "crop_min_scale": 1.0, "jitter": 0.0, "gray_prob": 0.0}
    grid: int = field(default=7, metadata={"help": "patches per side (overlapping by half)"})
    patch_size: int = field(default=0, metadata={"help": "patch side in pixels; 0: 2 * (image_size // (grid + 1)), e.g. 8 on 32-px "
                                                         "and 16 on 64-px images (images are resized so the grid fits exactly)"})
    predict_steps: int = field(default=3, metadata={"help": "predict up to this many rows ahead"})
    directions: Tuple[str, ...] = field(default=DIRECTIONS, metadata={
        "help": f"prediction directions, each with its own context network and predictors ({', '.join(DIRECTIONS)}; "
                "several values or a comma-separated list)"})
    context_layers: int = field(default=2, metadata={"help": "masked residual conv blocks of each context network"})
    context_width: int = field(default=0, metadata={
        "help": "channels inside the context blocks; 0: a quarter of the embedding (bottleneck blocks, cheap enough for four "
                "directions); -1 or the embedding size: two full masked 3x3 convolutions per block (the single-direction layout)"})
    temperature: float = field(default=1.0, metadata={"help": "divides the prediction scores"})
    encoder_norm: str = field(default="layer", metadata={
        "help": "normalisation of the patch encoder (layer: no batch statistics shared between patches, as in the paper; "
                "backbone: keep the backbone's --norm; a user backbone is left as given)", "choices": list(ENCODER_NORMS)})
    patch_augment: bool = field(default=True, metadata={"help": "augment every patch on its own (crop, flip, jitter, grayscale, colour drop)"})
    crop_min_scale: float = field(default=0.6, metadata={"help": "smallest area share of a patch's random crop (1: no crop)"})
    jitter: float = field(default=0.4, metadata={"help": "brightness/contrast/saturation jitter strength per patch (0: none)"})
    jitter_prob: float = field(default=0.8, metadata={"help": "probability of jittering a patch"})
    gray_prob: float = field(default=0.2, metadata={"help": "probability of turning a patch to grayscale"})
    color_drop_prob: float = field(default=0.5, metadata={"help": "probability of keeping one random colour channel of a patch (copied to all three)"})

    def __post_init__(self):
        self.directions = parse_directions(self.directions)


class MaskedConv2d(nn.Conv2d):
    """A 3x3 convolution whose output row i sees input rows i-2..i only (pad on top): (B, C, H, W) -> (B, C_out, H, W)."""

    def __init__(self, channels: int, out_channels: Optional[int] = None):
        super().__init__(channels, out_channels or channels, kernel_size=(3, 3), padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, (1, 1, 2, 0)))


def _context_block(channels: int, hidden: int) -> nn.Sequential:
    """Residual branch: two masked 3x3 convolutions (hidden == channels), or a bottleneck 1x1 -> masked 3x3 -> 1x1."""
    if hidden == channels:
        return nn.Sequential(nn.ReLU(), MaskedConv2d(channels), nn.ReLU(), MaskedConv2d(channels))
    return nn.Sequential(nn.ReLU(), nn.Conv2d(channels, hidden, 1), nn.ReLU(), MaskedConv2d(hidden),
                         nn.ReLU(), nn.Conv2d(hidden, channels, 1))


class ContextNetwork(nn.Module):
    """Residual stack of masked convolutions: (B, D, G, G) -> (B, D, G, G), causal over rows.

    ``hidden``: channels inside each block (``None``: D, two full masked 3x3
    convolutions per block; fewer: a cheaper bottleneck block).
    """

    def __init__(self, channels: int, layers: int, hidden: Optional[int] = None):
        super().__init__()
        self.blocks = nn.ModuleList(_context_block(channels, hidden or channels) for _ in range(layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = x + block(x)
        return x


def orient(grid: torch.Tensor, direction: str) -> torch.Tensor:
    """Turn a (..., G, G) grid so that ``direction`` reads top to bottom (row 0 first)."""
    if direction in ("left-right", "right-left"):
        grid = grid.transpose(-2, -1)
    return grid.flip(-2) if direction in ("bottom-up", "right-left") else grid


def unorient(grid: torch.Tensor, direction: str) -> torch.Tensor:
    """The inverse of :func:`orient`: (..., G, G) back in image layout."""
    if direction in ("bottom-up", "right-left"):
        grid = grid.flip(-2)
    return grid.transpose(-2, -1) if direction in ("left-right", "right-left") else grid


def _key(direction: str) -> str:
    return direction.replace("-", "_")


def _per_patch(mask: torch.Tensor, new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
    """``new`` where the (N,) mask is true, else ``old`` (both (N, C, P, P))."""
    return torch.where(mask[:, None, None, None], new, old)


class CPCv2(PretextTask):
    name = "cpc-v2"

    config_class = CPCv2Config

    def __init__(self, config: Optional[CPCv2Config] = None, backbone: Backbone = None, in_channels: int = 3, image_size: int = 32,
                 num_classes: int = 0, *, feature_dim: Optional[int] = None, **overrides):
        config = resolve_config(self.name, self.config_class, config, overrides)
        self._check_config(config)
        super().__init__(config, self._patch_backbone(backbone, config.encoder_norm), in_channels, num_classes,
                         image_size=image_size, feature_dim=feature_dim)
        self.patch_size = config.patch_size or max(4, 2 * (image_size // (config.grid + 1)))
        d = self.encoder.out_dim
        # one masked context network and one core CPC criterion (k-step linear predictors + InfoNCE over every patch
        # of the batch) per direction
        hidden = d if config.context_width < 0 else config.context_width or max(1, d // 4)
        self.contexts = nn.ModuleDict({_key(k): ContextNetwork(d, config.context_layers, hidden) for k in config.directions})
        self.criteria = nn.ModuleDict({_key(k): CPCCriterion(d, d, config.predict_steps, negatives="all",
                                                             temperature=config.temperature, bias=True)
                                       for k in config.directions})
        self._register_load_state_dict_pre_hook(_single_direction_hook)

    @staticmethod
    def _patch_backbone(backbone: Backbone, norm: str) -> Backbone:
        """The library ResNet with ``norm`` (unless "backbone"); modules (user or built encoders) unchanged."""
        if norm == "backbone" or not (backbone is None or isinstance(backbone, BackboneConfig)):
            return backbone
        return dataclasses.replace(backbone or BackboneConfig(), norm=norm)

    @staticmethod
    def _check_config(config: CPCv2Config) -> None:
        if config.grid < 2 or not 1 <= config.predict_steps < config.grid:
            raise ValueError(f"need grid >= 2 and 1 <= predict_steps < grid, got grid={config.grid}, predict_steps={config.predict_steps}")
        if config.patch_size != 0 and config.patch_size < 4:
            raise ValueError(f"patch_size must be at least 4 pixels (or 0: from the image size), got {config.patch_size}")
        if config.context_width < -1 or config.context_layers < 1:
            raise ValueError(f"need context_layers >= 1 and context_width >= -1, got {config.context_layers} and {config.context_width}")
        if config.encoder_norm not in ENCODER_NORMS:
            raise ValueError(f"encoder_norm must be one of {', '.join(ENCODER_NORMS)}, got {config.encoder_norm!r}")
        if not 0 < config.crop_min_scale <= 1:
            raise ValueError(f"crop_min_scale must be in (0, 1], got {config.crop_min_scale}")
        if config.jitter < 0:
            raise ValueError(f"jitter must be >= 0, got {config.jitter}")
        for name in ("jitter_prob", "gray_prob", "color_drop_prob"):
            if not 0 <= getattr(config, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(config, name)}")

    @property
    def stride(self) -> int:
        return self.patch_size // 2

    @property
    def input_size(self) -> int:
        """Side of the images the grid covers exactly: patch + (grid - 1) * stride."""
        return self.patch_size + (self.config.grid - 1) * self.stride

    def patches(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, G, G, C, P, P) overlapping patches (images resized to ``input_size``)."""
        x = resize_square(x, self.input_size)
        p, s = self.patch_size, self.stride
        tiles = x.unfold(2, p, s).unfold(3, p, s)  # (B, C, G, G, P, P)
        return rearrange(tiles, "b c gh gw ph pw -> b gh gw c ph pw")

    # ------------------------------------------------------------------ augmentation of single patches
    def augment_patches(self, patches: torch.Tensor) -> torch.Tensor:
        """Augment every patch independently: (N, C, P, P) in [0, 1] -> (N, C, P, P) in [0, 1].

        Random square crop (area share in [crop_min_scale, 1]) resized back
        and horizontal flip (one bilinear resampling), then colour jitter,
        random grayscale and colour dropping (RGB only). Draws from torch's
        global RNG (``torch.manual_seed`` makes it repeatable).
        """
        patches = self._crop_and_flip(patches)
        if patches.shape[1] != 3:
            return patches
        patches = self._jitter(patches)
        gray = grayscale(patches).expand_as(patches)
        patches = _per_patch(torch.rand(len(patches), device=patches.device) < self.config.gray_prob, gray, patches)
        return self._drop_colors(patches)

    def _crop_and_flip(self, x: torch.Tensor) -> torch.Tensor:
        """Per-patch random square crop + horizontal flip, resampled to P x P: (N, C, P, P) -> same."""
        n, cfg = len(x), self.config
        scale = uniform(n, cfg.crop_min_scale, 1.0, x.device, x.dtype).sqrt()  # side share of the crop
        flip = torch.where(torch.rand(n, device=x.device) < 0.5, -1.0, 1.0).to(x.dtype)
        theta = x.new_zeros(n, 2, 3)
        theta[:, 0, 0], theta[:, 1, 1] = scale * flip, scale
        theta[:, 0, 2] = (1 - scale) * (2 * torch.rand(n, device=x.device, dtype=x.dtype) - 1)
        theta[:, 1, 2] = (1 - scale) * (2 * torch.rand(n, device=x.device, dtype=x.dtype) - 1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

    def _jitter(self, x: torch.Tensor) -> torch.Tensor:
        """Brightness, contrast and saturation factors in [1 - jitter, 1 + jitter] per patch: (N, 3, P, P) -> same."""
        j, n = self.config.jitter, len(x)
        if j == 0:
            return x
        factors = [uniform(n, max(0.0, 1 - j), 1 + j, x.device, x.dtype)[:, None, None, None] for _ in range(3)]
        out = x * factors[0]
        mean = grayscale(out).mean(dim=(1, 2, 3), keepdim=True)
        out = (out - mean) * factors[1] + mean
        gray = grayscale(out)
        out = ((out - gray) * factors[2] + gray).clamp(0, 1)
        return _per_patch(torch.rand(n, device=x.device) < self.config.jitter_prob, out, x)

    def _drop_colors(self, x: torch.Tensor) -> torch.Tensor:
        """Keep one random channel (copied to all three) of a ``color_drop_prob`` share of patches: (N, 3, P, P) -> same."""
        n = len(x)
        keep = torch.randint(3, (n,), device=x.device)
        kept = x.gather(1, keep[:, None, None, None].expand(n, 1, *x.shape[2:]))
        return _per_patch(torch.rand(n, device=x.device) < self.config.color_drop_prob, kept.expand_as(x), x)

    # ------------------------------------------------------------------ encoding and prediction
    def patch_embeddings(self, patches: torch.Tensor, augment: bool = False) -> torch.Tensor:
        """(B, G, G, C, P, P) patches -> embeddings (B, D, G, G), each patch encoded on its own."""
        b, g = patches.shape[:2]
        flat = patches.flatten(0, 2)
        if augment:
            flat = self.augment_patches(flat)
        z = self.encoder.features(flat)
        return rearrange(z, "(b gh gw) d -> b d gh gw", b=b, gh=g)

    def embed_patches(self, x: torch.Tensor, augment: bool) -> torch.Tensor:
        """(B, C, H, W) -> patch embeddings (B, D, G, G)."""
        return self.patch_embeddings(self.patches(x), augment)

    def context_map(self, z: torch.Tensor, direction: str) -> torch.Tensor:
        """Context of ``direction`` in image layout: (B, D, G, G) -> (B, D, G, G); the context at a cell
        sees only the cells at or before it along the direction (e.g. rows <= i for top-down)."""
        return unorient(self.contexts[_key(direction)](orient(z, direction)), direction)

    def direction_loss(self, z: torch.Tensor, direction: str) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """InfoNCE of one direction on (B, D, G, G) embeddings (the grid turned so the direction reads top-down)."""
        zo = orient(z, direction)
        c = self.contexts[_key(direction)](zo)
        # rows are the prediction axis, columns independent positions: (B, rows, cols, D)
        return self.criteria[_key(direction)](rearrange(c, "b d gh gw -> b gh gw d"), rearrange(zo, "b d gh gw -> b gh gw d"))

    def forward(self, batch):
        x = self.images(batch)
        z = self.embed_patches(x, self.training and self.config.patch_augment)
        losses, per_direction = [], []
        for direction in self.config.directions:
            loss, metrics = self.direction_loss(z, direction)
            losses.append(loss)
            per_direction.append(metrics)
        metrics = {k: sum(m[k] for m in per_direction) / len(per_direction) for k in per_direction[0]}
        metrics.update({f"acc_{_key(d)}": m["acc"] for d, m in zip(self.config.directions, per_direction)})
        return torch.stack(losses).mean() + self.online_probe_loss(z.mean(dim=(2, 3)), batch, metrics), metrics

    def encode(self, x: torch.Tensor, pool: int = 1) -> torch.Tensor:
        """Mean of the patch embeddings: (B, C, H, W) -> (B, D) (``pool`` is ignored)."""
        return self.embed_patches(to_float(x), augment=False).mean(dim=(2, 3))


_legacy_predictors = legacy_predictor_hook("criterion")


def _single_direction_hook(state_dict, prefix, *args):
    """Load checkpoints from before the directions: ``context.*`` / ``criterion.*`` / ``predictors.*``
    become the top-down direction's (``contexts.top_down.*``, ``criteria.top_down.*``)."""
    _legacy_predictors(state_dict, prefix, *args)
    for old, new in (("context.", "contexts.top_down."), ("criterion.", "criteria.top_down.")):
        for key in [k for k in state_dict if k.startswith(prefix + old)]:
            state_dict[prefix + new + key[len(prefix + old):]] = state_dict.pop(key)
