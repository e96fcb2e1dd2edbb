"""multissl.audio: Contrastive Predictive Coding on speech and speaker clustering.

- data: :class:`AudioFolder` (LibriSpeech layout or a speaker pattern; held in memory or read from disk,
  ``data_mode``), :class:`RandomWindows`, :class:`SpeakerGroupedBatches`, :func:`split_segments`;
- a synthetic corpus: :func:`synthesize_corpus` (espeak-ng);
- training: :func:`train` (``train(data, output, method="cpc", *, preset="cpu", **overrides) -> Run``; ``data`` a folder,
  or a user's torch Dataset / IterableDataset / DataLoader, see :mod:`multissl.audio.user_data`),
  :func:`recipe` (the merged settings), :func:`load_run`; the model :class:`CPC`, :class:`CPCConfig`;
- features: :func:`features` (waveforms -> (N, D) utterance embeddings), :func:`embed` (frames (T, D) and the
  pooled (D,) embedding), :func:`mfcc_frames`;
- evaluation: :func:`probe_run` (speaker and phone probes of a run vs MFCC and random init), :mod:`multissl.audio.probes`, :mod:`multissl.audio.clusters`; speaker identification with few
  labels: :func:`efficiency_run` (:mod:`multissl.audio.label_evaluation`).
"""
from .clusters import cluster_scores, plot_speaker_clusters, utterance_embeddings
from .cpc import CPC, CPCConfig, CPCEncoder
from .embed import Embedding, embed, embed_many, features
from .espeak import SpeechEngineNotFound
from .folder import AudioFolder
from .io import read_audio
from .label_evaluation import efficiency_run
from .mfcc import MFCCConfig, mfcc_frames
from .probe_run import probe_run
from .probes import ProbeConfig, ProbeData, compare, cpc_extractor, mfcc_extractor
from .synth import make_speakers, synthesize_corpus
from .training import PRESETS, CPCTrainOptions, load_run, recipe, train, train_cpc
from .speaker_batches import SpeakerGrouped, SpeakerGroupedBatches
from .windows import RandomWindows, Segment, split_segments

__all__ = [
    "AudioFolder", "CPC", "CPCConfig", "CPCEncoder", "CPCTrainOptions", "Embedding", "MFCCConfig", "PRESETS",
    "ProbeConfig", "ProbeData", "RandomWindows", "Segment", "SpeakerGrouped", "SpeakerGroupedBatches", "SpeechEngineNotFound",
    "cluster_scores", "compare", "cpc_extractor", "efficiency_run", "embed", "embed_many", "features", "load_run", "make_speakers", "mfcc_extractor",
    "mfcc_frames", "plot_speaker_clusters", "probe_run", "read_audio", "recipe", "split_segments", "synthesize_corpus", "train", "train_cpc",
    "utterance_embeddings",
]
