"""Clips of reference + target frames from a folder of videos, decoded when they are drawn.

:class:`VideoFolder` turns video files and frame folders into training clips of
``clip_len`` frames (3 references + 1 target by default) ``stride`` frames apart, or
sampled at ``fps`` frames per second whatever each file's frame rate
(:mod:`multissl.video.clip_sampling`). Frames are resized so their short side is
``short_side`` (a 176x144 and a 1280x720 video both get a 256-pixel short side), then a
random ``crop`` x ``crop`` window is cut (the same for every frame of the clip) and
flipped left-right with probability 1/2.

Before the first step only the file list is read, and each video's frame count, rate,
size and keyframes from its container (:mod:`multissl.video.video_index`, kept in the
core's file index). A clip is decoded when it is drawn, in a DataLoader worker (a
:class:`~multissl.streamed.StreamedDataset`), by a bounded pool of open readers per
process (:mod:`multissl.video.reader_pool`). Its motion is checked on its own frames
(:func:`~multissl.video.clip_sampling.clip_rejection`): a static clip (``min_motion``) or
one across a scene cut (``scene_cut``) is drawn again, up to :data:`CLIP_DRAWS` times;
after that the clip is drawn among the usable positions of a full pass over that video,
and a video with none is skipped with a warning naming it.

``data_mode`` (the core's :func:`~multissl.streamed.choose_data_mode`): ``memory`` holds
every frame at the training size in shared memory (:mod:`multissl.video.frame_store`),
filled in the background while training starts, so that clips come from memory once their
video is in; ``stream`` decodes every clip; ``auto`` holds the frames in memory when they
fit the memory budget. Both give the same clips.

Every random choice of an item (its position, frame gap, crop, zoom, flip and brightness)
comes from its key (``key.rng()``), so batches do not depend on the number of workers and a
run resumed mid-epoch is exact.

Bad input: a video that cannot be opened is skipped with one warning naming it; one that
fails to decode when a clip is drawn is skipped from then on (the next item takes its
place, with a warning naming it). Videos shorter than a clip are skipped with a warning
(``short_clips="skip"``, the default) or padded by repeating their last frame (``"pad"``).
"""
from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F

from multissl.engine.data import SampleKey, usable_cpus
from multissl import streamed
from multissl.presets import tracks_given
from multissl.streamed import DATA_MODES, StreamedDataset, choose_data_mode

from .clip_sampling import clip_offsets, clip_rejection, thumbnails
from .frame_store import SharedFrames, background_fill_possible
from .io import VideoDecodeError, VideoReader, list_videos, spread_evenly
from .reader_pool import DEFAULT_OPEN_READERS, MAX_DECODE_THREADS, DecodeThreads, decode_thread_count, keep_from_parent
from .video_index import VideoFile, index_videos, open_reader

PathLike = Union[str, Path]
CLIP_DRAWS = 5  # draws of a static clip or one across a scene cut before the full pass over its video


@tracks_given
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
    data_mode: str = field(default="auto", metadata={"help": "memory: every frame at the training size held in shared memory "
                                                             "(filled in the background while training starts); stream: clips "
                                                             "decoded when drawn; auto: memory when the frames fit the memory "
                                                             "budget (2 GiB, at most a quarter of RAM)", "choices": list(DATA_MODES)})
    cache: str = field(default="auto", metadata={"help": "deprecated spelling of --data-mode: yes = memory, no = stream",
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
        if self.data_mode not in DATA_MODES:
            raise ValueError(f"data_mode must be one of {DATA_MODES}, got {self.data_mode!r}")
        if self.cache != "auto":
            self._adopt_cache_setting()

    def _adopt_cache_setting(self) -> None:
        """The deprecated ``cache`` (yes / no) becomes ``data_mode`` (memory / stream)."""
        mode = {"yes": "memory", "no": "stream"}[self.cache]
        if self.data_mode not in ("auto", mode):
            raise ValueError(f"cache={self.cache!r} and data_mode={self.data_mode!r} disagree; give data_mode alone")
        warnings.warn(f"ClipConfig.cache is deprecated; use data_mode={mode!r}", FutureWarning, stacklevel=4)
        self.data_mode, self.cache = mode, "auto"

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


class StaticVideoError(ValueError):
    """A video none of whose clips moves or stays within one scene."""


class VideoFolder(StreamedDataset):
    """Clips (T, 3, crop, crop) float RGB in [0, 1] from every video under ``root``, decoded when drawn.

    Args:
        root: a folder (searched recursively for video files and frame
            folders), one video file, or a list of video files / frame folders.
        config: :class:`ClipConfig`.
        backend: ``"auto"`` (PyAV, decord for files PyAV cannot open), ``"pyav"`` or ``"decord"``.
        verbose: a progress bar while measuring many new videos (:meth:`summary` is the line on the data).
        open_readers: readers each process keeps open (:class:`~multissl.video.reader_pool.ReaderPool`).
    ``len(dataset)`` is ``num_videos * clips_per_video``; item i comes from
    video ``i % num_videos``. ``dataset[i]`` or ``dataset[SampleKey(i, epoch, seed)]``.
    """

    decode_errors = (VideoDecodeError, OSError, ValueError)

    def __init__(self, root: Union[PathLike, Sequence[PathLike]], config: Optional[ClipConfig] = None, backend: str = "auto",
                 verbose: bool = False, open_readers: int = DEFAULT_OPEN_READERS):
        self.config = config if config is not None else ClipConfig()
        paths = list_videos(root) if isinstance(root, (str, Path)) else [Path(p) for p in root]
        if not paths:
            raise FileNotFoundError(f"no video files or frame folders under {root}")
        self.videos: List[VideoFile] = [v for v in index_videos(paths, backend, verbose) if self._long_enough(v)]
        if not self.videos:
            raise ValueError(f"none of the {len(paths)} videos under {root} can be used (unreadable or too short)")
        self.data_mode = choose_data_mode(self.config.data_mode, self.decoded_bytes())
        self.open_readers = open_readers
        self._threads: Optional[DecodeThreads] = None
        self._usable: Dict[int, List[Tuple[int, int]]] = {}  # (start, gap) of every usable clip, after a full pass
        self._store: Optional[SharedFrames] = None
        if self.data_mode == "memory":
            self._hold_in_memory()

    # -- construction ----------------------------------------------------------- #
    def _long_enough(self, video: VideoFile) -> bool:
        if video.num_frames >= self.span(video) or self.config.short_clips == "pad":
            return True
        warnings.warn(f"skipping {video.path}: {video.num_frames} frames, a clip needs {self.span(video)}", RuntimeWarning, stacklevel=4)
        return False

    def _hold_in_memory(self) -> None:
        """Frames of every video in shared memory: filled by a background process when workers fork, else now."""
        self._store = SharedFrames([(v.num_frames, 3, *self.frame_size(v)) for v in self.videos])
        if background_fill_possible():
            self._store.fill_in_background(self._decode_video)
        else:
            self._store.fill(self._decode_video)
            self.streams = False  # workers would not share the frames: the training process reads them

    def _decode_video(self, v: int) -> Iterator[torch.Tensor]:
        """Every frame of video ``v`` at the training size, (<= 32, 3, H, W) uint8 at a time, by a reader of its own."""
        reader = _open(self.videos[v])
        try:
            for frames in reader.iter_chunks(range(reader.num_frames), 32):
                yield frames_to_uint8(frames, self.frame_size(self.videos[v]))
        finally:
            reader.close()

    def _open_reader(self, v: int) -> VideoReader:
        return _open(self.videos[v])

    def _decode_threads(self) -> DecodeThreads:
        """This process's decoding threads, each with its own share of the open readers."""
        if self._threads is None or self._threads.pid != os.getpid():
            keep_from_parent(self._threads)  # a forked child never frees the parent's decoders (their threads are not here)
            self._threads = DecodeThreads(self._open_reader, self.open_readers, decode_thread_count())
        return self._threads

    # -- geometry ---------------------------------------------------------------- #
    def offsets(self, video: VideoFile) -> np.ndarray:
        """(clip_len,) frame offsets of a clip of ``video`` from its first frame (stride or fps)."""
        return clip_offsets(self.config.clip_len, self.config.stride, self.config.fps, video.fps)

    def span(self, video: VideoFile) -> int:
        """Decoded frames a clip of ``video`` covers (at gap 1)."""
        return int(self.offsets(video)[-1]) + 1

    def frame_size(self, video: VideoFile) -> tuple:
        return resized_size(video.size, self.config.short_side)

    def decoded_bytes(self) -> int:
        """Bytes of every usable video decoded at the training size (what ``memory`` holds)."""
        return sum(v.num_frames * int(np.prod(self.frame_size(v))) * 3 for v in self.videos)

    @property
    def cache_bytes(self) -> int:
        """Bytes of decoded frames held in memory (0 when streaming)."""
        return self._store.nbytes if self._store is not None else 0

    def data_record(self) -> Dict[str, object]:
        """How the clips are read, for config.json's ``data`` record: mode, why, decoded MB."""
        return {"mode": self.data_mode, "why": self.data_mode_reason(), "decoded_mb": round(self.decoded_bytes() / 2**20, 1)}

    def data_mode_reason(self) -> str:
        size = _megabytes(self.decoded_bytes())
        if self.config.data_mode != "auto":
            return f"data_mode={self.config.data_mode} ({size} of frames at the training size)"
        relation = "fit within" if self.data_mode == "memory" else "exceed"
        return f"auto: {size} of frames at the training size {relation} the {_megabytes(streamed.memory_budget())} memory budget"

    def summary(self) -> str:
        frames = sum(v.num_frames for v in self.videos)
        if self.data_mode == "memory":
            how = ("frames held in memory, filled in the background while training starts (clips of videos not in "
                   "memory yet are decoded when drawn)" if background_fill_possible() else "frames held in memory")
        else:
            how = "clips decoded when drawn, in the DataLoader workers"
        return (f"{len(self.videos)} videos, {frames} frames at short side {self.config.short_side}; data {self.data_mode} "
                f"({self.data_mode_reason()}): {how}")

    # -- items -------------------------------------------------------------------- #
    def __len__(self) -> int:
        return len(self.videos) * self.config.clips_per_video

    def __getitems__(self, keys: List[Any]) -> List[torch.Tensor]:
        """The items of a batch, decoded by a few threads of this process (decoders and torch release the GIL)."""
        return self._decode_threads().map(self.__getitem__, keys)

    def first_step_done(self) -> None:
        """Called by :func:`~multissl.engine.fit` after step 1: the background frame filler may start now."""
        if self._store is not None:
            self._store.training_started()

    def describe(self, index: int) -> str:
        return f"video {self.videos[index % len(self.videos)].path}"

    def source_of(self, index: int) -> int:
        """The video item ``index`` is a clip of: a video that fails to decode is not read again in this process."""
        return index % len(self.videos)

    def load(self, key: SampleKey) -> torch.Tensor:
        """The clip of item ``key.index`` (T, 3, crop, crop) float in [0, 1], every choice drawn from ``key.rng()``."""
        v = key.index % len(self.videos)
        rng = key.rng()
        clip = self._crop(self._draw_clip(v, rng), rng)
        if self.config.flip and rng.random() < 0.5:
            clip = clip.flip(-1)
        return jitter_brightness(clip, self.config.brightness_jitter, rng) if self.config.brightness_jitter else clip

    def _draw_clip(self, v: int, rng: np.random.Generator) -> torch.Tensor:
        """(T, 3, h, w) uint8: a moving clip of video ``v`` free of scene cuts (:data:`CLIP_DRAWS` tries, then one of
        the usable clips of a full pass over the video)."""
        video = self.videos[v]
        offsets = self.offsets(video)
        if video.num_frames < self.span(video):  # a padded short video: its one clip, checked by no one
            return self._frames(v, offsets)
        checked = self.config.min_motion > 0 or self.config.scene_cut > 0
        if checked and self._usable.get(v) == []:  # a full pass found no usable clip: drawing again cannot find one
            raise self._static_error(video)
        for _ in range(CLIP_DRAWS if checked else 1):
            start, gap = self._draw_position(video, rng)
            frames = self._frames(v, start + gap * offsets)
            if not checked or self._rejection(frames) is None:
                return frames
        usable = self._usable_clips(v)
        if not usable:
            raise self._static_error(video)
        start, gap = usable[int(rng.integers(len(usable)))]
        return self._frames(v, start + gap * offsets)

    def _static_error(self, video: VideoFile) -> StaticVideoError:
        return StaticVideoError(f"every clip of {video.path} is static (motion < {self.config.min_motion}) or crosses a "
                                f"scene cut (jump > {self.config.scene_cut})")

    def _draw_position(self, video: VideoFile, rng: np.random.Generator) -> Tuple[int, int]:
        """(first frame, gap): the gap 1..max_gap, the start among those where the clip at that gap still fits."""
        last = int(self.offsets(video)[-1])
        gap = 1 + int(rng.integers(self.config.max_gap))
        if video.num_frames - gap * last < 1:
            gap = 1
        return int(rng.integers(video.num_frames - gap * last)), gap

    def _rejection(self, frames: torch.Tensor) -> Optional[str]:
        return clip_rejection(thumbnails(frames), self.config.min_motion, self.config.scene_cut)

    def _usable_clips(self, v: int) -> List[Tuple[int, int]]:
        """(start, gap) of every clip of video ``v`` that :func:`clip_rejection` accepts (one pass over the video,
        once per process)."""
        if v not in self._usable:
            video, offsets = self.videos[v], self.offsets(self.videos[v])
            in_memory = self._store is not None and self._store.filled(v)
            thumbs = torch.cat([thumbnails(chunk) for chunk in ([self._store.frames(v)] if in_memory else self._decode_video(v))])
            self._usable[v] = [(start, gap) for gap in range(1, self.config.max_gap + 1)
                               for start in range(video.num_frames - gap * int(offsets[-1]))
                               if clip_rejection(thumbs[start + gap * offsets], self.config.min_motion, self.config.scene_cut) is None]
        return self._usable[v]

    def usable_starts(self, v: int) -> np.ndarray:
        """First frames of the clips (at gap 1) of video ``v`` that training would draw (decodes the whole video)."""
        return np.array([start for start, gap in self._usable_clips(v) if gap == 1], dtype=np.int64)

    def _frames(self, v: int, indices: np.ndarray) -> torch.Tensor:
        """(T, 3, h, w) uint8 frames of video ``v`` at the training size (indices clamped): from memory when the
        video is there, else decoded by this process's reader of it."""
        video = self.videos[v]
        indices = np.clip(np.asarray(indices, dtype=np.int64), 0, video.num_frames - 1)
        if self._store is not None and self._store.filled(v):
            return self._store.frames(v)[torch.from_numpy(indices)]
        try:
            return frames_to_uint8(self._decode_threads().pool().get(v).read(indices), self.frame_size(video))
        except VideoDecodeError as err:
            self._decode_threads().pool().discard(v)
            raise VideoDecodeError(f"{video.path} failed to decode: {err}") from err

    def _crop(self, clip: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        """(T, 3, h, w) uint8 -> (T, 3, crop, crop) float in [0, 1] (frames smaller than the crop are enlarged)."""
        h, w = clip.shape[-2:]
        size = self.config.crop
        if size is None:
            return clip[..., : h - h % 8, : w - w % 8].float() / 255.0
        if self.config.scale_jitter:
            return self._zoomed_crop(clip, size, rng)
        if h < size or w < size:
            clip = F.interpolate(clip.float() / 255.0, scale_factor=size / min(h, w), mode="bilinear", align_corners=False).clamp(0, 1)
            h, w = clip.shape[-2:]
        top, left = int(rng.integers(h - size + 1)), int(rng.integers(w - size + 1))
        clip = clip[..., top : top + size, left : left + size]
        return clip.float() / 255.0 if clip.dtype == torch.uint8 else clip

    def _zoomed_crop(self, clip: torch.Tensor, size: int, rng: np.random.Generator) -> torch.Tensor:
        """(T, 3, h, w) uint8 -> (T, 3, size, size) float: a random square of s x size pixels (at most the frame), resized."""
        h, w = clip.shape[-2:]
        log_range = float(np.log1p(self.config.scale_jitter))
        side = max(8, min(h, w, int(round(size * float(np.exp(rng.uniform(-log_range, log_range)))))))
        top, left = int(rng.integers(h - side + 1)), int(rng.integers(w - side + 1))
        region = clip[..., top : top + side, left : left + side].float() / 255.0
        if side == size:
            return region
        return F.interpolate(region, size=(size, size), mode="bilinear", align_corners=False, antialias=side > size).clamp(0, 1)

    # -- colours -------------------------------------------------------------------- #
    def sample_frames(self, count: int, seed: int = 0, window: Optional[int] = None) -> torch.Tensor:
        """About ``count`` frames (N, 3, h, w) float in [0, 1] at the training size, for fitting colours.

        They are cheap to decode: from evenly spread videos, each gives its keyframes (evenly spread) and,
        when it has fewer keyframes than its share, the frames right after them; the videos are decoded in
        parallel threads. ``window``: a random ``window`` x ``window`` square of each frame (positions drawn
        from ``seed``) instead of the whole frame (cropped to the smallest frame's size).
        """
        share = max(1, -(-count // len(self.videos)))
        runs = [(v, colour_frame_runs(self.videos[v], share)) for v in spread_evenly(range(len(self.videos)), count)]
        with ThreadPoolExecutor(max(1, min(MAX_DECODE_THREADS, usable_cpus(), len(runs)))) as pool:
            parts = list(pool.map(lambda video_runs: self._colour_frames(*video_runs, window, seed), runs))
        frames = [f for part in parts for f in part][:count]
        if not frames:
            raise ValueError("no frame could be decoded to fit the colour clusters")
        h, w = min(f.shape[-2] for f in frames), min(f.shape[-1] for f in frames)
        return torch.stack([f[..., :h, :w] for f in frames]).float() / 255.0

    def _colour_frames(self, v: int, runs: List[List[int]], window: Optional[int], seed: int) -> List[torch.Tensor]:
        """(3, h, w) uint8 frames of video ``v``'s frame ``runs``, read by one reader: whole (h, w multiples of 8)
        or a random window of each (positions drawn per run)."""
        reader = _open(self.videos[v])
        try:
            size = self.frame_size(self.videos[v])
            frames = torch.cat([frames_to_uint8(reader.read(run), size) for run in runs])  # a seek per run
        except (VideoDecodeError, OSError, ValueError):
            return []
        finally:
            reader.close()
        h, w = frames.shape[-2:]
        if window is None or window > min(h, w):
            return list(frames[..., : h // 8 * 8, : w // 8 * 8])
        picked, start = [], 0
        for run in runs:
            rng = np.random.default_rng([seed, v, run[0]])
            part = frames[start : start + len(run)]
            start += len(run)
            tops, lefts = rng.integers(h - window + 1, size=len(part)), rng.integers(w - window + 1, size=len(part))
            picked += [f[:, t : t + window, l : l + window] for f, t, l in zip(part, tops, lefts)]
        return picked

    # -- processes ------------------------------------------------------------------ #
    def close(self) -> None:
        """Close this process's readers and decoding threads (they start again when a clip needs them)."""
        if self._threads is not None and self._threads.pid == os.getpid():
            self._threads.close()
        self._threads = None

    def __getstate__(self) -> Dict[str, object]:  # a spawned worker streams: shared memory is shared by fork only
        return {**self.__dict__, "_store": None, "_threads": None}


def _megabytes(count: int) -> str:
    mb = count / 2**20
    return f"{mb:.0f} MB" if mb >= 10 else f"{mb:.2g} MB"


def colour_frame_runs(video: VideoFile, share: int) -> List[List[int]]:
    """Frame runs of ``video`` to read for colours, ``share`` frames in all: its keyframes evenly spread, or,
    with fewer keyframes than ``share``, each keyframe and the frames right after it (each run one seek)."""
    keys = list(video.keyframes) or [0]
    if len(keys) >= share:
        return [[k] for k in spread_evenly(keys, share)]
    per_key = -(-share // len(keys))
    ends = keys[1:] + [video.num_frames]
    return [list(range(k, min(end, k + per_key))) for k, end in zip(keys, ends)]


def _open(video: VideoFile) -> VideoReader:
    return open_reader(video)


def jitter_brightness(clip: torch.Tensor, amount: float, rng: Optional[np.random.Generator] = None) -> torch.Tensor:
    """(T, 3, H, W) float in [0, 1], each frame's contrast scaled by 1 +- ``amount`` about its mean and its
    brightness shifted by +- ``amount`` / 2 (uniform draws from ``rng``, else torch's generator), clamped to [0, 1]."""
    t = clip.shape[0]
    if rng is None:
        contrast = 1 + torch.empty(t, 1, 1, 1).uniform_(-amount, amount)
        shift = torch.empty(t, 1, 1, 1).uniform_(-amount / 2, amount / 2)
    else:
        contrast = 1 + torch.from_numpy(rng.uniform(-amount, amount, (t, 1, 1, 1))).float()
        shift = torch.from_numpy(rng.uniform(-amount / 2, amount / 2, (t, 1, 1, 1))).float()
    mean = clip.mean(dim=(1, 2, 3), keepdim=True)
    return ((clip - mean) * contrast + mean + shift).clamp(0, 1)


__all__ = ["CLIP_DRAWS", "ClipConfig", "StaticVideoError", "VideoFolder", "colour_frame_runs", "jitter_brightness", "decode_video", "frames_to_tensor", "frames_to_uint8", "resized_size"]
