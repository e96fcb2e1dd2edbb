"""Tracking emerges by colorizing videos (Vondrick et al., ECCV 2018).

A gray target frame is coloured by pointing to pixels of coloured reference
frames: every frame (L channel only) goes through a 2-D ResNet with output
stride 8 and a dilated 3-D convolution stack, giving a D-dimensional
embedding f_i per feature cell. The target cell j attends to every reference
cell i with ``A_ij = softmax_i(f_i . f_j / temperature)`` and its predicted
colour distribution is ``sum_i A_ij onehot(c_i)``, where c_i is the k-means
quantized ab colour of reference cell i (16 clusters, fitted on the training
videos and saved with the model). The loss is the cross-entropy with the
target's own quantized colours. After training, the same embeddings track
anything by propagating labels instead of colours
(:func:`multissl.video.propagation.propagate_labels`).

Shapes: clips (B, T, 3, H, W) RGB in [0, 1], the first T - 1 frames are
references and the last one the target; embeddings (B, T, D, H/8, W/8).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from multissl.backbones import resnet
from multissl.color import ABQuantizer, rgb_to_lab
from multissl.module_modes import measuring
from multissl.presets import tracks_given


@tracks_given
@dataclass
class ColorizerConfig:
    """The colorization network; defaults are the paper's (ResNet-18, 64-d embeddings, 16 colours)."""

    backbone: str = field(default="resnet18", metadata={"help": "ResNet depth of the 2-D trunk", "choices": ["resnet10", "resnet18", "resnet34"]})
    width: int = field(default=64, metadata={"help": "channels of the first ResNet stage (64 in the paper)"})
    conv3d_layers: int = field(default=5, metadata={"help": "layers of the dilated 3-D convolution stack"})
    conv3d_channels: int = field(default=256, metadata={"help": "channels of the 3-D convolution stack"})
    embed_dim: int = field(default=64, metadata={"help": "dimension of the per-pixel embedding"})
    coords: bool = field(default=True, metadata={"help": "append (x, y) in [-1, 1] to the 2-D features (as the paper)"})
    num_colors: int = field(default=16, metadata={"help": "k-means clusters of the ab plane"})
    temperature: float = field(default=1.0, metadata={"help": "softmax temperature of the pointer during training"})
    normalize: bool = field(default=False, metadata={"help": "L2-normalise embeddings (the paper does not)"})
    rebalance: float = field(default=0.0, metadata={"help": "colour class rebalancing of the loss (Zhang et al. 2016): "
                                                           "weights 1 / ((1 - r) p(c) + r / K); 0: off (the paper)"})

    def __post_init__(self):
        for name in ("width", "conv3d_channels", "embed_dim", "num_colors"):
            if getattr(self, name) < 1:
                raise ValueError(f"ColorizerConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.conv3d_layers < 0:
            raise ValueError(f"ColorizerConfig.conv3d_layers must be >= 0, got {self.conv3d_layers}")
        if self.temperature <= 0:
            raise ValueError(f"ColorizerConfig.temperature must be > 0, got {self.temperature}")
        if not 0 <= self.rebalance <= 1:
            raise ValueError(f"ColorizerConfig.rebalance must lie in [0, 1], got {self.rebalance}")

    def as_dict(self) -> Dict[str, object]:
        return asdict(self)


def lightness_input(rgb: torch.Tensor) -> torch.Tensor:
    """(..., 3, H, W) RGB in [0, 1] -> (..., 1, H, W) L channel scaled to [-1, 1]."""
    return rgb_to_lab(rgb)[..., :1, :, :] / 50.0 - 1.0


def coordinate_channels(batch: int, height: int, width: int, device) -> torch.Tensor:
    """(batch, 2, height, width): x and y in [-1, 1]."""
    ys = torch.linspace(-1, 1, height, device=device)
    xs = torch.linspace(-1, 1, width, device=device)
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"))
    return grid[None].expand(batch, -1, -1, -1)


class Conv3dStack(nn.Module):
    """Dilated 3-D convolutions over (time, space): kernels 3x3x3, spatial dilations 1, 2, 4, 8, 16, ..."""

    def __init__(self, in_ch: int, channels: int, out_dim: int, layers: int):
        super().__init__()
        blocks, ch = [], in_ch
        for i in range(layers):
            d = 2**i
            blocks += [nn.Conv3d(ch, channels, 3, padding=(1, d, d), dilation=(1, d, d), bias=False),
                       nn.BatchNorm3d(channels), nn.ReLU(inplace=True)]
            ch = channels
        self.body = nn.Sequential(*blocks)
        self.head = nn.Conv3d(ch, out_dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, T, h, w) -> (B, out_dim, T, h, w)."""
        return self.head(self.body(x))


class ColorizationNetwork(nn.Module):
    """Gray frames (B, T, 1, H, W) in [-1, 1] -> embeddings (B, T, D, H/s, W/s), s the trunk's stride (8).

    ``backbone``: a user's 2-D trunk instead of ``config.backbone``'s ResNet: any ``nn.Module`` mapping
    (N, 1, H, W) gray frames in [-1, 1] to a feature map (N, C, H/s, W/s) (its ``feature_map`` method if
    it has one, else its call); C and s are measured once on a blank frame.
    """

    def __init__(self, config: Optional[ColorizerConfig] = None, backbone: Optional[nn.Module] = None):
        super().__init__()
        config = config if config is not None else ColorizerConfig()
        self.config = config
        if backbone is None:
            self.backbone = resnet(config.backbone, output_stride=8, width=config.width, in_channels=1)
            channels, self.stride = self.backbone.out_dim, self.backbone.output_stride
        else:
            self.backbone = backbone
            channels, self.stride = _trunk_shape(backbone, self._trunk)
        in_ch = channels + (2 if config.coords else 0)
        self.temporal = Conv3dStack(in_ch, config.conv3d_channels, config.embed_dim, config.conv3d_layers)

    def _trunk(self, gray: torch.Tensor) -> torch.Tensor:
        feature_map = getattr(self.backbone, "feature_map", None)
        return feature_map(gray) if callable(feature_map) else self.backbone(gray)

    def forward(self, gray: torch.Tensor) -> torch.Tensor:
        if gray.ndim != 5 or gray.shape[2] != 1:
            raise ValueError(f"expected gray frames (B, T, 1, H, W), got {tuple(gray.shape)}")
        b, t = gray.shape[:2]
        fmap = self._trunk(rearrange(gray, "b t c h w -> (b t) c h w").contiguous())
        if self.config.coords:
            fmap = torch.cat([fmap, coordinate_channels(len(fmap), *fmap.shape[-2:], fmap.device).to(fmap)], 1)
        emb = self.temporal(rearrange(fmap, "(b t) c h w -> b c t h w", b=b).contiguous())
        emb = rearrange(emb, "b d t h w -> b t d h w")
        return F.normalize(emb, dim=2) if self.config.normalize else emb

    @torch.no_grad()
    def embed_video(self, gray: torch.Tensor, chunk: int = 16) -> torch.Tensor:
        """A whole video (T, 1, H, W) -> (T, D, H/8, W/8): the 2-D trunk runs ``chunk`` frames at a
        time, the 3-D stack over all frames at once (zero padding at both ends, as in training)."""
        if gray.ndim != 4 or gray.shape[1] != 1:
            raise ValueError(f"expected a gray video (T, 1, H, W), got {tuple(gray.shape)}")
        fmap = torch.cat([self._trunk(gray[i : i + chunk]) for i in range(0, len(gray), chunk)])
        if self.config.coords:
            fmap = torch.cat([fmap, coordinate_channels(len(fmap), *fmap.shape[-2:], fmap.device).to(fmap)], 1)
        emb = rearrange(self.temporal(rearrange(fmap, "t c h w -> 1 c t h w").contiguous()), "1 d t h w -> t d h w")
        return F.normalize(emb, dim=1) if self.config.normalize else emb


PROBE_SIDE = 64  # side of the blank frame a user's trunk is measured on


def _trunk_shape(module: nn.Module, trunk) -> Tuple[int, int]:
    """(channels, stride) of a 2-D trunk, from one blank (1, 1, 64, 64) frame (train/eval mode left as it was)."""
    with measuring(module) as device:
        out = trunk(torch.zeros(1, 1, PROBE_SIDE, PROBE_SIDE, device=device))
    if not isinstance(out, torch.Tensor) or out.ndim != 4 or out.shape[0] != 1:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"the colorizer's backbone must map (N, 1, H, W) frames to a feature map (N, C, h, w); "
                         f"on a (1, 1, {PROBE_SIDE}, {PROBE_SIDE}) frame it gave {shape}")
    h, w = out.shape[-2:]
    if h != w or PROBE_SIDE % h:
        raise ValueError(f"the colorizer's backbone must shrink both sides by one whole stride; a {PROBE_SIDE}x{PROBE_SIDE} "
                         f"frame gave a {h}x{w} feature map")
    return int(out.shape[1]), PROBE_SIDE // int(h)


def pointer_colors(target: torch.Tensor, references: torch.Tensor, ref_colors: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Colour distribution of each target cell as the attention-weighted copy of reference colours.

    Args:
        target: (B, D, h, w) target embeddings.
        references: (B, R, D, h, w) reference embeddings.
        ref_colors: (B, R, h, w) long quantized colours of the references, or
            (B, R, K, h, w) colour distributions.
    Returns:
        (B, K, h, w) probabilities (K colours).
    """
    if ref_colors.ndim == 4:
        raise ValueError("pass ref_colors as one-hot (B, R, K, h, w); use F.one_hot(colors, K) first")
    q = rearrange(target, "b d h w -> b (h w) d")
    k = rearrange(references, "b r d h w -> b d (r h w)")
    attention = torch.softmax(q @ k / temperature, dim=-1)  # (B, hw, R hw)
    values = rearrange(ref_colors.float(), "b r k h w -> b (r h w) k")
    return rearrange(attention @ values, "b (h w) k -> b k h w", h=target.shape[-2]).contiguous()


class Colorizer(nn.Module):
    """The colorization pretext task: ``forward(clips)`` returns (loss, metrics).

    ``clips``: (B, T, 3, H, W) RGB in [0, 1]; frames 0..T-2 are references,
    frame T-1 is the target. The :class:`~multissl.color.ABQuantizer` must be
    fitted (:meth:`fit_colors`) before training; its centres are saved in the
    state dict.

    ``backbone``: a user's 2-D trunk (``nn.Module``: (N, 1, H, W) gray frames in [-1, 1] -> (N, C, H/s,
    W/s)) in place of ``config.backbone``'s ResNet; the rest of ``config`` (3-D stack, embedding,
    colours, temperature) still applies. :meth:`training_loss` is one training step's loss for a user's loop.
    """

    def __init__(self, config: Optional[ColorizerConfig] = None, *, backbone: Optional[nn.Module] = None):
        super().__init__()
        config = config if config is not None else ColorizerConfig()
        self.config = config
        self.network = ColorizationNetwork(config, backbone)
        self.quantizer = ABQuantizer(config.num_colors)
        self.register_buffer("color_weights", torch.ones(config.num_colors))

    @torch.no_grad()
    def fit_colors(self, frames: torch.Tensor, seed: int = 0, num_samples: int = 100_000) -> "Colorizer":
        """Fit the colour clusters on (N, 3, H, W) RGB frames (their feature-grid ab values)."""
        lab = self.colors_lab(frames)
        self.quantizer.fit(lab, num_samples=num_samples, seed=seed)
        prior = torch.bincount(self.quantizer.encode(lab[:, 1:]).flatten(), minlength=self.config.num_colors).float()
        prior = prior / prior.sum()
        r = self.config.rebalance
        if r > 0:  # Zhang et al.: rare (saturated) colours weigh more; expected weight under the prior is 1
            weights = 1.0 / ((1 - r) * prior + r / self.config.num_colors)
            self.color_weights.copy_(weights / (prior * weights).sum())
        return self

    def colors_lab(self, rgb: torch.Tensor) -> torch.Tensor:
        """(..., 3, H, W) RGB -> (..., 3, H/8, W/8) Lab averaged over each feature cell."""
        lead = rgb.shape[:-3]
        lab = rgb_to_lab(rgb.reshape(-1, *rgb.shape[-3:]).float())
        s = self.network.stride
        lab = F.avg_pool2d(lab, s, s)
        return lab.reshape(*lead, *lab.shape[-3:])

    def quantized_colors(self, rgb: torch.Tensor) -> torch.Tensor:
        """(B, T, 3, H, W) RGB -> (B, T, h, w) colour indices."""
        b, t = rgb.shape[:2]
        ab = rearrange(self.colors_lab(rgb)[:, :, 1:], "b t c h w -> (b t) c h w")
        return rearrange(self.quantizer.encode(ab), "(b t) h w -> b t h w", b=b)

    def embed(self, rgb: torch.Tensor) -> torch.Tensor:
        """(B, T, 3, H, W) RGB -> (B, T, D, h, w) embeddings (only the L channel is seen)."""
        return self.network(lightness_input(rgb))

    def predict(self, clips: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(predicted colour distribution (B, K, h, w) of the last frame, true colours (B, T, h, w))."""
        _check_clips(clips, self.network.stride)
        emb = self.embed(clips)
        colors = self.quantized_colors(clips)
        onehot = rearrange(F.one_hot(colors[:, :-1], self.config.num_colors), "b r h w k -> b r k h w")
        probs = pointer_colors(emb[:, -1], emb[:, :-1], onehot, self.config.temperature)
        return probs, colors

    def forward(self, clips: torch.Tensor):
        probs, colors = self.predict(clips)
        target = colors[:, -1]
        loss = F.nll_loss(torch.log(probs.clamp_min(1e-8)), target, weight=self.color_weights if self.config.rebalance > 0 else None)
        accuracy = (probs.argmax(1) == target).float().mean()
        return loss, {"color_accuracy": accuracy.detach()}

    def training_loss(self, clips: torch.Tensor, *, return_metrics: bool = False):
        """The loss of one training step on clips (B, T, 3, H, W) RGB in [0, 1] (a scalar tensor; with
        ``return_metrics``, also the step's metrics). The colour clusters must be fitted first."""
        loss, metrics = self(clips)
        return (loss, metrics) if return_metrics else loss

    def train_metadata(self) -> Dict[str, object]:
        return {"colorizer": self.config.as_dict()}


def _check_clips(clips: torch.Tensor, stride: int) -> None:
    if clips.ndim != 5 or clips.shape[2] != 3:
        raise ValueError(f"clips must have shape (B, T, 3, H, W), got {tuple(clips.shape)}")
    if clips.shape[1] < 2:
        raise ValueError(f"clips need at least one reference and one target frame, got T={clips.shape[1]}")
    if clips.shape[-1] % stride or clips.shape[-2] % stride:
        raise ValueError(f"frame size {clips.shape[-2]}x{clips.shape[-1]} must be a multiple of the stride {stride}")


__all__ = ["ColorizationNetwork", "Colorizer", "ColorizerConfig", "Conv3dStack", "lightness_input", "pointer_colors"]
