"""DAVIS-layout folders (DAVIS 2016 and 2017, https://davischallenge.org).

::

    ROOT/JPEGImages/480p/<seq>/00000.jpg ...
    ROOT/Annotations/480p/<seq>/00000.png ...   (palette PNGs, ids 1..K)
    ROOT/ImageSets/2017/val.txt                 (optional: one sequence per line)
    ROOT/ImageSets/480p/val.txt                 (optional, DAVIS 2016: "/JPEGImages/480p/<seq>/00000.jpg /Annotations/...")

``resolution=None`` (the default) finds the resolution folder: ``480p``, else
``Full-Resolution`` or ``1080p``, else the flat layout ``ROOT/JPEGImages/<seq>``
(YouTube-VOS style) when ``ROOT/Annotations`` holds sequence folders directly.
Frames are in name order with numbers compared as numbers (``2.jpg`` before
``10.jpg``); each frame's mask is the PNG of the same stem.

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
from .masks import read_masks

PathLike = Union[str, Path]
RESOLUTIONS = ("480p", "Full-Resolution", "1080p")


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


def find_resolution(root: PathLike, resolution: Optional[str] = None) -> str:
    """``resolution`` when given; else the first of :data:`RESOLUTIONS` with frame and annotation folders,
    else ``""`` (flat ``JPEGImages/<seq>``) when both top folders exist and hold no resolution folder,
    else the resolution whose folders are incomplete (or ``"480p"``), for :func:`list_sequences` to name."""
    if resolution is not None:
        return resolution
    root = Path(root)
    for candidate in RESOLUTIONS:
        if frames_dir(root, candidate).is_dir() and annotations_dir(root, candidate).is_dir():
            return candidate
    partial = [c for c in RESOLUTIONS if frames_dir(root, c).is_dir() or annotations_dir(root, c).is_dir()]
    if not partial and frames_dir(root, "").is_dir() and annotations_dir(root, "").is_dir():
        return ""
    return (partial or RESOLUTIONS)[0]


def _check_root(root: Path, resolution: str) -> None:
    if not root.is_dir():
        raise FileNotFoundError(f"DAVIS folder {root} does not exist")
    for d in (frames_dir(root, resolution), annotations_dir(root, resolution)):
        if not d.is_dir():
            raise FileNotFoundError(f"{root} is not a DAVIS-layout folder: {d} is missing")


def _read_imageset(path: Path) -> List[str]:
    names = []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("/"):  # DAVIS 2016: "/JPEGImages/480p/<seq>/00000.jpg /Annotations/..."
            line = line.split()[0].split("/")[-2]
        if line not in names:
            names.append(line)
    return names


def list_sequences(root: PathLike, split: Optional[str] = None, resolution: Optional[str] = None) -> List[str]:
    """Sequence names of a DAVIS-layout folder.

    Args:
        split: e.g. ``"val"``: read ``ImageSets/2017/<split>.txt`` or
            ``ImageSets/<resolution>/<split>.txt``; None: every sequence with
            both frames and annotations.
        resolution: ``"480p"``, ``"Full-Resolution"``, ... or ``""`` (flat layout); None: :func:`find_resolution`.
    """
    root = Path(root)
    resolution = find_resolution(root, resolution)
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


def load_sequence(root: PathLike, name: str, resolution: Optional[str] = None) -> Sequence:
    """Frames and masks of one sequence; frames without an annotation PNG get mask -1.

    Raises:
        FileNotFoundError when the frame folder or the first frame's mask is missing;
        ValueError when a mask's size differs from the frames';
        :class:`~multissl.video.io.VideoDecodeError` / :class:`~multissl.video.masks.MaskReadError`
        for a damaged frame or mask file (both name it).
    """
    root = Path(root)
    resolution = find_resolution(root, resolution)
    if not (frames_dir(root, resolution) / name).is_dir():
        raise FileNotFoundError(f"sequence {name}: no frame folder {frames_dir(root, resolution) / name}")
    reader = FrameFolderReader(frames_dir(root, resolution) / name)
    frames = reader.read_all()
    masks = np.full(frames.shape[:3], -1, dtype=np.int64)
    mask_dir = annotations_dir(root, resolution) / name
    first = mask_dir / (reader.files[0].stem + ".png")
    if not first.is_file():
        raise FileNotFoundError(f"sequence {name}: the first frame {reader.files[0].name} has no annotation ({first}){_present(mask_dir)}")
    pairs = [(i, mask_dir / (f.stem + ".png")) for i, f in enumerate(reader.files)]
    pairs = [(i, m) for i, m in pairs if m.is_file()]
    for (i, mask_file), mask in zip(pairs, read_masks([m for _, m in pairs])):
        if mask.shape != frames.shape[1:3]:
            raise ValueError(f"{mask_file} is {mask.shape[1]}x{mask.shape[0]} but frame {reader.files[i]} is "
                             f"{frames.shape[2]}x{frames.shape[1]}")
        masks[i] = mask
    return Sequence(name, frames, masks)


def _present(mask_dir: Path) -> str:
    """What the annotation folder holds instead, for an error message."""
    pngs = sorted(p.name for p in mask_dir.glob("*.png")) if mask_dir.is_dir() else []
    return f"; {mask_dir} holds {len(pngs)} PNG(s), e.g. {pngs[0]} (mask names must match frame names)" if pngs else ""


__all__ = ["RESOLUTIONS", "Sequence", "annotations_dir", "find_resolution", "frames_dir", "list_sequences", "load_sequence"]
