"""Split-brain autoencoders (Zhang, Isola & Efros 2017).

The network is split in two halves along its channels. Working in Lab
colour space, one half sees only L and predicts ab, the other sees only ab
and predicts L. Predictions are made at the encoders' feature resolution
against the average-pooled targets, as a regression (L2) or as a
classification over quantised values (cross-entropy; ab on a grid of
``ab_grid`` units over [-110, 110]^2, L in ``l_bins`` uniform bins). The
representation is the concatenation of both halves' features.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from multissl.color import lab_to_rgb, rgb_to_lab

from ..data import to_float
from ..encoder import Backbone, BackboneConfig, ImageEncoder, UserBackbone
from .base import PretextTask, TaskConfig

AB_RANGE = 110.0


@dataclass
class SplitBrainConfig(TaskConfig):
    mode: str = field(default="classification", metadata={"help": "classification (cross-entropy over bins) or regression (L2)", "choices": ["classification", "regression"]})
    ab_grid: float = field(default=10.0, metadata={"help": "ab bin size for classification (10 in the paper)"})
    l_bins: int = field(default=20, metadata={"help": "number of L bins for classification"})


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
        self.ab_bins_per_axis = int(round(2 * AB_RANGE / config.ab_grid))
        classify = config.mode == "classification"
        self.ab_head = nn.Conv2d(self.l_encoder.out_dim, self.ab_bins_per_axis**2 if classify else 2, 1)
        self.l_head = nn.Conv2d(self.ab_encoder.out_dim, config.l_bins if classify else 1, 1)

    # -- inputs ------------------------------------------------------------ #
    @staticmethod
    def split_lab(x: torch.Tensor):
        """RGB (B, 3, H, W) in [0, 1] -> L (B, 1, H, W) and ab (B, 2, H, W), both scaled to about [0, 1]."""
        lab = rgb_to_lab(x)
        return lab[:, :1] / 100.0, (lab[:, 1:] + AB_RANGE) / (2 * AB_RANGE)

    def _targets(self, l_in: torch.Tensor, ab_in: torch.Tensor, size):
        l_t = F.adaptive_avg_pool2d(l_in, size)
        ab_t = F.adaptive_avg_pool2d(ab_in, size)
        if self.config.mode == "regression":
            return l_t, ab_t
        n = self.ab_bins_per_axis
        ab_idx = (ab_t * n).long().clamp(0, n - 1)
        return (l_t[:, 0] * self.config.l_bins).long().clamp(0, self.config.l_bins - 1), ab_idx[:, 0] * n + ab_idx[:, 1]

    # -- training ---------------------------------------------------------- #
    def forward(self, batch):
        l_in, ab_in = self.split_lab(self.images(batch))
        ab_pred = self.ab_head(self.l_encoder.feature_map(l_in))
        l_pred = self.l_head(self.ab_encoder.feature_map(ab_in))
        l_target, ab_target = self._targets(l_in, ab_in, ab_pred.shape[-2:])
        if self.config.mode == "regression":
            loss_ab, loss_l = F.mse_loss(ab_pred, ab_target), F.mse_loss(l_pred, l_target)
            return loss_ab + loss_l, {"loss_ab": loss_ab.detach(), "loss_l": loss_l.detach()}
        loss_ab, loss_l = F.cross_entropy(ab_pred, ab_target), F.cross_entropy(l_pred, l_target)
        acc_ab = (ab_pred.argmax(1) == ab_target).float().mean().detach()
        return loss_ab + loss_l, {"loss_ab": loss_ab.detach(), "loss_l": loss_l.detach(), "ab_accuracy": acc_ab}

    # -- representation and pictures ---------------------------------------- #
    def encode(self, x: torch.Tensor, pool: int = 1) -> torch.Tensor:
        l_in, ab_in = self.split_lab(to_float(x))
        return torch.cat([self.l_encoder.probe_features(l_in, pool), self.ab_encoder.probe_features(ab_in, pool)], dim=1)

    @torch.no_grad()
    def colorize(self, x: torch.Tensor) -> torch.Tensor:
        """Colour images from their L channel alone: (B, 3, H, W) RGB in [0, 1]."""
        l_in, _ = self.split_lab(to_float(x))
        pred = self.ab_head(self.l_encoder.feature_map(l_in))
        if self.config.mode == "classification":
            n = self.ab_bins_per_axis
            centres = (torch.arange(n, device=x.device) + 0.5) / n
            probs = pred.softmax(1).view(len(x), n, n, *pred.shape[-2:])
            ab = torch.stack([torch.einsum("bijhw,i->bhw", probs, centres), torch.einsum("bijhw,j->bhw", probs, centres)], 1)
        else:
            ab = pred
        ab = F.interpolate(ab, size=x.shape[-2:], mode="bilinear", align_corners=False)
        lab = torch.cat([l_in * 100.0, ab * 2 * AB_RANGE - AB_RANGE], dim=1)
        return lab_to_rgb(lab)

    @torch.no_grad()
    def picture_rows(self, x: torch.Tensor):
        """(title, images) rows: original, its L channel, colourised from L alone."""
        x = to_float(x)
        gray = self.split_lab(x)[0].expand(-1, 3, -1, -1)
        return [("original", x), ("L input", gray), ("L -> predicted ab", self.colorize(x))]
