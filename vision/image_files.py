"""Users' image files: which files a data set holds and their labels, without decoding any of them.

:func:`list_images` understands

- an ImageFolder tree ``class/image.png``, with ``train/`` and ``test/`` (or ``val/``,
  ``valid/``, ``validation/``) sub-folders when present, else a seeded 80/20 split of the
  class folders (of ``train/`` alone when there is no test folder);
- a folder of images without class folders: unlabelled training images;
- a list file (``.txt``, ``.csv``, ``.tsv``, ``.lst``): one image per line, its path
  (relative to the list file's folder, or absolute) optionally followed by a label
  (a class name or an integer index) after a comma, a tab or spaces; lines starting
  with ``#`` and a header line ``path,label`` are skipped. Labelled lists are split 80/20
  like class folders; a list without labels is unlabelled training images.

Hidden files (``.name``, ``__MACOSX``) are skipped with one warning; empty class folders,
images outside the class folders and test folders that are not classes of ``train/`` are
named in warnings. Listing 50,000 files takes a fraction of a second: nothing is opened.
"""
from __future__ import annotations

import csv
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import numpy as np
import torch

from multissl.files import is_hidden

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
TEST_FOLDERS = ("test", "val", "valid", "validation")
LIST_SUFFIXES = {".txt", ".csv", ".tsv", ".lst"}
TEST_FRACTION = 0.2


@dataclass
class ImageList:
    """Image files and their labels: ``labels`` (N,) int64, -1 where unlabelled."""

    files: List[Path]
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.files)

    def subset(self, indices: np.ndarray) -> "ImageList":
        return ImageList([self.files[int(i)] for i in indices], self.labels[indices])

    @staticmethod
    def empty() -> "ImageList":
        return ImageList([], np.zeros(0, np.int64))


@dataclass
class ImageListing:
    """The train and test images of a data set (test empty when there is none) and its class names."""

    train: ImageList
    test: ImageList
    classes: List[str] = field(default_factory=list)
    name: str = ""

    @property
    def has_labels(self) -> bool:
        return bool(self.classes) and len(self.train) > 0 and bool((self.train.labels >= 0).all())


def is_image_file(file: Path) -> bool:
    return file.suffix.lower() in IMAGE_SUFFIXES and file.is_file()


def is_list_file(path: Path) -> bool:
    return path.suffix.lower() in LIST_SUFFIXES and path.is_file()


def class_folders(folder: Path) -> List[str]:
    """The visible sub-folders of ``folder``, sorted."""
    return sorted(d.name for d in folder.iterdir() if d.is_dir() and not is_hidden(d, folder))


def image_files(folder: Path, classes: List[str]) -> Iterator[Tuple[int, Path]]:
    """``(label, file)`` for the images under each class folder (``[""]``: the folder itself, label 0);
    hidden files are skipped with one warning."""
    hidden = []
    for label, cls in enumerate(classes):
        for file in sorted((folder / cls).rglob("*")):
            if not is_image_file(file):
                continue
            if not is_hidden(file, folder):
                yield label, file
            else:
                hidden.append(file)
    if hidden:
        warnings.warn(f"skipped {len(hidden)} hidden image file(s) under {folder} (names starting with '.' or in "
                      f"__MACOSX, e.g. {hidden[0]})")


def split_order(n: int, seed: int, test_fraction: float = TEST_FRACTION) -> Tuple[np.ndarray, np.ndarray]:
    """(train indices, test indices) of a seeded ``test_fraction`` split of n items."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).numpy()
    n_test = int(round(n * test_fraction))
    return order[n_test:], order[:n_test]


def _class_list(folder: Path, classes: List[str]) -> ImageList:
    pairs = list(image_files(folder, classes))
    labels = np.array([label for label, _ in pairs], np.int64)
    if classes != [""]:
        counts = np.bincount(labels, minlength=len(classes))
        empty = [classes[i] for i in np.flatnonzero(counts == 0)]
        if empty:
            warnings.warn(f"{folder}: {len(empty)} class folder(s) hold no image: {empty[:10]}")
    else:
        labels = np.full(len(pairs), -1, np.int64)
    if not pairs:
        where = "the class folders of " if classes != [""] else ""
        raise ValueError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) found in {where}{folder}")
    return ImageList([file for _, file in pairs], labels)


def _split(images: ImageList, seed: int) -> Tuple[ImageList, ImageList]:
    train, test = split_order(len(images), seed)
    return images.subset(train), images.subset(test)


def list_folder(path: Path, seed: int = 0) -> ImageListing:
    """The images of folder ``path`` (see the module docstring)."""
    test_dir = next((path / d for d in TEST_FOLDERS if (path / d).is_dir()), None)
    if (path / "train").is_dir() and test_dir is not None:
        classes = class_folders(path / "train")
        _warn_unknown_classes(test_dir, classes)
        return ImageListing(_class_list(path / "train", classes), _class_list(test_dir, classes), classes, path.name)
    root = path / "train" if (path / "train").is_dir() else path
    classes = class_folders(root)
    if not classes:
        if not any(is_image_file(f) for f in path.iterdir()):
            raise ValueError(f"{path} has neither class sub-folders nor images (expected an ImageFolder layout "
                             f"{path}/<class>/<image>, or a folder of unlabelled images)")
        return ImageListing(_class_list(path, [""]), ImageList.empty(), [], path.name)
    _warn_loose_images(root)
    return ImageListing(*_split(_class_list(root, classes), seed), classes, path.name)


def list_file(path: Path, seed: int = 0) -> ImageListing:
    """The images a list file names (see the module docstring); a missing file is a ValueError naming its line."""
    rows = _list_rows(path)
    files, names = [], []
    for lineno, image, label in rows:
        file = Path(image) if Path(image).is_absolute() else path.parent / image
        if not file.is_file():
            raise ValueError(f"{path}, line {lineno}: image {image!r} does not exist ({file})")
        files.append(file)
        names.append(label)
    if not files:
        raise ValueError(f"{path} names no image")
    labelled = [n is not None for n in names]
    if any(labelled) and not all(labelled):
        first = labelled.index(False) if labelled[0] else labelled.index(True)
        raise ValueError(f"{path}, line {rows[first][0]}: some lines have a label and some do not")
    if not all(labelled):
        return ImageListing(ImageList(files, np.full(len(files), -1, np.int64)), ImageList.empty(), [], path.stem)
    classes, labels = _label_indices(path, rows, names)
    return ImageListing(*_split(ImageList(files, labels), seed), classes, path.stem)


def _list_rows(path: Path) -> List[Tuple[int, str, Optional[str]]]:
    """(line number, image path, label or None) of every data line of a list file."""
    rows = []
    text = path.read_text(encoding="utf-8-sig")
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = next(csv.reader([line], delimiter=delimiter)) if delimiter in line else line.rsplit(None, 1)
        parts = [p.strip() for p in parts if p.strip()]
        if len(parts) == 2 and Path(parts[1]).suffix.lower() in IMAGE_SUFFIXES:
            parts = [line]  # a path with a space in it, no label
        if lineno == 1 and parts[0].lower() in ("path", "file", "filename", "image"):
            continue  # a header
        if len(parts) > 2:
            raise ValueError(f"{path}, line {lineno}: expected 'path' or 'path,label', got {line!r}")
        rows.append((lineno, parts[0], parts[1] if len(parts) == 2 else None))
    return rows


def _label_indices(path: Path, rows, names: List[str]) -> Tuple[List[str], np.ndarray]:
    """Class names and (N,) indices: integer labels are the indices themselves, other labels sorted names."""
    if all(n.lstrip("-").isdigit() for n in names):
        values = np.array([int(n) for n in names], np.int64)
        if values.min() < 0:
            first = int(np.argmax(values < 0))
            raise ValueError(f"{path}, line {rows[first][0]}: label {values[first]} is negative")
        return [str(i) for i in range(int(values.max()) + 1)], values
    classes = sorted(set(names))
    index = {c: i for i, c in enumerate(classes)}
    return classes, np.array([index[n] for n in names], np.int64)


def list_images(spec: Path, seed: int = 0) -> ImageListing:
    """A folder or a list file as an :class:`ImageListing` (see the module docstring)."""
    return list_file(spec, seed) if is_list_file(spec) else list_folder(spec, seed)


def _warn_loose_images(root: Path) -> None:
    loose = [f for f in root.iterdir() if is_image_file(f) and not is_hidden(f, root)]
    if loose:
        warnings.warn(f"{root}: {len(loose)} image(s) lie outside the class folders and are left out (e.g. {loose[0].name})")


def _warn_unknown_classes(test_dir: Path, classes: List[str]) -> None:
    unknown = sorted(set(class_folders(test_dir)) - set(classes))
    if unknown:
        warnings.warn(f"{test_dir}: {len(unknown)} folder(s) are not classes of train/ and are left out: {unknown[:10]}")


__all__ = ["IMAGE_SUFFIXES", "ImageList", "ImageListing", "LIST_SUFFIXES", "TEST_FOLDERS", "class_folders", "image_files",
           "is_image_file", "is_list_file", "list_file", "list_folder", "list_images", "split_order"]
