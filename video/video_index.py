"""What is known about each training video before any frame is decoded: frame count, rate, size, keyframes.

:func:`index_videos` measures every video file once, from its container alone (PyAV reads the
packets' timestamps and keyframe flags without decoding; decord opens the file when PyAV
cannot, or when asked), and frame folders from their file list and first image. The facts
are kept in the core's :class:`~multissl.file_index.FileIndex`, so a second run over the
same folder reads them from the cache (files that changed are measured again), and new
files are measured in worker processes when there are many. A video that cannot be
opened is left out with a warning naming it.

:func:`open_reader` opens the reader a :class:`VideoFile` was measured with, without
reading its packets again.
"""
from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

from multissl.engine.data import usable_cpus
from multissl.file_index import FileIndex

from .io import (DecordReader, FrameFolderReader, FrameTable, PyAVReader, VideoDecodeError, VideoReader, _decord_available,
                 scan_video_file)

INDEX_VERSION = 1
BACKENDS = ("auto", "decord", "pyav")


class VideoFile(NamedTuple):
    """A training video as measured by :func:`index_videos` (``size`` is (H, W) in pixels)."""

    path: Path
    backend: str  # "pyav", "decord" or "frames": the reader every process opens it with
    num_frames: int
    fps: float
    size: Tuple[int, int]
    keyframes: Tuple[int, ...]  # frames a decoder starts from cheaply (every frame of a frame folder)
    table: Optional[FrameTable]  # PyAV's frame timestamps


def measure_video(path: Path, backend: str = "auto") -> Dict[str, Any]:
    """The facts of one video file or frame folder (JSON values), for the :class:`FileIndex`.

    Raises:
        :class:`VideoDecodeError` when no reader can open it.
    """
    path = Path(path)
    if path.is_dir():
        reader = FrameFolderReader(path)
        return {"backend": "frames", "frames": reader.num_frames, "fps": reader.fps, "size": list(reader.size)}
    if path.stat().st_size == 0:
        raise VideoDecodeError(f"video {path} is empty (0 bytes)")
    if backend != "decord":
        try:
            table, fps, size = scan_video_file(path)
            return {"backend": "pyav", "frames": table.num_frames, "fps": fps, "size": list(size), "table": list(table)}
        except VideoDecodeError:
            if backend == "pyav" or not _decord_available():
                raise
    reader = DecordReader(path)
    try:
        keys = [int(k) for k in reader._reader.get_key_indices()] or [0]
    finally:
        reader.close()
    return {"backend": "decord", "frames": reader.num_frames, "fps": reader.fps, "size": list(reader.size), "keyframes": keys[:64]}


def _video_file(path: Path, facts: Dict[str, Any]) -> VideoFile:
    table = FrameTable(*[tuple(v) if isinstance(v, list) else v for v in facts["table"]]) if "table" in facts else None
    frames = int(facts["frames"])
    keyframes = table.keyframes if table is not None else tuple(facts.get("keyframes", range(frames)))
    return VideoFile(path, facts["backend"], frames, float(facts["fps"]), tuple(facts["size"]), tuple(keyframes), table)


def index_videos(paths: Sequence[Path], backend: str = "auto", verbose: bool = False) -> List[VideoFile]:
    """Every video of ``paths`` that can be opened, measured (or read from the file index); the others are
    left out with one warning each naming them."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    root = Path(os.path.commonpath([str(Path(p).resolve()) for p in paths])) if paths else Path(".")
    index = FileIndex(f"video-{backend}", root, INDEX_VERSION)
    facts = index.facts(list(paths), functools.partial(measure_video, backend=backend), workers=max(1, usable_cpus() - 1),
                        desc="measuring videos", verbose=verbose)
    videos = []
    for path, fact in zip(paths, facts):
        if "error" in fact:
            warnings.warn(f"skipping unreadable video {path}: {fact['error']}", RuntimeWarning, stacklevel=3)
        else:
            videos.append(_video_file(Path(path), fact))
    return videos


def open_reader(video: VideoFile) -> VideoReader:
    """A reader of ``video`` with the backend it was measured with (PyAV without reading its packets again)."""
    if video.backend == "frames":
        return FrameFolderReader(video.path)
    if video.backend == "decord":
        return DecordReader(video.path)
    return PyAVReader(video.path, video.table, video.fps, video.size)


__all__ = ["BACKENDS", "VideoFile", "index_videos", "measure_video", "open_reader"]
