"""Clips of reference + target frames from a folder of videos.

:class:`VideoFolder` turns video files (decord, PyAV fallback) or frame
folders into training clips of ``clip_len`` frames (3 references + 1 target
by default) ``stride`` frames apart, or sampled at ``fps`` frames per
second. Frames are resized so their short side is ``short_side``, then a
random ``crop`` x ``crop`` window is cut (the same for every frame of the
clip) and flipped left-right with probability 1/2.

Random clip positions, crops and flips are drawn from torch's global
generator, which :func:`multissl.engine.fit` seeds (and restores on resume),
so a seeded run is reproducible.

Bad input: a video that cannot be opened, or that fails to decode while
training (a truncated file), is skipped with one warning naming it.
Videos shorter than a clip are skipped with a warning (``short_clips="skip"``,
the default) or padded by repeating their last frame (``"pad"``).
"""
from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from .io import VideoDecodeError, VideoReader, list_videos, open_videos

PathLike = Union[str, Path]


@dataclass
class ClipConfig:
    """How clips are cut from videos."""

    clip_len: int = field(default=4, metadata={"help": "frames per clip: clip_len - 1 references + 1 target"})
    stride: int = field(default=1, metadata={"help": "frames between consecutive clip frames"})
    fps: Optional[float] = field(default=None, metadata={"help": "sample clip frames at this rate instead of --stride"})
    short_side: Optional[int] = field(default=256, metadata={"help": "resize frames so the short side has this many pixels"})
    crop: Optional[int] = field(default=256, metadata={"help": "random square crop (pixels, multiple of 8); none: whole frame"})
    flip: bool = field(default=True, metadata={"help": "random left-right flips"})
    clips_per_video: int = field(default=200, metadata={"help": "clips drawn from each video per epoch"})
    short_clips: str = field(default="skip", metadata={"help": "videos shorter than a clip: skip or pad", "choices": ["skip", "pad"]})
    cache: str = field(default="auto", metadata={"help": "keep decoded frames in memory: auto (when < 2 GB), yes, no",
                                                 "choices": ["auto", "yes", "no"]})

    def __post_init__(self):
        if self.clip_len < 2:
            raise ValueError(f"clip_len must be >= 2 (references + target), got {self.clip_len}")
        if self.stride < 1 or self.clips_per_video < 1:
            raise ValueError(f"stride and clips_per_video must be >= 1, got {self.stride}, {self.clips_per_video}")
        if self.crop is not None and (self.crop < 8 or self.crop % 8):
            raise ValueError(f"crop must be a positive multiple of 8, got {self.crop}")
        if self.short_side is not None and self.short_side < 8:
            raise ValueError(f"short_side must be >= 8, got {self.short_side}")
        if self.fps is not None and self.fps <= 0:
            raise ValueError(f"fps must be > 0, got {self.fps}")
        if self.short_clips not in ("skip", "pad") or self.cache not in ("auto", "yes", "no"):
            raise ValueError(f"short_clips must be skip|pad and cache auto|yes|no, got {self.short_clips!r}, {self.cache!r}")

    def as_dict(self) -> Dict[str, object]:
        return asdict(self)


def resized_size(size: Sequence[int], short_side: Optional[int], multiple: int = 8) -> tuple:
    """(H, W) scaled so min(H, W) == short_side, both rounded to a multiple of ``multiple``."""
    h, w = size
    scale = 1.0 if short_side is None else short_side / min(h, w)
    return (max(multiple, int(round(h * scale / multiple)) * multiple), max(multiple, int(round(w * scale / multiple)) * multiple))


def frames_to_tensor(frames: np.ndarray, size: Optional[Sequence[int]] = None) -> torch.Tensor:
    """(T, H, W, 3) uint8 -> (T, 3, h, w) float in [0, 1], resized (antialiased bilinear) to ``size``."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0
    if size is not None and tuple(x.shape[-2:]) != tuple(size):
        x = F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)
    return x


class VideoFolder(Dataset):
    """Clips (T, 3, crop, crop) float RGB in [0, 1] from every video under ``root``.

    Args:
        root: a folder (searched recursively for video files), one video
            file, or a list of video files / frame folders.
        config: :class:`ClipConfig`.
        backend: reader backend for :func:`~multissl.video.io.open_video`.
    ``len(dataset)`` is ``num_videos * clips_per_video``; item i comes from
    video ``i % num_videos``.
    """

    def __init__(self, root: Union[PathLike, Sequence[PathLike]], config: Optional[ClipConfig] = None, backend: str = "auto",
                 verbose: bool = False):
        config = config if config is not None else ClipConfig()
        self.config = config
        paths = list_videos(root) if isinstance(root, (str, Path)) else [Path(p) for p in root]
        if not paths:
            raise FileNotFoundError(f"no video files under {root}")
        readers = open_videos(paths, backend)
        self.readers: List[VideoReader] = []
        for reader in readers:
            if reader.num_frames < self.span(reader) and config.short_clips == "skip":
                warnings.warn(f"skipping {reader.path}: {reader.num_frames} frames, a clip needs {self.span(reader)}", RuntimeWarning, stacklevel=2)
                continue
            self.readers.append(reader)
        if not self.readers:
            raise ValueError(f"none of the {len(paths)} videos under {root} can be used (unreadable or too short)")
        self._bad: set = set()
        self._cache: Dict[int, torch.Tensor] = {}
        self.use_cache = config.cache == "yes" or (config.cache == "auto" and self.decoded_bytes() < 2 * 2**30)

    def frame_step(self, reader: VideoReader) -> int:
        if self.config.fps is None or reader.fps <= 0:
            return self.config.stride
        return max(1, int(round(reader.fps / self.config.fps)))

    def span(self, reader: VideoReader) -> int:
        return (self.config.clip_len - 1) * self.frame_step(reader) + 1

    def frame_size(self, reader: VideoReader) -> tuple:
        return resized_size(reader.size, self.config.short_side)

    def decoded_bytes(self) -> int:
        return sum(r.num_frames * int(np.prod(self.frame_size(r))) * 3 for r in self.readers)

    def __len__(self) -> int:
        return len(self.readers) * self.config.clips_per_video

    def _frames(self, v: int, indices: np.ndarray) -> torch.Tensor:
        reader = self.readers[v]
        if self.use_cache:
            if v not in self._cache:
                self._cache[v] = (frames_to_tensor(reader.read_all(), self.frame_size(reader)) * 255).round().to(torch.uint8)
            return self._cache[v][torch.from_numpy(reader.clamp(indices))].float() / 255.0
        return frames_to_tensor(reader.read(indices), self.frame_size(reader))

    def __getitem__(self, index: int) -> torch.Tensor:
        if not 0 <= index < len(self):
            raise IndexError(f"clip index {index} out of range for {len(self)} clips")
        v = index % len(self.readers)
        for _ in range(len(self.readers)):
            if v not in self._bad:
                try:
                    return self._clip(v)
                except VideoDecodeError as err:
                    self._bad.add(v)
                    warnings.warn(f"skipping video {self.readers[v].path} that failed to decode: {err}", RuntimeWarning, stacklevel=2)
            v = (v + 1) % len(self.readers)
        raise RuntimeError("every video of the data set failed to decode")

    def _clip(self, v: int) -> torch.Tensor:
        reader = self.readers[v]
        step, span = self.frame_step(reader), self.span(reader)
        start = int(torch.randint(max(1, reader.num_frames - span + 1), (1,)))
        indices = start + step * np.arange(self.config.clip_len)  # clamped: a short video repeats its last frame
        clip = self._frames(v, indices)
        clip = self._crop(clip)
        if self.config.flip and bool(torch.rand(()) < 0.5):
            clip = clip.flip(-1)
        return clip

    def _crop(self, clip: torch.Tensor) -> torch.Tensor:
        h, w = clip.shape[-2:]
        size = self.config.crop
        if size is None:
            return clip[..., : h - h % 8, : w - w % 8]
        if h < size or w < size:
            clip = F.interpolate(clip, scale_factor=size / min(h, w), mode="bilinear", align_corners=False).clamp(0, 1)
            h, w = clip.shape[-2:]
        top = int(torch.randint(h - size + 1, (1,)))
        left = int(torch.randint(w - size + 1, (1,)))
        return clip[..., top : top + size, left : left + size]

    def sample_frames(self, count: int, seed: int = 0) -> torch.Tensor:
        """``count`` whole frames (N, 3, h, w) from evenly spread videos and positions, for fitting colours."""
        g = np.random.default_rng(seed)
        frames = []
        for i in range(count):
            v = i % len(self.readers)
            reader = self.readers[v]
            try:
                frame = self._frames(v, np.array([int(g.integers(reader.num_frames))]))[0]
            except VideoDecodeError:
                continue
            frames.append(frame[..., : frame.shape[-2] // 8 * 8, : frame.shape[-1] // 8 * 8])
        if not frames:
            raise ValueError("no frame could be decoded to fit the colour clusters")
        h = min(f.shape[-2] for f in frames)
        w = min(f.shape[-1] for f in frames)
        return torch.stack([f[..., :h, :w] for f in frames])


__all__ = ["ClipConfig", "VideoFolder", "frames_to_tensor", "resized_size"]
