"""Train/test splits by utterance and fixed-length windows for training and probing.

A :class:`Segment` is a stretch of one utterance (by default all of it).
:func:`split_segments` holds out whole utterances per speaker; a speaker with
a single utterance has it split in time instead (head for training, tail for
testing), so every speaker is on both sides and no audio is on both.

:class:`RandomWindows` draws training windows: item i is a window of
``window`` samples at a random offset in segment ``i % len(segments)``
(offsets come from torch's global generator, which :func:`multissl.engine.fit`
seeds and checkpoints, so runs are reproducible and resume exactly). Segments
shorter than the window are zero-padded on the right, with one warning saying
how many. :class:`SpeakerGroupedBatches` makes batches of groups of windows
that share one speaker, for same-speaker negatives.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch.utils.data import Dataset

from .folder import AudioFolder


@dataclass(frozen=True)
class Segment:
    """Samples [start, stop) of utterance ``index`` (stop None = to the end)."""

    index: int
    start: int = 0
    stop: Optional[int] = None

    def cut(self, wave: np.ndarray) -> np.ndarray:
        return wave[self.start:self.stop]


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
    """Hold out ``test_fraction`` of each speaker's utterances (at least one; at least one kept).

    A speaker with one utterance gives its first ``1 - test_fraction`` to
    training and the rest to testing. ``test_fraction = 0`` puts everything
    in training. The choice depends only on (utterance names, seed).
    """
    if not 0 <= test_fraction < 1:
        raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction}")
    if test_fraction == 0:
        return Split([Segment(i) for i in range(len(folder))], [], [], 0.0, seed)
    rng = np.random.default_rng(seed)
    names = folder.utterances
    train, test, timed = [], [], []
    for s, speaker in enumerate(folder.speakers):
        members = sorted(np.flatnonzero(folder.speaker_ids == s).tolist(), key=lambda i: names[i])
        if len(members) == 1:
            i = members[0]
            cut = int(len(folder.wave(i)) * (1 - test_fraction))
            train.append(Segment(i, 0, cut))
            test.append(Segment(i, cut, None))
            timed.append(speaker)
            continue
        n_test = min(len(members) - 1, max(1, int(round(test_fraction * len(members)))))
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


class RandomWindows(Dataset):
    """Random ``window``-sample crops of the given segments of ``folder``.

    ``len`` is ``len(segments) * repeats`` (default: enough repeats to cover
    the audio about once per epoch). Item i: ``{"wave": (window,) float32,
    "speaker": int}`` from segment ``i % len(segments)``.
    """

    def __init__(self, folder: AudioFolder, segments: Sequence[Segment], window: int, repeats: Optional[int] = None):
        if window <= 0:
            raise ValueError(f"window must be > 0, got {window}")
        if not segments:
            raise ValueError("no segments to draw training windows from")
        self.folder, self.segments, self.window = folder, list(segments), int(window)
        self.lengths = np.array([len(s.cut(folder.wave(s.index))) for s in self.segments], dtype=np.int64)
        short = int((self.lengths < window).sum())
        if short:
            warnings.warn(f"{short} of {len(self.segments)} segments are shorter than the {window}-sample window; "
                          "their windows are zero-padded on the right", stacklevel=2)
        self.repeats = int(repeats) if repeats else max(1, int(self.lengths.sum() // (window * len(self.segments))))
        self.speakers = np.array([folder.speaker_ids[s.index] for s in self.segments], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.segments) * self.repeats

    def speaker_of(self, item: int) -> int:
        return int(self.speakers[item % len(self.segments)])

    def __getitem__(self, item: int) -> Dict[str, torch.Tensor]:
        seg = self.segments[item % len(self.segments)]
        wave = seg.cut(self.folder.wave(seg.index))
        if len(wave) >= self.window:
            offset = int(torch.randint(0, len(wave) - self.window + 1, (1,)))
            crop = wave[offset:offset + self.window]
        else:
            crop = np.pad(wave, (0, self.window - len(wave)))
        return {"wave": torch.from_numpy(np.ascontiguousarray(crop, dtype=np.float32)), "speaker": torch.tensor(self.speaker_of(item))}


class SpeakerGroupedBatches:
    """Batches of ``batch_size`` windows in groups of ``group_size`` that share one speaker.

    Each batch takes ``batch_size // group_size`` different speakers (drawn
    without replacement while possible) and ``group_size`` random items of
    each. Iterating yields collated batches ``{"wave": (B, N), "speaker": (B,)}``;
    an epoch has ``len(dataset) // batch_size`` batches, drawn from
    (seed, epoch) so that it is reproducible; :func:`multissl.engine.fit`
    calls ``sampler.set_epoch``.
    """

    def __init__(self, dataset: RandomWindows, batch_size: int, group_size: int = 4, seed: int = 0):
        if group_size < 1 or batch_size % group_size:
            raise ValueError(f"batch_size ({batch_size}) must be a multiple of group_size ({group_size})")
        self.dataset, self.batch_size, self.group_size, self.seed = dataset, int(batch_size), int(group_size), int(seed)
        speakers = np.array([dataset.speaker_of(i) for i in range(len(dataset))])
        self.by_speaker = {int(s): np.flatnonzero(speakers == s) for s in np.unique(speakers)}
        self.epoch = 0
        self.sampler = self

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return max(1, len(self.dataset) // self.batch_size)

    def batch_indices(self) -> Iterator[List[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        speakers = np.array(sorted(self.by_speaker))
        groups = self.batch_size // self.group_size
        for _ in range(len(self)):
            chosen = rng.choice(speakers, groups, replace=groups > len(speakers))
            yield [int(i) for s in chosen for i in rng.choice(self.by_speaker[int(s)], self.group_size)]

    def __iter__(self):
        for indices in self.batch_indices():
            items = [self.dataset[i] for i in indices]
            yield {"wave": torch.stack([it["wave"] for it in items]), "speaker": torch.stack([it["speaker"] for it in items])}


def cut_segments(folder: AudioFolder, segments: Sequence[Segment]) -> List[np.ndarray]:
    return [s.cut(folder.wave(s.index)) for s in segments]


__all__ = ["TAILS", "RandomWindows", "Segment", "SpeakerGroupedBatches", "Split", "cut_segments", "fixed_windows", "split_segments"]

