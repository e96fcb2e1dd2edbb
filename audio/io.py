"""Reading audio files: any rate, any channel count, to mono float32 at the model's rate.

soundfile (libsndfile: WAV, FLAC, OGG/Vorbis, ...) reads first; files it
cannot read go to librosa (audioread / ffmpeg back-ends, e.g. MP3 or M4A).
Channels are averaged; the rate is converted with ``soxr`` (high quality).

Without decoding a whole file: :func:`audio_info` reads its header (frames,
sample rate, channels), :func:`resampled_length` gives its length at the
model's rate, and :func:`read_span` reads samples [start, stop) at the model's
rate by seeking (the span of the resampled whole file, to within 1e-6; exactly
that span when the file is at the model's rate).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Dict, Tuple, Union

import numpy as np

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".opus", ".aiff", ".aif")


class AudioReadError(ValueError):
    """A file that exists but is not readable audio."""


def _read_soundfile(path: Path) -> Tuple[np.ndarray, int]:
    import soundfile as sf

    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return data.mean(axis=1), int(rate)


def _read_librosa(path: Path) -> Tuple[np.ndarray, int]:
    import warnings

    import librosa

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # librosa warns when it falls back to audioread
        data, rate = librosa.load(str(path), sr=None, mono=True)
    return data.astype(np.float32), int(rate)


def read_audio(path: Union[str, Path], sample_rate: int = 16000) -> np.ndarray:
    """Read ``path`` as a mono float32 waveform (N,) at ``sample_rate``.

    Raises ``FileNotFoundError`` for a missing file and :class:`AudioReadError`
    (a ``ValueError``) naming the file when neither soundfile nor librosa can
    decode it.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"audio file {path} does not exist")
    if path.stat().st_size == 0:
        raise AudioReadError(f"cannot read audio file {path}: the file is empty (0 bytes)")
    wave, rate = _decode(path)
    return resample(wave, rate, sample_rate)


def _decode(path: Path) -> Tuple[np.ndarray, int]:
    """(mono float32 waveform, its rate): soundfile, else librosa; :class:`AudioReadError` naming the file."""
    errors = []
    for reader in (_read_soundfile, _read_librosa):
        try:
            wave, rate = reader(path)
            break
        except Exception as err:  # each back-end raises its own types for undecodable data
            errors.append(f"{reader.__name__.strip('_')}: {_describe(err)}")
    else:
        raise AudioReadError(f"cannot read audio file {path} ({'; '.join(errors)})")
    if rate <= 0:
        raise AudioReadError(f"audio file {path} reports sample rate {rate}")
    return wave, rate


def _describe(err: Exception) -> str:
    """``Type: message`` of a back-end's exception (librosa's ``NoBackendError`` has no message)."""
    message = str(err).strip()
    if type(err).__name__ == "NoBackendError":
        message = message or "no audioread back-end decodes it (ffmpeg is needed for MP3/M4A/AAC)"
    return f"{type(err).__name__}: {message}" if message else type(err).__name__


def resample(wave: np.ndarray, rate: int, target_rate: int) -> np.ndarray:
    """Resample a mono waveform (N,) from ``rate`` to ``target_rate`` (soxr, high quality)."""
    if rate == target_rate or len(wave) == 0:
        return np.ascontiguousarray(wave, dtype=np.float32)
    import soxr

    return soxr.resample(np.asarray(wave, np.float32), rate, target_rate).astype(np.float32)


SOUNDFILE, DECODED = "soundfile", "decoded"  # how a file's windows are read: by seeking, or from the whole decoded file
RESAMPLE_MARGIN = 512  # samples read beyond a span on each side (at the higher rate), so that the resampler's edges fall outside it


def resampled_length(frames: int, rate: int, target_rate: int) -> int:
    """Samples of a ``frames``-sample waveform at ``rate`` after :func:`resample` to ``target_rate`` (soxr rounds half up)."""
    if rate == target_rate:
        return int(frames)
    return (2 * int(frames) * target_rate + rate) // (2 * rate)


def audio_info(path: Union[str, Path]) -> Dict[str, Any]:
    """``{"frames", "samplerate", "channels", "reader"}`` of an audio file from its header (``reader`` "soundfile").

    A file soundfile cannot open is decoded once to learn its length (``reader``
    "decoded", ``channels`` 1 after averaging). Raises :class:`AudioReadError`
    naming the file when it is empty or undecodable.
    """
    import soundfile as sf

    path = Path(path)
    if path.stat().st_size == 0:
        raise AudioReadError(f"cannot read audio file {path}: the file is empty (0 bytes)")
    try:
        info = sf.info(str(path))
        if info.samplerate <= 0 or info.channels <= 0:
            raise AudioReadError(f"audio file {path} reports sample rate {info.samplerate} and {info.channels} channels")
        return {"frames": int(info.frames), "samplerate": int(info.samplerate), "channels": int(info.channels),
                "reader": SOUNDFILE}
    except AudioReadError:
        raise
    except Exception:  # soundfile cannot open it (e.g. MP3 on older libsndfile): its length comes from decoding it
        wave, rate = _decode(path)
        return {"frames": len(wave), "samplerate": rate, "channels": 1, "reader": DECODED}


def read_span(path: Union[str, Path], start: int, stop: int, sample_rate: int, info: Dict[str, Any]) -> np.ndarray:
    """Samples [start, stop) of ``path`` read as mono float32 at ``sample_rate``, by seeking: (stop - start,).

    ``info`` is the file's :func:`audio_info`. At the file's own rate the span is
    read as it is; at another rate the matching source samples, plus
    :data:`RESAMPLE_MARGIN` on each side and aligned to a whole resampling
    period, are resampled and the span cut out of them. A span past the end,
    or a file that ends before its header says (truncated), raises
    :class:`AudioReadError` naming the file.
    """
    rate, frames = int(info["samplerate"]), int(info["frames"])
    length = resampled_length(frames, rate, sample_rate)
    if not 0 <= start <= stop <= length:
        raise AudioReadError(f"samples [{start}, {stop}) are outside audio file {path} ({length} samples at {sample_rate} Hz)")
    if rate == sample_rate:
        return _read_frames(path, start, stop, frames)
    g = math.gcd(rate, sample_rate)
    period_src, period_dst = rate // g, sample_rate // g  # resampled sample j * period_dst is source sample j * period_src
    margin = RESAMPLE_MARGIN * max(1, math.ceil(sample_rate / rate))
    first = max(0, start - margin) // period_dst
    src_stop = min(frames, -(-(stop + margin) * rate // sample_rate) + 1)
    wave = resample(_read_frames(path, first * period_src, src_stop, frames), rate, sample_rate)
    offset = start - first * period_dst
    span = wave[offset:offset + stop - start]
    if len(span) != stop - start:
        raise AudioReadError(f"audio file {path} gave {len(span)} of the {stop - start} samples asked for at {start}")
    return span


def _read_frames(path: Union[str, Path], start: int, stop: int, frames: int) -> np.ndarray:
    """Source frames [start, stop) of a soundfile-readable file, channels averaged; errors name the file."""
    import soundfile as sf

    try:
        data, _ = sf.read(str(path), start=start, stop=stop, dtype="float32", always_2d=True)
    except Exception as err:  # libsndfile raises RuntimeError subclasses for lost sync, failed seeks ...
        raise AudioReadError(f"cannot read samples {start}-{stop} of audio file {path} (truncated or corrupt? "
                             f"{_describe(err)})") from None
    if len(data) != stop - start:
        raise AudioReadError(f"audio file {path} ends at sample {start + len(data)} although its header says {frames} "
                             "(truncated?)")
    return data.mean(axis=1)


__all__ = ["AUDIO_EXTENSIONS", "AudioReadError", "DECODED", "RESAMPLE_MARGIN", "SOUNDFILE", "audio_info", "read_audio",
           "read_span", "resample", "resampled_length"]
