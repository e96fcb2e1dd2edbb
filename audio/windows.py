"""Train/test splits by utterance and fixed-length windows for training and probing.

A :class:`Segment` is a stretch of one utterance (by default all of it).
:func:`split_segments` holds out whole utterances per speaker; a speaker with
a single utterance has it split in time instead (head for training, tail for
testing), so every speaker is on both sides and no audio is on both. Both
need only the utterances' lengths (the folder's index), never their samples.

:class:`RandomWindows` draws training windows: item i is a window of
``window`` samples at a random offset in segment ``i % len(segments)``. It is
a :class:`multissl.streamed.StreamedDataset`: the offset comes from the
item's key (seed, epoch, index), so a window does not depend on the worker
that reads it and a run resumed mid-epoch sees exactly the windows it would
have; from a streamed folder only the window's samples are read. Segments
shorter than the window are zero-padded on the right, with one warning saying
how many. :class:`~multissl.audio.speaker_batches.SpeakerGroupedBatches`
makes batches of groups of windows that share one speaker, for same-speaker
negatives.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from multissl.holdout import check_holdout, held_out_count, is_share

from multissl.engine.data import SampleKey
from multissl.streamed import StreamedDataset

from .folder import AudioFolder


@dataclass(frozen=True)
class Segment:
    """Samples [start, stop) of utterance ``index`` (stop None = to the end)."""

    index: int
    start: int = 0
    stop: Optional[int] = None

    def cut(self, wave: np.ndarray) -> np.ndarray:
        return wave[self.start:self.stop]

    def bounds(self, length: int) -> Tuple[int, int]:
        """(start, stop) of this segment in an utterance of ``length`` samples (as :meth:`cut` takes them)."""
        start, stop, _ = slice(self.start, self.stop).indices(length)
        return start, max(start, stop)


@dataclass
class Split:
    """Training and test segments, and how they were made."""

    train: List[Segment]
    test: List[Segment]
    time_split_speakers: List[str]
    test_fraction: float
    seed: int

    def describe(self) -> Dict:
        return {"train_segments": len(self.train), "test_segments": len(self.test), "test_fraction": self.test_fraction,
                "seed": self.seed, "speakers_split_in_time": self.time_split_speakers}


def split_segments(folder: AudioFolder, test_fraction: float = 0.2, seed: int = 0) -> Split:
    """Hold out ``test_fraction`` of each speaker's utterances (at least one; at least one kept), or, when it is a
    whole number >= 1, that many of each speaker's utterances (:mod:`multissl.holdout`; at least one kept).

    With a share, a speaker with one utterance gives its first ``1 - test_fraction`` to training and the rest to
    testing; with a count, it trains on all of it. ``test_fraction = 0`` puts everything in training. The choice
    depends only on (utterance names, seed).
    """
    check_holdout(test_fraction, "test_fraction")
    if test_fraction == 0:
        return Split([Segment(i) for i in range(len(folder))], [], [], 0.0, seed)
    rng = np.random.default_rng(seed)
    names = folder.utterances
    train, test, timed = [], [], []
    for s, speaker in enumerate(folder.speakers):
        members = sorted(np.flatnonzero(folder.speaker_ids == s).tolist(), key=lambda i: names[i])
        if len(members) == 1 and is_share(test_fraction):
            i = members[0]
            cut = int(int(folder.lengths[i]) * (1 - test_fraction))
            train.append(Segment(i, 0, cut))
            test.append(Segment(i, cut, None))
            timed.append(speaker)
            continue
        n_test = min(len(members) - 1, held_out_count(test_fraction, len(members)))
        held = set(rng.choice(len(members), n_test, replace=False).tolist())
        for j, i in enumerate(members):
            (test if j in held else train).append(Segment(i))
    return Split(sorted(train, key=_order), sorted(test, key=_order), timed, test_fraction, seed)


def _order(seg: Segment) -> Tuple[int, int]:
    return seg.index, seg.start


TAILS = ("overlap", "pad")


def fixed_windows(wave: np.ndarray, window: int, min_fraction: float = 0.5, tail: str = "pad") -> List[np.ndarray]:
    """Non-overlapping windows of ``window`` samples covering ``wave``.

    A last partial window of at least ``min_fraction`` of a window is kept
    (shorter rests are dropped): ``tail="pad"`` zero-pads it on the right,
    ``tail="overlap"`` takes the last ``window`` samples instead (it overlaps
    the window before it, and holds no silence that the audio lacks). A wave
    shorter than one window gives one zero-padded window either way.
    """
    if tail not in TAILS:
        raise ValueError(f"tail must be one of {TAILS}, got {tail!r}")
    out = [wave[s:s + window] for s in range(0, len(wave) - window + 1, window)]
    rest = len(wave) - len(out) * window
    if rest > 0 and not out:
        out.append(np.pad(wave, (0, window - rest)))
    elif rest >= min_fraction * window:
        out.append(wave[len(wave) - window:] if tail == "overlap" else np.pad(wave[len(out) * window:], (0, window - rest)))
    return out


class RandomWindows(StreamedDataset):
    """Random ``window``-sample crops of the given segments of ``folder``.

    ``len`` is ``len(segments) * repeats`` (default: enough repeats to cover
    the audio about once per epoch; at least ``min_per_speaker`` items of
    every speaker). Item i: ``{"wave": (window,) float32, "speaker": () int64}``
    from segment ``i % len(segments)``, at an offset drawn from the item's
    key (``dataset[i]`` is epoch 0, seed 0). A window that cannot be read
    (a truncated or corrupt file) or holds non-finite samples is replaced by
    the next item with a warning naming the file, and the file's other
    windows are skipped from then on in this process. ``streams`` follows the
    folder: read from disk, the engine gives it worker processes.
    """

    decode_errors = (OSError, ValueError)  # AudioReadError is a ValueError

    def __init__(self, folder: AudioFolder, segments: Sequence[Segment], window: int, repeats: Optional[int] = None,
                 min_per_speaker: int = 1):
        if window <= 0:
            raise ValueError(f"window must be > 0, got {window}")
        if not segments:
            raise ValueError("no segments to draw training windows from")
        self.folder, self.segments, self.window = folder, list(segments), int(window)
        self.bounds = np.array([s.bounds(int(folder.lengths[s.index])) for s in self.segments], dtype=np.int64)
        self.lengths = self.bounds[:, 1] - self.bounds[:, 0]
        short = int((self.lengths < window).sum())
        if short:
            warnings.warn(f"{short} of {len(self.segments)} segments are shorter than the {window}-sample window; "
                          "their windows are zero-padded on the right", stacklevel=2)
        self.speakers = np.array([folder.speaker_ids[s.index] for s in self.segments], dtype=np.int64)
        covering = max(1, int(self.lengths.sum() // (window * len(self.segments))))
        fewest = int(np.bincount(self.speakers)[np.unique(self.speakers)].min())
        self.repeats = int(repeats) if repeats else max(covering, math.ceil(min_per_speaker / fewest))
        self.streams = folder.streams

    def __len__(self) -> int:
        return len(self.segments) * self.repeats

    def speaker_of(self, item: int) -> int:
        return int(self.speakers[item % len(self.segments)])

    def item_speakers(self) -> np.ndarray:
        """(len(self),) the speaker index of every item."""
        return np.tile(self.speakers, self.repeats)

    def source_of(self, index: int) -> int:
        """The utterance (file) item ``index`` is a window of: one bad window condemns its file."""
        return self.segments[index % len(self.segments)].index

    def load(self, key: SampleKey) -> Dict[str, torch.Tensor]:
        wave = self._crop(key.index % len(self.segments), key)
        return {"wave": torch.from_numpy(wave), "speaker": torch.tensor(self.speaker_of(key.index))}

    def _crop(self, which: int, key: SampleKey) -> np.ndarray:
        """(window,) float32 samples of segment ``which`` at the key's offset (zero-padded when it is shorter)."""
        seg, (start, stop) = self.segments[which], self.bounds[which]
        if stop - start >= self.window:
            start += int(key.rng().integers(0, stop - start - self.window + 1))
            crop = self.folder.span(seg.index, start, start + self.window)
        else:
            crop = np.pad(self.folder.span(seg.index, start, stop), (0, self.window - (stop - start)))
        if not np.all(np.isfinite(crop)):
            raise ValueError("non-finite samples")
        return np.array(crop, dtype=np.float32)

    def describe(self, index: int) -> str:
        return f"audio file {self.folder.items[self.segments[index % len(self.segments)].index].path}"


def cut_segments(folder: AudioFolder, segments: Sequence[Segment]) -> List[np.ndarray]:
    return [s.cut(folder.wave(s.index)) for s in segments]


__all__ = ["TAILS", "RandomWindows", "Segment", "Split", "cut_segments", "fixed_windows", "split_segments"]

