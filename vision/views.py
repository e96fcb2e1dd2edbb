"""Augmented views for the contrastive methods (torchvision transforms v2, per sample).

- :func:`simclr_transform`: SimCLR's pipeline (Chen et al. 2020, appendix A):
  random resized crop (scale 0.08-1), horizontal flip, colour jitter
  (0.8 x strength for brightness/contrast/saturation, 0.2 x for hue, applied
  with p=0.8), random grayscale (p=0.2), Gaussian blur (p=0.5, kernel 10%
  of the image side) only where the image is large enough (not on CIFAR).
- :func:`moco_v1_transform`: MoCo v1's: crop (scale 0.2-1), grayscale 0.2,
  colour jitter 0.4 (always), flip.
- :func:`moco_v2_transform`: MoCo v2's: crop 0.2-1, jitter 0.4/0.4/0.4/0.1
  with p=0.8, grayscale 0.2, blur p=0.5 (when the image size allows), flip.
- :func:`byol_transforms`: BYOL's asymmetric pair (blur 1.0 / 0.1, solarize 0 / 0.2).
- :class:`MultiViewDataset`: ``dataset[i] -> (views tuple, label)``.

Transforms take uint8 (C, H, W) tensors and return float (C, H, W) in [0, 1].
"""
from __future__ import annotations

from typing import Callable, Sequence, Tuple

import torch
from torch.utils.data import Dataset
from torchvision.transforms import v2 as T

MIN_BLUR_SIZE = 64  # SimCLR skips blur on CIFAR-sized images


def _check_size(image_size: int, minimum: int = 8) -> None:
    if image_size < minimum:
        raise ValueError(f"image size {image_size} is too small for the augmentation pipeline (need at least {minimum} pixels)")


def _blur(image_size: int, p: float):
    kernel = max(3, int(0.1 * image_size) // 2 * 2 + 1)
    return T.RandomApply([T.GaussianBlur(kernel, sigma=(0.1, 2.0))], p=p)


def _color(channels: int, strength: float, p: float, grayscale_p: float = 0.2):
    if channels == 1:
        return [T.RandomApply([T.ColorJitter(0.8 * strength, 0.8 * strength)], p=p)]
    ops = [T.RandomApply([T.ColorJitter(0.8 * strength, 0.8 * strength, 0.8 * strength, 0.2 * strength)], p=p)]
    if grayscale_p:
        ops.append(T.RandomGrayscale(p=grayscale_p))
    return ops


def simclr_transform(image_size: int, channels: int = 3, strength: float = 0.5, min_scale: float = 0.08,
                     blur: bool = True) -> Callable:
    """SimCLR's augmentation; ``strength`` 0.5 is the paper's CIFAR setting (1.0 on ImageNet)."""
    _check_size(image_size)
    ops = [T.RandomResizedCrop(image_size, scale=(min_scale, 1.0), antialias=True), T.RandomHorizontalFlip()]
    ops += _color(channels, strength, 0.8)
    if blur and image_size >= MIN_BLUR_SIZE:
        ops.append(_blur(image_size, 0.5))
    ops.append(T.ToDtype(torch.float32, scale=True))
    return T.Compose(ops)


def moco_v1_transform(image_size: int, channels: int = 3) -> Callable:
    _check_size(image_size)
    ops = [T.RandomResizedCrop(image_size, scale=(0.2, 1.0), antialias=True)]
    if channels == 3:
        ops.append(T.RandomGrayscale(p=0.2))
        ops.append(T.ColorJitter(0.4, 0.4, 0.4, 0.4))
    ops += [T.RandomHorizontalFlip(), T.ToDtype(torch.float32, scale=True)]
    return T.Compose(ops)


def moco_v2_transform(image_size: int, channels: int = 3) -> Callable:
    _check_size(image_size)
    ops = [T.RandomResizedCrop(image_size, scale=(0.2, 1.0), antialias=True)]
    if channels == 3:
        ops += [T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8), T.RandomGrayscale(p=0.2)]
    if image_size >= MIN_BLUR_SIZE:
        ops.append(_blur(image_size, 0.5))
    ops += [T.RandomHorizontalFlip(), T.ToDtype(torch.float32, scale=True)]
    return T.Compose(ops)


def byol_transforms(image_size: int, channels: int = 3) -> Tuple[Callable, Callable]:
    """BYOL's two asymmetric pipelines (blur p = 1.0 / 0.1 where the size allows, solarize p = 0 / 0.2)."""
    _check_size(image_size)

    def build(blur_p: float, solarize_p: float):
        ops = [T.RandomResizedCrop(image_size, scale=(0.08, 1.0), antialias=True), T.RandomHorizontalFlip()]
        if channels == 3:
            ops += [T.RandomApply([T.ColorJitter(0.4, 0.4, 0.2, 0.1)], p=0.8), T.RandomGrayscale(p=0.2)]
        if image_size >= MIN_BLUR_SIZE:
            ops.append(_blur(image_size, blur_p))
        ops.append(T.RandomSolarize(threshold=128, p=solarize_p))
        ops.append(T.ToDtype(torch.float32, scale=True))
        return T.Compose(ops)

    return build(1.0, 0.0), build(0.1, 0.2)


class MultiViewDataset(Dataset):
    """``dataset[i] -> (tuple of len(transforms) views (C, H, W) float, label)``.

    Args:
        images: (N, C, H, W) uint8.
        labels: (N,) int64 (-1 if unknown; only online probes use them).
        transforms: one transform per view (the same object twice for SimCLR).
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transforms: Sequence[Callable]):
        if images.ndim != 4 or images.dtype != torch.uint8:
            raise ValueError(f"images must be uint8 (N, C, H, W), got {images.dtype} {tuple(images.shape)}")
        if not transforms:
            raise ValueError("need at least one transform")
        self.images, self.labels, self.transforms = images, labels, list(transforms)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        img = self.images[i]
        return tuple(t(img) for t in self.transforms), self.labels[i]


__all__ = ["MultiViewDataset", "byol_transforms", "moco_v1_transform", "moco_v2_transform", "simclr_transform"]
