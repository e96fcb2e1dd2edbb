"""Speaker and phone probes on frozen features, side by side for several feature extractors.

A *feature extractor* maps a list of mono waveforms to a list of frame
feature matrices (T_i, D), one frame per 10 ms. Two come with the package:
:func:`cpc_extractor` (a trained or random CPC) and :func:`mfcc_extractor`
(the strong standard baseline: 40 MFCCs of 40 mel bands per frame). Window
and utterance features pool their frames as [mean, standard deviation]
(the same pooling for every extractor; the probe standardises them), and
every probe is the core's :func:`multissl.evaluation.linear_probe`.

- window-level speaker accuracy: non-overlapping ``window``-sample windows
  (default 20480 = 1.28 s) of the training segments train the probe; windows
  of the held-out segments test it (split by utterance, or in time for a
  speaker with one utterance; never by window);
- frame-level speaker accuracy (``frames=True``, the CPC paper's protocol):
  the features of every 10 ms frame, computed over consecutive
  ``frame_chunk``-sample pieces (the paper's 1.28 s), each frame labelled
  with its segment's speaker; at most ``max_speaker_frames`` random
  training frames train the probe, every test frame tests it; the same
  probe also decides each 1.28 s test piece as a whole (the mean of its
  frames' log-probabilities, ``speaker_acc_piece_vote``);
- utterance-level speaker accuracy: one pooled vector per segment, same split;
- clustering: k-means (k = number of speakers) NMI / ARI and the silhouette
  of all utterance embeddings, standardised per dimension
  (:func:`multissl.evaluation.clustering_scores`), when there are at least 2
  utterances per speaker on average; else of ``window``-sample pieces of the
  held-out segments (with one utterance per speaker, k-means on utterances is
  perfect whatever the features). ``clustered`` says which; too few pieces
  too: the scores are None and ``not_scored`` says why;
- frame-level phone accuracy where ``phone_labels.txt`` exists: frames of
  the labelled utterances, computed over the whole utterance, assigned to
  training or test by the segment their centre falls in. Frame and label
  sequences may differ by up to 2 frames at the end (MFCC and CPC windows
  differ); both are cut to the shorter length. A larger difference is an
  error naming the utterance.
"""
from __future__ import annotations

import warnings
from dataclasses import InitVar, dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from multissl.evaluation import clustering_report, linear_probe, standardized
from multissl.holdout import check_holdout
from multissl.evaluation.probes import MIN_ITEMS_PER_CLUSTER

from .cpc import CPC
from .embed import embed_many
from .folder import AudioFolder
from .framing import frame_centers
from .mfcc import MFCCConfig, mfcc_frames
from .windows import TAILS, Segment, Split, fixed_windows, split_segments

Extractor = Callable[[List[np.ndarray]], List[torch.Tensor]]
MAX_LABEL_MISMATCH = 2
SPEAKER_MFCC = MFCCConfig(n_mfcc=40, n_mels=40, deltas=False)
POOLINGS = ("mean_std", "mean")
MAX_BATCH_SAMPLES = 16000 * 600  # samples per extractor call in pooled_features (10 minutes at 16 kHz)


@dataclass
class ProbeConfig:
    """How the probes split and sample the data."""

    holdout: float = field(default=0.2, metadata={"help": "held out for testing: a share of each speaker's utterances (< 1) or "
                                                        "that many utterances per speaker (a whole number >= 1)", "min": 0})
    split_seed: int = field(default=0, metadata={"help": "seed of the utterance split"})
    window: int = field(default=20480, metadata={"help": "window length of the window-level speaker probe (samples)"})
    window_tail: str = field(default="overlap", metadata={"help": "a segment's last partial window: the last `window` samples "
                                                          "(overlap) or zero-padded (pad, the behaviour of earlier versions)", "choices": TAILS})
    max_phone_frames: int = field(default=30000, metadata={"help": "at most this many training frames for the phone probe (random subset)"})
    frames: bool = field(default=False, metadata={"help": "also the frame-level speaker probe (every 10 ms frame, the CPC paper's protocol)"})
    frame_chunk: int = field(default=20480, metadata={"help": "frame-level probe: features computed over consecutive pieces of this many samples"})
    max_speaker_frames: int = field(default=60000, metadata={"help": "frame-level probe: at most this many training frames (random subset; every test frame is used)"})
    seed: int = field(default=0, metadata={"help": "seed of the probes and k-means"})
    test_fraction: InitVar[Optional[float]] = None  # the older name of ``holdout``

    def __post_init__(self, test_fraction: Optional[float]):
        if test_fraction is not None:
            warnings.warn("ProbeConfig(test_fraction=...) is deprecated: it is holdout now", DeprecationWarning, stacklevel=3)
            self.holdout = test_fraction
        if self.holdout is not None:
            check_holdout(self.holdout)
        for name in ("window", "max_phone_frames", "frame_chunk", "max_speaker_frames"):
            if getattr(self, name) <= 0:
                raise ValueError(f"ProbeConfig.{name} must be > 0, got {getattr(self, name)}")
        if self.window_tail not in TAILS:
            raise ValueError(f"ProbeConfig.window_tail must be one of {TAILS}, got {self.window_tail!r}")


def cpc_extractor(model: CPC, feature: str = "context", chunk: Optional[int] = None) -> Extractor:
    """Frames of a CPC model (``chunk=None``: each waveform in one pass)."""
    def extract(waves: List[np.ndarray]) -> List[torch.Tensor]:
        return [e.frames for e in embed_many(model, waves, chunk=chunk, feature=feature)]
    return extract


def mfcc_extractor(config: Optional[MFCCConfig] = None) -> Extractor:
    """MFCC frames, one per 10 ms (``config``: default ``SPEAKER_MFCC``, 40 MFCCs of 40 mel bands, no deltas)."""
    config = config if config is not None else SPEAKER_MFCC

    def extract(waves: List[np.ndarray]) -> List[torch.Tensor]:
        return [mfcc_frames(w, config) for w in waves]
    return extract


def pool(frames: torch.Tensor, pooling: str = "mean_std") -> torch.Tensor:
    """One vector of frames (T, D): [mean, population std] (2D,) or the mean (D,)."""
    if pooling == "mean_std":
        return torch.cat([frames.mean(0), frames.std(0, correction=0)])
    if pooling == "mean":
        return frames.mean(0)
    raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")


def wave_batches(waves: Sequence[np.ndarray], batch: int = 64, max_samples: int = MAX_BATCH_SAMPLES) -> List[slice]:
    """Consecutive slices of ``waves``: at most ``batch`` waveforms and ``max_samples`` samples each (a longer
    waveform is a batch of its own), so that the frames one extractor call returns stay bounded."""
    out, start, total = [], 0, 0
    for i, wave in enumerate(waves):
        if i > start and (i - start >= batch or total + len(wave) > max_samples):
            out.append(slice(start, i))
            start, total = i, 0
        total += len(wave)
    return out + [slice(start, len(waves))] if len(waves) else out


def pooled_features(extractor: Extractor, waves: List[np.ndarray], batch: int = 64, pooling: str = "mean_std",
                    progress: Optional[str] = None) -> torch.Tensor:
    """(N, 2D) [mean, std] of each waveform's frames (``pooling="mean"``: (N, D)), in :func:`wave_batches`;
    ``progress``: the description of a progress bar over the waveforms on stderr (None: no bar)."""
    out = []
    with tqdm(total=len(waves), desc=progress, unit="wave", leave=False, disable=None if progress else True) as bar:
        for part in wave_batches(waves, batch):
            out += [pool(f, pooling) for f in extractor(waves[part])]
            bar.update(part.stop - part.start)
    return torch.stack(out)


def chunk_pieces(waves: List[np.ndarray], chunk: int) -> List[List[np.ndarray]]:
    """Each waveform cut into consecutive ``chunk``-sample pieces; a last piece shorter than a quarter
    chunk joins the one before it, so that no piece is too short for an extractor."""
    if chunk <= 0:
        raise ValueError(f"chunk must be > 0 samples, got {chunk}")
    out = []
    for wave in waves:
        starts = list(range(0, max(1, len(wave) - chunk // 4), chunk))
        out.append([wave[a:b] for a, b in zip(starts, starts[1:] + [len(wave)])])
    return out


def piece_frames(extractor: Extractor, pieces: List[List[np.ndarray]], batch: int = 64) -> List[List[torch.Tensor]]:
    """Frames (T, D) of every piece of :func:`chunk_pieces`, in the same nesting."""
    flat = [(i, p) for i, ps in enumerate(pieces) for p in ps]
    out: List[List[torch.Tensor]] = [[] for _ in pieces]
    for start in range(0, len(flat), batch):
        part = flat[start:start + batch]
        for (owner, _), frames in zip(part, extractor([p for _, p in part])):
            out[owner].append(frames)
    return out


def chunk_frames(extractor: Extractor, waves: List[np.ndarray], chunk: int) -> List[torch.Tensor]:
    """Frames (T_i, D) of each waveform, computed over consecutive ``chunk``-sample pieces and concatenated."""
    return [torch.cat(parts) for parts in piece_frames(extractor, chunk_pieces(waves, chunk))]


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
        if config.holdout <= 0:
            raise ValueError(f"ProbeConfig.holdout must be > 0 for a probe (it is the test set), got {config.holdout}")
        split = split_segments(folder, config.holdout, config.split_seed)
        trw, trs = _windows(folder, split.train, config.window, config.window_tail)
        tew, tes = _windows(folder, split.test, config.window, config.window_tail)
        return cls(folder, split, config, trw, trs, tew, tes)

    def segment_waves(self, segments: Sequence[Segment]) -> List[np.ndarray]:
        return [s.cut(self.folder.wave(s.index)) for s in segments]

    def segment_speakers(self, segments: Sequence[Segment]) -> np.ndarray:
        return np.array([self.folder.speaker_ids[s.index] for s in segments], dtype=np.int64)

    def describe(self) -> Dict:
        return {"root": str(self.folder.root), "speakers": self.folder.num_speakers, "utterances": len(self.folder),
                "seconds": round(self.folder.seconds(), 1), "split": self.split.describe(),
                "train_windows": len(self.train_windows), "test_windows": len(self.test_windows), "window": self.config.window}


def _windows(folder: AudioFolder, segments: Sequence[Segment], window: int, tail: str):
    waves, speakers = [], []
    for s in segments:
        for w in fixed_windows(s.cut(folder.wave(s.index)), window, tail=tail):
            waves.append(w)
            speakers.append(folder.speaker_ids[s.index])
    return waves, np.array(speakers, dtype=np.int64)


def speaker_scores(extractor: Extractor, data: ProbeData, verbose: bool = False) -> Dict[str, float]:
    """Window- and utterance-level speaker probe accuracy and clustering scores of one extractor
    (``verbose``: progress bars over the waveforms of each pass)."""
    seed, bar = data.config.seed, (lambda desc: desc if verbose else None)
    window = linear_probe(pooled_features(extractor, data.train_windows, progress=bar("train windows")), data.train_window_speakers,
                          pooled_features(extractor, data.test_windows, progress=bar("test windows")), data.test_window_speakers,
                          seed=seed)
    utt_train = pooled_features(extractor, data.segment_waves(data.split.train), progress=bar("train segments"))
    utt_test = pooled_features(extractor, data.segment_waves(data.split.test), progress=bar("test segments"))
    utterance = linear_probe(utt_train, data.segment_speakers(data.split.train), utt_test, data.segment_speakers(data.split.test), seed=seed)
    clusters = speaker_clusters(extractor, data, bar("clustering"))
    return {"speaker_acc_window": window.accuracy, "speaker_acc_window_train": window.train_accuracy,
            "speaker_acc_utterance": utterance.accuracy, **clusters, "dim": int(utt_test.shape[1])}


def speaker_clusters(extractor: Extractor, data: ProbeData, progress: Optional[str] = None) -> Dict:
    """k-means (k = number of speakers) of every utterance's pooled features when the folder has at least
    :data:`~multissl.evaluation.probes.MIN_ITEMS_PER_CLUSTER` utterances per speaker on average, else of the
    pooled pieces of the held-out segments (:func:`chunk_pieces` of ``window`` samples: consecutive pieces, a
    last one shorter than a quarter joined to the one before, so that no held-out audio is left out); both
    standardised per dimension. Returns :func:`multissl.evaluation.clustering_report`'s record (``clustered``:
    ``"utterances"`` or ``"pieces"``; too few pieces too: the scores are None and ``not_scored`` says why)."""
    folder, seed = data.folder, data.config.seed
    if len(folder) >= MIN_ITEMS_PER_CLUSTER * folder.num_speakers:
        whole = pooled_features(extractor, [folder.wave(i) for i in range(len(folder))], progress=progress)
        return clustering_report(standardized(whole), folder.speaker_ids, "utterances", seed=seed)
    pieces = chunk_pieces(data.segment_waves(data.split.test), data.config.window)
    speakers = np.repeat(data.segment_speakers(data.split.test), [len(parts) for parts in pieces])
    features = pooled_features(extractor, [piece for parts in pieces for piece in parts], progress=progress)
    return clustering_report(standardized(features), speakers, "pieces", seed=seed)


def clustering_cell(scores: Dict) -> str:
    """What a table prints about a clustering: ``"567 pieces"``, or why it was not scored."""
    return scores.get("not_scored") or f"{scores.get('cluster_items')} {scores.get('clustered')}"


def frame_speaker_scores(extractor: Extractor, data: "ProbeData") -> Dict[str, float]:
    """Frame-level speaker probe: every 10 ms frame of the test segments classified by a linear probe.

    Frames come from :func:`chunk_pieces` with ``frame_chunk`` (1.28 s); at
    most ``max_speaker_frames`` training frames (a seeded random subset) train
    the probe. ``speaker_acc_piece_vote``: the same probe's decision for each
    test piece as a whole (the mean of its frames' log-probabilities; pieces
    are 1.28 s, a segment's last one 0.32-1.6 s).
    """
    config = data.config
    xs, ys = {}, {}
    for side, segments in (("train", data.split.train), ("test", data.split.test)):
        frames = piece_frames(extractor, chunk_pieces(data.segment_waves(segments), config.frame_chunk))
        flat = [f for parts in frames for f in parts]
        xs[side] = torch.cat(flat)
        ys[side] = np.concatenate([np.full(len(f), speaker) for parts, speaker in zip(frames, data.segment_speakers(segments))
                                   for f in parts])
        if side == "test":
            pieces_of = np.repeat(np.arange(len(flat)), [len(f) for f in flat])  # test frame -> its piece
    total = len(ys["train"])
    if total > config.max_speaker_frames:
        keep = np.sort(np.random.default_rng(config.seed).choice(total, config.max_speaker_frames, replace=False))
        xs["train"], ys["train"] = xs["train"][torch.from_numpy(keep)], ys["train"][keep]
    result = linear_probe(xs["train"], ys["train"], xs["test"], ys["test"], seed=config.seed, keep_log_probs=True)
    votes = torch.zeros(int(pieces_of.max()) + 1, result.test_log_probs.shape[1]).index_add_(
        0, torch.from_numpy(pieces_of), result.test_log_probs)
    piece_speakers = np.zeros(len(votes), dtype=np.int64)
    piece_speakers[pieces_of] = ys["test"]
    vote_acc = float((votes.argmax(1).numpy() == piece_speakers).mean())
    return {"speaker_acc_frame": result.accuracy, "speaker_acc_frame_train": result.train_accuracy,
            "speaker_acc_piece_vote": vote_acc, "speaker_pieces_test": int(len(votes)),
            "speaker_frames_train": int(len(ys["train"])), "speaker_frames_train_available": int(total),
            "speaker_frames_test": int(len(ys["test"]))}


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
    """Every probe for every extractor: ``{name: {speaker_acc_window, speaker_acc_utterance, nmi, ari, silhouette, clustered,
    cluster_items, clusters, not_scored, phone_acc, speaker_acc_frame (with frames=True), ...}}``."""
    results = {}
    for name in tqdm(list(extractors), desc="probing", unit="model", disable=None if verbose else True):
        scores = speaker_scores(extractors[name], data, verbose)
        if data.config.frames:
            scores.update(frame_speaker_scores(extractors[name], data))
        phones = phone_scores(extractors[name], data)
        scores.update(phones if phones else {"phone_acc": None})
        results[name] = scores
    return results


def probe_table(results: Dict[str, Dict], columns: Sequence, rows: Optional[Sequence[str]] = None) -> str:
    """A markdown table of probe scores: one row per extractor (``rows``, default all of ``results``), one column
    per score; ``columns`` are keys or ``(key, label)`` pairs; a missing or None score prints as ``-``, a string
    as it is."""
    pairs = [(c, c) if isinstance(c, str) else tuple(c) for c in columns]
    lines = ["| features | " + " | ".join(label for _, label in pairs) + " |", "|---" * (len(pairs) + 1) + "|"]
    for name in rows if rows is not None else list(results):
        cells = [_cell(results[name].get(key)) for key, _ in pairs]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(value) -> str:
    return "-" if value is None else value if isinstance(value, str) else f"{value:.3f}"


__all__ = ["POOLINGS", "ProbeConfig", "ProbeData", "SPEAKER_MFCC", "chunk_frames", "chunk_pieces", "piece_frames", "clustering_cell", "compare",
           "cpc_extractor", "frame_speaker_scores", "mfcc_extractor", "phone_scores", "pool", "pooled_features", "probe_table",
           "speaker_clusters", "speaker_scores", "wave_batches"]
