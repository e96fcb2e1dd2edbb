"""Decoding one image file: upright, 8-bit RGB, resized or cropped at decode time.

What every path that reads image files shares (a folder decoded into memory, or
decoded item by item in DataLoader workers):

- EXIF orientation applied; 16-bit, 32-bit integer and float images scaled to 8 bits
  (Pillow's own conversion clips them at 255); anything else converted to RGB;
- a JPEG much larger than needed is decoded at 1/2, 1/4 or 1/8 of its size
  (Pillow's ``draft``, the DCT scaling of libjpeg): the pixels a resize or a crop needs are
  still there, at a fraction of the decoding cost;
- :func:`resized_rgb`: the whole image squeezed to side x side (bilinear, antialiased);
- :func:`cropped_rgb`: given boxes (top, left, height, width in the file's pixels) cut and
  resized to side x side, mirrored where asked (the worker half of RandomResizedCrop).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

HIGH_DEPTH_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
Box = Tuple[float, float, float, float]  # top, left, height, width in the file's pixels


def _decode_errors() -> tuple:
    from PIL import Image, UnidentifiedImageError

    return (OSError, UnidentifiedImageError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError)


DECODE_ERRORS = _decode_errors()  # what Pillow raises for a corrupt, truncated or oversized file


def high_depth_to_uint8(a: np.ndarray, mode: str) -> np.ndarray:
    """A grey image of Pillow mode ``I;16*`` (full 16-bit range), ``I`` or ``F`` as uint8.

    Values already in [0, 255] stay; ``F`` in [0, 1] and ``I`` in [0, 65535] are scaled to [0, 255];
    any other range is stretched from its minimum to its maximum.
    """
    a = np.nan_to_num(a.astype(np.float64))
    lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    if mode.startswith("I;16") or (mode == "I" and lo >= 0 and 255 < hi <= 65535):
        a = a * (255.0 / 65535.0)
    elif mode == "F" and lo >= 0 and hi <= 1:
        a = a * 255.0
    elif lo < 0 or hi > 255:
        a = (a - lo) * (255.0 / (hi - lo))
    return np.clip(np.round(a), 0, 255).astype(np.uint8)


def _draft_for(img, needed: Tuple[int, int]) -> float:
    """Let a JPEG decode at the smallest DCT scale that still has ``needed`` (width, height) pixels of the
    full image; returns the scale (1, 1/2, 1/4 or 1/8) the decoded image has. Other formats decode in full."""
    if img.format != "JPEG" or img.mode not in ("RGB", "L", "YCbCr", "CMYK"):
        return 1.0
    width, height = img.size
    img.draft(img.mode, (max(1, needed[0]), max(1, needed[1])))
    return img.size[0] / width


def _upright_rgb(img):
    """``img`` turned upright by its EXIF orientation, as 8-bit RGB."""
    from PIL import Image, ImageOps

    img = ImageOps.exif_transpose(img)
    if img.mode in HIGH_DEPTH_MODES:
        img = Image.fromarray(high_depth_to_uint8(np.asarray(img), img.mode))
    return img.convert("RGB")


def image_size(file: Path) -> Tuple[int, int]:
    """(width, height) of an image file as stored (only its header is read; EXIF rotation not applied)."""
    from PIL import Image

    with Image.open(file) as img:
        return img.size


def resized_rgb(file: Path, side: int) -> np.ndarray:
    """``file`` as (side, side, 3) uint8 RGB, upright, squeezed to a square (aspect ratio not kept).

    Raises one of :data:`DECODE_ERRORS` when the file cannot be read.
    """
    from PIL import Image

    with Image.open(file) as img:
        _draft_for(img, (2 * side, 2 * side))  # at least twice the output: the antialiased resize keeps its quality
        rgb = _upright_rgb(img)
        rgb = rgb if rgb.size == (side, side) else rgb.resize((side, side), Image.BILINEAR)
        return np.asarray(rgb)


def cropped_rgb(file: Path, side: int, boxes_of: "BoxMaker") -> List[np.ndarray]:
    """Crops of ``file``, each resized to (side, side, 3) uint8 RGB.

    ``boxes_of(height, width)`` returns ``[(box, flip), ...]`` for the upright image of that size
    (boxes in its pixels); the JPEG is decoded at the smallest scale that keeps every box at
    least ``side`` pixels wide and high. Raises one of :data:`DECODE_ERRORS` when unreadable.
    """
    from PIL import Image

    with Image.open(file) as img:
        upright = _upright_size(img)
        crops = boxes_of(upright[1], upright[0])
        smallest = min(min(box[2], box[3]) for box, _ in crops)
        factor = max(1.0, smallest / side)  # the image may shrink by this much before a box gets smaller than side
        stored = img.size
        _draft_for(img, (math.ceil(stored[0] / factor), math.ceil(stored[1] / factor)))
        rgb = _upright_rgb(img)
        return crop_resize(rgb, side, crops, (rgb.size[0] / upright[0], rgb.size[1] / upright[1]))


def crop_resize(img, side: int, crops: Sequence[Tuple[Box, bool]], scale: Tuple[float, float] = (1.0, 1.0)) -> List[np.ndarray]:
    """Each (box, flip) of ``crops`` cut from PIL image ``img`` (boxes in pixels of the image before it was scaled by
    ``scale`` = (x, y)), resized to (side, side) bilinear and antialiased, mirrored where ``flip``: (side, side[, C]) uint8."""
    from PIL import Image

    out = []
    width, height = img.size
    sx, sy = scale
    for (top, left, h, w), flip in crops:
        box = (left * sx, top * sy, min(width, (left + w) * sx), min(height, (top + h) * sy))
        crop = np.asarray(img.resize((side, side), Image.BILINEAR, box=box))
        out.append(crop[:, ::-1] if flip else crop)
    return out


def _upright_size(img) -> Tuple[int, int]:
    """(width, height) after the EXIF orientation is applied."""
    orientation = img.getexif().get(0x0112, 1) if hasattr(img, "getexif") else 1
    w, h = img.size
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


class BoxMaker:
    """Called as ``boxes_of(height, width) -> [(box, flip), ...]``; see :func:`cropped_rgb`."""

    def __call__(self, height: int, width: int) -> Sequence[Tuple[Box, bool]]:  # pragma: no cover - a protocol
        raise NotImplementedError


def random_crop_box(rng: np.random.Generator, height: int, width: int, scale: Tuple[float, float],
                    ratio: Tuple[float, float] = (3 / 4, 4 / 3)) -> Box:
    """torchvision's RandomResizedCrop box for one image, drawn from ``rng``: (top, left, height, width).

    Up to 10 tries of an area share in ``scale`` and a log-uniform aspect ratio in
    ``ratio``; then the centre crop at the clamped ratio (as torchvision).
    """
    area = height * width
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    for _ in range(10):
        target = area * rng.uniform(scale[0], scale[1])
        aspect = math.exp(rng.uniform(log_lo, log_hi))
        w = int(round(math.sqrt(target * aspect)))
        h = int(round(math.sqrt(target / aspect)))
        if 0 < w <= width and 0 < h <= height:
            top = int(rng.integers(0, height - h + 1))
            left = int(rng.integers(0, width - w + 1))
            return float(top), float(left), float(h), float(w)
    in_ratio = width / height
    w = width if in_ratio <= ratio[1] else int(round(height * ratio[1]))
    h = height if in_ratio >= ratio[0] else int(round(width / ratio[0]))
    w, h = min(w, width), min(h, height)
    return float((height - h) // 2), float((width - w) // 2), float(h), float(w)


def read_image(file: Path, size: int) -> Optional[np.ndarray]:
    """``file`` as (size, size, 3) uint8 RGB, upright by its EXIF orientation; None (and a warning) if unreadable.

    16-bit, 32-bit integer and float images are scaled to 8 bits (Pillow's own conversion clips them at 255).
    """
    import warnings

    try:
        return resized_rgb(file, size)
    except DECODE_ERRORS as err:
        warnings.warn(f"skipping unreadable image {file}: {type(err).__name__}: {err}")
        return None


__all__ = ["DECODE_ERRORS", "HIGH_DEPTH_MODES", "BoxMaker", "crop_resize", "cropped_rgb", "high_depth_to_uint8", "image_size", "random_crop_box",
           "read_image", "resized_rgb"]
