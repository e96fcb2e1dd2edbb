"""Speaker identification with few labels: label-efficiency curves of a CPC run.

The core procedure (:func:`multissl.evaluation.label_efficiency`) applied to
speaker identification on fixed-length windows:

- the split is the speaker probe's (:class:`~multissl.audio.probes.ProbeData`):
  whole utterances of every speaker are held out for testing (on the run's own
  data by default the ones CPC training held out), and both sides are cut into
  non-overlapping ``window``-sample windows (default 20480 = 1.28 s); no
  utterance gives windows to both sides;
- labelled subsets are k training windows of every speaker (nested, seeded;
  ``None`` = all of them); counts are averaged over several subset seeds;
- methods: ``cpc_linear`` (linear probe on the trained CPC's context vectors,
  mean over the window's frames), ``mfcc_linear`` (linear probe on 40 MFCCs of
  40 mel bands per 10 ms frame, mean and standard deviation over the window:
  80-d), ``supervised`` (the run's CPC encoder + GRU at its random initial
  weights, mean-pooled context + a linear head, trained from scratch on the
  labelled windows with :func:`multissl.evaluation.finetune`) and, on request,
  ``cpc_finetune`` (the same from the trained weights). Windows are float32
  waveforms (N, window), fed as they are (no augmentation).

Fine-tuning picks its learning rate and epoch on a validation split carved from
the labelled windows; with one labelled window per speaker there is none, and
the first learning rate trains the whole budget (the core's rule).
"""
from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from torch import nn

from multissl.evaluation import EfficiencyResult, FinetuneConfig, amounts_from, finetune_evaluator, label_efficiency, linear_evaluator
from multissl.run import Run, as_run

from .cpc import CPC
from .folder import AudioFolder
from .probe_run import evaluation_folder, probe_config_for, unseen_by_training
from .probes import SPEAKER_MFCC, Extractor, ProbeConfig, ProbeData, cpc_extractor, mfcc_extractor, pooled_features

RunLike = Union[str, Path, Run]
METHODS = ("cpc_linear", "mfcc_linear", "supervised", "cpc_finetune")
DEFAULT_METHODS = ("cpc_linear", "mfcc_linear", "supervised")
MFCC_DEFINITION = ("40 MFCCs per 10 ms frame (orthonormal DCT of 40 mel bands in dB, 25 ms Hann windows, "
                   "torchaudio.transforms.MFCC, no deltas), mean and standard deviation over the window's frames: 80-d")


def audio_run(run: RunLike) -> Run:
    """``run`` loaded (a run folder) or checked (a :class:`~multissl.run.Run`): a ValueError unless it is an audio run."""
    return as_run(run, "audio")


class WindowEncoder(nn.Module):
    """A CPC's encoder + GRU as a classifier trunk: waveform windows (B, N) float32 -> mean context vector (B, H)."""

    def __init__(self, model: CPC):
        super().__init__()
        self.encoder, self.context = model.encoder, model.context

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.context(self.encoder(wave)).mean(1)


@dataclass
class SpeakerWindows:
    """Windows of the train and test utterances with their speakers.

    ``x_train`` (N, window) and ``x_test`` (M, window) float32 waveforms;
    ``y_train`` (N,) and ``y_test`` (M,) int64 speaker indices 0..S-1 into ``speakers``.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    speakers: List[str]
    data: ProbeData

    @classmethod
    def from_probe_data(cls, data: ProbeData) -> "SpeakerWindows":
        """Stack the probe split's windows, after checking that every speaker has windows on both sides."""
        names = data.folder.speakers
        for side, labels in (("training", data.train_window_speakers), ("test", data.test_window_speakers)):
            missing = sorted(set(range(len(names))) - set(labels.tolist()))
            if missing:
                raise ValueError(f"speaker {names[missing[0]]!r} has no {side} utterance with audio in {data.folder.root} "
                                 f"(split: holdout {data.config.holdout}, seed {data.config.split_seed})")
        return cls(_stack(data.train_windows), torch.from_numpy(data.train_window_speakers), _stack(data.test_windows),
                   torch.from_numpy(data.test_window_speakers), list(names), data)

    def check_per_speaker(self, per_speaker: Sequence[Optional[int]]) -> None:
        """A ValueError naming the count when one is above the training windows of the speaker with the fewest."""
        counts = np.bincount(self.y_train.numpy(), minlength=len(self.speakers))
        fewest = int(counts.argmin())
        for amount in amounts_from(per_class=list(per_speaker)):
            if amount.per_class is not None and amount.per_class > counts[fewest]:
                raise ValueError(f"per_speaker={amount.per_class} is above the {counts[fewest]} training windows of speaker "
                                 f"{self.speakers[fewest]!r} (the fewest); use at most {counts[fewest]} or 'all'")


def _stack(waves: List[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(waves).astype(np.float32, copy=False))


def mean_std_features(extractor: Extractor, waves: List[np.ndarray], batch: int = 64) -> torch.Tensor:
    """(N, 2D): each waveform's frames (T, D) pooled as [mean, standard deviation] (population std)."""
    return pooled_features(extractor, waves, batch, pooling="mean_std")


def mfcc_window_features(waves: List[np.ndarray], sample_rate: int = SPEAKER_MFCC.sample_rate) -> torch.Tensor:
    """(N, 80): the MFCC baseline of speaker identification (see ``MFCC_DEFINITION``) of N waveforms at ``sample_rate``."""
    return mean_std_features(mfcc_extractor(SPEAKER_MFCC.at_rate(sample_rate)), waves)


def speaker_windows(run: Run, data: Union[str, Path, AudioFolder], probe: ProbeConfig, speaker_pattern: Optional[str] = None,
                    verbose: bool = False) -> SpeakerWindows:
    """``data`` read at the run's sample rate (speakers from ``speaker_pattern``, else the run's pattern on its own
    data, else the folder layout), split by utterance and cut into windows."""
    folder = evaluation_folder(run, data, speaker_pattern, verbose)
    return SpeakerWindows.from_probe_data(ProbeData.build(folder, probe))


def feature_device(device: Optional[str] = None) -> torch.device:
    """The engine's choice of device (``device``, else CUDA if available); a bad name is a ValueError naming it."""
    from multissl.engine import TrainConfig
    from multissl.engine.devices import select_device

    return select_device(TrainConfig(device=device))


def _on(model: nn.Module, device: Optional[str]) -> nn.Module:
    """``model`` when it is already on ``device``, else a copy there (the run's model is left where it is)."""
    target = feature_device(device)
    return model if next(model.parameters()).device == target else copy.deepcopy(model).to(target)


def linear_evaluators(run: Run, windows: SpeakerWindows, methods: Sequence[str], device: Optional[str] = None) -> Dict[str, Any]:
    """``cpc_linear`` and ``mfcc_linear`` evaluators (those in ``methods``) on frozen window features."""
    features = {}
    if "cpc_linear" in methods:
        cpc = cpc_extractor(_on(run.model, device))
        features["cpc_linear"] = lambda waves: pooled_features(cpc, waves, pooling="mean")
    if "mfcc_linear" in methods:
        rate = run.model.config.sample_rate
        features["mfcc_linear"] = lambda waves: mfcc_window_features(waves, rate)
    train, test = windows.data.train_windows, windows.data.test_windows
    return {name: linear_evaluator(pool(train), windows.y_train, pool(test), windows.y_test) for name, pool in features.items()}


def finetune_window_evaluator(model: CPC, windows: SpeakerWindows, config: FinetuneConfig,
                              output: Optional[Union[str, Path]] = None, **finetune_kwargs: Any):
    """An evaluator: :class:`WindowEncoder` of ``model`` + a linear head fine-tuned on the labelled windows only.

    With one labelled window per speaker there is no validation split: the core trains the
    first learning rate for the whole budget and scores the last weights.
    """
    return finetune_evaluator(WindowEncoder(model), windows.x_train, windows.y_train, windows.x_test, windows.y_test, config,
                              output=output, **finetune_kwargs)


def _check_methods(methods: Sequence[str]) -> List[str]:
    unknown = sorted(set(methods) - set(METHODS))
    if unknown or not methods:
        raise ValueError(f"methods must be among {', '.join(METHODS)}; got {list(methods)}")
    return [m for m in METHODS if m in methods]


def efficiency_run(run: RunLike, data: Union[str, Path, AudioFolder], per_speaker: Sequence[Optional[int]] = (1, 2, 5, None),
                   seeds: int = 3, methods: Sequence[str] = DEFAULT_METHODS, config: Optional[FinetuneConfig] = None,
                   probe: Optional[ProbeConfig] = None, speaker_pattern: Optional[str] = None,
                   output: Optional[Union[str, Path]] = None, device: Optional[str] = None, verbose: bool = True,
                   overwrite: bool = False) -> EfficiencyResult:
    """Speaker-identification accuracy of a CPC run against the number of labelled windows per speaker.

    Args:
        run: an audio run folder (or :class:`~multissl.run.Run`); ``.model`` gives the CPC features and
            ``cpc_finetune``, ``.initial`` the ``supervised`` network.
        data: a folder of speech (LibriSpeech layout, or ``speaker_pattern``) or an :class:`AudioFolder`.
        per_speaker: labelled training windows per speaker (``None`` or ``"all"``: every one).
        seeds: subset seeds 0..seeds-1 for every count (``None`` runs seed 0).
        methods: of ``cpc_linear``, ``mfcc_linear``, ``supervised``, ``cpc_finetune``.
        config: :class:`~multissl.evaluation.FinetuneConfig` of the fine-tuned methods.
        probe: :class:`ProbeConfig` (``holdout``, ``split_seed``, ``window``); default
            :func:`probe_config_for` (the run's held-out split on its own data).
        output: folder for the fine-tuning checkpoints (``output/<method>/<labelled>-seed<seed>/``).
        device: where CPC features are computed and networks fine-tuned (default: CUDA if available, else the CPU).
    Windows: (N, window) float32 waveforms; labels (N,) int64 speaker indices 0..S-1.
    Returns:
        :class:`~multissl.evaluation.EfficiencyResult`: per count, ``{method: {mean, std, values}}``.
    """
    methods = _check_methods(methods)
    amounts_from(per_class=list(per_speaker))  # bad counts fail before any work
    if seeds < 1:
        raise ValueError(f"seeds must be >= 1, got {seeds}")
    feature_device(device)
    run = audio_run(run)
    probe = probe if probe is not None else probe_config_for(run, data)
    if probe.window < run.model.encoder.min_samples:
        raise ValueError(f"window={probe.window} samples is shorter than one frame of the CPC encoder "
                         f"({run.model.encoder.min_samples} samples)")
    windows = speaker_windows(run, data, probe, speaker_pattern, verbose)
    windows.check_per_speaker(per_speaker)
    config = config or FinetuneConfig()
    evaluators = linear_evaluators(run, windows, methods, device)
    tune = dict(device=device, verbose=False, overwrite=overwrite)
    for name, model in (("supervised", run.initial), ("cpc_finetune", run.model)):
        if name in methods:
            folder = Path(output) / name if output is not None else None
            evaluators[name] = finetune_window_evaluator(model, windows, config, folder, **tune)
    evaluators = {m: evaluators[m] for m in methods}
    return label_efficiency(evaluators, windows.y_train, per_class=list(per_speaker), seeds=seeds, verbose=verbose,
                            settings=_settings(run, windows, config, seeds))


def _settings(run: Run, windows: SpeakerWindows, config: FinetuneConfig, seeds: int) -> Dict[str, Any]:
    data, probe = windows.data, windows.data.config
    unseen = unseen_by_training(run, data.folder, probe)
    return {"run": str(run.path), "method": run.method, "data": data.describe(), "window": probe.window,
            "window_seconds": probe.window / data.folder.sample_rate,
            "split": f"by utterance: {probe.holdout:g} of each speaker's utterances held out (seed {probe.split_seed}); "
                     "windows never straddle train and test", "test_audio_unseen_by_cpc": bool(unseen),
            "cpc_features": "trained CPC's context vectors c_t, mean over the window's frames", "mfcc": MFCC_DEFINITION,
            "mfcc_config": asdict(SPEAKER_MFCC.at_rate(data.folder.sample_rate)), "supervised": "the run's CPC encoder + GRU at its random initial weights, "
            "mean-pooled context + linear head, trained on the labelled windows only", "augmentation": "none",
            "finetune": {**asdict(config), "lrs": list(config.lrs)}, "seeds": seeds, "speakers": len(windows.speakers)}


__all__ = ["DEFAULT_METHODS", "METHODS", "MFCC_DEFINITION", "SPEAKER_MFCC", "SpeakerWindows", "WindowEncoder", "audio_run",
           "efficiency_run", "finetune_window_evaluator", "linear_evaluators", "mean_std_features", "mfcc_window_features",
           "speaker_windows"]
