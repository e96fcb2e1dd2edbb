"""Image arrays on disk read without loading them: members of an ``.npz`` and ``.npy`` files, memory-mapped.

``np.savez`` stores each array uncompressed inside the zip file, so its bytes can be
mapped where they lie: :func:`open_member` returns a read-only ``np.memmap`` of an ``.npz``
member (or of a whole ``.npy`` file) and :func:`member_header` its shape and dtype, both
without reading the data. A member of ``np.savez_compressed`` cannot be mapped
(:func:`open_member` says so). :class:`ArrayImages` serves image i of such an array as
(H, W, C) uint8, whatever the array's layout.
"""
from __future__ import annotations

import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

import numpy as np

LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")  # the fixed part of a zip local file header (30 bytes)


def _npy_header(f) -> Tuple[Tuple[int, ...], np.dtype, bool, int]:
    """(shape, dtype, fortran_order, header length) of the .npy data starting at ``f``'s position."""
    start = f.tell()
    version = np.lib.format.read_magic(f)
    reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = reader(f)
    return tuple(shape), dtype, fortran, f.tell() - start


def _member_offset(path: Path, name: str) -> Optional[int]:
    """Byte offset of ``name``'s data in zip ``path`` when it is stored uncompressed, else None."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(name)
        if info.compress_type != zipfile.ZIP_STORED:
            return None
        with open(path, "rb") as f:
            f.seek(info.header_offset)
            fields = LOCAL_HEADER.unpack(f.read(LOCAL_HEADER.size))
            name_length, extra_length = fields[-2], fields[-1]
            return info.header_offset + LOCAL_HEADER.size + name_length + extra_length


def _member_name(path: Path, key: str) -> str:
    with zipfile.ZipFile(path) as archive:
        names = {n[:-4].lower() if n.endswith(".npy") else n.lower(): n for n in archive.namelist()}
    if key.lower() not in names:
        raise ValueError(f"{path} has no array {key!r} (it has {sorted(names)})")
    return names[key.lower()]


def member_header(path: Path, key: Optional[str] = None) -> Tuple[Tuple[int, ...], np.dtype]:
    """(shape, dtype) of array ``key`` of an .npz (or of an .npy when ``key`` is None), read from its header only."""
    if key is None:
        with open(path, "rb") as f:
            shape, dtype, _, _ = _npy_header(f)
            return shape, dtype
    try:
        with zipfile.ZipFile(path) as archive, archive.open(_member_name(path, key)) as f:
            shape, dtype, _, _ = _npy_header(f)
            return shape, dtype
    except zipfile.BadZipFile:
        raise ValueError(f"{path} is not an .npz archive (np.savez writes one; a single array belongs in an .npy file)") from None


def open_member(path: Path, key: Optional[str] = None) -> np.ndarray:
    """A read-only memory map of array ``key`` of an .npz (of the .npy itself when ``key`` is None).

    Raises ValueError for a compressed member (``np.savez_compressed``), which cannot be mapped.
    """
    if key is None:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    name = _member_name(path, key)
    offset = _member_offset(path, name)
    if offset is None:
        raise ValueError(f"{path}: array {key!r} is compressed (np.savez_compressed) and cannot be read without loading it; "
                         "store it with np.savez or as an .npy file to stream it")
    with open(path, "rb") as f:
        f.seek(offset)
        shape, dtype, fortran, header = _npy_header(f)
    if fortran or dtype.hasobject:
        raise ValueError(f"{path}: array {key!r} is stored in Fortran order or holds objects; it cannot be mapped")
    return np.memmap(path, dtype=dtype, mode="r", offset=offset + header, shape=shape)


@dataclass
class ArrayImages:
    """The images of an (N, H, W, C), (N, C, H, W) or (N, H, W) uint8 array (memory-mapped or not)."""

    array: np.ndarray
    name: str

    def __post_init__(self):
        a = self.array
        if a.ndim not in (3, 4) or a.dtype != np.uint8:
            raise ValueError(f"{self.name}: streaming needs uint8 images (N, H, W, C), (N, C, H, W) or (N, H, W); got "
                             f"{a.dtype} {a.shape} (hold it in memory with --data-mode memory, or store it as uint8)")
        self.channels_first = a.ndim == 4 and a.shape[-1] not in (1, 3, 4) and a.shape[1] in (1, 3, 4)

    def __len__(self) -> int:
        return len(self.array)

    @property
    def channels(self) -> int:
        if self.array.ndim == 3:
            return 1
        c = self.array.shape[1] if self.channels_first else self.array.shape[-1]
        return 3 if c == 4 else c

    @property
    def size(self) -> Tuple[int, int]:
        """(height, width)."""
        shape = self.array.shape
        return (shape[2], shape[3]) if self.channels_first else (shape[1], shape[2])

    def image(self, i: int) -> np.ndarray:
        """Image ``i`` as (H, W, C) uint8 (alpha dropped)."""
        x = np.asarray(self.array[i])
        if x.ndim == 2:
            return x[..., None]
        if self.channels_first:
            x = x.transpose(1, 2, 0)
        return x[..., :3]


__all__ = ["ArrayImages", "member_header", "open_member"]
