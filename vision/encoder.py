"""The image encoder every vision task trains: a core ResNet behind fixed input normalisation.

Images enter as floats in [0, 1]; the encoder maps them to (x - 0.5) / 0.25
so tasks and probes never deal with normalisation themselves.

A task's encoder is either the library ResNet (:class:`ImageEncoder`, built
from a :class:`BackboneConfig`) or any user ``nn.Module`` wrapped by
:class:`UserBackbone`; :func:`build_encoder` turns what a task was given
into one of the two. Both offer ``features``, ``probe_features``,
``out_dim`` and ``in_channels``; ``feature_map`` / ``stage_maps`` when the
network gives spatial maps (``has_map``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from multissl.backbones import resnet
from multissl.module_modes import measuring
from multissl.presets import tracks_given
from multissl.setting_checks import InvalidSetting

from .external_backbones import external_trunk, is_external, split_arch

LIBRARY_ARCHS = ("resnet10", "resnet18", "resnet34", "resnet50", "resnet101")


@tracks_given
@dataclass
class BackboneConfig:
    """The trunk shared by all vision tasks (CPU-sized defaults; the papers use width 64 and larger nets)."""

    arch: str = field(default="resnet18", metadata={"help": "the library ResNet (resnet10/18/34/50/101), or a standard architecture "
                                                             "by name: torchvision:NAME (e.g. torchvision:resnet50; width, "
                                                             "cifar_stem and norm do not apply) or timm:NAME (timm installed)"})
    width: int = field(default=16, metadata={"help": "channels of the first stage (64 in the papers)", "min": 1})
    cifar_stem: bool = field(default=True, metadata={"help": "3x3 stride-1 stem for small images (else the ImageNet 7x7 stem + pool)"})
    norm: str = field(default="batch", metadata={"help": "batch, group or layer normalisation (layer: GroupNorm with one group, "
                                                          "per-sample statistics)", "choices": ["batch", "group", "layer"]})

    def __post_init__(self):
        if self.arch not in LIBRARY_ARCHS:
            if not is_external(self.arch):
                raise InvalidSetting(f"BackboneConfig.arch must be one of {list(LIBRARY_ARCHS)}, or torchvision:NAME / "
                                     f"timm:NAME; got {self.arch!r}")
            split_arch(self.arch)


class ImageEncoder(nn.Module):
    """Shapes: ``feature_map``: (B, C_in, H, W) in [0, 1] -> (B, D, H/s, W/s);
    ``features``: -> (B, D); ``probe_features(x, pool)``: -> (B, D * pool * pool);
    ``stage_maps``: one (B, stage_dims[i], h_i, w_i) map per ResNet stage."""

    def __init__(self, config: BackboneConfig, in_channels: int = 3):
        super().__init__()
        self.config = config
        self.net = resnet(config.arch, cifar_stem=config.cifar_stem, width=config.width, in_channels=in_channels, norm=config.norm)
        self.out_dim = self.net.out_dim
        self.in_channels = in_channels
        self.output_stride = self.net.output_stride
        self.stage_dims = self.net.stage_dims

    has_map = True

    def map_size(self, image_size: int) -> Tuple[int, int]:
        """(h, w) of ``feature_map`` on (image_size x image_size) inputs."""
        side = -(-image_size // self.output_stride)
        return side, side

    @staticmethod
    def normalize(x: torch.Tensor) -> torch.Tensor:
        return (x - 0.5) / 0.25

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.feature_map(self.normalize(x))

    def stage_maps(self, x: torch.Tensor):
        """Every stage's map, [(B, stage_dims[i], H/s_i, W/s_i)]; the last is ``feature_map(x)``."""
        return self.net.stage_maps(self.normalize(x))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.feature_map(x).mean(dim=(2, 3))

    def probe_features(self, x: torch.Tensor, pool: int = 1, stage: int = -1) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] -> (B, stage_dims[stage] * pool * pool): stage ``stage`` (counted from the last,
        -1; further back than the first gives the first) average-pooled to pool x pool cells."""
        fmap = self.feature_map(x) if stage == -1 else _stage(self.stage_maps(x), stage)
        return F.adaptive_avg_pool2d(fmap, pool).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


class ConvDecoder(nn.Sequential):
    """Upsample a feature map by ``factor`` (a power of two) to ``out_channels`` values in [0, 1].

    Shapes: (B, in_channels, h, w) -> (B, out_channels, h * factor, w * factor).
    """

    def __init__(self, in_channels: int, out_channels: int, factor: int, min_channels: int = 16):
        if factor < 1 or factor & (factor - 1):
            raise ValueError(f"factor must be a power of two, got {factor}")
        layers, ch = [], in_channels
        while factor > 1:
            nxt = max(ch // 2, min_channels)
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(ch, nxt, 3, padding=1, bias=False),
                       nn.BatchNorm2d(nxt), nn.ReLU(inplace=True)]
            ch, factor = nxt, factor // 2
        layers += [nn.Conv2d(ch, out_channels, 3, padding=1), nn.Sigmoid()]
        super().__init__(*layers)


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

Normalize = Union[str, None, Callable[[torch.Tensor], torch.Tensor]]


def _stage(maps: List[torch.Tensor], stage: int) -> torch.Tensor:
    """maps[stage] for a negative ``stage``, the first map when it reaches further back than there are maps."""
    return maps[max(stage, -len(maps))]


def _shape_text(out) -> str:
    if isinstance(out, torch.Tensor):
        return str(tuple(out.shape))
    return type(out).__name__


class UserBackbone(nn.Module):
    """Any ``nn.Module`` as a task's encoder, with the interface of :class:`ImageEncoder`.

    Args:
        net: maps normalised images (B, in_channels, H, W) to one of
            - feature vectors (B, D), e.g. ``torchvision.models.resnet18()``
              with ``fc = nn.Identity()``;
            - a feature map (B, D, h, w), e.g.
              ``nn.Sequential(*list(torchvision.models.resnet18().children())[:-2])``;
            - several maps: a list, tuple or dict of (B, D_i, h_i, w_i), the
              last one being the representation (e.g. from
              ``torchvision.models.feature_extraction.create_feature_extractor``);
              Deep InfoMax reads its local features from the first.
            Vector backbones serve every method whose encoder only embeds
            whole images or patches; the dense methods (dae, context-encoder,
            split-brain, dim) need a map.
        feature_dim: D, checked against a dummy forward pass (``None``: taken
            from it).
        in_channels: channels of the images the task feeds (3 for RGB).
        image_size: side of the dummy images (B=2) of the construction-time
            check; the net runs on them once, in eval mode, without gradients.
        normalize: what the images in [0, 1] go through before ``net``:
            ``"center"`` (default): ``(x - 0.5) / 0.25``, the library
            encoder's convention; ``"imagenet"``: ``(x - mean) / std`` with the
            ImageNet statistics torchvision's pretrained weights expect (3
            channels only); ``None``: unchanged; or a callable.

    Shapes: ``features(x)``: (B, C, H, W) in [0, 1] -> (B, D) (maps are
    average-pooled); ``feature_map(x)``: -> (B, D, h, w) (map backbones only);
    ``stage_maps(x)``: every map the net returns; ``probe_features(x, pool)``:
    -> (B, D * pool * pool) (``pool`` > 1 needs a map).

    Raises ``ValueError`` at construction when the output is neither (B, D)
    nor (B, D, h, w), or D differs from ``feature_dim``.
    """

    def __init__(self, net: nn.Module, feature_dim: Optional[int] = None, in_channels: int = 3, image_size: int = 32,
                 normalize: Normalize = "center"):
        super().__init__()
        if not isinstance(net, nn.Module):
            raise TypeError(f"the backbone must be an nn.Module, got {type(net).__name__}")
        if isinstance(net, (ImageEncoder, UserBackbone)):
            raise TypeError(f"{type(net).__name__} is already a task encoder; pass it to the task directly")
        self.net = net
        self.in_channels = in_channels
        self._set_normalize(normalize)
        shapes = self.output_shapes(image_size)
        final = shapes[-1]
        if feature_dim is not None and final[1] != feature_dim:
            raise ValueError(f"feature_dim={feature_dim} but the backbone gives {final[1]} features per image "
                             f"(output {final} on (2, {in_channels}, {image_size}, {image_size}) images)")
        self.out_dim = final[1]
        self.has_map = len(final) == 4
        self.stage_dims: List[int] = [s[1] for s in shapes]
        h = final[2] if self.has_map else 0
        w = final[3] if self.has_map else 0
        tiles = self.has_map and h == w and image_size % h == 0
        # the map's stride on image_size inputs (None when the map does not tile the image evenly)
        self.output_stride: Optional[int] = image_size // h if tiles else None

    def _set_normalize(self, normalize: Normalize) -> None:
        self._normalize_fn = None
        if callable(normalize):
            self._normalize_fn, self.normalization = normalize, "callable"
            return
        if normalize not in ("center", "imagenet", None, "none"):
            raise ValueError(f"normalize must be 'center', 'imagenet', None or a callable, got {normalize!r}")
        self.normalization = "none" if normalize is None else normalize
        if normalize == "imagenet":
            if self.in_channels != 3:
                raise ValueError(f"ImageNet normalisation needs 3-channel images, got in_channels={self.in_channels}")
            self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
            self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] -> the net's input convention (see ``normalize`` above)."""
        if self._normalize_fn is not None:
            return self._normalize_fn(x)
        if self.normalization == "center":
            return (x - 0.5) / 0.25
        if self.normalization == "imagenet":
            return (x - self.mean) / self.std
        return x

    def _outputs(self, x: torch.Tensor) -> List[torch.Tensor]:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected images (B, {self.in_channels}, H, W), got {tuple(x.shape)}")
        out = self.net(self.normalize(x))
        outs = list(out.values()) if isinstance(out, dict) else list(out) if isinstance(out, (list, tuple)) else [out]
        if not outs or not all(isinstance(o, torch.Tensor) for o in outs):
            raise ValueError(f"the backbone must return a tensor (B, D) or (B, D, h, w), or a list/dict of maps; "
                             f"got {type(out).__name__}")
        several = len(outs) > 1
        for o in outs:
            if o.ndim not in (2, 4) or (several and o.ndim != 4) or len(o) != len(x):
                what = "maps (B, D_i, h_i, w_i)" if several else "features (B, D) or a feature map (B, D, h, w)"
                raise ValueError(f"the backbone must return {what} for a batch of {len(x)} images; got "
                                 f"{[tuple(t.shape) for t in outs] if several else tuple(o.shape)}")
        return outs

    def output_shapes(self, image_size: int) -> List[Tuple[int, ...]]:
        """Shapes of what the net returns for 2 dummy (image_size x image_size) images (eval mode, no gradients)."""
        param = next(iter(self.net.parameters()), None)
        dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
        with measuring(self.net) as device:
            outs = self._outputs(torch.full((2, self.in_channels, image_size, image_size), 0.5, device=device, dtype=dtype))
        return [tuple(o.shape) for o in outs]

    def map_size(self, image_size: int) -> Tuple[int, int]:
        """(h, w) of ``feature_map`` on (image_size x image_size) inputs."""
        if not self.has_map:
            raise ValueError("this backbone returns feature vectors, not a map")
        return tuple(self.output_shapes(image_size)[-1][-2:])

    def _check_dim(self, out: torch.Tensor) -> torch.Tensor:
        if out.shape[1] != self.out_dim:
            raise ValueError(f"the backbone gave {out.shape[1]} features per image, expected feature_dim={self.out_dim}")
        return out

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] -> the last map (B, D, h, w)."""
        if not self.has_map:
            raise ValueError("this backbone returns feature vectors (B, D), not a feature map (B, D, h, w)")
        return self._check_dim(self._outputs(x)[-1])

    def stage_maps(self, x: torch.Tensor) -> List[torch.Tensor]:
        """Every map the net returns, [(B, stage_dims[i], h_i, w_i)]; the last is ``feature_map(x)``."""
        if not self.has_map:
            raise ValueError("this backbone returns feature vectors (B, D), not feature maps")
        outs = self._outputs(x)
        self._check_dim(outs[-1])
        return outs

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] -> (B, D); maps are global-average-pooled."""
        out = self._check_dim(self._outputs(x)[-1])
        return out.mean(dim=(2, 3)) if out.ndim == 4 else out

    def probe_features(self, x: torch.Tensor, pool: int = 1, stage: int = -1) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] -> (B, D * pool * pool): map ``stage`` (counted from the last, -1; further back
        than the first gives the first) average-pooled to pool x pool cells; vector backbones give their vector."""
        if not self.has_map:
            if pool != 1:
                raise ValueError(f"pool={pool} needs a backbone that returns a feature map; this one returns vectors (B, D)")
            return self.features(x)
        fmap = self.feature_map(x) if stage == -1 else _stage(self.stage_maps(x), stage)
        return F.adaptive_avg_pool2d(fmap, pool).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


Backbone = Union[None, BackboneConfig, ImageEncoder, UserBackbone, nn.Module]


def build_encoder(backbone: Backbone, in_channels: int = 3, image_size: int = 32,
                  feature_dim: Optional[int] = None) -> Union[ImageEncoder, UserBackbone]:
    """A task's encoder from what the task was given.

    ``None`` -> the library ResNet with ``BackboneConfig()`` defaults; a
    :class:`BackboneConfig` -> that ResNet (``arch="torchvision:NAME"``: that
    architecture, :mod:`multissl.vision.external_backbones`, ImageNet-normalised); an :class:`ImageEncoder` or
    :class:`UserBackbone` -> itself; any other ``nn.Module`` ->
    ``UserBackbone(module, feature_dim, in_channels, image_size)`` (ImageNet
    normalisation or another convention: wrap it yourself). ``feature_dim``,
    when given, must equal the encoder's output size.
    """
    if backbone is None:
        backbone = BackboneConfig()
    if isinstance(backbone, BackboneConfig) and is_external(backbone.arch):
        return UserBackbone(external_trunk(backbone.arch, in_channels), feature_dim, in_channels, image_size, normalize="imagenet")
    if isinstance(backbone, BackboneConfig):
        encoder = ImageEncoder(backbone, in_channels)
    elif isinstance(backbone, (ImageEncoder, UserBackbone)):
        encoder = backbone
        if encoder.in_channels != in_channels:
            raise ValueError(f"the encoder takes {encoder.in_channels}-channel images but the task has in_channels={in_channels}")
    elif isinstance(backbone, nn.Module):
        return UserBackbone(backbone, feature_dim, in_channels, image_size)
    else:
        raise TypeError(f"backbone must be a BackboneConfig or an nn.Module, got {type(backbone).__name__}")
    if feature_dim is not None and feature_dim != encoder.out_dim:
        raise ValueError(f"feature_dim={feature_dim} but the encoder gives {encoder.out_dim} features")
    return encoder


__all__ = ["Backbone", "BackboneConfig", "ConvDecoder", "ImageEncoder", "UserBackbone", "build_encoder"]
