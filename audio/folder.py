"""A folder of speech files with speaker labels (and phone labels when present).

Speakers are read from, in this order:

1. ``speaker_pattern``: either a regular expression searched in each file's
   path relative to the root (the speaker is the group named ``speaker``, or
   else group 1), e.g. ``r"^(\\d+)_"``; or a file-name template with
   ``{name}`` fields, e.g. ``"{digit}_{speaker}_{index}.wav"`` (the whole file
   name must match, its literal text case-insensitively; fields cannot contain
   ``/``, and only ``{speaker}`` is used);
2. ``root/metadata.csv`` (or ``metadata.tsv``; comma, tab, ``|`` or ``;``
   separated) with a header naming a file column (``path``, ``file``,
   ``filename``, ...) and a speaker column (``speaker``, ``speaker_id``,
   ``client_id``, ...), as written by :mod:`multissl.audio.synth`; a file is
   looked up by its path relative to the root, else its name, else its stem;
   files the table does not list are left out with one warning;
3. the LibriSpeech layout ``<speaker>/<chapter>/<speaker>-<chapter>-<n>.flac``
   (LibriSpeech is at openslr.org/12; download and unpack it yourself), or
   flat LibriSpeech names ``<speaker>-<chapter>-<n>.flac`` directly under the root;
4. otherwise the name of the folder holding the file (VCTK-style
   ``p225/p225_001.wav``); files directly under the root get speaker ``""``.
   When that folder has the same name for every file although the files lie
   in several folders (``spk1/session1/a.wav``, ``spk2/session1/b.wav``), the
   first folder below their common parent is the speaker instead; a folder
   name that stands for several different folders is warned about.

Hidden files and folders (names starting with ``.``, e.g. ``.DS_Store``,
macOS ``._*`` resource forks, ``.ipynb_checkpoints/``) and ``__MACOSX/`` are
never read.

Phone labels: ``root/phone_labels.txt`` (one line per utterance:
``<utterance id> <int> <int> ...``, one label per 10 ms frame, as in the
CPC_audio LibriSpeech subset and as written by :mod:`multissl.audio.synth`),
with optional names in ``root/phones.txt`` (``<index> <name>`` per line).

Lengths come from the files' headers (``soundfile.info``), measured once and
kept in the core's :class:`~multissl.file_index.FileIndex` (a second read of
the folder reads no file). ``data_mode`` decides whether the waveforms are
decoded into memory up front or read from disk window by window
(:func:`multissl.streamed.choose_data_mode`: "auto" holds them in memory when
their float32 size at ``sample_rate`` is at most :data:`AUTO_MEMORY_LIMIT`, 512 MiB or
about 2.3 hours at 16 kHz, and fits the core's budget).

Bad input policy: a folder without audio files, or a speaker pattern that
matches no file, raises ``ValueError``; files the pattern does not match are
left out with one warning; a file whose header cannot be read and an empty
file (0 samples) are skipped with one warning each, naming the file. Held in
memory, a file that does not decode and a silent one (peak below 1e-4) are
skipped the same way; streamed, a window that cannot be read is replaced by
the next one with a warning naming the file (silence is not checked: that
would decode every file). Short files are kept: training windows pad them
with zeros (see :mod:`multissl.audio.windows`).
"""
from __future__ import annotations

import csv
import io
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from multissl.engine.data import usable_cpus
from multissl.file_index import FileIndex
from multissl.files import is_hidden_name
from multissl import streamed
from multissl.distributed import main_process_first

from .io import AUDIO_EXTENSIONS, DECODED, SOUNDFILE, AudioReadError, audio_info, read_audio, read_span, resampled_length

AUTO_MEMORY_LIMIT = 512 * 2**20  # "auto" decodes up front at most this much audio (about 2.3 h at 16 kHz): more delays step 1
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
        return re.compile("".join(pieces), re.IGNORECASE), True  # x.WAV matches a template ending in .wav
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
    """Audio files under ``root`` (recursive through linked folders too, sorted; hidden ones left out).

    Raises if the folder is missing or has none; links to missing files are
    left out with one warning.
    """
    if not root.exists():
        raise FileNotFoundError(f"audio folder {root} does not exist")
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is not a folder")
    exts = {e.lower() for e in extensions}
    candidates = [p for p in _walk(root) if p.suffix.lower() in exts]
    files = sorted(p for p in candidates if p.is_file())
    broken = [p for p in candidates if not p.exists()]
    if broken:
        warnings.warn(f"{len(broken)} audio file links under {root} point to missing files (e.g. {broken[0]}); "
                      "they are left out", stacklevel=3)
    if not files:
        raise ValueError(f"no audio files ({', '.join(sorted(exts))}) found under {root}")
    return files


def _walk(root: Path) -> List[Path]:
    """Every non-hidden file path under ``root``, following folder links once each (no cycles)."""
    seen, out = set(), []
    for folder, dirs, names in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = [d for d in dirs if not is_hidden_name(d)]
        out += [Path(folder) / n for n in names if not is_hidden_name(n)]
    return out


def speakers_from_layout(rels: Sequence[Path]) -> List[str]:
    """:func:`speaker_from_layout` of every file, with the fix for speakers above a shared sub-folder name.

    When all files get one speaker from their holding folder although they lie
    in several folders, the first folder below the common parent is the speaker.
    """
    speakers = [speaker_from_layout(rel) for rel in rels]
    folders = {rel.parent for rel in rels}
    by_folder = all(len(rel.parts) >= 2 and s == rel.parts[-2] for rel, s in zip(rels, speakers))
    if len(set(speakers)) > 1 or len(folders) < 2 or not by_folder:
        _warn_ambiguous_folders(rels, speakers)
        return speakers
    common = len(Path(os.path.commonpath([f.as_posix() for f in folders])).parts) if all(f.parts for f in folders) else 0
    return [rel.parts[common] if len(rel.parts) > common + 1 else "" for rel in rels]


def _warn_ambiguous_folders(rels: Sequence[Path], speakers: Sequence[str]) -> None:
    """One warning when one holding-folder name labels files of several different folders."""
    places: Dict[str, set] = {}
    for rel, speaker in zip(rels, speakers):
        if len(rel.parts) >= 2 and speaker == rel.parts[-2]:
            places.setdefault(speaker, set()).add(rel.parent.as_posix())
    shared = {name: sorted(dirs) for name, dirs in places.items() if len(dirs) > 1}
    if shared:
        name, dirs = next(iter(sorted(shared.items())))
        warnings.warn(f"{len(shared)} folder names stand for several folders and count as one speaker each (e.g. {name!r}: "
                      f"{', '.join(dirs[:3])}); if the speaker is a folder higher up, pass a speaker pattern", stacklevel=4)


def _pattern_speakers(root: Path, files: List[Path], speaker_pattern: str) -> List[Optional[str]]:
    """The speaker a regex or template finds in each file (None where it does not match)."""
    regex, is_template = compile_speaker_pattern(speaker_pattern)
    out: List[Optional[str]] = []
    for path in files:
        m = regex.fullmatch(path.name) if is_template else regex.search(path.relative_to(root).as_posix())
        out.append(None if m is None else m.group("speaker") if "speaker" in regex.groupindex else m.group(1))
    return out


def label_speakers(root: Path, files: List[Path], speaker_pattern: Optional[str]) -> List[UtteranceInfo]:
    """Pair every file with its speaker (pattern, else metadata table, else layout).

    Files a pattern or the metadata table does not cover are dropped with one
    warning; a pattern that matches no file is a ``ValueError``.
    """
    rels = [path.relative_to(root) for path in files]
    if speaker_pattern:
        speakers, source = _pattern_speakers(root, files, speaker_pattern), f"speaker pattern {speaker_pattern!r}"
        if all(s is None for s in speakers):
            raise ValueError(f"{source} matches none of the {len(files)} audio files under {root} (e.g. {rels[0].as_posix()!r})")
    else:
        table = read_speaker_table(root)
        speakers = table.speakers(rels) if table is not None else None
        source = f"{table.path.name}" if table is not None else ""
        if speakers is None:
            speakers = speakers_from_layout(rels)
    unmatched = [rel.as_posix() for rel, s in zip(rels, speakers) if s is None]
    if unmatched:
        warnings.warn(f"{source} does not match {len(unmatched)} of {len(files)} files "
                      f"under {root} (e.g. {unmatched[0]!r}); they are left out", stacklevel=3)
    return [UtteranceInfo(path, path.stem, s) for path, s in zip(files, speakers) if s is not None]


FILE_COLUMNS = ("path", "file", "filename", "file_name", "filepath", "file_path", "audio", "audio_path", "wav", "utterance")
SPEAKER_COLUMNS = ("speaker", "speaker_id", "speakerid", "spk", "spk_id", "speaker_name", "client_id")
METADATA_FILES = ("metadata.csv", "metadata.tsv")


@dataclass
class SpeakerTable:
    """The speaker of each file listed in a metadata table (keys: relative path, file name and stem)."""

    path: Path
    by_key: Dict[str, str]

    def speakers(self, rels: Sequence[Path]) -> Optional[List[Optional[str]]]:
        """The speaker of each file (None where unlisted), or None with a warning when it lists none of them."""
        found = [self._lookup(rel) for rel in rels]
        if all(s is None for s in found):
            warnings.warn(f"{self.path} lists none of the {len(rels)} audio files (e.g. {rels[0].as_posix()!r}); "
                          "speakers come from the folder layout instead", stacklevel=4)
            return None
        return found

    def _lookup(self, rel: Path) -> Optional[str]:
        for key in (rel.as_posix(), rel.name, rel.with_suffix("").as_posix(), rel.stem):
            if key in self.by_key:
                return self.by_key[key]
        return None


def _column(header: Sequence[str], names: Sequence[str]) -> Optional[int]:
    lowered = [re.sub(r"[\s-]+", "_", h.strip().lower()) for h in header]  # "Speaker ID" -> speaker_id
    return next((lowered.index(n) for n in names if n in lowered), None)


def read_speaker_table(root: Path) -> Optional[SpeakerTable]:
    """``root/metadata.csv`` (or ``.tsv``) as a :class:`SpeakerTable`; None when absent or without
    file and speaker columns (then with a warning, since the folder layout is used instead)."""
    path = next((root / name for name in METADATA_FILES if (root / name).is_file()), None)
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8-sig")
        first = text.partition("\n")[0]
        rows = list(csv.reader(io.StringIO(text), delimiter=max(",\t|;", key=first.count)))
    except (csv.Error, UnicodeDecodeError) as err:
        warnings.warn(f"cannot read {path} as a table ({err}); speakers come from the folder layout", stacklevel=4)
        return None
    header = rows[0] if rows else []
    file_col, speaker_col = _column(header, FILE_COLUMNS), _column(header, SPEAKER_COLUMNS)
    if file_col is None or speaker_col is None:
        warnings.warn(f"{path} has no file column ({', '.join(FILE_COLUMNS)}) and speaker column "
                      f"({', '.join(SPEAKER_COLUMNS)}) in its header; speakers come from the folder layout", stacklevel=4)
        return None
    by_key = {}
    for row in rows[1:]:
        if len(row) > max(file_col, speaker_col) and row[file_col].strip():
            key = row[file_col].strip().replace("\\", "/").removeprefix("./")
            by_key[key] = row[speaker_col].strip()
    return SpeakerTable(path, by_key)


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


def _header_facts(root: Path, files: List[Path], verbose: bool) -> Tuple[List[Dict[str, Any]], Dict[str, int]]:
    """(:func:`~multissl.audio.io.audio_info` of every file, from the file index where unchanged; how many were
    reused and measured). Under torchrun rank 0 reads the headers and hands them to the other ranks."""
    index = FileIndex("audio-info", root, version=1)
    facts = index.facts(files, audio_info, workers=usable_cpus(), desc="reading audio headers", verbose=verbose)
    return facts, {"reused": index.reused, "measured": index.measured}


class AudioFolder(Dataset):
    """Speech files under ``root`` as mono float32 waveforms at ``sample_rate``, held in memory or read from disk.

    Args:
        root: folder searched recursively for wav/flac/ogg/... files.
        sample_rate: every file is resampled to this rate.
        speaker_pattern: regex or ``{field}`` template (see the module docstring).
        extensions: file suffixes to take.
        data_mode: "memory" decodes every file up front and keeps the
            waveforms; "stream" keeps only their lengths and reads what is
            asked for (:meth:`span` by seeking); "auto" (default) is memory
            when the waveforms' float32 size fits
            :func:`multissl.streamed.memory_budget`, else stream.
        verbose: progress bars while indexing and reading.
        preload: older spelling: True is ``data_mode="memory"``, False ``"stream"``.

    ``folder[i]`` is ``(waveform (N,) float32 tensor, speaker index)``.
    Attributes: ``items`` (:class:`UtteranceInfo`), ``infos`` (each file's
    header: frames, samplerate, channels, reader), ``lengths`` ((N,) samples
    at ``sample_rate``), ``speakers`` (sorted names; ``speaker_ids[i]``
    indexes it), ``phone_labels``, ``phone_names``, ``data_mode`` ("memory"
    or "stream") and ``data_mode_reason`` (one line: the choice and why).
    """

    def __init__(
        self,
        root: Union[str, Path],
        sample_rate: int = 16000,
        speaker_pattern: Optional[str] = None,
        extensions: Sequence[str] = AUDIO_EXTENSIONS,
        data_mode: str = "auto",
        verbose: bool = False,
        preload: Optional[bool] = None,
    ):
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be > 0, got {sample_rate}")
        if preload is not None:
            data_mode = "memory" if preload else "stream"
        if data_mode not in streamed.DATA_MODES:
            raise ValueError(f"data_mode must be one of {streamed.DATA_MODES}, got {data_mode!r}")
        self.root = Path(root)
        self.sample_rate = int(sample_rate)
        self.speaker_pattern = speaker_pattern
        items = label_speakers(self.root, find_audio_files(self.root, extensions), speaker_pattern)
        items, infos = self._index(items, verbose)
        lengths = [resampled_length(f["frames"], f["samplerate"], self.sample_rate) for f in infos]
        decoded_bytes = 4 * sum(lengths)
        self.data_mode = streamed.choose_data_mode(data_mode, decoded_bytes, AUTO_MEMORY_LIMIT)
        self.data_mode_reason = self._reason(data_mode, decoded_bytes)
        self._waves: Optional[List[np.ndarray]] = None
        if self.data_mode == "memory":
            items, infos, self._waves = self._read_all(items, infos, verbose)
            lengths = [len(w) for w in self._waves]
        self.items, self.infos = items, infos
        self.lengths = np.array(lengths, dtype=np.int64)
        self.speakers = sorted({it.speaker for it in items})
        index = {s: i for i, s in enumerate(self.speakers)}
        self.speaker_ids = np.array([index[it.speaker] for it in items], dtype=np.int64)
        self.phone_labels = read_phone_labels(self.root)
        self.phone_names = read_phone_names(self.root)

    def _index(self, items: List[UtteranceInfo], verbose: bool) -> Tuple[List[UtteranceInfo], List[Dict[str, Any]]]:
        """The items whose header reads and holds samples, with their headers (from the file index where unchanged)."""
        facts, self.index_counts = main_process_first(_header_facts, self.root, [it.path for it in items], verbose)
        kept, infos = [], []
        for it, info in zip(items, facts):
            if "error" in info:
                warnings.warn(f"skipping unreadable audio file {it.path}: {info['error']}", stacklevel=4)
            elif info["frames"] == 0:
                warnings.warn(f"skipping empty audio file {it.path} (0 samples)", stacklevel=4)
            else:
                kept.append(it)
                infos.append(info)
        if not kept:
            raise ValueError(f"none of the {len(items)} audio files under {self.root} could be used (see the warnings)")
        decoded = [it.path for it, info in zip(kept, infos) if info["reader"] == DECODED]
        if decoded:
            warnings.warn(f"soundfile cannot read {len(decoded)} of the {len(kept)} audio files (e.g. {decoded[0]}): their "
                          "lengths came from decoding them (once; kept in the file index), and read from disk each window "
                          "of them decodes its whole file", stacklevel=4)
        return kept, infos

    def _reason(self, asked: str, decoded_bytes: int) -> str:
        """Why the data is held in memory or streamed, e.g. "37 MiB as float32 at 16000 Hz is within the 512 MiB held in memory by default"."""
        size = f"{decoded_bytes / 2**20:,.0f} MiB as float32 at {self.sample_rate} Hz"
        if asked != "auto":
            return f"data_mode={asked!r}; {size}"
        bound = streamed.auto_memory_bound(AUTO_MEMORY_LIMIT)
        verdict = "is within" if self.data_mode == "memory" else "is above"
        return f"{size} {verdict} the {bound / 2**20:,.0f} MiB held in memory by default, data_mode='auto'"

    def _read_all(self, items: List[UtteranceInfo], infos: List[Dict[str, Any]], verbose: bool):
        kept, kept_infos, waves = [], [], []
        for it, info in tqdm(list(zip(items, infos)), desc="reading audio", unit="file", disable=None if verbose else True):
            wave = self._read_checked(it)
            if wave is not None:
                kept.append(it)
                kept_infos.append(info)
                waves.append(wave)
        if not kept:
            raise ValueError(f"none of the {len(items)} audio files under {self.root} could be used (see the warnings)")
        return kept, kept_infos, waves

    def _read_checked(self, it: UtteranceInfo) -> Optional[np.ndarray]:
        try:
            wave = read_audio(it.path, self.sample_rate)
        except AudioReadError as err:
            warnings.warn(f"skipping unreadable audio file {it.path}: {err}", stacklevel=5)
            return None
        if len(wave) == 0:
            warnings.warn(f"skipping empty audio file {it.path} (0 samples)", stacklevel=5)
            return None
        if not np.all(np.isfinite(wave)) or float(np.abs(wave).max()) < SILENCE_PEAK:
            warnings.warn(f"skipping silent or non-finite audio file {it.path} (peak {float(np.abs(wave).max()):.2g})", stacklevel=5)
            return None
        return wave

    def __len__(self) -> int:
        return len(self.items)

    @property
    def streams(self) -> bool:
        """True when the waveforms are read from disk as they are asked for (``data_mode == "stream"``)."""
        return self._waves is None

    def _check_index(self, i: int) -> int:
        if not -len(self) <= i < len(self):
            raise IndexError(f"item {i} out of range for {len(self)} utterances")
        return i % len(self)

    def wave(self, i: int) -> np.ndarray:
        """Waveform of item ``i``: (N,) float32 at ``sample_rate`` (decoded now when streaming)."""
        i = self._check_index(i)
        if self._waves is not None:
            return self._waves[i]
        return read_audio(self.items[i].path, self.sample_rate)

    def span(self, i: int, start: int, stop: int) -> np.ndarray:
        """Samples [start, stop) of item ``i`` at ``sample_rate``: (stop - start,) float32.

        Streaming, only those samples are read (:func:`~multissl.audio.io.read_span`,
        by seeking; a file soundfile cannot read is decoded whole). Raises
        :class:`~multissl.audio.io.AudioReadError` naming the file when it cannot.
        """
        i = self._check_index(i)
        if not 0 <= start <= stop <= self.lengths[i]:
            raise ValueError(f"samples [{start}, {stop}) are outside {self.items[i].path} ({self.lengths[i]} samples)")
        if self._waves is not None:
            return self._waves[i][start:stop]
        info = self.infos[i]
        if info["reader"] == SOUNDFILE:
            return read_span(self.items[i].path, start, stop, self.sample_rate, info)
        return read_audio(self.items[i].path, self.sample_rate)[start:stop]

    def __getitem__(self, i: int):
        return torch.from_numpy(self.wave(i)), int(self.speaker_ids[i])

    @property
    def utterances(self) -> List[str]:
        return [it.utterance for it in self.items]

    @property
    def num_speakers(self) -> int:
        return len(self.speakers)

    def seconds(self) -> float:
        return float(self.lengths.sum()) / self.sample_rate

    def describe_data(self) -> str:
        """One line: how many files and hours, and whether they are held in memory or streamed, and why."""
        how = "held in memory" if self.data_mode == "memory" else "read from disk window by window"
        return (f"{len(self)} audio files ({self.seconds() / 3600:.2f} h, {self.num_speakers} speakers) under {self.root}: "
                f"{how} ({self.data_mode_reason})")

    def __repr__(self) -> str:
        return (f"AudioFolder({str(self.root)!r}, utterances={len(self)}, speakers={self.num_speakers}, "
                f"sample_rate={self.sample_rate}, data_mode={self.data_mode!r})")


__all__ = ["AudioFolder", "SpeakerTable", "UtteranceInfo", "compile_speaker_pattern", "find_audio_files", "label_speakers",
           "read_phone_labels", "read_phone_names", "read_speaker_table", "speaker_from_layout", "speakers_from_layout"]
