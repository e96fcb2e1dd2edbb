"""Images decoded item by item in DataLoader workers, and the choice between that and holding them in memory.

:class:`StreamedImages` is the core's :class:`~multissl.streamed.StreamedDataset` over image
files (an :class:`~multissl.vision.image_files.ImageList`) or the rows of an image array
(:class:`~multissl.vision.image_arrays.ArrayImages`, memory-mapped). Item i is decoded when
it is asked for, in a worker process, and comes out as uint8 at the training side:

- without crops: the whole image squeezed to side x side, exactly as the in-memory path
  decodes it (the methods then augment it on the training device as usual);
- with ``crops`` (one :class:`CropSpec` per view, from the method, e.g. SimCLR's two
  RandomResizedCrop(scale 0.08-1) + flip): each view cut from the image at its own
  resolution (JPEGs decoded at the smallest DCT scale that keeps every crop sharp) and
  resized, (V, C, side, side); the method applies only the colour part of its views.

Every random draw comes from the item's key (seed, epoch, index), so batches do not depend
on the number of workers and a resumed run sees the batches it would have seen.

:func:`open_images` reads a data-set spec the way ``vision.train`` does and picks the path:
held in memory (:class:`~multissl.vision.data.ImageSplits`) or streamed (:class:`ImageStreams`),
see :func:`choose_image_mode`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from multissl.engine.data import SampleKey
from multissl.streamed import StreamedDataset, choose_data_mode

from .batch_augment import resize_square
from .decode import DECODE_ERRORS, crop_resize, cropped_rgb, random_crop_box, resized_rgb
from .image_arrays import ArrayImages, member_header, open_member
from .image_files import ImageList, ImageListing, is_list_file, list_images

RATIO = (3 / 4, 4 / 3)
LARGE_IMAGE_FACTOR = 4  # images with this many times the pixels of a training image are streamed by default


@dataclass(frozen=True)
class CropSpec:
    """The worker half of one view: a RandomResizedCrop of ``min_scale``-``max_scale`` of the image's area
    (aspect ratio 3/4-4/3, as torchvision), then a left-right flip with probability 1/2 when ``flip``."""

    min_scale: float = 0.08
    max_scale: float = 1.0
    flip: bool = True


class _Boxes:
    """``(height, width) -> [(box, flip), ...]``: one RandomResizedCrop box per crop spec, drawn from ``rng``."""

    def __init__(self, crops: Sequence[CropSpec], rng: np.random.Generator):
        self.crops, self.rng = crops, rng

    def __call__(self, height: int, width: int):
        out = []
        for spec in self.crops:
            box = random_crop_box(self.rng, height, width, (spec.min_scale, spec.max_scale), RATIO)
            out.append((box, bool(spec.flip and self.rng.random() < 0.5)))
        return out


ImageSource = Union[ImageList, ArrayImages]


class StreamedImages(StreamedDataset):
    """``dataset[key] -> (image (C, side, side) uint8 | views (V, C, side, side) uint8, label int64)``.

    Args:
        source: image files with labels, or an :class:`ArrayImages` (then ``labels``).
        side: the training side.
        crops: one :class:`CropSpec` per view (None: the whole image, resized).
        labels: (N,) labels of an array source (-1: unlabelled); files carry their own.
    """

    decode_errors = DECODE_ERRORS

    def __init__(self, source: ImageSource, side: int, crops: Optional[Sequence[CropSpec]] = None,
                 labels: Optional[np.ndarray] = None):
        if side < 8:
            raise ValueError(f"the training side must be at least 8 pixels, got {side}")
        self.source, self.side, self.crops = source, int(side), list(crops) if crops else None
        if isinstance(source, ImageList):
            labels = source.labels
        self.labels = np.asarray(labels if labels is not None else np.full(len(source), -1), np.int64)
        if len(self.labels) != len(source):
            raise ValueError(f"{len(self.labels)} labels for {len(source)} images")

    def __len__(self) -> int:
        return len(self.source)

    def describe(self, index: int) -> str:
        if isinstance(self.source, ImageList):
            return f"image {self.source.files[index]}"
        return f"image {index} of {self.source.name}"

    def load(self, key: SampleKey):
        pixels = self._pixels(key)
        label = torch.tensor(int(self.labels[key.index]))
        if self.crops is None:
            return _tensor(pixels.transpose(2, 0, 1)), label
        return _tensor(np.stack(pixels).transpose(0, 3, 1, 2)), label

    def _pixels(self, key: SampleKey):
        """(side, side, C) uint8, or a list of them (one per crop)."""
        if isinstance(self.source, ImageList):
            file = self.source.files[key.index]
            if self.crops is None:
                return resized_rgb(file, self.side)
            return cropped_rgb(file, self.side, _Boxes(self.crops, key.rng()))
        image = self.source.image(key.index)
        if self.crops is None:
            return _resized_array(image, self.side)
        from PIL import Image

        h, w = image.shape[:2]
        pil = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
        views = crop_resize(pil, self.side, _Boxes(self.crops, key.rng())(h, w))
        return [v[..., None] if v.ndim == 2 else v for v in views]


def _tensor(pixels: np.ndarray) -> torch.Tensor:
    """A contiguous, writable uint8 tensor of ``pixels`` (rows of a memory map are read-only)."""
    pixels = np.ascontiguousarray(pixels)
    return torch.from_numpy(pixels if pixels.flags.writeable else pixels.copy())


def _resized_array(image: np.ndarray, side: int) -> np.ndarray:
    """(H, W, C) uint8 -> (side, side, C) uint8, resized as the in-memory path resizes arrays."""
    if image.shape[:2] == (side, side):
        return image
    x = _tensor(image.transpose(2, 0, 1))[None].float()
    return resize_square(x, side).round().clamp(0, 255).to(torch.uint8)[0].permute(1, 2, 0).numpy()


@dataclass
class ImageStreams:
    """A data set read from disk while training: train and test sources, classes, the training side.

    ``train_dataset(crops)`` and ``test_dataset()`` are :class:`StreamedImages`.
    """

    train: ImageSource
    test: ImageSource
    classes: List[str]
    name: str
    side: int
    channels: int
    train_labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    test_labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    source_size: str = ""

    @property
    def has_labels(self) -> bool:
        return bool(self.classes) and len(self.test) > 0 and bool((self.train_labels >= 0).all())

    @property
    def image_size(self) -> Tuple[int, int]:
        return self.side, self.side

    def train_dataset(self, crops: Optional[Sequence[CropSpec]] = None) -> StreamedImages:
        return StreamedImages(self.train, self.side, crops, self.train_labels)

    def test_dataset(self) -> StreamedImages:
        return StreamedImages(self.test, self.side, None, self.test_labels)

    def describe(self) -> str:
        stored = f", stored as {self.source_size}" if self.source_size else ""
        return f"{self.name}: {len(self.train)} train / {len(self.test)} test images{stored}, {self.channels} x {self.side}x{self.side}"


def streams_from_listing(listing: ImageListing, side: int, source_size: str = "") -> ImageStreams:
    return ImageStreams(listing.train, listing.test, listing.classes, listing.name, side, 3, listing.train.labels,
                        listing.test.labels, source_size)


def streams_from_npz(path: Path, side: Optional[int]) -> ImageStreams:
    """An .npz (x_train, y_train, x_test, y_test) with its images memory-mapped (labels are read: they are small)."""
    from .data import _labels

    train = ArrayImages(open_member(path, "x_train"), f"{path}:x_train")
    test = ArrayImages(open_member(path, "x_test"), f"{path}:x_test")
    with np.load(path, allow_pickle=False) as f:
        names = {n.lower(): n for n in f.files}
        y_train = _labels(f"{path}:y_train", f[names["y_train"]], len(train)).numpy()
        y_test = _labels(f"{path}:y_test", f[names["y_test"]], len(test)).numpy()
        classes = [str(c) for c in f[names["classes"]]] if "classes" in names else [str(i) for i in range(int(y_train.max()) + 1)]
    h, w = train.size
    return ImageStreams(train, test, classes, path.stem, side or h, train.channels, y_train, y_test,
                        "" if (side or h) == h == w else f"{w}x{h}")


def streams_from_npy(path: Path, side: Optional[int]) -> ImageStreams:
    """An .npy of images: unlabelled training images, memory-mapped."""
    train = ArrayImages(open_member(path), str(path))
    h, w = train.size
    empty = np.zeros(0, np.int64)
    return ImageStreams(train, ArrayImages(np.zeros((0, h, w, train.channels), np.uint8), str(path)), [], path.stem,
                        side or h, train.channels, np.full(len(train), -1, np.int64), empty,
                        "" if (side or h) == h == w else f"{w}x{h}")


def choose_image_mode(mode: str, count: int, side: int, channels: int, stored_pixels: float) -> Tuple[str, str]:
    """(``"memory"`` or ``"stream"``, why) for ``count`` images trained at ``side`` whose stored images have
    ``stored_pixels`` pixels (median). Auto streams when the images decoded at the training side do not fit the
    core's memory budget, or when they are much larger than a training image (more than
    :data:`LARGE_IMAGE_FACTOR` times its pixels: crops then come from the originals, and decoding them all
    before the first step would take long)."""
    decoded = count * side * side * channels
    if mode != "auto":
        return choose_data_mode(mode, decoded), f"data_mode={mode}"
    if choose_data_mode("auto", decoded) == "stream":
        return "stream", f"{decoded / 2**30:.1f} GiB decoded at {side}x{side} would not fit the memory budget"
    if stored_pixels > LARGE_IMAGE_FACTOR * side * side:
        return "stream", (f"images of about {int(stored_pixels ** 0.5)}x{int(stored_pixels ** 0.5)} pixels are much larger than "
                          f"{side}x{side}: crops come from the originals")
    return "memory", f"{decoded / 2**20:.0f} MiB at {side}x{side}"


def open_images(spec: str, root: Optional[str] = None, image_size: Optional[int] = None, seed: int = 0,
                data_mode: str = "auto"):
    """``(data, how)``: ``spec`` (see :func:`multissl.vision.data.load_images`, plus list files and ``.npy``)
    as in-memory :class:`~multissl.vision.data.ImageSplits` or as :class:`ImageStreams`, and a sentence saying
    which path it took and why."""
    from .data import decode_listing, listing_side, load_images, sampled_sizes

    path = Path(spec)
    if path.is_dir() or is_list_file(path):
        listing = list_images(path, seed)
        side, source = listing_side(listing, image_size, seed)
        sizes = sampled_sizes(listing.train.files, seed)
        stored = float(np.median([w * h for w, h in sizes])) if sizes else float(side * side)
        mode, why = choose_image_mode(data_mode, len(listing.train) + len(listing.test), side, 3, stored)
        if mode == "stream":
            return streams_from_listing(listing, side, source), _how(mode, why)
        return decode_listing(listing, side, source, str(path)), _how(mode, why)
    if spec.lower().endswith((".npz", ".npy")) and path.is_file():
        key = "x_train" if spec.lower().endswith(".npz") else None
        shape, _ = _array_header(path, key)
        side = image_size or (shape[2] if len(shape) == 4 and shape[-1] not in (1, 3, 4) and shape[1] in (1, 3, 4) else shape[1])
        mode, why = choose_image_mode(data_mode, int(shape[0]), side, 3, float(side * side))
        if mode == "stream":
            opener = streams_from_npz if key else streams_from_npy
            return opener(path, image_size), _how(mode, why)
        if key is None:
            return _npy_in_memory(path, image_size), _how(mode, why)
    elif data_mode == "stream":
        raise ValueError(f"data {spec!r} is generated or read whole (digits, shapes, skimage, torchvision sets); "
                         "--data-mode stream needs image files, a list file, an .npz or an .npy")
    return load_images(spec, root, image_size, seed=seed), _how("memory", "held in memory")


def _array_header(path: Path, key: Optional[str]):
    try:
        return member_header(path, key)
    except (ValueError, OSError, KeyError) as err:
        raise ValueError(f"{path} is not a readable image array: {err}") from None


def _npy_in_memory(path: Path, image_size: Optional[int]):
    """An .npy of images held in memory: unlabelled :class:`ImageSplits`."""
    from .data import ImageSplits, _nhwc_to_tensor, resize_splits

    x = _nhwc_to_tensor(str(path), np.load(path, allow_pickle=False))
    empty = torch.zeros(0, dtype=torch.long)
    splits = ImageSplits(x, empty, x[:0], empty, [], path.stem)
    return resize_splits(splits, image_size) if image_size and splits.image_size != (image_size, image_size) else splits


def _how(mode: str, why: str) -> str:
    if mode == "stream":
        return f"streamed from disk, decoded in worker processes ({why})"
    return f"held in memory ({why})"


__all__ = ["CropSpec", "ImageStreams", "LARGE_IMAGE_FACTOR", "StreamedImages", "choose_image_mode", "open_images"]
