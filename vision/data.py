"""Image data for the vision tasks: arrays in memory, image folders, torchvision data sets.

:func:`load_images` loads everything into :class:`ImageSplits` (the in-memory path;
:mod:`multissl.vision.streaming` reads large sets from disk while training): uint8 image tensors
(N, C, H, W) and int64 labels for a train and a test split. Tasks turn the
uint8 batches into floats in [0, 1] themselves (on the training device).

``load_images(spec, root=None, image_size=None)`` understands:

- a ``.npz`` file with ``x_train, y_train, x_test, y_test`` (images
  (N, H, W, C), (N, C, H, W) or (N, H, W), uint8 or floats in [0, 1] or
  [0, 255]; labels (N,) or (N, 1)), e.g. ``../shared/data/cifar10-subset.npz``;
- ``digits``: scikit-learn's 1797 real 8x8 digit images (1 channel), split
  80/20 by a seeded shuffle;
- ``shapes``: ten classes of shapes the project draws itself, 32x32 RGB
  (:mod:`multissl.vision.shapes`; 5000 train and 1000 test images, drawn
  from ``seed``; ``image_size`` draws them at that side);
- ``skimage``: random crops of the colour photographs in scikit-image's wheel
  (unlabelled, for patch-based tasks; no test split);
- a folder or a list file of image paths (see :mod:`multissl.vision.image_files`):
  an ``ImageFolder`` tree, a flat folder of unlabelled images, or a list with
  optional labels. Images are resized to ``image_size`` (default
  :func:`default_side`: their own side when every image is square and of one
  size, e.g. 64 for Tiny-ImageNet; else 96, at most their median short side),
  turned upright by their EXIF orientation, and 16-bit / float images scaled to
  8 bits (:mod:`multissl.vision.decode`); unreadable images are skipped with a
  warning naming them;
- a torchvision data-set name (``cifar10``, ``cifar100``, ``stl10``,
  ``mnist``, ``fashionmnist``, ``svhn``) with ``root`` pointing to where
  torchvision stored it (nothing is downloaded).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np
import torch
from torch.utils.data import Dataset

from .batch_augment import resize_square
from .decode import DECODE_ERRORS, HIGH_DEPTH_MODES, high_depth_to_uint8, image_size, read_image  # noqa: F401 (re-exported)
from .image_files import IMAGE_SUFFIXES, TEST_FOLDERS, ImageList, ImageListing, is_list_file, list_images, split_order  # noqa: F401

TORCHVISION_SETS = {
    "cifar10": "CIFAR10",
    "cifar100": "CIFAR100",
    "stl10": "STL10",
    "mnist": "MNIST",
    "fashionmnist": "FashionMNIST",
    "svhn": "SVHN",
}
SKIMAGE_PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "ihc.png", "hubble_deep_field.jpg",
                  "motorcycle_left.png", "motorcycle_right.png", "color.png", "retina.jpg")
DEFAULT_FOLDER_SIDE = 96  # folders of images of several sizes train at this side unless image_size is given ...
MIN_DEFAULT_SIDE = 32  # ... or at their median short side when smaller, but not below this


@dataclass
class ImageSplits:
    """Train/test images (N, C, H, W) uint8 and labels (N,) int64."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: List[str] = field(default_factory=list)
    name: str = ""
    source_size: str = ""  # the stored size of images that were resized ("64x64", "12 sizes, 30x40 to 1024x768"), else ""

    @property
    def channels(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def image_size(self) -> Tuple[int, int]:
        return int(self.x_train.shape[2]), int(self.x_train.shape[3])

    @property
    def has_labels(self) -> bool:
        return len(self.y_test) > 0 and len(self.y_train) > 0

    def train_dataset(self) -> "ImageTensorDataset":
        return ImageTensorDataset(self.x_train, self.y_train)

    def test_dataset(self) -> "ImageTensorDataset":
        return ImageTensorDataset(self.x_test, self.y_test)


class ImageTensorDataset(Dataset):
    """``dataset[i] -> (image (C, H, W) uint8, label)``; label -1 when unlabelled."""

    def __init__(self, images: torch.Tensor, labels: Optional[torch.Tensor] = None):
        if images.ndim != 4 or images.dtype != torch.uint8:
            raise ValueError(f"images must be a uint8 tensor (N, C, H, W), got {images.dtype} {tuple(images.shape)}")
        if labels is not None and len(labels) not in (0, len(images)):
            raise ValueError(f"labels ({len(labels)}) and images ({len(images)}) differ in length")
        self.images = images
        self.labels = labels if labels is not None and len(labels) else torch.full((len(images),), -1)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        return self.images[i], self.labels[i]


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 (B, C, H, W) -> float32 in [0, 1] (float input is returned as float32)."""
    return images.float() / 255.0 if images.dtype == torch.uint8 else images.float()


def load_images(spec: str, root: Optional[str] = None, image_size: Optional[int] = None, seed: int = 0) -> ImageSplits:
    """Load ``spec`` (see the module docstring) into :class:`ImageSplits`."""
    spec = str(spec)
    path = Path(spec)
    if spec.lower().endswith(".npz"):
        splits = _load_npz(path)
    elif spec == "digits":
        splits = _load_digits(seed)
    elif spec == "shapes":
        from .shapes import make_shapes

        splits = make_shapes(seed=seed, side=image_size or 32)
    elif spec == "skimage":
        splits = _load_skimage_crops(image_size or 64, seed)
    elif spec.lower() in TORCHVISION_SETS:
        splits = _load_torchvision(spec.lower(), root)
    elif path.is_dir() or is_list_file(path):
        splits = _load_listing(path, image_size, seed)
    else:
        raise FileNotFoundError(
            f"data {spec!r} is neither an .npz file, a folder, 'digits', 'shapes', 'skimage' nor one of {sorted(TORCHVISION_SETS)}"
        )
    if image_size and spec not in ("skimage",) and splits.image_size != (image_size, image_size):
        splits = resize_splits(splits, image_size)
    return splits


def resize_splits(splits: ImageSplits, size: int) -> ImageSplits:
    """Resize both splits to size x size (bilinear, antialiased); ``source_size`` records the size they had."""
    h, w = splits.image_size
    return ImageSplits(_resize(splits.x_train, size), splits.y_train, _resize(splits.x_test, size), splits.y_test, splits.classes,
                       splits.name, splits.source_size or f"{w}x{h}")


def describe_splits(splits: ImageSplits) -> str:
    """One line on what was loaded, e.g. ``"cifar10-subset: 10000 train / 2000 test images, 3 x 32x32 (resized from 64x64)"``."""
    h, w = splits.image_size
    resized = f" (resized from {splits.source_size})" if splits.source_size else ""
    return (f"{splits.name}: {len(splits.x_train)} train / {len(splits.x_test)} test images, "
            f"{splits.channels} x {w}x{h}{resized}")


def match_channels(splits: ImageSplits, channels: int) -> ImageSplits:
    """``splits`` with ``channels`` (1 or 3) channels, and a warning when they had the other count:
    grey images are repeated to RGB, RGB images become grey by luminance (ITU-R 601-2, as Pillow's ``"L"``)."""
    if splits.channels == channels:
        return splits
    if {splits.channels, channels} != {1, 3}:
        raise ValueError(f"data set {splits.name!r} has {splits.channels}-channel images; {channels} channel(s) are needed")
    how = "repeated to RGB" if channels == 3 else "converted to grey (luminance 0.299 R + 0.587 G + 0.114 B)"
    warnings.warn(f"data set {splits.name!r} has {splits.channels}-channel images but {channels} channel(s) are needed: {how}")
    convert = _grey_to_rgb if channels == 3 else _rgb_to_grey
    return ImageSplits(convert(splits.x_train), splits.y_train, convert(splits.x_test), splits.y_test, splits.classes,
                       splits.name, splits.source_size)


def convert_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    """(N, C, H, W) uint8 with ``channels`` channels: grey repeated to RGB, RGB to grey by luminance (unchanged when
    it has them already)."""
    if x.shape[1] == channels:
        return x
    if {x.shape[1], channels} != {1, 3}:
        raise ValueError(f"images of {x.shape[1]} channel(s) cannot become {channels} channel(s)")
    return _grey_to_rgb(x) if channels == 3 else _rgb_to_grey(x)


def _grey_to_rgb(x: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) -> (N, 3, H, W), same dtype."""
    return x.expand(-1, 3, -1, -1).contiguous()


def _rgb_to_grey(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) uint8 -> (N, 1, H, W) uint8 luminance."""
    weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    return (x.float() * weights).sum(1, keepdim=True).round().clamp(0, 255).to(torch.uint8)


def _resize(x: torch.Tensor, size: int) -> torch.Tensor:
    if len(x) == 0:
        return x
    out = resize_square(x.float(), size)
    return out.round().clamp(0, 255).to(torch.uint8)


def _nhwc_to_tensor(name: str, x: np.ndarray) -> torch.Tensor:
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise ValueError(f"{name} must have shape (N, H, W, C) or (N, H, W), got {x.shape}")
    if x.shape[-1] not in (1, 3, 4) and x.shape[1] in (1, 3, 4):
        x = x.transpose(0, 2, 3, 1)  # channels first (N, C, H, W), as torch stores images
    if x.dtype.kind not in "uif":
        raise ValueError(f"{name} must hold numbers (uint8 or floats in [0, 1] or [0, 255]), got dtype {x.dtype}")
    if x.dtype != np.uint8 and len(x):
        bad = ~np.isfinite(x).reshape(len(x), -1).all(axis=1) if x.dtype.kind == "f" else np.zeros(len(x), bool)
        if bad.any():
            raise ValueError(f"{name}: image {int(np.argmax(bad))} holds NaN or infinite values "
                             f"({int(bad.sum())} image(s) in all)")
        if x.min() < 0 or x.max() > 255:
            raise ValueError(f"{name} must be uint8 or hold values in [0, 255]; got range [{x.min()}, {x.max()}]")
        x = x.round().astype(np.uint8) if x.max() > 1.0 else (x * 255).round().astype(np.uint8)
    if x.shape[-1] == 4:
        warnings.warn(f"{name}: RGBA images; the alpha channel is dropped (as for image files)")
        x = x[..., :3]
    if x.shape[-1] not in (1, 3):
        raise ValueError(f"{name} must have 1, 3 or 4 (RGBA) channels, got shape {x.shape}")
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def _labels(name: str, y: np.ndarray, n: int) -> torch.Tensor:
    """Class indices 0..K-1 as int64; anything else is an error naming the first bad index."""
    y = np.asarray(y)
    if y.shape == (n, 1):
        y = y[:, 0]  # a column of labels, as Keras' load_data returns them
    if y.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) to match the images, got {y.shape}")
    if y.dtype.kind not in "uif":
        raise ValueError(f"{name} must hold integer class indices, got dtype {y.dtype} (e.g. {y[:3].tolist()}); "
                         "map class names to 0..K-1 and keep the names in a 'classes' array")
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y) | (y != np.round(y))
        if bad.any():
            raise ValueError(f"{name}: label {int(np.argmax(bad))} is {float(y[np.argmax(bad)])}, not an integer class index")
    if len(y) and y.min() < 0:
        first = int(np.argmax(y < 0))
        raise ValueError(f"{name}: label {first} is {y[first]}; class indices must be >= 0")
    return torch.from_numpy(y.astype(np.int64))


def _load_npz(path: Path) -> ImageSplits:
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic[:2] != b"PK":
        raise ValueError(f"{path} is not an .npz archive (an .npz is a zip file; this one starts with {magic!r})")
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise ValueError(f"{path} is not a readable .npz archive (x_train, y_train, x_test, y_test): {err}") from None
    if not hasattr(archive, "files"):
        raise ValueError(f"{path} holds a single array, not an .npz archive of x_train, y_train, x_test, y_test")
    with archive as f:
        names = {name.lower(): name for name in f.files}  # X_train is x_train
        missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in names]
        if missing:
            raise ValueError(f"{path} lacks arrays {missing} (it has {f.files})")
        x_train = _nhwc_to_tensor(f"{path}:{names['x_train']}", f[names["x_train"]])
        x_test = _nhwc_to_tensor(f"{path}:{names['x_test']}", f[names["x_test"]])
        y_train = _labels(f"{path}:{names['y_train']}", f[names["y_train"]], len(x_train))
        y_test = _labels(f"{path}:{names['y_test']}", f[names["y_test"]], len(x_test))
        if len(x_train) == 0:
            raise ValueError(f"{path}: x_train is empty")
        classes = ([str(c) for c in f[names["classes"]]] if "classes" in names
                   else [str(i) for i in range(int(y_train.max()) + 1)])
        for split, y in (("y_train", y_train), ("y_test", y_test)):
            if len(y) and int(y.max()) >= len(classes):
                first = int(torch.argmax((y >= len(classes)).int()))
                raise ValueError(f"{path}:{split}: label {first} is {int(y[first])} but there are {len(classes)} classes")
    if x_train.shape[1:] != x_test.shape[1:]:
        raise ValueError(f"{path}: x_train {tuple(x_train.shape)} and x_test {tuple(x_test.shape)} differ in image shape")
    return ImageSplits(x_train, y_train, x_test, y_test, classes, path.stem)


def _split(x: torch.Tensor, y: torch.Tensor, seed: int, test_fraction: float = 0.2):
    train, test = (torch.from_numpy(i) for i in split_order(len(x), seed, test_fraction))
    return x[train], y[train], x[test], y[test]


def _load_digits(seed: int) -> ImageSplits:
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.from_numpy((digits.images * (255.0 / 16.0)).round().astype(np.uint8))[:, None]
    y = torch.from_numpy(digits.target.astype(np.int64))
    return ImageSplits(*_split(x, y, seed), [str(i) for i in range(10)], "digits")


def skimage_photos() -> List[np.ndarray]:
    """The RGB photographs shipped in scikit-image's wheel, as (H, W, 3) uint8 arrays."""
    import skimage.data as skd
    from PIL import Image

    folder = Path(skd.__file__).parent  # only files inside the wheel: never download
    photos = []
    for name in SKIMAGE_PHOTOS:
        file = folder / name
        if not file.is_file():
            warnings.warn(f"scikit-image photo {file} is not in this wheel; skipped")
            continue
        with Image.open(file) as img:
            photos.append(np.asarray(img.convert("RGB")))
    if not photos:
        raise FileNotFoundError(f"none of the scikit-image photos {SKIMAGE_PHOTOS} found in {folder}")
    return photos


def _load_skimage_crops(size: int, seed: int, per_photo: int = 200) -> ImageSplits:
    rng = np.random.default_rng(seed)
    crops = []
    for img in skimage_photos():
        h, w = img.shape[:2]
        if min(h, w) < size:
            continue
        for _ in range(per_photo):
            top, left = rng.integers(0, h - size + 1), rng.integers(0, w - size + 1)
            crops.append(img[top : top + size, left : left + size])
    x = _nhwc_to_tensor("skimage crops", np.stack(crops))
    empty = torch.zeros(0, dtype=torch.long)
    return ImageSplits(x, empty, x[:0], empty, [], "skimage")


def _load_torchvision(name: str, root: Optional[str]) -> ImageSplits:
    import torchvision

    if not root:
        raise ValueError(f"data set {name} needs root (--root): the folder where torchvision stored {name} (nothing is downloaded)")
    cls = getattr(torchvision.datasets, TORCHVISION_SETS[name])

    def build(train: bool):
        kwargs = {"split": "train" if train else "test"} if name in ("stl10", "svhn") else {"train": train}
        try:
            return cls(root, download=False, **kwargs)
        except RuntimeError as err:
            raise FileNotFoundError(f"{name} not found under {root} ({err}); download it once with torchvision on a machine with network") from err

    splits = []
    for train in (True, False):
        ds = build(train)
        data = ds.data.numpy() if isinstance(ds.data, torch.Tensor) else np.asarray(ds.data)
        if name in ("stl10", "svhn"):
            data = data.transpose(0, 2, 3, 1)  # stored (N, C, H, W)
        targets = np.asarray(getattr(ds, "targets", getattr(ds, "labels", None)))
        x = _nhwc_to_tensor(f"{name}:{'train' if train else 'test'}", data)
        splits += [x, _labels(f"{name} labels", targets, len(x))]
    classes = list(getattr(build(False), "classes", [])) or [str(i) for i in range(int(splits[1].max()) + 1)]
    return ImageSplits(*splits, [str(c) for c in classes], name)


def _decode_list(images: ImageList, size: int, where: str) -> Tuple[torch.Tensor, torch.Tensor]:
    """Every listed image decoded to RGB at ``size`` x ``size`` (unreadable files skipped with a warning naming them):
    (N, 3, size, size) uint8 and (N,) labels."""
    pixels, labels = [], []
    for file, label in zip(images.files, images.labels.tolist()):
        rgb = read_image(file, size)
        if rgb is not None:
            pixels.append(rgb)
            labels.append(label)
    if images.files and not pixels:
        raise ValueError(f"no readable images ({', '.join(sorted(IMAGE_SUFFIXES))}) found in {where}")
    if not pixels:
        return torch.zeros(0, 3, size, size, dtype=torch.uint8), torch.zeros(0, dtype=torch.long)
    return _nhwc_to_tensor(where, np.stack(pixels)), torch.tensor(labels, dtype=torch.long)


SIZE_SAMPLE = 64  # images whose headers decide a folder's training side


def sampled_sizes(files: List[Path], seed: int = 0, count: int = SIZE_SAMPLE) -> List[Tuple[int, int]]:
    """(width, height) of up to ``count`` images drawn from ``files`` (headers only; unreadable ones left out)."""
    if len(files) > count:
        files = [files[int(i)] for i in np.random.default_rng(seed).choice(len(files), count, replace=False)]
    sizes = []
    for file in files:
        try:
            sizes.append(image_size(file))
        except DECODE_ERRORS:
            continue
    return sizes


def default_side(sizes: List[Tuple[int, int]]) -> int:
    """The training side of images of ``sizes`` (width, height) when none is asked for: their side when they are
    all one square size; else :data:`DEFAULT_FOLDER_SIDE` (96) but never above their median short side (rounded
    down to a multiple of 8), and at least :data:`MIN_DEFAULT_SIDE` (32)."""
    if sizes and len(set(sizes)) == 1 and sizes[0][0] == sizes[0][1]:
        return sizes[0][0]
    if not sizes:
        return DEFAULT_FOLDER_SIDE
    short = float(np.median([min(w, h) for w, h in sizes]))
    return max(MIN_DEFAULT_SIDE, min(DEFAULT_FOLDER_SIDE, int(short) // 8 * 8))


def describe_sizes(sizes) -> str:
    """``"64x64"``, or ``"3 sizes, 40x30 to 1024x768"`` (smallest and largest by area) for (width, height) sizes."""
    sizes = set(sizes)
    if len(sizes) == 1:
        (w, h), = sizes
        return f"{w}x{h}"
    small, large = (f(sizes, key=lambda s: (s[0] * s[1], s)) for f in (min, max))
    return f"{len(sizes)} sizes, {small[0]}x{small[1]} to {large[0]}x{large[1]}"


def listing_side(listing: ImageListing, size: Optional[int], seed: int = 0) -> Tuple[int, str]:
    """The side to train ``listing`` at (``size``, else :func:`default_side` of a sample of its images) and what
    that replaces (:func:`describe_sizes` of the sample, "" when nothing is resized). A folder of several sizes
    resized to the default side gets a warning: nobody chose that size."""
    sizes = sampled_sizes(listing.train.files + listing.test.files, seed)
    side = size or default_side(sizes)
    if not sizes or set(sizes) == {(side, side)}:
        return side, ""
    if size is None:
        sampled = f" (a sample of {len(sizes)})" if len(sizes) == SIZE_SAMPLE else ""
        warnings.warn(f"{listing.name}: images of {describe_sizes(sizes)}{sampled} are resized to {side}x{side} (aspect ratio not "
                      f"kept); --image-size / image_size= sets the side")
    return side, describe_sizes(sizes)


def _load_listing(path: Path, size: Optional[int], seed: int) -> ImageSplits:
    """A folder or list file (:func:`~multissl.vision.image_files.list_images`) decoded into memory at one side."""
    listing = list_images(path, seed)
    return decode_listing(listing, *listing_side(listing, size, seed), where=str(path))


def decode_listing(listing: ImageListing, side: int, source_size: str = "", where: str = "") -> ImageSplits:
    """Every image of ``listing`` decoded into memory at ``side`` x ``side`` (``source_size``: what they were)."""
    x_train, y_train = _decode_list(listing.train, side, where or listing.name)
    x_test, y_test = _decode_list(listing.test, side, where or listing.name)
    if not listing.classes:
        y_train = torch.zeros(0, dtype=torch.long)
    return ImageSplits(x_train, y_train, x_test, y_test, listing.classes, listing.name, source_size)


__all__ = ["ImageSplits", "ImageTensorDataset", "convert_channels", "describe_splits", "load_images", "match_channels", "resize_splits", "skimage_photos", "to_float", "TORCHVISION_SETS"]
