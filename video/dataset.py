"""Clips of reference + target frames from a folder of videos.

:class:`VideoFolder` turns video files (decord, PyAV fallback) or frame
folders into training clips of ``clip_len`` frames (3 references + 1 target
by default) ``stride`` frames apart, or sampled at ``fps`` frames per second
whatever each file's frame rate (:mod:`multissl.video.clip_sampling`).
Frames are resized so their short side is ``short_side`` (a 176x144 and a
1280x720 video both get a 256-pixel short side), then a random ``crop`` x
``crop`` window is cut (the same for every frame of the clip) and flipped
left-right with probability 1/2.

Frame cache: every video is decoded once, at construction, at the training
size (uint8), and kept in memory when ``cache`` allows it (``auto``: when all
videos take < 2 GB; :attr:`VideoFolder.cache_bytes` says how much), so
``__getitem__`` only indexes and crops. Without the cache, clips are decoded
when drawn. The same pass measures motion: clips whose frames barely change
(``min_motion``) or that span a scene cut (``scene_cut``) are never drawn.

Random clip positions, crops and flips are drawn from torch's global
generator, which :func:`multissl.engine.fit` seeds (and restores on resume),
so a seeded run is reproducible.

Bad input: a video that cannot be opened, or that fails to decode (a
truncated file), is skipped with one warning naming it. Videos shorter than
a clip are skipped with a warning (``short_clips="skip"``, the default) or
padded by repeating their last frame (``"pad"``); so are videos with no
moving clip free of scene cuts (a warning names them).
"""
from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from .clip_sampling import clip_offsets, thumbnails, valid_starts
from .io import VideoDecodeError, VideoReader, list_videos, open_videos

PathLike = Union[str, Path]
AUTO_CACHE_BYTES = 2 * 2**30


@dataclass
class ClipConfig:
    """How clips are cut from videos."""

    clip_len: int = field(default=4, metadata={"help": "frames per clip: clip_len - 1 references + 1 target"})
    stride: int = field(default=1, metadata={"help": "frames between consecutive clip frames"})
    fps: Optional[float] = field(default=None, metadata={"help": "sample clip frames at this rate (frames per second, "
                                                                 "whatever the file's rate) instead of --stride"})
    short_side: Optional[int] = field(default=256, metadata={"help": "resize frames so the short side has this many pixels"})
    crop: Optional[int] = field(default=256, metadata={"help": "random square crop (pixels, multiple of 8); none: whole frame"})
    flip: bool = field(default=True, metadata={"help": "random left-right flips"})
    clips_per_video: int = field(default=200, metadata={"help": "clips drawn from each video per epoch"})
    short_clips: str = field(default="skip", metadata={"help": "videos shorter than a clip: skip or pad", "choices": ["skip", "pad"]})
    cache: str = field(default="auto", metadata={"help": "keep decoded frames in memory: auto (when < 2 GB), yes, no",
                                                 "choices": ["auto", "yes", "no"]})
    max_gap: int = field(default=1, metadata={"help": "each clip's frames are a random multiple 1..max_gap of the stride (or "
                                                      "fps step) apart: more motion between reference and target"})
    scale_jitter: float = field(default=0.0, metadata={"help": "random zoom: the crop is cut from a square s x crop pixels wide, "
                                                              "s log-uniform in [1/(1+j), 1+j], and resized to crop; 0: off"})
    brightness_jitter: float = field(default=0.0, metadata={"help": "per-frame random contrast (x 1 +- j) and brightness (+- j/2) "
                                                                   "in RGB, so that matching survives lighting changes; 0: off"})
    min_motion: float = field(default=0.5, metadata={"help": "skip static clips: mean absolute difference of consecutive clip "
                                                             "frames below this (gray levels 0-255 on 32-pixel thumbnails); 0: keep them"})
    scene_cut: float = field(default=40.0, metadata={"help": "a difference between consecutive frames above this (same units) and "
                                                             "above 3x the video's median is a scene cut; clips across one are "
                                                             "skipped; 0: no check"})

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
        if self.max_gap < 1 or self.scale_jitter < 0 or not 0 <= self.brightness_jitter < 1:
            raise ValueError(f"need max_gap >= 1, scale_jitter >= 0 and 0 <= brightness_jitter < 1, got {self.max_gap}, "
                             f"{self.scale_jitter}, {self.brightness_jitter}")
        if self.min_motion < 0 or self.scene_cut < 0:
            raise ValueError(f"min_motion and scene_cut must be >= 0, got {self.min_motion}, {self.scene_cut}")

    def as_dict(self) -> Dict[str, object]:
        return asdict(self)


def resized_size(size: Sequence[int], short_side: Optional[int], multiple: int = 8) -> tuple:
    """(H, W) scaled so min(H, W) == short_side, both rounded to a multiple of ``multiple``."""
    h, w = size
    scale = 1.0 if short_side is None else short_side / min(h, w)
    return (max(multiple, int(round(h * scale / multiple)) * multiple), max(multiple, int(round(w * scale / multiple)) * multiple))


def frames_to_tensor(frames: np.ndarray, size: Optional[Sequence[int]] = None, chunk: int = 8) -> torch.Tensor:
    """(T, H, W, 3) uint8 -> (T, 3, h, w) float in [0, 1], resized (antialiased bilinear) to ``size``.

    ``chunk`` frames at a time, so that only that many frames are ever held in float at the input size
    (150 frames of 1080p would take 3.7 GB at once); the result does not depend on ``chunk``.
    """
    if chunk <= 0:
        raise ValueError(f"chunk must be > 0 frames, got {chunk}")
    return torch.cat([_frames_to_float(frames[i:i + chunk], size) for i in range(0, max(len(frames), 1), chunk)])


def _frames_to_float(frames: np.ndarray, size: Optional[Sequence[int]]) -> torch.Tensor:
    """:func:`frames_to_tensor` of a few frames at once."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0
    if size is not None and tuple(x.shape[-2:]) != tuple(size):
        x = F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)
    return x


def frames_to_uint8(frames: np.ndarray, size: Optional[Sequence[int]] = None) -> torch.Tensor:
    """(T, H, W, 3) uint8 -> (T, 3, h, w) uint8 resized to ``size`` (the frame cache's format).

    Antialiased bilinear on uint8 (torch's vectorised path: tens of times faster than in
    float for 720p frames; within one gray level of :func:`frames_to_tensor`).
    """
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)  # a channels-last view
    if size is not None and tuple(x.shape[-2:]) != tuple(size):
        x = F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False, antialias=True)
    return x.contiguous()


def decode_video(reader: VideoReader, size: Sequence[int], keep: bool = True, chunk: int = 32
                 ) -> Tuple[Optional[torch.Tensor], torch.Tensor]:
    """Decode every frame once at ``size`` (H, W).

    Returns:
        (frames (T, 3, H, W) uint8 or None when ``keep`` is False, gray thumbnails (T, h, w) for motion).
        T is the number of frames really decoded (a truncated file read through PyAV has fewer).
    Raises:
        :class:`VideoDecodeError` when the video fails to decode.
    """
    kept = torch.empty(reader.num_frames, 3, *size, dtype=torch.uint8) if keep else None  # filled in place: no copy
    thumbs, done = [], 0
    for frames in reader.iter_chunks(range(reader.num_frames), chunk):
        small = frames_to_uint8(frames, size)
        thumbs.append(thumbnails(small))
        if kept is not None:
            kept[done : done + len(small)] = small
        done += len(small)
    count = reader.num_frames  # the PyAV fallback may have found fewer frames than decord announced
    return (kept[:count].clone() if kept is not None and count < len(kept) else kept), torch.cat(thumbs)[:count]


class VideoFolder(Dataset):
    """Clips (T, 3, crop, crop) float RGB in [0, 1] from every video under ``root``.

    Args:
        root: a folder (searched recursively for video files and frame
            folders), one video file, or a list of video files / frame folders.
        config: :class:`ClipConfig`.
        backend: reader backend for :func:`~multissl.video.io.open_video`.
        verbose: a progress bar while decoding and one line on the cache.
    ``len(dataset)`` is ``num_videos * clips_per_video``; item i comes from
    video ``i % num_videos``.
    """

    def __init__(self, root: Union[PathLike, Sequence[PathLike]], config: Optional[ClipConfig] = None, backend: str = "auto",
                 verbose: bool = False):
        config = config if config is not None else ClipConfig()
        self.config = config
        paths = list_videos(root) if isinstance(root, (str, Path)) else [Path(p) for p in root]
        if not paths:
            raise FileNotFoundError(f"no video files or frame folders under {root}")
        readers = [r for r in open_videos(paths, backend) if self._long_enough(r)]
        for reader in readers:  # reopened one at a time: decord readers left open hold hundreds of MB each while another decodes
            reader.close()
        self.use_cache = config.cache == "yes" or (config.cache == "auto" and self._estimated_bytes(readers) < AUTO_CACHE_BYTES)
        analyse = self.use_cache or config.min_motion > 0 or config.scene_cut > 0
        self.readers: List[VideoReader] = []
        self.starts: List[np.ndarray] = []
        self._cache: List[torch.Tensor] = []
        self.positions = (0, 0)  # (clip starts kept, clip starts in all videos)
        for reader in tqdm(readers, desc="decoding videos", unit="video", disable=None if verbose else True):
            self._add(reader, analyse)
        if not self.readers:
            raise ValueError(f"none of the {len(paths)} videos under {root} can be used (unreadable, too short or static)")
        self._bad: set = set()
        if verbose:
            tqdm.write(f"[multissl] {self.summary()}")

    # -- construction ----------------------------------------------------------- #
    def _long_enough(self, reader: VideoReader) -> bool:
        if reader.num_frames >= self.span(reader) or self.config.short_clips == "pad":
            return True
        warnings.warn(f"skipping {reader.path}: {reader.num_frames} frames, a clip needs {self.span(reader)}", RuntimeWarning, stacklevel=3)
        return False

    def _estimated_bytes(self, readers: Sequence[VideoReader]) -> int:
        return sum(r.num_frames * int(np.prod(self.frame_size(r))) * 3 for r in readers)

    def _add(self, reader: VideoReader, analyse: bool) -> None:
        """Decode ``reader`` (when caching or measuring motion), find its clip starts, keep it if it has any."""
        frames, starts = None, self._all_starts(reader.num_frames, reader)
        if analyse:
            try:
                frames, thumbs = decode_video(reader, self.frame_size(reader), keep=self.use_cache)
            except VideoDecodeError as err:
                warnings.warn(f"skipping video {reader.path} that failed to decode: {err}", RuntimeWarning, stacklevel=4)
                return
            reader.close()  # with the cache, frames come from memory from now on: release the decoder's buffers
            if not self._long_enough(reader):
                return
            starts = self._moving_starts(reader, thumbs)
        self.positions = (self.positions[0] + len(starts), self.positions[1] + len(self._all_starts(reader.num_frames, reader)))
        if len(starts) == 0:
            warnings.warn(f"skipping {reader.path}: every clip is static (motion < {self.config.min_motion}) or crosses a "
                          f"scene cut (jump > {self.config.scene_cut})", RuntimeWarning, stacklevel=4)
            return
        self.readers.append(reader)
        self.starts.append(starts)
        if frames is not None:
            self._cache.append(frames)

    def _all_starts(self, num_frames: int, reader: VideoReader) -> np.ndarray:
        return np.arange(max(1, num_frames - self.span(reader) + 1), dtype=np.int64)

    def _moving_starts(self, reader: VideoReader, thumbs: torch.Tensor) -> np.ndarray:
        if reader.num_frames < self.span(reader):  # padded short video: its one clip
            return np.zeros(1, dtype=np.int64)
        return valid_starts(thumbs, self.offsets(reader), self.config.min_motion, self.config.scene_cut)

    # -- geometry ---------------------------------------------------------------- #
    def offsets(self, reader: VideoReader) -> np.ndarray:
        """(clip_len,) frame offsets of a clip of ``reader`` from its first frame (stride or fps)."""
        return clip_offsets(self.config.clip_len, self.config.stride, self.config.fps, reader.fps)

    def span(self, reader: VideoReader) -> int:
        """Decoded frames a clip of ``reader`` covers."""
        return int(self.offsets(reader)[-1]) + 1

    def frame_size(self, reader: VideoReader) -> tuple:
        return resized_size(reader.size, self.config.short_side)

    def decoded_bytes(self) -> int:
        """Bytes of every usable video decoded at the training size (what the cache holds or would hold)."""
        return self._estimated_bytes(self.readers)

    @property
    def cache_bytes(self) -> int:
        """Bytes of decoded frames held in memory (0 without the cache)."""
        return sum(f.numel() for f in self._cache)

    def summary(self) -> str:
        kept, total = self.positions
        frames = sum(r.num_frames for r in self.readers)
        cache = (f"{self.cache_bytes / 2**20:.1f} MB of frames in memory" if self.use_cache
                 else f"frames decoded per clip (cache off; {self.decoded_bytes() / 2**20:.0f} MB decoded)")
        skipped = f"; {total - kept} of {total} clip positions skipped (static or across a scene cut)" if total else ""
        return f"{len(self.readers)} videos, {frames} frames at short side {self.config.short_side}: {cache}{skipped}"

    # -- items -------------------------------------------------------------------- #
    def __len__(self) -> int:
        return len(self.readers) * self.config.clips_per_video

    def _frames(self, v: int, indices: np.ndarray) -> torch.Tensor:
        """(T, 3, h, w) uint8 frames of video ``v`` at the training size (indices clamped)."""
        reader = self.readers[v]
        if self.use_cache:
            return self._cache[v][torch.from_numpy(reader.clamp(indices))]
        return frames_to_uint8(reader.read(indices), self.frame_size(reader))

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
        reader, starts = self.readers[v], self.starts[v]
        gap = 1 + int(torch.randint(self.config.max_gap, (1,)))
        if gap > 1:  # only starts whose wider clip still ends inside the video; none: the plain gap
            wide = starts[starts + gap * int(self.offsets(reader)[-1]) < reader.num_frames]
            starts, gap = (wide, gap) if len(wide) else (starts, 1)
        start = int(starts[int(torch.randint(len(starts), (1,)))])
        indices = start + gap * self.offsets(reader)  # clamped: a padded short video repeats its last frame
        clip = self._crop(self._frames(v, indices))
        if self.config.flip and bool(torch.rand(()) < 0.5):
            clip = clip.flip(-1)
        return jitter_brightness(clip, self.config.brightness_jitter) if self.config.brightness_jitter else clip

    def _crop(self, clip: torch.Tensor) -> torch.Tensor:
        """(T, 3, h, w) uint8 -> (T, 3, crop, crop) float in [0, 1] (frames smaller than the crop are enlarged)."""
        h, w = clip.shape[-2:]
        size = self.config.crop
        if size is None:
            return clip[..., : h - h % 8, : w - w % 8].float() / 255.0
        if self.config.scale_jitter:
            return self._zoomed_crop(clip, size)
        if h < size or w < size:
            clip = F.interpolate(clip.float() / 255.0, scale_factor=size / min(h, w), mode="bilinear", align_corners=False).clamp(0, 1)
            h, w = clip.shape[-2:]
        top = int(torch.randint(h - size + 1, (1,)))
        left = int(torch.randint(w - size + 1, (1,)))
        clip = clip[..., top : top + size, left : left + size]
        return clip.float() / 255.0 if clip.dtype == torch.uint8 else clip

    def _zoomed_crop(self, clip: torch.Tensor, size: int) -> torch.Tensor:
        """(T, 3, h, w) uint8 -> (T, 3, size, size) float: a random square of s x size pixels (at most the frame), resized."""
        h, w = clip.shape[-2:]
        log_range = float(np.log1p(self.config.scale_jitter))
        scale = float(torch.empty(()).uniform_(-log_range, log_range).exp())
        side = max(8, min(h, w, int(round(size * scale))))
        top = int(torch.randint(h - side + 1, (1,)))
        left = int(torch.randint(w - side + 1, (1,)))
        region = clip[..., top : top + side, left : left + side].float() / 255.0
        if side == size:
            return region
        return F.interpolate(region, size=(size, size), mode="bilinear", align_corners=False, antialias=side > size).clamp(0, 1)

    def sample_frames(self, count: int, seed: int = 0) -> torch.Tensor:
        """``count`` whole frames (N, 3, h, w) from evenly spread videos and positions, for fitting colours."""
        g = np.random.default_rng(seed)
        frames = []
        for i in range(count):
            v = i % len(self.readers)
            reader = self.readers[v]
            try:
                frame = self._frames(v, np.array([int(g.integers(reader.num_frames))]))[0].float() / 255.0
            except VideoDecodeError:
                continue
            frames.append(frame[..., : frame.shape[-2] // 8 * 8, : frame.shape[-1] // 8 * 8])
        if not frames:
            raise ValueError("no frame could be decoded to fit the colour clusters")
        h = min(f.shape[-2] for f in frames)
        w = min(f.shape[-1] for f in frames)
        return torch.stack([f[..., :h, :w] for f in frames])


def jitter_brightness(clip: torch.Tensor, amount: float) -> torch.Tensor:
    """(T, 3, H, W) float in [0, 1], each frame's contrast scaled by 1 +- ``amount`` about its mean and its
    brightness shifted by +- ``amount`` / 2 (uniform draws), clamped to [0, 1]."""
    t = clip.shape[0]
    contrast = 1 + torch.empty(t, 1, 1, 1).uniform_(-amount, amount)
    shift = torch.empty(t, 1, 1, 1).uniform_(-amount / 2, amount / 2)
    mean = clip.mean(dim=(1, 2, 3), keepdim=True)
    return ((clip - mean) * contrast + mean + shift).clamp(0, 1)


__all__ = ["ClipConfig", "VideoFolder", "jitter_brightness", "decode_video", "frames_to_tensor", "frames_to_uint8", "resized_size"]
