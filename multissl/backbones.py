"""Convolutional trunks shared by the modalities (no pretrained weights, ever).

- :class:`ResNet`: a configurable ResNet of basic or bottleneck blocks: the
  ImageNet stem (7x7/2 conv + max-pool) or the CIFAR stem (3x3/1 conv, no
  pool) for 32x32 images, any stage widths (narrow CPU presets), per-stage
  strides (output stride 8 for dense per-pixel features, as in video
  colorization), batch, group or layer normalisation.
- :func:`resnet`: named presets (``resnet18``, ``resnet34``, ``resnet50``,
  ``resnet18_cifar``, ``resnet18_os8`` ...).

Every backbone has ``feature_map(x) -> (B, C, H/s, W/s)``, ``features(x) ->
(B, C)`` (global average pool), ``out_dim``, and ``stage_maps(x)`` with every
stage's output (``stage_dims`` channels) for methods that read intermediate maps.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Type, Union

import torch
from torch import nn

from .checks import check_choice


NORMS = ("batch", "group", "layer")


def norm_layer(kind: str, channels: int) -> nn.Module:
    """``"batch"`` -> BatchNorm2d; ``"group"`` -> GroupNorm with 32 groups (or fewer);
    ``"layer"`` -> GroupNorm with one group: layer normalisation over (C, H, W) of each
    sample, so no statistic is shared between the images (or patches) of a batch."""
    check_choice("norm", kind, NORMS)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    groups = next(g for g in (32, 16, 8, 4, 2, 1) if channels % g == 0)
    return nn.GroupNorm(groups, channels)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_ch: int, width: int, stride: int = 1, norm: str = "batch"):
        super().__init__()
        out_ch = width * self.expansion
        self.conv1 = nn.Conv2d(in_ch, width, 3, stride, 1, bias=False)
        self.bn1 = norm_layer(norm, width)
        self.conv2 = nn.Conv2d(width, out_ch, 3, 1, 1, bias=False)
        self.bn2 = norm_layer(norm, out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = _shortcut(in_ch, out_ch, stride, norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_ch: int, width: int, stride: int = 1, norm: str = "batch"):
        super().__init__()
        out_ch = width * self.expansion
        self.conv1 = nn.Conv2d(in_ch, width, 1, bias=False)
        self.bn1 = norm_layer(norm, width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = norm_layer(norm, width)
        self.conv3 = nn.Conv2d(width, out_ch, 1, bias=False)
        self.bn3 = norm_layer(norm, out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = _shortcut(in_ch, out_ch, stride, norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + self.shortcut(x))


def _shortcut(in_ch: int, out_ch: int, stride: int, norm: str) -> nn.Module:
    if stride == 1 and in_ch == out_ch:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride, bias=False), norm_layer(norm, out_ch))


class ResNet(nn.Module):
    """A ResNet trunk without classifier.

    Args:
        depths: blocks per stage, e.g. (2, 2, 2, 2) for ResNet-18.
        widths: channels per stage (before the bottleneck expansion).
        block: ``"basic"`` or ``"bottleneck"``.
        stem: ``"imagenet"`` (7x7 stride-2 conv + 3x3 stride-2 max-pool, /4),
            ``"cifar"`` (3x3 stride-1 conv, /1).
        strides: stride of each stage's first block; (1, 2, 2, 2) gives output
            stride 32 with the ImageNet stem, (1, 2, 1, 1) gives 8.
        in_channels: input channels (3 for RGB, 1 for grayscale/L).
        norm: ``"batch"``, ``"group"`` or ``"layer"`` (see :func:`norm_layer`).
    Shapes: ``feature_map``: (B, in_channels, H, W) -> (B, out_dim, H/s, W/s);
    ``features`` / ``forward``: -> (B, out_dim); ``stage_maps``: a list of
    (B, stage_dims[i], H/s_i, W/s_i), one per stage.
    """

    def __init__(
        self,
        depths: Sequence[int] = (2, 2, 2, 2),
        widths: Sequence[int] = (64, 128, 256, 512),
        block: str = "basic",
        stem: str = "imagenet",
        strides: Sequence[int] = (1, 2, 2, 2),
        in_channels: int = 3,
        norm: str = "batch",
    ):
        super().__init__()
        check_choice("block", block, ("basic", "bottleneck"))
        check_choice("stem", stem, ("imagenet", "cifar"))
        if not (len(depths) == len(widths) == len(strides)) or not depths:
            raise ValueError(f"depths {tuple(depths)}, widths {tuple(widths)} and strides {tuple(strides)} must have the same non-zero length")
        block_cls: Type[Union[BasicBlock, Bottleneck]] = BasicBlock if block == "basic" else Bottleneck
        self.stem = self._stem(stem, in_channels, widths[0], norm)
        self.stem_stride = 4 if stem == "imagenet" else 1
        stages, ch, self.stage_dims = [], widths[0], []
        for depth, width, stride in zip(depths, widths, strides):
            blocks = []
            for i in range(depth):
                blocks.append(block_cls(ch, width, stride if i == 0 else 1, norm))
                ch = width * block_cls.expansion
            stages.append(nn.Sequential(*blocks))
            self.stage_dims.append(ch)
        self.stages = nn.Sequential(*stages)
        self.out_dim = ch
        self.output_stride = self.stem_stride
        for s in strides:
            self.output_stride *= s
        self.in_channels = in_channels
        self._init_weights()

    @staticmethod
    def _stem(kind: str, in_ch: int, width: int, norm: str) -> nn.Sequential:
        if kind == "imagenet":
            return nn.Sequential(nn.Conv2d(in_ch, width, 7, 2, 3, bias=False), norm_layer(norm, width),
                                 nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
        return nn.Sequential(nn.Conv2d(in_ch, width, 3, 1, 1, bias=False), norm_layer(norm, width), nn.ReLU(inplace=True))

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def _check_input(self, x: torch.Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected input of shape (B, {self.in_channels}, H, W), got {tuple(x.shape)}")

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        return self.stages(self.stem(x))

    def stage_maps(self, x: torch.Tensor) -> List[torch.Tensor]:
        """Every stage's output: [(B, stage_dims[i], H/s_i, W/s_i)]; the last one is ``feature_map(x)``."""
        self._check_input(x)
        maps, h = [], self.stem(x)
        for stage in self.stages:
            h = stage(h)
            maps.append(h)
        return maps

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.feature_map(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


_DEPTHS = {
    "resnet10": ((1, 1, 1, 1), "basic"),
    "resnet18": ((2, 2, 2, 2), "basic"),
    "resnet34": ((3, 4, 6, 3), "basic"),
    "resnet50": ((3, 4, 6, 3), "bottleneck"),
    "resnet101": ((3, 4, 23, 3), "bottleneck"),
}


def resnet(
    name: str = "resnet18",
    cifar_stem: bool = False,
    output_stride: Optional[int] = None,
    width: int = 64,
    in_channels: int = 3,
    norm: str = "batch",
) -> ResNet:
    """A named ResNet: ``resnet10/18/34/50/101``.

    Args:
        cifar_stem: the 3x3 stride-1 stem without max-pool (for 32x32 inputs).
        output_stride: ``None`` keeps every stage's stride (32 with the
            ImageNet stem, 8 with the CIFAR stem); a smaller power of two sets
            the strides of the last stages to 1 (dense features, as in
            Vondrick et al.'s ResNet-18 with output stride 8).
        width: channels of the first stage (64 in the papers; 16 or 32 for
            CPU presets); later stages double it.
    """
    check_choice("name", name, tuple(_DEPTHS))
    depths, block = _DEPTHS[name]
    stem_stride = 1 if cifar_stem else 4
    strides = _stage_strides(output_stride or stem_stride * 8, stem_stride)
    widths = tuple(width * 2**i for i in range(4))
    return ResNet(depths, widths, block, "cifar" if cifar_stem else "imagenet", strides, in_channels, norm)


def _stage_strides(output_stride: int, stem_stride: int) -> tuple:
    strides = [1, 2, 2, 2]
    total = stem_stride * 8
    for i in (3, 2, 1):
        if total <= output_stride:
            break
        strides[i] = 1
        total //= 2
    if total != output_stride:
        raise ValueError(f"output_stride must be one of {sorted({stem_stride * 2**k for k in range(4)})} for this stem, got {output_stride}")
    return tuple(strides)


__all__ = ["BasicBlock", "Bottleneck", "NORMS", "ResNet", "norm_layer", "resnet"]
