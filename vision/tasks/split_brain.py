"""Split-brain autoencoders (Zhang, Isola & Efros 2017).

The network is split in two halves along its channels. Working in Lab
colour space, one half sees only L and predicts ab, the other sees only ab
and predicts L, as a regression (L2) or as a classification over quantised
values (cross-entropy; L in ``l_bins`` uniform bins). The representation is
the concatenation of both halves' features.

ab classes (``ab_bins``):

- ``gamut`` (default, the paper): a grid of ``ab_grid`` units with centres on
  its multiples (23 x 23 for 10), restricted to the bins the training data
  occupies (313 on ImageNet). The histogram is accumulated over the first
  ``gamut_batches`` training batches seen by ``forward`` and then frozen
  (or set at once by ``fit_gamut(images)``); the head is sized for the full
  grid and the softmax runs over the kept bins only, a K-way classifier.
  The bin set is a buffer (``ab_quantizer.mask``), saved with checkpoints.
  Targets are soft-encoded (``soft_neighbours`` nearest kept bins with
  Gaussian weights of ``soft_sigma``) or one-hot (``soft_neighbours=1``).
- ``grid``: the earlier unrestricted grid of ``ab_grid`` units over
  [-110, 110]^2 (484 bins), hard targets from the average-pooled ab.

``dense``: upsample the logits (bilinearly) to the input resolution and
take the loss per pixel, as the paper's dense prediction; otherwise the
predictions stay at the encoders' feature resolution and the per-pixel
target distributions are averaged over each feature cell (the same loss as
nearest-neighbour upsampled logits).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import ClassVar, Dict, Optional

import torch
import torch.nn.functional as F
from torch import nn

from multissl.color import lab_to_rgb, rgb_to_lab
from multissl.color_bins import GamutBins

from ..data import to_float
from ..encoder import Backbone, BackboneConfig, ImageEncoder, UserBackbone
from .base import PretextTask, TaskConfig

AB_RANGE = 110.0


@dataclass
class SplitBrainConfig(TaskConfig):
    # runs recorded before these fields existed trained on the unrestricted grid (see vision/run.py)
    legacy_values: ClassVar[Dict[str, object]] = {"ab_bins": "grid"}
    mode: str = field(default="classification", metadata={"help": "classification (cross-entropy over bins) or regression (L2)", "choices": ["classification", "regression"]})
    ab_grid: float = field(default=10.0, metadata={"help": "ab bin size for classification (10 in the paper)"})
    l_bins: int = field(default=20, metadata={"help": "number of L bins for classification"})
    ab_bins: str = field(default="gamut", metadata={"help": "gamut: the grid bins the training data occupies (the paper's 313 on ImageNet); grid: all bins over [-110, 110]^2 with hard targets (earlier behaviour)", "choices": ["gamut", "grid"]})
    gamut_batches: int = field(default=50, metadata={"help": "training batches whose ab histogram sets the in-gamut bins (then frozen)"})
    gamut_min_fraction: float = field(default=0.0, metadata={"help": "keep ab bins holding more than this fraction of the pixels (0: at least one pixel)"})
    soft_neighbours: int = field(default=5, metadata={"help": "gamut: soft-encode ab targets over this many nearest bins (1: hard)"})
    soft_sigma: float = field(default=5.0, metadata={"help": "gamut: Gaussian width of the soft-encoding, in ab units"})
    dense: bool = field(default=False, metadata={"help": "upsample the logits to the input resolution and take the loss per pixel"})


def _channel_adapter(in_channels: int, out_channels: int) -> nn.Conv2d:
    """A 1x1 conv from the L (1) or ab (2) channels to a user network's RGB input: L -> (L, L, L), ab -> (0, a, b)."""
    conv = nn.Conv2d(in_channels, out_channels, 1)
    with torch.no_grad():
        conv.bias.zero_()
        conv.weight.zero_()
        for o in range(out_channels):
            if in_channels == 1:
                conv.weight[o, 0] = 1.0
            elif o >= out_channels - in_channels:
                conv.weight[o, o - (out_channels - in_channels)] = 1.0
    return conv


class SplitBrainAutoencoder(PretextTask):
    name = "split-brain"
    needs_color = True

    config_class = SplitBrainConfig

    def __init__(self, config: Optional[SplitBrainConfig] = None, backbone: Backbone = None, in_channels: int = 3, image_size: int = 32,
                 num_classes: int = 0, *, feature_dim: Optional[int] = None, **overrides):
        """``backbone``: a BackboneConfig (two ResNets of half its width), or an ``nn.Module`` returning a feature map
        (B, D, h, w) from RGB images: the L half uses it and the ab half a deep copy, each behind a learned 1x1
        convolution from its 1 (L) or 2 (ab) input channels to the network's 3 (initialised to gray L and (0, a, b)).
        """
        if backbone is None:
            backbone = BackboneConfig()
        if isinstance(backbone, ImageEncoder):
            raise ValueError("split-brain builds two encoders (for L and for ab); pass a BackboneConfig or an nn.Module, "
                             "not an ImageEncoder")
        if isinstance(backbone, BackboneConfig):
            backbone = replace(backbone, width=max(1, backbone.width // 2))
        super().__init__(config, backbone, in_channels, num_classes, image_size=image_size, feature_dim=feature_dim, **overrides)
        config = self.config
        if self.user_backbone:
            self._require_feature_map(image_size)
            user = self.encoder
            del self.encoder  # two encoders instead of one
            self.l_encoder = UserBackbone(nn.Sequential(_channel_adapter(1, 3), user.net), user.out_dim, 1, image_size)
            self.ab_encoder = UserBackbone(nn.Sequential(_channel_adapter(2, 3), copy.deepcopy(user.net)), user.out_dim, 2, image_size)
        else:
            del self.encoder  # two half-width encoders instead of one
            half = self.backbone_config
            self.l_encoder = ImageEncoder(half, in_channels=1)
            self.ab_encoder = ImageEncoder(half, in_channels=2)
        gamut = config.ab_bins == "gamut"
        if config.ab_bins not in ("gamut", "grid"):
            raise ValueError(f"ab_bins must be 'gamut' or 'grid', got {config.ab_bins!r}")
        if config.soft_neighbours < 1:
            raise ValueError(f"soft_neighbours must be >= 1, got {config.soft_neighbours}")
        self.ab_quantizer = GamutBins(config.ab_grid, AB_RANGE, centred=gamut, min_fraction=config.gamut_min_fraction,
                                      keep_all=not gamut)
        self.register_buffer("gamut_batches_seen", torch.zeros((), dtype=torch.long))
        classify = config.mode == "classification"
        self.ab_head = nn.Conv2d(self.l_encoder.out_dim, self.ab_quantizer.num_grid_bins if classify else 2, 1)
        self.l_head = nn.Conv2d(self.ab_encoder.out_dim, config.l_bins if classify else 1, 1)

    # -- inputs ------------------------------------------------------------ #
    @staticmethod
    def split_lab(x: torch.Tensor):
        """RGB (B, 3, H, W) in [0, 1] -> L (B, 1, H, W) and ab (B, 2, H, W), both scaled to about [0, 1]."""
        lab = rgb_to_lab(x)
        return lab[:, :1] / 100.0, (lab[:, 1:] + AB_RANGE) / (2 * AB_RANGE)

    @staticmethod
    def ab_units(ab_in: torch.Tensor) -> torch.Tensor:
        """ab scaled to about [0, 1] (as from ``split_lab``) -> Lab units."""
        return ab_in * (2 * AB_RANGE) - AB_RANGE

    # -- the in-gamut bins ---------------------------------------------------- #
    @property
    def num_ab_classes(self) -> int:
        """K: the ab bins the classifier chooses among (in-gamut bins, or the whole grid)."""
        return self.ab_quantizer.num_kept

    @torch.no_grad()
    def fit_gamut(self, images: torch.Tensor) -> "SplitBrainAutoencoder":
        """Set the in-gamut ab bins from all of ``images`` (N, 3, H, W) uint8 or float in [0, 1] and freeze them
        (instead of the first ``gamut_batches`` training batches). Cached in memory per data set."""
        if self.config.ab_bins == "gamut":
            self.ab_quantizer.fit_images(images, rgb_to_lab)
        return self

    @torch.no_grad()
    def _observe_gamut(self, ab_in: torch.Tensor) -> None:
        """Add a training batch's ab pixels to the histogram; freeze after ``gamut_batches`` batches."""
        quantizer = self.ab_quantizer
        if bool(quantizer.frozen) or not self.training:
            return
        quantizer.update(self.ab_units(ab_in))
        self.gamut_batches_seen += 1
        if int(self.gamut_batches_seen) >= self.config.gamut_batches:
            quantizer.freeze()

    def _kept_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """(B, n*n, h, w) grid logits -> (B, K, h, w) logits of the kept bins."""
        return logits.index_select(1, self.ab_quantizer.kept_index)

    # -- targets ------------------------------------------------------------ #
    def _ab_target(self, ab_in: torch.Tensor, size) -> torch.Tensor:
        """Target distributions over the K kept bins at ``size`` (h, w): (B, K, h, w), per-pixel (soft-)encodings
        averaged over each cell (one pixel per cell when ``size`` is the input's)."""
        pos, weight = self._encode_ab(ab_in)
        b = len(pos)
        (height, width), (h, w) = ab_in.shape[-2:], size
        cell = ((torch.arange(height, device=ab_in.device) * h // height)[:, None] * w
                + (torch.arange(width, device=ab_in.device) * w // width)[None, :])  # (H, W) target cell of each pixel
        flat = (pos * (h * w) + cell).reshape(b, -1)
        target = ab_in.new_zeros(b, self.num_ab_classes * h * w).scatter_add_(1, flat, weight.reshape(b, -1).float())
        return target.view(b, self.num_ab_classes, h, w) * (h * w / (height * width))

    def _ab_loss(self, logits: torch.Tensor, ab_in: torch.Tensor):
        """Cross-entropy of kept-bin logits (B, K, h, w) with the ab targets, and the (B, h, w) most likely target
        bin. At the input's resolution (dense) the sparse (soft-)encodings are gathered, else averaged per cell."""
        if logits.shape[-2:] != ab_in.shape[-2:]:
            target = self._ab_target(ab_in, logits.shape[-2:])
            return -(target * logits.log_softmax(1)).sum(1).mean(), target.argmax(1)
        pos, weight = self._encode_ab(ab_in)
        loss = -(weight * logits.log_softmax(1).gather(1, pos)).sum(1).mean()
        return loss, pos.gather(1, weight.argmax(1, keepdim=True))[:, 0]

    def _encode_ab(self, ab_in: torch.Tensor):
        """Per-pixel kept bins and weights of ab (B, 2, H, W) scaled to [0, 1]: (B, k, H, W) long and float."""
        ab = self.ab_units(ab_in)
        if self.config.soft_neighbours > 1:
            return self.ab_quantizer.encode_soft(ab, self.config.soft_neighbours, self.config.soft_sigma)
        return self.ab_quantizer.encode_hard(ab).unsqueeze(1), ab.new_ones(len(ab), 1, *ab.shape[-2:])

    def _grid_targets(self, l_in: torch.Tensor, ab_in: torch.Tensor, size):
        """Earlier targets: hard bins of the average-pooled L (B, h, w) and ab (B, h, w) (grid over all bins)."""
        l_t = F.adaptive_avg_pool2d(l_in, size)
        ab_t = F.adaptive_avg_pool2d(ab_in, size)
        ab_idx = self.ab_quantizer.cell_index(self.ab_units(ab_t))
        return self._l_classes(l_t), ab_idx

    def _l_classes(self, l_t: torch.Tensor) -> torch.Tensor:
        """L (B, 1, h, w) in [0, 1] -> (B, h, w) long bins."""
        return (l_t[:, 0] * self.config.l_bins).long().clamp(0, self.config.l_bins - 1)

    # -- training ---------------------------------------------------------- #
    def _predict(self, l_in: torch.Tensor, ab_in: torch.Tensor):
        """ab predictions from L and L predictions from ab: (B, K or 2, h, w) and (B, l_bins or 1, h, w);
        upsampled to the input's (H, W) when ``dense``."""
        ab_pred = self.ab_head(self.l_encoder.feature_map(l_in))
        l_pred = self.l_head(self.ab_encoder.feature_map(ab_in))
        if self.config.mode == "classification":
            ab_pred = self._kept_logits(ab_pred)
        if self.config.dense:
            size = l_in.shape[-2:]
            ab_pred = F.interpolate(ab_pred, size=size, mode="bilinear", align_corners=False)
            l_pred = F.interpolate(l_pred, size=size, mode="bilinear", align_corners=False)
        return ab_pred, l_pred

    def forward(self, batch):
        l_in, ab_in = self.split_lab(self.images(batch))
        if self.config.mode == "classification" and self.config.ab_bins == "gamut":
            self._observe_gamut(ab_in)
        ab_pred, l_pred = self._predict(l_in, ab_in)
        size = ab_pred.shape[-2:]
        if self.config.mode == "regression":
            l_t, ab_t = F.adaptive_avg_pool2d(l_in, size), F.adaptive_avg_pool2d(ab_in, size)
            loss_ab, loss_l = F.mse_loss(ab_pred, ab_t), F.mse_loss(l_pred, l_t)
            return loss_ab + loss_l, {"loss_ab": loss_ab.detach(), "loss_l": loss_l.detach()}
        loss_l = F.cross_entropy(l_pred, self._l_classes(F.adaptive_avg_pool2d(l_in, size)))
        if self.config.ab_bins == "grid":
            ab_target = self._grid_targets(l_in, ab_in, size)[1]
            loss_ab = F.cross_entropy(ab_pred, ab_target)
        else:
            loss_ab, ab_target = self._ab_loss(ab_pred, ab_in)
        acc_ab = (ab_pred.argmax(1) == ab_target).float().mean().detach()
        metrics = {"loss_ab": loss_ab.detach(), "loss_l": loss_l.detach(), "ab_accuracy": acc_ab,
                   "ab_classes": torch.tensor(float(self.num_ab_classes))}
        return loss_ab + loss_l, metrics

    # -- representation and pictures ---------------------------------------- #
    def encode(self, x: torch.Tensor, pool: int = 1) -> torch.Tensor:
        l_in, ab_in = self.split_lab(to_float(x))
        return torch.cat([self.l_encoder.probe_features(l_in, pool), self.ab_encoder.probe_features(ab_in, pool)], dim=1)

    @torch.no_grad()
    def colorize(self, x: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        """Colour images from their L channel alone: (B, 3, H, W) RGB in [0, 1]. Classification: the mean ab of
        the predicted distribution over the kept bins (``temperature`` < 1: the annealed mean, e.g. 0.38)."""
        l_in, _ = self.split_lab(to_float(x))
        pred = self.ab_head(self.l_encoder.feature_map(l_in))
        if self.config.mode == "classification":
            probs = self._kept_logits(pred).softmax(1)
            ab = (self.ab_quantizer.decode_distribution(probs, temperature) + AB_RANGE) / (2 * AB_RANGE)
        else:
            ab = pred
        ab = F.interpolate(ab, size=x.shape[-2:], mode="bilinear", align_corners=False)
        lab = torch.cat([l_in * 100.0, self.ab_units(ab)], dim=1)
        return lab_to_rgb(lab)

    @torch.no_grad()
    def picture_rows(self, x: torch.Tensor):
        """(title, images) rows: original, its L channel, colourised from L alone."""
        x = to_float(x)
        gray = self.split_lab(x)[0].expand(-1, 3, -1, -1)
        return [("original", x), ("L input", gray), ("L -> predicted ab", self.colorize(x))]
