"""Context encoders: feature learning by inpainting (Pathak et al. 2016).

Part of the image is hidden (filled with the mean value 0.5); an encoder, a
channel-wise fully-connected bottleneck and a convolutional decoder
reconstruct the whole image. The L2 loss covers the hidden region and a
ring of ``overlap`` visible pixels around it, weighted ``overlap_weight``
(10 in the paper). With ``adversarial`` on, a discriminator judges the
inpainted images and the generator's loss is
``lambda_rec * L2 + lambda_adv * adversarial`` (0.999 / 0.001). Generator
and discriminator train with one optimizer: each loss term only reaches its
own network's parameters (the generator's adversarial term is computed
through a parameter-detached copy of the discriminator).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from ..encoder import Backbone, ConvDecoder
from ..masks import MASKS, make_mask, overlap_ring
from .base import PretextTask, TaskConfig, detached_call


@dataclass
class ContextEncoderConfig(TaskConfig):
    mask: str = field(default="center", metadata={"help": "hole shape", "choices": list(MASKS)})
    coverage: float = field(default=0.25, metadata={"help": "fraction of the image hidden"})
    overlap: int = field(default=2, metadata={"help": "width of the visible ring also reconstructed (pixels; 4 at 128 px)"})
    overlap_weight: float = field(default=10.0, metadata={"help": "loss weight of the overlap ring"})
    adversarial: bool = field(default=False, metadata={"help": "add the discriminator's loss"})
    lambda_rec: float = field(default=0.999, metadata={"help": "weight of the reconstruction loss"})
    lambda_adv: float = field(default=0.001, metadata={"help": "weight of the adversarial loss"})
    dropout: float = field(default=0.5, metadata={"help": "dropout after the channel-wise fully-connected layer"})


class ChannelWiseFC(nn.Module):
    """Fully connected within each channel (no cross-channel weights), then a 1x1 conv across channels.

    Shapes: (B, C, h, w) -> (B, C, h, w).
    """

    def __init__(self, channels: int, size: int, dropout: float):
        super().__init__()
        n = size * size
        self.weight = nn.Parameter(torch.randn(channels, n, n) / n**0.5)
        self.bias = nn.Parameter(torch.zeros(channels, n))
        self.mix = nn.Conv2d(channels, channels, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.shape[-2]
        flat = rearrange(x, "b c h w -> b c (h w)")
        mixed = torch.einsum("bcn,cnm->bcm", flat, self.weight) + self.bias
        out = rearrange(mixed, "b c (h w) -> b c h w", h=h)
        return self.mix(self.dropout(F.relu(out)))


class Discriminator(nn.Sequential):
    """A small DCGAN-style critic: (B, C, H, W) -> (B,) logits."""

    def __init__(self, in_channels: int, width: int = 32):
        super().__init__(
            nn.Conv2d(in_channels, width, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(2 * width, 4 * width, 4, 2, 1), nn.BatchNorm2d(4 * width), nn.LeakyReLU(0.2, inplace=True),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * width, 1), nn.Flatten(0),
        )


class ContextEncoder(PretextTask):
    name = "context-encoder"

    config_class = ContextEncoderConfig

    def __init__(self, config: Optional[ContextEncoderConfig] = None, backbone: Backbone = None, in_channels: int = 3, image_size: int = 32,
                 num_classes: int = 0, *, feature_dim: Optional[int] = None, **overrides):
        super().__init__(config, backbone, in_channels, num_classes, image_size=image_size, feature_dim=feature_dim, **overrides)
        config = self.config
        if config.mask not in MASKS:
            raise ValueError(f"mask must be one of {MASKS}, got {config.mask!r}")
        stride = self._require_feature_map(image_size)
        if image_size % stride:
            raise ValueError(f"image size {image_size} must be a multiple of the encoder's output stride {stride}")
        self.image_size = image_size
        self.bottleneck = ChannelWiseFC(self.encoder.out_dim, image_size // stride, config.dropout)
        self.decoder = ConvDecoder(self.encoder.out_dim, in_channels, stride)
        self.discriminator = Discriminator(in_channels) if config.adversarial else None

    def masks(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        if (h, w) != (self.image_size, self.image_size):
            raise ValueError(f"the context encoder was built for {self.image_size}x{self.image_size} images, got {h}x{w}")
        return make_mask(self.config.mask, b, h, w, self.config.coverage, device=x.device)

    def inpaint(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Reconstruct images (B, C, H, W) whose ``mask`` (B, 1, H, W) pixels are hidden."""
        hidden = x.masked_fill(mask, 0.5)
        return self.decoder(self.bottleneck(self.encoder.feature_map(hidden)))

    def loss_weights(self, mask: torch.Tensor) -> torch.Tensor:
        ring = overlap_ring(mask, self.config.overlap)
        return mask.float() + self.config.overlap_weight * ring.float()

    def forward(self, batch):
        x = self.images(batch)
        mask = self.masks(x)
        out = self.inpaint(x, mask)
        weights = self.loss_weights(mask).expand_as(x)
        rec = (weights * (out - x) ** 2).sum() / weights.sum()
        metrics = {"rec": rec.detach()}
        if self.discriminator is None:
            return rec, metrics
        fake = torch.where(mask, out, x)
        g_adv = F.binary_cross_entropy_with_logits(detached_call(self.discriminator, fake), torch.ones(len(x), device=x.device))
        real_logits, fake_logits = self.discriminator(x), self.discriminator(fake.detach())
        d_loss = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)) + \
            F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        loss = self.config.lambda_rec * rec + self.config.lambda_adv * g_adv + d_loss
        metrics.update(g_adv=g_adv.detach(), d_loss=d_loss.detach())
        return loss, metrics

    @torch.no_grad()
    def picture_rows(self, x: torch.Tensor):
        """(title, images) rows: original, masked input, inpainted (prediction pasted into the hole)."""
        x = self.images((x,), augment=False)
        mask = self.masks(x)
        out = self.inpaint(x, mask)
        return [("original", x), ("masked", x.masked_fill(mask, 0.5)), ("inpainted", torch.where(mask, out, x))]
