"""A folder of speech files with speaker labels (and phone labels when present).

Speakers are read from, in this order:

1. ``speaker_pattern``: either a regular expression searched in each file's
   path relative to the root (the speaker is the group named ``speaker``, or
   else group 1), e.g. ``r"^(\\d+)_"``; or a file-name template with
   ``{name}`` fields, e.g. ``"{digit}_{speaker}_{index}.wav"`` (the whole file
   name must match; fields cannot contain ``/``, and only ``{speaker}`` is used);
2. the LibriSpeech layout ``<speaker>/<chapter>/<speaker>-<chapter>-<n>.flac``
   (LibriSpeech is at openslr.org/12; download and unpack it yourself), or
   flat LibriSpeech names ``<speaker>-<chapter>-<n>.flac`` directly under the root;
3. otherwise the name of the folder holding the file (VCTK-style
   ``p225/p225_001.wav``); files directly under the root get speaker ``""``.

Phone labels: ``root/phone_labels.txt`` (one line per utterance:
``<utterance id> <int> <int> ...``, one label per 10 ms frame, as in the
CPC_audio LibriSpeech subset and as written by :mod:`multissl.audio.synth`),
with optional names in ``root/phones.txt`` (``<index> <name>`` per line).

Bad input policy: a folder without audio files, or a speaker pattern that
matches no file, raises ``ValueError``; files the pattern does not match are
left out with one warning; a corrupt or unreadable file, an empty file
(0 samples) and a silent one (peak below 1e-4) are skipped with one warning
each, naming the file. Short files are kept: training windows pad them with
zeros (see :mod:`multissl.audio.windows`).
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from .io import AUDIO_EXTENSIONS, AudioReadError, read_audio

SILENCE_PEAK = 1e-4
_TEMPLATE_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass
class UtteranceInfo:
    """One file of the folder."""

    path: Path
    utterance: str
    speaker: str


def compile_speaker_pattern(pattern: str):
    """(compiled regex, is_template) for a regex or a ``{field}`` file-name template."""
    if _TEMPLATE_FIELD.search(pattern) and "(?P<" not in pattern:
        if "{speaker}" not in pattern:
            raise ValueError(f"speaker pattern template {pattern!r} has no {{speaker}} field")
        pieces, last, seen = [], 0, set()
        for m in _TEMPLATE_FIELD.finditer(pattern):
            pieces.append(re.escape(pattern[last:m.start()]))
            name = m.group(1)
            pieces.append("[^/]+?" if name in seen else f"(?P<{name}>[^/]+?)")
            seen.add(name)
            last = m.end()
        pieces.append(re.escape(pattern[last:]))
        return re.compile("".join(pieces)), True
    try:
        regex = re.compile(pattern)
    except re.error as err:
        raise ValueError(f"speaker pattern {pattern!r} is not a valid regular expression: {err}") from err
    if regex.groups == 0:
        raise ValueError(f"speaker pattern {pattern!r} has no group: use (?P<speaker>...) or (...) around the speaker")
    return regex, False


_LIBRISPEECH_NAME = re.compile(r"^(\d+)-\d+-\d+$")


def speaker_from_layout(rel: Path) -> str:
    """The speaker of a file from its path relative to the root.

    LibriSpeech layout (``speaker/chapter/speaker-chapter-n``), else a flat
    LibriSpeech name directly under the root (``speaker-chapter-n.flac``),
    else the folder holding the file.
    """
    parts = rel.parts
    if len(parts) >= 3 and rel.stem.startswith(f"{parts[-3]}-{parts[-2]}-"):
        return parts[-3]
    if len(parts) == 1 and _LIBRISPEECH_NAME.match(rel.stem):
        return _LIBRISPEECH_NAME.match(rel.stem).group(1)
    return parts[-2] if len(parts) >= 2 else ""


def find_audio_files(root: Path, extensions: Sequence[str] = AUDIO_EXTENSIONS) -> List[Path]:
    """Audio files under ``root`` (recursive, sorted); raises if the folder is missing or has none."""
    if not root.exists():
        raise FileNotFoundError(f"audio folder {root} does not exist")
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is not a folder")
    exts = {e.lower() for e in extensions}
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in exts)
    if not files:
        raise ValueError(f"no audio files ({', '.join(sorted(exts))}) found under {root}")
    return files


def label_speakers(root: Path, files: List[Path], speaker_pattern: Optional[str]) -> List[UtteranceInfo]:
    """Pair every file with its speaker; files a pattern does not match are dropped with one warning."""
    items, unmatched = [], []
    regex, is_template = compile_speaker_pattern(speaker_pattern) if speaker_pattern else (None, False)
    for path in files:
        rel = path.relative_to(root)
        if regex is None:
            speaker = speaker_from_layout(rel)
        else:
            m = regex.fullmatch(path.name) if is_template else regex.search(rel.as_posix())
            if m is None:
                unmatched.append(rel.as_posix())
                continue
            speaker = m.group("speaker") if "speaker" in regex.groupindex else m.group(1)
        items.append(UtteranceInfo(path, path.stem, speaker))
    if regex is not None and not items:
        raise ValueError(
            f"speaker pattern {speaker_pattern!r} matches none of the {len(files)} audio files under {root} "
            f"(e.g. {unmatched[0]!r})"
        )
    if unmatched:
        warnings.warn(f"speaker pattern {speaker_pattern!r} does not match {len(unmatched)} of {len(files)} files "
                      f"under {root} (e.g. {unmatched[0]!r}); they are left out", stacklevel=3)
    return items


def read_phone_labels(root: Path) -> Dict[str, np.ndarray]:
    """``root/phone_labels.txt`` as {utterance id: (T,) int64 labels}; {} when absent."""
    path = root / "phone_labels.txt"
    if not path.is_file():
        return {}
    labels = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            try:
                labels[fields[0]] = np.array([int(v) for v in fields[1:]], dtype=np.int64)
            except ValueError as err:
                raise ValueError(f"{path}, line {lineno}: phone labels must be integers ({err})") from err
            if len(labels[fields[0]]) == 0:
                raise ValueError(f"{path}, line {lineno}: utterance {fields[0]} has no labels")
    return labels


def read_phone_names(root: Path) -> Optional[List[str]]:
    """``root/phones.txt`` (``<index> <name>`` lines) as a list of names, or None."""
    path = root / "phones.txt"
    if not path.is_file():
        return None
    names: Dict[int, str] = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            idx, _, name = line.strip().partition(" ")
            if not idx.isdigit():
                raise ValueError(f"{path}, line {lineno}: expected '<index> <name>', got {line!r}")
            names[int(idx)] = name
    return [names.get(i, str(i)) for i in range(max(names) + 1)] if names else None


class AudioFolder(Dataset):
    """Speech files under ``root`` as mono float32 waveforms at ``sample_rate``.

    Args:
        root: folder searched recursively for wav/flac/ogg/... files.
        sample_rate: every file is resampled to this rate.
        speaker_pattern: regex or ``{field}`` template (see the module docstring).
        extensions: file suffixes to take.
        preload: read and keep every waveform in memory (needed to skip
            corrupt files up front; a small corpus takes a few hundred MB).
        verbose: progress bar while reading.

    ``folder[i]`` is ``(waveform (N,) float32 tensor, speaker index)``.
    Attributes: ``items`` (:class:`UtteranceInfo`), ``speakers`` (sorted
    names; ``speaker_ids[i]`` indexes it), ``phone_labels`` and ``phone_names``.
    """

    def __init__(
        self,
        root: Union[str, Path],
        sample_rate: int = 16000,
        speaker_pattern: Optional[str] = None,
        extensions: Sequence[str] = AUDIO_EXTENSIONS,
        preload: bool = True,
        verbose: bool = False,
    ):
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be > 0, got {sample_rate}")
        self.root = Path(root)
        self.sample_rate = int(sample_rate)
        self.speaker_pattern = speaker_pattern
        items = label_speakers(self.root, find_audio_files(self.root, extensions), speaker_pattern)
        self._waves: Optional[List[np.ndarray]] = None
        if preload:
            items, self._waves = self._read_all(items, verbose)
        self.items = items
        self.speakers = sorted({it.speaker for it in items})
        index = {s: i for i, s in enumerate(self.speakers)}
        self.speaker_ids = np.array([index[it.speaker] for it in items], dtype=np.int64)
        self.phone_labels = read_phone_labels(self.root)
        self.phone_names = read_phone_names(self.root)

    def _read_all(self, items: List[UtteranceInfo], verbose: bool):
        kept, waves = [], []
        for it in tqdm(items, desc="reading audio", unit="file", disable=None if verbose else True):
            wave = self._read_checked(it)
            if wave is not None:
                kept.append(it)
                waves.append(wave)
        if not kept:
            raise ValueError(f"none of the {len(items)} audio files under {self.root} could be used (see the warnings)")
        return kept, waves

    def _read_checked(self, it: UtteranceInfo) -> Optional[np.ndarray]:
        try:
            wave = read_audio(it.path, self.sample_rate)
        except AudioReadError as err:
            warnings.warn(f"skipping unreadable audio file {it.path}: {err}", stacklevel=4)
            return None
        if len(wave) == 0:
            warnings.warn(f"skipping empty audio file {it.path} (0 samples)", stacklevel=4)
            return None
        if not np.all(np.isfinite(wave)) or float(np.abs(wave).max()) < SILENCE_PEAK:
            warnings.warn(f"skipping silent or non-finite audio file {it.path} (peak {float(np.abs(wave).max()):.2g})", stacklevel=4)
            return None
        return wave

    def __len__(self) -> int:
        return len(self.items)

    def wave(self, i: int) -> np.ndarray:
        """Waveform of item ``i``: (N,) float32 at ``sample_rate``."""
        if not -len(self) <= i < len(self):
            raise IndexError(f"item {i} out of range for {len(self)} utterances")
        if self._waves is not None:
            return self._waves[i]
        return read_audio(self.items[i].path, self.sample_rate)

    def __getitem__(self, i: int):
        return torch.from_numpy(self.wave(i)), int(self.speaker_ids[i])

    @property
    def utterances(self) -> List[str]:
        return [it.utterance for it in self.items]

    @property
    def lengths(self) -> np.ndarray:
        """(N,) number of samples of every utterance (reads the files if not preloaded)."""
        return np.array([len(self.wave(i)) for i in range(len(self))], dtype=np.int64)

    @property
    def num_speakers(self) -> int:
        return len(self.speakers)

    def seconds(self) -> float:
        return float(self.lengths.sum()) / self.sample_rate

    def __repr__(self) -> str:
        return f"AudioFolder({str(self.root)!r}, utterances={len(self)}, speakers={self.num_speakers}, sample_rate={self.sample_rate})"


__all__ = ["AudioFolder", "UtteranceInfo", "compile_speaker_pattern", "find_audio_files", "label_speakers",
           "read_phone_labels", "read_phone_names", "speaker_from_layout"]
