"""Video readers behind one small interface, and an mp4 writer.

:func:`open_video` returns a :class:`VideoReader` for

- a video file, read with decord (``decord.VideoReader`` on the CPU) by
  default, or with PyAV when decord is absent or fails on that file;
- a folder of frames (``*.jpg`` / ``*.png`` sorted by name with numbers
  compared as numbers, so ``2.jpg`` comes before ``10.jpg``; the DAVIS
  ``JPEGImages/480p/<seq>/`` layout).

Every reader has ``num_frames``, ``fps``, ``size`` ``(H, W)``,
``read(indices) -> (T, H, W, 3) uint8 RGB`` and ``iter_chunks(indices)``
(the same frames a chunk at a time, one decoding pass); indices are clamped
to ``[0, num_frames - 1]``. Grayscale frames are repeated to three channels
and the alpha channel of RGBA frames is dropped.

:func:`list_videos` finds the video files and frame folders under a folder
(a folder of label PNGs, such as DAVIS ``Annotations``, is not a video).

:func:`write_video` writes (T, H, W, 3) uint8 frames as H.264 mp4 with
PyAV (its wheel bundles FFmpeg).
"""
from __future__ import annotations

import bisect
import itertools
import warnings
from pathlib import Path
from typing import Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from multissl.errors import MultisslError
from multissl.files import is_hidden, natural_key

PathLike = Union[str, Path]
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")


class VideoDecodeError(MultisslError, RuntimeError):
    """A video (or a frame of it) could not be decoded."""


def to_rgb(frame: np.ndarray, name: str = "frame") -> np.ndarray:
    """(H, W), (H, W, 1), (H, W, 3) or (H, W, 4) uint8 -> (H, W, 3) uint8 (gray repeated, alpha dropped)."""
    if frame.ndim == 2:
        frame = frame[..., None]
    if frame.ndim != 3 or frame.shape[-1] not in (1, 3, 4):
        raise ValueError(f"{name}: expected an image of shape (H, W), (H, W, 3) or (H, W, 4), got {frame.shape}")
    if frame.shape[-1] == 1:
        frame = np.repeat(frame, 3, axis=-1)
    return np.ascontiguousarray(frame[..., :3])


class VideoReader:
    """Base class: ``num_frames``, ``fps``, ``size`` (H, W), ``read(indices)``."""

    path: Path
    num_frames: int
    fps: float
    size: Tuple[int, int]
    backend: str = ""

    def clamp(self, indices: Sequence[int]) -> np.ndarray:
        """Indices clamped to the real frame range ``[0, num_frames - 1]``."""
        return np.clip(np.asarray(indices, dtype=np.int64), 0, self.num_frames - 1)

    def read(self, indices: Sequence[int]) -> np.ndarray:
        """Frames at ``indices`` (clamped) as (T, H, W, 3) uint8 RGB."""
        raise NotImplementedError

    def read_all(self) -> np.ndarray:
        return self.read(range(self.num_frames))

    def close(self) -> None:
        """Release decoder buffers (decord keeps hundreds of MB per HD video); a later read reopens the file."""

    def iter_chunks(self, indices: Sequence[int], chunk: int = 32) -> Iterator[np.ndarray]:
        """The frames at ``indices`` (clamped) as (<= chunk, H, W, 3) uint8 RGB arrays, in order."""
        idx = self.clamp(indices)
        for i in range(0, len(idx), chunk):
            yield self.read(idx[i : i + chunk])

    def __len__(self) -> int:
        return self.num_frames

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, frames={self.num_frames}, fps={self.fps:.3g}, size={self.size})"


class DecordReader(VideoReader):
    """decord's ``VideoReader`` on the CPU (fast random access)."""

    backend = "decord"

    def __init__(self, path: PathLike):
        self.path = Path(path)
        self._reader = self._open()
        self.num_frames = len(self._reader)
        if self.num_frames == 0:
            raise VideoDecodeError(f"{self.path} has no video frames")
        self.fps = float(self._reader.get_avg_fps() or 0.0)
        h, w = self._reader[0].shape[:2]
        self.size = (int(h), int(w))

    def _open(self):
        import decord

        try:
            return decord.VideoReader(str(self.path), ctx=decord.cpu(0), num_threads=1)
        except Exception as err:  # decord raises DECORDError / RuntimeError for bad files
            raise VideoDecodeError(f"decord cannot open {self.path}: {err}") from err

    def close(self) -> None:
        self._reader = None

    def read(self, indices: Sequence[int]) -> np.ndarray:
        idx = self.clamp(indices)
        if self._reader is None:
            self._reader = self._open()
        try:
            frames = self._reader.get_batch(idx.tolist()).asnumpy()
        except Exception as err:
            raise VideoDecodeError(f"decord cannot decode frames {idx.tolist()} of {self.path}: {err}") from err
        return np.stack([to_rgb(f, f"{self.path} frame {i}") for i, f in zip(idx, frames)])


class FrameTable(NamedTuple):
    """Where the frames of a video file are, from one pass over its packets (no decoding).

    ``pts_start`` / ``pts_step``: frame i is shown at ``pts_start + i * pts_step`` (a constant
    frame rate); ``pts``: the sorted timestamps otherwise; both None when some packet has no
    timestamp (such a file is decoded from its start). ``keyframes``: presentation indices
    of the frames a decoder can start from (at most :data:`MAX_KEYFRAMES`, evenly spread).
    """

    num_frames: int
    keyframes: Tuple[int, ...] = (0,)
    pts_start: Optional[int] = None
    pts_step: Optional[int] = None
    pts: Optional[Tuple[int, ...]] = None

    @property
    def seekable(self) -> bool:
        return self.pts_step is not None or self.pts is not None

    def pts_of(self, index: int) -> int:
        return self.pts_start + index * self.pts_step if self.pts_step is not None else self.pts[index]

    def index_of(self, pts: Optional[int]) -> Optional[int]:
        """The presentation index of a frame shown at ``pts`` (None when no frame is)."""
        if pts is None:
            return None
        if self.pts_step is not None:
            i, rest = divmod(pts - self.pts_start, self.pts_step)
            return i if rest == 0 and 0 <= i < self.num_frames else None
        i = bisect.bisect_left(self.pts, pts)
        return i if i < len(self.pts) and self.pts[i] == pts else None


MAX_KEYFRAMES = 64


def _frame_table(timestamps: List[Optional[int]], key_timestamps: List[int]) -> FrameTable:
    """The :class:`FrameTable` of a video from its packets' timestamps (decode order) and its keyframes'."""
    count = len(timestamps)
    if any(t is None for t in timestamps) or len(set(timestamps)) < count:
        return FrameTable(count)
    ordered = sorted(timestamps)
    keys = sorted({bisect.bisect_left(ordered, t) for t in key_timestamps}) or [0]
    keys = tuple(spread_evenly(keys, MAX_KEYFRAMES))
    steps = np.diff(ordered)
    if count == 1 or (steps[0] > 0 and np.all(steps == steps[0])):
        return FrameTable(count, keys, int(ordered[0]), int(steps[0]) if count > 1 else 1)
    return FrameTable(count, keys, pts=tuple(int(t) for t in ordered))


def spread_evenly(items: Sequence, count: int) -> list:
    """Up to ``count`` of ``items``, evenly spread from the first to the last."""
    if len(items) <= count:
        return list(items)
    return [items[int(round(i * (len(items) - 1) / (count - 1)))] for i in range(count)] if count > 1 else [items[len(items) // 2]]


def scan_video_file(path: PathLike) -> Tuple[FrameTable, float, Tuple[int, int]]:
    """(frame table, frames per second, (H, W)) of a video file, from its packets alone (PyAV, no decoding).

    Raises:
        :class:`VideoDecodeError` when the file cannot be opened or holds no video frames.
    """
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoDecodeError(f"{path} has no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            size = (int(stream.codec_context.height), int(stream.codec_context.width))
            timestamps, keys = [], []
            for packet in container.demux(stream):
                if packet.size <= 0 or getattr(packet, "is_discard", False):
                    continue
                timestamps.append(packet.pts)
                if packet.is_keyframe and packet.pts is not None:
                    keys.append(packet.pts)
    except VideoDecodeError:
        raise
    except Exception as err:  # av.error.* for unreadable containers
        raise VideoDecodeError(f"PyAV cannot open {path}: {err}") from err
    if not timestamps:
        raise VideoDecodeError(f"{path} has no video frames")
    return _frame_table(timestamps, keys), float(rate) if rate else 0.0, size


class PyAVReader(VideoReader):
    """PyAV (FFmpeg) reader: seeks to the keyframe before the first wanted frame and decodes forward from there.

    The frame count is the number of video packets in the container, so a truncated file
    reports the frames it really has. Frames are found by their timestamps
    (:class:`FrameTable`, measured when the reader opens unless given); frames before the
    first wanted one that nothing refers to are not decoded at all. A file whose packets
    have no timestamps is decoded from its start. The container stays open between reads
    (:meth:`close` releases it).
    """

    backend = "pyav"

    def __init__(self, path: PathLike, table: Optional[FrameTable] = None, fps: Optional[float] = None,
                 size: Optional[Tuple[int, int]] = None):
        self.path = Path(path)
        if table is None or fps is None or size is None:
            table, fps, size = scan_video_file(self.path)
        self.table, self.fps, self.size = table, float(fps), (int(size[0]), int(size[1]))
        self.num_frames = table.num_frames
        self._container = None

    def _open(self):
        import av

        if self._container is None:
            try:
                self._container = av.open(str(self.path))
            except Exception as err:
                raise VideoDecodeError(f"PyAV cannot open {self.path}: {err}") from err
        return self._container, self._container.streams.video[0]

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    def read(self, indices: Sequence[int]) -> np.ndarray:
        idx = self.clamp(indices)
        found = dict(self._frames(np.unique(idx).tolist()))
        return np.stack([found[i] for i in idx.tolist()])

    def iter_chunks(self, indices: Sequence[int], chunk: int = 32) -> Iterator[np.ndarray]:
        """One decoding pass for increasing ``indices`` (repeated indices repeat the frame)."""
        idx = self.clamp(indices)
        if len(idx) == 0 or np.any(np.diff(idx) < 0):
            yield from super().iter_chunks(idx, chunk)
            return
        pending, pos, out = idx.tolist(), 0, []
        for i, rgb in self._frames(sorted(set(pending))):
            while pos < len(pending) and pending[pos] == i:
                out.append(rgb)
                pos += 1
            if len(out) >= chunk:
                yield np.stack(out[:chunk])
                out = out[chunk:]
        while out:
            yield np.stack(out[:chunk])
            out = out[chunk:]

    def _frames(self, wanted: List[int]) -> Iterator[Tuple[int, np.ndarray]]:
        """(index, (H, W, 3) uint8) of every index in ``wanted`` (sorted, unique), in order."""
        try:
            frames = self._seek_and_decode(wanted) if self.table.seekable else None
            yield from (frames if frames is not None else self._decode_from_start(wanted))
        except VideoDecodeError:
            raise
        except Exception as err:  # av.error.* on damaged data
            self.close()
            raise VideoDecodeError(f"PyAV cannot decode {self.path}: {err}") from err

    def _seek_and_decode(self, wanted: List[int]) -> Optional[Iterator[Tuple[int, np.ndarray]]]:
        """The wanted frames decoded from the keyframe before the first; None when the seek landed after it."""
        container, stream = self._open()
        target = self.table.pts_of(wanted[0])
        container.seek(target, stream=stream, backward=True, any_frame=False)
        decoded = self._decode_packets(container, stream, target)
        for i, frame in decoded:
            if i is not None and i >= wanted[0]:
                return None if i > wanted[0] else self._collect(wanted, itertools.chain([(i, frame)], decoded))
        return None

    def _decode_from_start(self, wanted: List[int]) -> Iterator[Tuple[int, np.ndarray]]:
        self.close()
        container, stream = self._open()
        counted = ((i, frame) for i, (_, frame) in enumerate(self._decode_packets(container, stream, None)))
        return self._collect(wanted, counted)

    def _decode_packets(self, container, stream, skip_before: Optional[int]):
        """(presentation index or None, av frame) in presentation order; packets shown before ``skip_before``
        that no other frame refers to are not decoded."""
        context = stream.codec_context
        for packet in container.demux(stream):
            early = skip_before is not None and packet.pts is not None and packet.pts < skip_before
            context.skip_frame = "NONREF" if early else "DEFAULT"
            for frame in packet.decode():
                yield self.table.index_of(frame.pts), frame
        context.skip_frame = "DEFAULT"

    def _collect(self, wanted: List[int], decoded) -> Iterator[Tuple[int, np.ndarray]]:
        pos = 0
        for i, frame in decoded:
            if i is None or i < wanted[pos]:
                continue
            if i > wanted[pos]:
                break
            yield i, to_rgb(frame.to_ndarray(format="rgb24"))
            pos += 1
            if pos == len(wanted):
                return
        raise VideoDecodeError(f"{self.path}: frames {wanted[pos:pos + 5]} could not be decoded (the file may be truncated)")


class FrameFolderReader(VideoReader):
    """A folder of frame images sorted by name (DAVIS ``JPEGImages/480p/<seq>``)."""

    backend = "frames"

    def __init__(self, path: PathLike, fps: float = 24.0):
        self.path = Path(path)
        self.files = list_frame_files(self.path)
        if not self.files:
            raise VideoDecodeError(f"{self.path} holds no frame images ({', '.join(IMAGE_EXTENSIONS)})")
        self.num_frames, self.fps = len(self.files), float(fps)
        self.size = read_image(self.files[0]).shape[:2]

    def read(self, indices: Sequence[int]) -> np.ndarray:
        """(T, H, W, 3) uint8, filled in place (no second copy of a long sequence of large frames)."""
        idx = self.clamp(indices).tolist()
        out = np.empty((len(idx), *self.size, 3), dtype=np.uint8)
        for k, i in enumerate(idx):
            frame = read_image(self.files[i])
            if frame.shape[:2] != self.size:
                raise ValueError(f"{self.files[i]} is {frame.shape[1]}x{frame.shape[0]} but {self.files[0]} is {self.size[1]}x{self.size[0]}")
            out[k] = frame
        return out


def list_frame_files(folder: PathLike) -> List[Path]:
    """The frame images of a folder in frame order (names sorted with numbers compared as numbers; hidden files left out)."""
    return sorted((p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file() and not is_hidden(p)),
                  key=natural_key)


def read_image(path: PathLike) -> np.ndarray:
    """An image file as (H, W, 3) uint8 RGB (gray repeated, alpha dropped, palette expanded)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            if img.mode not in ("L", "RGB", "RGBA"):
                img = img.convert("RGBA" if "A" in img.getbands() or img.mode == "P" else "RGB")
            array = np.asarray(img)
    except (UnidentifiedImageError, OSError) as err:
        raise VideoDecodeError(f"cannot read image {path}: {err}") from err
    return to_rgb(array, str(path))


def _decord_available() -> bool:
    try:
        import decord  # noqa: F401
    except Exception:  # ImportError, or a broken native library
        return False
    return True


class _FallbackReader(VideoReader):
    """decord for opening and reading; PyAV when decord fails on a read."""

    def __init__(self, primary: VideoReader):
        self._primary, self._fallback = primary, None
        self.path, self.num_frames, self.fps, self.size = primary.path, primary.num_frames, primary.fps, primary.size
        self.backend = primary.backend

    def read(self, indices: Sequence[int]) -> np.ndarray:
        if self._fallback is None:
            try:
                return self._primary.read(indices)
            except VideoDecodeError:
                self._switch()
        return self._fallback.read(indices)

    def close(self) -> None:
        self._primary.close()

    def _switch(self) -> None:
        self._fallback = PyAVReader(self.path)
        self.num_frames, self.backend = self._fallback.num_frames, "pyav"

    def iter_chunks(self, indices: Sequence[int], chunk: int = 32) -> Iterator[np.ndarray]:
        """decord chunk by chunk; when it fails, the remaining frames in one PyAV pass."""
        idx = self.clamp(indices)
        done = 0
        if self._fallback is None:
            try:
                for i in range(0, len(idx), chunk):
                    frames = self._primary.read(idx[i : i + chunk])
                    done = i + len(frames)
                    yield frames
                return
            except VideoDecodeError:
                self._switch()
        yield from self._fallback.iter_chunks(idx[done:], chunk)


def open_video(path: PathLike, backend: str = "auto") -> VideoReader:
    """Open a video file or a frame folder.

    Args:
        backend: ``"auto"`` (folders: frames; files: decord, PyAV when decord
            is absent or fails), ``"decord"``, ``"pyav"`` or ``"frames"``.
    Raises:
        FileNotFoundError for a missing path; :class:`VideoDecodeError` when
        no backend can read it.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"video {path} does not exist")
    if backend not in ("auto", "decord", "pyav", "frames"):
        raise ValueError(f"backend must be one of auto, decord, pyav, frames; got {backend!r}")
    if path.is_dir() or backend == "frames":
        return FrameFolderReader(path)
    if path.stat().st_size == 0:
        raise VideoDecodeError(f"video {path} is empty (0 bytes)")
    if backend == "decord":
        return DecordReader(path)
    if backend == "pyav":
        return PyAVReader(path)
    if _decord_available():
        try:
            return _FallbackReader(DecordReader(path))
        except VideoDecodeError:
            pass
    return PyAVReader(path)


def is_frame_folder(folder: PathLike) -> bool:
    """A folder holding at least two frame images that are not label maps (palette or one-channel PNGs)."""
    folder = Path(folder)
    if not folder.is_dir():
        return False
    files = list_frame_files(folder)
    if len(files) < 2:
        return False
    if files[0].suffix.lower() == ".png":
        from PIL import Image

        try:
            with Image.open(files[0]) as img:
                return img.mode not in ("P", "L", "1", "I", "I;16")
        except OSError:
            return True  # unreadable: open_video names it
    return True


def list_videos(folder: PathLike, frame_folders: bool = True) -> List[Path]:
    """Video files and frame folders under ``folder`` (recursive, sorted by path); a single file is returned as is.

    Frame folders found in the search are those of :func:`is_frame_folder` outside any folder
    named ``Annotations`` (label maps such as DAVIS masks are not videos; a folder of grayscale
    PNG frames is taken for labels too: pass it itself). ``folder`` itself is read as one frame
    folder when it holds images and no video. ``frame_folders=False``: video files only. Hidden
    files and folders (``multissl.files.is_hidden``: ``._clip.mp4``, ``__MACOSX``) are left out.
    """
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(f"video folder {folder} does not exist")
    if folder.is_file():
        return [folder]
    found = [p for p in folder.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file() and not is_hidden(p, folder)]
    if frame_folders:
        found += [p for p in folder.rglob("*") if p.is_dir() and not is_hidden(p, folder)
                  and "annotations" not in (q.lower() for q in p.relative_to(folder).parts)
                  and is_frame_folder(p)]
        if not found and list_frame_files(folder):
            return [folder]
    return sorted(found)


def open_videos(paths: Sequence[PathLike], backend: str = "auto") -> List[VideoReader]:
    """Open every video; an unreadable one is skipped with one warning naming it."""
    readers = []
    for p in paths:
        try:
            readers.append(open_video(p, backend))
        except VideoDecodeError as err:
            warnings.warn(f"skipping unreadable video {p}: {err}", RuntimeWarning, stacklevel=2)
    return readers


def write_video(path: PathLike, frames: np.ndarray, fps: float = 24.0, crf: int = 18) -> Path:
    """Write (T, H, W, 3) uint8 RGB frames as H.264 mp4 (yuv420p, so H and W must be even)."""
    import av

    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be (T, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
    if frames.shape[1] % 2 or frames.shape[2] % 2:
        raise ValueError(f"H.264 needs even frame sizes, got {frames.shape[2]}x{frames.shape[1]}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=int(round(fps)))
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast"}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


__all__ = [
    "DecordReader",
    "FrameFolderReader",
    "PyAVReader",
    "VideoDecodeError",
    "VideoReader",
    "list_frame_files",
    "list_videos",
    "open_video",
    "open_videos",
    "is_frame_folder",
    "read_image",
    "to_rgb",
    "write_video",
]
