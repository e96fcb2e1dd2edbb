"""DAVIS-layout folders (DAVIS 2016 and 2017, https://davischallenge.org).

::

    ROOT/JPEGImages/480p/<seq>/00000.jpg ...
    ROOT/Annotations/480p/<seq>/00000.png ...   (palette PNGs, ids 1..K)
    ROOT/ImageSets/2017/val.txt                 (optional: one sequence per line)
    ROOT/ImageSets/480p/val.txt                 (optional, DAVIS 2016: "/JPEGImages/480p/<seq>/00000.jpg /Annotations/...")

:func:`list_sequences` names the sequences (from an ImageSets file when a
split is given, else every folder with frames and annotations);
:func:`load_sequence` returns the frames and ground-truth masks.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Union

import numpy as np

from .io import FrameFolderReader
from .masks import read_mask

PathLike = Union[str, Path]


@dataclass
class Sequence:
    """One DAVIS sequence: frames (T, H, W, 3) uint8 and masks (T, H, W) int64 (-1 where no annotation)."""

    name: str
    frames: np.ndarray
    masks: np.ndarray

    @property
    def annotated(self) -> np.ndarray:
        """(T,) bool: which frames have a ground-truth mask."""
        return (self.masks >= 0).reshape(len(self.masks), -1).all(1)


def frames_dir(root: PathLike, resolution: str = "480p") -> Path:
    return Path(root) / "JPEGImages" / resolution


def annotations_dir(root: PathLike, resolution: str = "480p") -> Path:
    return Path(root) / "Annotations" / resolution


def _check_root(root: Path, resolution: str) -> None:
    if not root.is_dir():
        raise FileNotFoundError(f"DAVIS folder {root} does not exist")
    for d in (frames_dir(root, resolution), annotations_dir(root, resolution)):
        if not d.is_dir():
            raise FileNotFoundError(f"{root} is not a DAVIS-layout folder: {d} is missing")


def _read_imageset(path: Path) -> List[str]:
    names = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("/"):  # DAVIS 2016: "/JPEGImages/480p/<seq>/00000.jpg /Annotations/..."
            line = line.split()[0].split("/")[-2]
        if line not in names:
            names.append(line)
    return names


def list_sequences(root: PathLike, split: Optional[str] = None, resolution: str = "480p") -> List[str]:
    """Sequence names of a DAVIS-layout folder.

    Args:
        split: e.g. ``"val"``: read ``ImageSets/2017/<split>.txt`` or
            ``ImageSets/<resolution>/<split>.txt``; None: every sequence with
            both frames and annotations.
    """
    root = Path(root)
    _check_root(root, resolution)
    if split is not None:
        for candidate in (root / "ImageSets" / "2017" / f"{split}.txt", root / "ImageSets" / resolution / f"{split}.txt",
                          root / "ImageSets" / f"{split}.txt"):
            if candidate.is_file():
                names = _read_imageset(candidate)
                missing = [n for n in names if not (frames_dir(root, resolution) / n).is_dir()]
                if missing:
                    raise FileNotFoundError(f"{candidate} names {len(missing)} sequence(s) with no frame folder under "
                                            f"{frames_dir(root, resolution)}: {', '.join(missing[:5])}")
                return names
        raise FileNotFoundError(f"no ImageSets file for split {split!r} under {root / 'ImageSets'}")
    names = [d.name for d in sorted(frames_dir(root, resolution).iterdir()) if d.is_dir()]
    names = [n for n in names if (annotations_dir(root, resolution) / n).is_dir()]
    if not names:
        raise FileNotFoundError(f"{root} holds no sequence with both frames and annotations")
    return names


def load_sequence(root: PathLike, name: str, resolution: str = "480p") -> Sequence:
    """Frames and masks of one sequence; frames without an annotation PNG get mask -1."""
    root = Path(root)
    if not (frames_dir(root, resolution) / name).is_dir():
        raise FileNotFoundError(f"sequence {name}: no frame folder {frames_dir(root, resolution) / name}")
    reader = FrameFolderReader(frames_dir(root, resolution) / name)
    frames = reader.read_all()
    masks = np.full(frames.shape[:3], -1, dtype=np.int64)
    for i, frame_file in enumerate(reader.files):
        mask_file = annotations_dir(root, resolution) / name / (frame_file.stem + ".png")
        if mask_file.is_file():
            mask = read_mask(mask_file)
            if mask.shape != frames.shape[1:3]:
                raise ValueError(f"{mask_file} is {mask.shape[1]}x{mask.shape[0]} but frame {frame_file} is "
                                 f"{frames.shape[2]}x{frames.shape[1]}")
            masks[i] = mask
    if masks[0].min() < 0:
        raise FileNotFoundError(f"sequence {name}: the first frame has no annotation "
                                f"({annotations_dir(root, resolution) / name / (reader.files[0].stem + '.png')})")
    return Sequence(name, frames, masks)


__all__ = ["Sequence", "annotations_dir", "frames_dir", "list_sequences", "load_sequence"]
