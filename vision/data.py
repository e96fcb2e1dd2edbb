"""Image data for the vision tasks: arrays in memory, image folders, torchvision data sets.

Everything is loaded into :class:`ImageSplits`: uint8 image tensors
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
- a folder: an ``ImageFolder`` tree (``class/image.png``), with ``train/``
  and ``test/`` (or ``val/``, ``valid/``, ``validation/``) sub-folders if
  present, else an 80/20 split (of ``train/`` alone when there is no test
  folder); a folder of images without class folders is unlabelled training
  data (no test split). Images are resized to ``image_size`` (default: their
  own side when every image is square and of one size, e.g. 64 for
  Tiny-ImageNet; else 32), turned upright by their EXIF orientation, and
  16-bit / float images scaled to 8 bits. Hidden files (``.name``,
  ``__MACOSX``) are skipped; unreadable images, empty class folders and
  images outside the class folders are reported by a warning naming them;
- a torchvision data-set name (``cifar10``, ``cifar100``, ``stl10``,
  ``mnist``, ``fashionmnist``, ``svhn``) with ``root`` pointing to where
  torchvision stored it (nothing is downloaded).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Set, Tuple

import numpy as np
import torch
from torch.utils.data import Dataset

from multissl.files import is_hidden

from .batch_augment import resize_square

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
DEFAULT_FOLDER_SIDE = 32  # folders whose images differ in size are resized to this side unless image_size is given
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
TEST_FOLDERS = ("test", "val", "valid", "validation")
HIGH_DEPTH_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")


def _decode_errors() -> tuple:
    from PIL import Image, UnidentifiedImageError

    return (OSError, UnidentifiedImageError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError)


DECODE_ERRORS = _decode_errors()  # what Pillow raises for a corrupt, truncated or oversized file


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
    elif path.is_dir():
        splits = _load_folder(path, image_size, seed)
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
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    n_test = int(round(len(x) * test_fraction))
    test, train = order[:n_test], order[n_test:]
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


def _read_folder(folder: Path, size: int, classes: List[str]):
    """Every image under ``folder``'s class sub-folders (``classes``; ``[""]``: the folder itself, unlabelled),
    decoded to RGB at ``size`` x ``size``; unreadable files are skipped with a warning naming them."""
    images, labels = [], []
    for label, file in _image_files(folder, classes):
        pixels = read_image(file, size)
        if pixels is not None:
            images.append(pixels)
            labels.append(label)
    if not images:
        where = "the class folders of " if classes != [""] else ""
        raise ValueError(f"no readable images ({', '.join(sorted(IMAGE_SUFFIXES))}) found in {where}{folder}")
    _warn_empty_classes(folder, classes, labels)
    return _nhwc_to_tensor(str(folder), np.stack(images)), torch.tensor(labels)


def read_image(file: Path, size: int) -> Optional[np.ndarray]:
    """``file`` as (size, size, 3) uint8 RGB, upright by its EXIF orientation; None (and a warning) if unreadable.

    16-bit, 32-bit integer and float images are scaled to 8 bits (Pillow's own conversion clips them at 255).
    """
    from PIL import Image, ImageOps

    try:
        with Image.open(file) as img:
            img = ImageOps.exif_transpose(img)
            if img.mode in HIGH_DEPTH_MODES:
                img = Image.fromarray(high_depth_to_uint8(np.asarray(img), img.mode))
            rgb = img.convert("RGB")
            rgb = rgb if rgb.size == (size, size) else rgb.resize((size, size), Image.BILINEAR)
            return np.asarray(rgb)
    except DECODE_ERRORS as err:
        warnings.warn(f"skipping unreadable image {file}: {type(err).__name__}: {err}")
        return None


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


def _class_folders(folder: Path) -> List[str]:
    """The visible sub-folders of ``folder``, sorted."""
    return sorted(d.name for d in folder.iterdir() if d.is_dir() and not is_hidden(d, folder))


def _is_image_file(file: Path) -> bool:
    return file.suffix.lower() in IMAGE_SUFFIXES and file.is_file()


def _image_files(folder: Path, classes: List[str]):
    """``(label, file)`` for the images under each class folder; hidden files are skipped with one warning."""
    hidden = []
    for label, cls in enumerate(classes):
        for file in sorted((folder / cls).rglob("*")):
            if not _is_image_file(file):
                continue
            if not is_hidden(file, folder):
                yield label, file
            else:
                hidden.append(file)
    if hidden:
        warnings.warn(f"skipped {len(hidden)} hidden image file(s) under {folder} (names starting with '.' or in "
                      f"__MACOSX, e.g. {hidden[0]})")


def _warn_empty_classes(folder: Path, classes: List[str], labels: List[int]) -> None:
    counts = np.bincount(np.asarray(labels, np.int64), minlength=len(classes))
    empty = [classes[i] for i in np.flatnonzero(counts == 0)]
    if empty:
        warnings.warn(f"{folder}: {len(empty)} class folder(s) hold no readable image: {empty[:10]}")


def folder_image_sizes(folders: List[Path], classes: List[str]) -> Set[Tuple[int, int]]:
    """The (width, height) sizes of the images in ``folders``' class sub-folders (only headers are read).

    Unreadable files are left to the loader (which skips them with a warning).
    """
    from PIL import Image

    sizes = set()
    for folder in folders:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the loader warns about hidden files
            files = list(_image_files(folder, classes))
        for _, file in files:
            try:
                with Image.open(file) as img:
                    sizes.add(img.size)
            except DECODE_ERRORS:
                continue
    return sizes


def _square_side(sizes: Set[Tuple[int, int]]) -> Optional[int]:
    """The side when ``sizes`` (width, height) is one square size, else None."""
    (w, h), = sizes if len(sizes) == 1 else ((0, 1),)
    return w if w == h else None


def describe_sizes(sizes: Set[Tuple[int, int]]) -> str:
    """``"64x64"``, or ``"3 sizes, 40x30 to 1024x768"`` (smallest and largest by area) for (width, height) sizes."""
    if len(sizes) == 1:
        (w, h), = sizes
        return f"{w}x{h}"
    small, large = (f(sizes, key=lambda s: (s[0] * s[1], s)) for f in (min, max))
    return f"{len(sizes)} sizes, {small[0]}x{small[1]} to {large[0]}x{large[1]}"


def _folder_side(folders: List[Path], classes: List[str], size: Optional[int]) -> Tuple[int, str]:
    """The side to read ``folders`` at (``size``, else their common square side, else 32) and what it replaces
    (:func:`describe_sizes`, "" when nothing is resized). A folder of several sizes resized to the default side
    gets a warning: nobody chose that size."""
    sizes = folder_image_sizes(folders, classes)
    side = size or _square_side(sizes) or DEFAULT_FOLDER_SIDE
    if not sizes or sizes == {(side, side)}:
        return side, ""
    if size is None:
        warnings.warn(f"{folders[0].parent if len(folders) > 1 else folders[0]}: images of {describe_sizes(sizes)} are resized "
                      f"to {side}x{side} (aspect ratio not kept); --image-size / image_size= sets the side")
    return side, describe_sizes(sizes)


def _load_folder(path: Path, size: Optional[int], seed: int) -> ImageSplits:
    """An ImageFolder tree: ``train/`` + ``test/`` (or ``val/``...), else class folders split 80/20,
    else (no sub-folders) a flat folder of unlabelled images."""
    test_dir = next((path / d for d in TEST_FOLDERS if (path / d).is_dir()), None)
    if (path / "train").is_dir() and test_dir is not None:
        classes = _class_folders(path / "train")
        _warn_unknown_classes(test_dir, classes)
        size, source = _folder_side([path / "train", test_dir], classes, size)
        x_train, y_train = _read_folder(path / "train", size, classes)
        x_test, y_test = _read_folder(test_dir, size, classes)
        return ImageSplits(x_train, y_train, x_test, y_test, classes, path.name, source)
    root = path / "train" if (path / "train").is_dir() else path
    classes = _class_folders(root)
    if not classes:
        return _load_flat_folder(path, size)
    _warn_loose_images(root)
    size, source = _folder_side([root], classes, size)
    x, y = _read_folder(root, size, classes)
    return ImageSplits(*_split(x, y, seed), classes, path.name, source)


def _load_flat_folder(path: Path, size: Optional[int]) -> ImageSplits:
    """A folder of images without class folders: unlabelled training images (no test split)."""
    if not any(_is_image_file(f) for f in path.iterdir()):
        raise ValueError(f"{path} has neither class sub-folders nor images (expected an ImageFolder layout "
                         f"{path}/<class>/<image>, or a folder of unlabelled images)")
    size, source = _folder_side([path], [""], size)
    x, _ = _read_folder(path, size, [""])
    empty = torch.zeros(0, dtype=torch.long)
    return ImageSplits(x, empty, x[:0], empty, [], path.name, source)


def _warn_loose_images(root: Path) -> None:
    loose = [f for f in root.iterdir() if _is_image_file(f) and not is_hidden(f, root)]
    if loose:
        warnings.warn(f"{root}: {len(loose)} image(s) lie outside the class folders and are left out (e.g. {loose[0].name})")


def _warn_unknown_classes(test_dir: Path, classes: List[str]) -> None:
    unknown = sorted(set(_class_folders(test_dir)) - set(classes))
    if unknown:
        warnings.warn(f"{test_dir}: {len(unknown)} folder(s) are not classes of train/ and are left out: {unknown[:10]}")


__all__ = ["ImageSplits", "ImageTensorDataset", "describe_splits", "load_images", "match_channels", "resize_splits", "skimage_photos", "to_float", "TORCHVISION_SETS"]
