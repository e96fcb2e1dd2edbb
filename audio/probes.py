"""Speaker and phone probes on frozen features, side by side for several feature extractors.

A *feature extractor* maps a list of mono waveforms to a list of frame
feature matrices (T_i, D), one frame per 10 ms. Three come with the package
(:func:`cpc_extractor` for a trained or random CPC, :func:`mfcc_extractor`).
Utterance and window features are the mean of their frames (the same pooling
for every extractor), and every probe is the core's
:func:`multissl.evaluation.linear_probe`.

- window-level speaker accuracy: non-overlapping ``window``-sample windows
  (default 20480 = 1.28 s) of the training segments train the probe; windows
  of the held-out segments test it (split by utterance, never by window);
- utterance-level speaker accuracy: one pooled vector per segment, same split;
- clustering: k-means (k = number of speakers) NMI / ARI and the silhouette
  of all utterance embeddings (:func:`multissl.evaluation.clustering_scores`);
- frame-level phone accuracy where ``phone_labels.txt`` exists: frames of
  the labelled utterances, computed over the whole utterance, assigned to
  training or test by the segment their centre falls in. Frame and label
  sequences may differ by up to 2 frames at the end (MFCC and CPC windows
  differ); both are cut to the shorter length. A larger difference is an
  error naming the utterance.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from multissl.evaluation import clustering_scores, linear_probe

from .cpc import CPC
from .embed import embed_many
from .folder import AudioFolder
from .framing import frame_centers
from .mfcc import MFCCConfig, mfcc_frames
from .windows import Segment, Split, fixed_windows, split_segments

Extractor = Callable[[List[np.ndarray]], List[torch.Tensor]]
MAX_LABEL_MISMATCH = 2


@dataclass
class ProbeConfig:
    """How the probes split and sample the data."""

    test_fraction: float = field(default=0.25, metadata={"help": "share of each speaker's utterances held out for testing"})
    split_seed: int = field(default=0, metadata={"help": "seed of the utterance split"})
    window: int = field(default=20480, metadata={"help": "window length of the window-level speaker probe (samples)"})
    max_phone_frames: int = field(default=30000, metadata={"help": "at most this many training frames for the phone probe (random subset)"})
    seed: int = field(default=0, metadata={"help": "seed of the probes and k-means"})


def cpc_extractor(model: CPC, feature: str = "context", chunk: Optional[int] = None) -> Extractor:
    """Frames of a CPC model (``chunk=None``: each waveform in one pass)."""
    def extract(waves: List[np.ndarray]) -> List[torch.Tensor]:
        return [e.frames for e in embed_many(model, waves, chunk=chunk, feature=feature)]
    return extract


def mfcc_extractor(config: Optional[MFCCConfig] = None) -> Extractor:
    """13 MFCCs + deltas + delta-deltas per 10 ms frame (``config``: default :class:`MFCCConfig`)."""
    config = config if config is not None else MFCCConfig()

    def extract(waves: List[np.ndarray]) -> List[torch.Tensor]:
        return [mfcc_frames(w, config) for w in waves]
    return extract


def pooled_features(extractor: Extractor, waves: List[np.ndarray], batch: int = 64) -> torch.Tensor:
    """(N, D): the mean frame of each waveform, computed `batch` waveforms at a time."""
    out = []
    for start in range(0, len(waves), batch):
        out += [f.mean(0) for f in extractor(waves[start:start + batch])]
    return torch.stack(out)


@dataclass
class ProbeData:
    """Waveforms and labels of one split, shared by all extractors."""

    folder: AudioFolder
    split: Split
    config: ProbeConfig
    train_windows: List[np.ndarray]
    train_window_speakers: np.ndarray
    test_windows: List[np.ndarray]
    test_window_speakers: np.ndarray

    @classmethod
    def build(cls, folder: AudioFolder, config: Optional[ProbeConfig] = None) -> "ProbeData":
        config = config if config is not None else ProbeConfig()
        if folder.num_speakers < 2:
            raise ValueError(f"the speaker probe needs at least 2 speakers; {folder.root} has {folder.num_speakers} "
                             f"({folder.speakers}); pass a speaker pattern if speakers are in the file names")
        if config.test_fraction <= 0:
            raise ValueError(f"test_fraction must be > 0 for a probe, got {config.test_fraction}")
        split = split_segments(folder, config.test_fraction, config.split_seed)
        trw, trs = _windows(folder, split.train, config.window)
        tew, tes = _windows(folder, split.test, config.window)
        return cls(folder, split, config, trw, trs, tew, tes)

    def segment_waves(self, segments: Sequence[Segment]) -> List[np.ndarray]:
        return [s.cut(self.folder.wave(s.index)) for s in segments]

    def segment_speakers(self, segments: Sequence[Segment]) -> np.ndarray:
        return np.array([self.folder.speaker_ids[s.index] for s in segments], dtype=np.int64)

    def describe(self) -> Dict:
        return {"root": str(self.folder.root), "speakers": self.folder.num_speakers, "utterances": len(self.folder),
                "seconds": round(self.folder.seconds(), 1), "split": self.split.describe(),
                "train_windows": len(self.train_windows), "test_windows": len(self.test_windows), "window": self.config.window}


def _windows(folder: AudioFolder, segments: Sequence[Segment], window: int):
    waves, speakers = [], []
    for s in segments:
        for w in fixed_windows(s.cut(folder.wave(s.index)), window):
            waves.append(w)
            speakers.append(folder.speaker_ids[s.index])
    return waves, np.array(speakers, dtype=np.int64)


def speaker_scores(extractor: Extractor, data: ProbeData) -> Dict[str, float]:
    """Window- and utterance-level speaker probe accuracy and clustering scores of one extractor."""
    seed = data.config.seed
    window = linear_probe(pooled_features(extractor, data.train_windows), data.train_window_speakers,
                          pooled_features(extractor, data.test_windows), data.test_window_speakers, seed=seed)
    utt_train = pooled_features(extractor, data.segment_waves(data.split.train))
    utt_test = pooled_features(extractor, data.segment_waves(data.split.test))
    utterance = linear_probe(utt_train, data.segment_speakers(data.split.train), utt_test, data.segment_speakers(data.split.test), seed=seed)
    whole = pooled_features(extractor, [data.folder.wave(i) for i in range(len(data.folder))])
    clusters = clustering_scores(whole, data.folder.speaker_ids, seed=seed)
    return {"speaker_acc_window": window.accuracy, "speaker_acc_window_train": window.train_accuracy,
            "speaker_acc_utterance": utterance.accuracy, **clusters, "dim": int(whole.shape[1])}


def _aligned(frames: torch.Tensor, labels: np.ndarray, utterance: str):
    diff = abs(len(frames) - len(labels))
    if diff > MAX_LABEL_MISMATCH:
        raise ValueError(f"utterance {utterance}: {len(frames)} feature frames but {len(labels)} phone labels "
                         f"(more than {MAX_LABEL_MISMATCH} apart); are the labels 10 ms frames of this file?")
    n = min(len(frames), len(labels))
    return frames[:n], labels[:n]


def phone_scores(extractor: Extractor, data: ProbeData) -> Optional[Dict[str, float]]:
    """Frame-level phone probe accuracy, or None when fewer than one labelled segment is on each side."""
    folder, labels = data.folder, data.folder.phone_labels
    sides = {"train": [s for s in data.split.train if folder.utterances[s.index] in labels],
             "test": [s for s in data.split.test if folder.utterances[s.index] in labels]}
    if not sides["train"] or not sides["test"]:
        return None
    xs, ys = {}, {}
    for side, segments in sides.items():
        feats, labs = [], []
        for seg in segments:
            utt = folder.utterances[seg.index]
            frames, lab = _aligned(extractor([folder.wave(seg.index)])[0], labels[utt], utt)
            centre = np.asarray(frame_centers(len(frames)))
            inside = (centre >= seg.start) & (centre < (seg.stop if seg.stop is not None else np.inf))
            feats.append(frames[torch.from_numpy(inside)])
            labs.append(lab[inside])
        xs[side], ys[side] = torch.cat(feats), np.concatenate(labs)
    rng = np.random.default_rng(data.config.seed)
    if len(xs["train"]) > data.config.max_phone_frames:
        keep = np.sort(rng.choice(len(xs["train"]), data.config.max_phone_frames, replace=False))
        xs["train"], ys["train"] = xs["train"][torch.from_numpy(keep)], ys["train"][keep]
    result = linear_probe(xs["train"], ys["train"], xs["test"], ys["test"], seed=data.config.seed)
    return {"phone_acc": result.accuracy, "phone_acc_train": result.train_accuracy,
            "phone_frames_train": int(len(ys["train"])), "phone_frames_test": int(len(ys["test"]))}


def compare(extractors: Dict[str, Extractor], data: ProbeData, verbose: bool = False) -> Dict[str, Dict]:
    """Every probe for every extractor: ``{name: {speaker_acc_window, speaker_acc_utterance, nmi, ari, silhouette, phone_acc, ...}}``."""
    results = {}
    for name in tqdm(list(extractors), desc="probing", unit="model", disable=None if verbose else True):
        scores = speaker_scores(extractors[name], data)
        phones = phone_scores(extractors[name], data)
        scores.update(phones if phones else {"phone_acc": None})
        results[name] = scores
    return results


__all__ = ["ProbeConfig", "ProbeData", "compare", "cpc_extractor", "mfcc_extractor", "pooled_features", "phone_scores", "speaker_scores"]
