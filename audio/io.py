"""Reading audio files: any rate, any channel count, to mono float32 at the model's rate.

soundfile (libsndfile: WAV, FLAC, OGG/Vorbis, ...) reads first; files it
cannot read go to librosa (audioread / ffmpeg back-ends, e.g. MP3 or M4A).
Channels are averaged; the rate is converted with ``soxr`` (high quality).
"""
from __future__ import annotations

from pathlib import Path
from typing import Tuple, Union

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
    return resample(wave, rate, sample_rate)


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


__all__ = ["AUDIO_EXTENSIONS", "AudioReadError", "read_audio", "resample"]
