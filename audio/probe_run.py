"""Probing a trained CPC run on a folder of speech: the library path behind ``multissl audio probe``.

:func:`evaluation_setup` reads the folder at the run's sample rate and builds the three feature
extractors every audio evaluation compares (the trained CPC, an MFCC baseline and the same CPC at
its random initial weights); :func:`probe_run` runs the speaker (and phone) probes with them.

Every audio evaluation treats the run's own training folder alike (:func:`trained_on`): its speaker
pattern (:func:`evaluation_folder`), and its held-out utterances as the default test split
(:func:`probe_config_for`, :func:`unseen_by_training`).
"""
from __future__ import annotations

from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from multissl.run import Run, data_identity

from .folder import AudioFolder
from .probes import SPEAKER_MFCC, ProbeConfig, ProbeData, compare, cpc_extractor, mfcc_extractor
from .training import load_run, run_recipe


def trained_on(record: Dict[str, Any], data: Any) -> bool:
    """Whether ``data`` (a folder or an :class:`AudioFolder`) is the folder the run with config ``record`` trained
    on, compared by :func:`multissl.run.data_identity` (False for a user's Dataset)."""
    root = (record.get("data") or {}).get("root")
    path = data.root if isinstance(data, AudioFolder) else data
    return root is not None and isinstance(path, (str, Path)) and data_identity(root) == data_identity(path)


def evaluation_folder(run: Run, data: Any, speaker_pattern: Optional[str] = None, verbose: bool = True) -> AudioFolder:
    """``data`` as an :class:`AudioFolder` at the run's sample rate (an AudioFolder as it is): speakers from
    ``speaker_pattern``, else the pattern the run trained with on its own data, else the folder layout."""
    if isinstance(data, AudioFolder):
        return data
    own = (run.config.get("data") or {}).get("speaker_pattern") if trained_on(run.config, data) else None
    return AudioFolder(data, run.model.config.sample_rate, speaker_pattern or own, verbose=verbose)


def _held_out_split(record: Dict[str, Any], data: Any) -> Dict[str, Any]:
    """``{"holdout", "split_seed"}`` of the utterances training held out of ``data`` when it is the run's own
    folder and training held some out, else ``{}``."""
    options = run_recipe(record).options
    if options.holdout > 0 and trained_on(record, data):
        return {"holdout": options.holdout, "split_seed": options.split_seed}
    return {}


def probe_config_for(run: Run, data: Any, **settings: Any) -> ProbeConfig:
    """The split and window: ``settings`` (None = unset) over the defaults, which on the run's own
    data are its held-out split (test audio CPC never saw) and elsewhere 20 % with seed 0."""
    return ProbeConfig(**{**_held_out_split(run.config, data), **{k: v for k, v in settings.items() if v is not None}})


def unseen_by_training(run: Run, data: Any, probe: ProbeConfig) -> bool:
    """Whether the test split of ``probe`` on ``data`` is the split the run's training held out."""
    split = _held_out_split(run.config, data)
    return bool(split) and split == {"holdout": probe.holdout, "split_seed": probe.split_seed}


def evaluation_setup(run: Any, data: Any, speaker_pattern: Optional[str] = None, feature: str = "context",
                     verbose: bool = True) -> Tuple[Run, AudioFolder, Dict[str, Any], bool]:
    """``(run, folder, extractors, own)``: the run (a :class:`~multissl.run.Run` or its folder), ``data`` read as an
    :class:`AudioFolder` at the run's rate (the speaker pattern the run trained with, on its own data), the
    extractors ``{"cpc", "mfcc", "random"}`` and whether ``data`` is the run's own training folder."""
    run = run if isinstance(run, Run) else load_run(run)
    folder = evaluation_folder(run, data, speaker_pattern, verbose)
    rate = run.model.config.sample_rate
    extractors = {"cpc": cpc_extractor(run.model, feature), "mfcc": mfcc_extractor(SPEAKER_MFCC.at_rate(rate)),
                  "random": cpc_extractor(run.initial, feature)}
    return run, folder, extractors, trained_on(run.config, data)


def probe_run(run: Any, data: Any, *, speaker_pattern: Optional[str] = None, feature: str = "context",
              verbose: bool = True, **settings: Any) -> Dict[str, Any]:
    """Speaker and phone probes of a run's frozen features on the audio folder ``data``, beside MFCC and the
    same CPC at its random initial weights.

    Args:
        run: a :class:`~multissl.run.Run` or a run folder (``multissl audio train -o DIR``).
        data: a folder of speech (LibriSpeech layout, or ``speaker_pattern``) or an :class:`AudioFolder`.
        feature: ``"context"`` (c_t), ``"encoder"`` (z_t) or ``"both"``.
        **settings: fields of :class:`~multissl.audio.probes.ProbeConfig` (``holdout``, ``split_seed``,
            ``frames=True`` ...). On the run's own data, ``holdout`` and ``split_seed`` default to the
            split training held out, so the probes are scored on audio CPC never saw.
    Returns:
        ``{"cpc": scores, "mfcc": scores, "random": scores, "data": ..., "probe": the settings,
        "feature": ..., "test_audio_unseen_by_cpc": bool}``; each scores dict holds the window-, utterance-
        (and with ``frames`` frame-) level speaker accuracy, clustering NMI/AMI/ARI and the phone accuracy
        where phone labels exist.
    """
    run, folder, extractors, _ = evaluation_setup(run, data, speaker_pattern, feature, verbose)
    known = {f.name for f in fields(ProbeConfig)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ValueError(f"unknown probe setting(s) {unknown}; the settings are {sorted(known)}")
    config = probe_config_for(run, folder, **settings)
    probe_data = ProbeData.build(folder, config)
    results = compare(extractors, probe_data, verbose=verbose)
    return {**results, "data": probe_data.describe(), "probe": asdict(config), "run": str(run.path), "feature": feature,
            "test_audio_unseen_by_cpc": unseen_by_training(run, folder, config)}


__all__ = ["evaluation_setup", "probe_config_for", "probe_run", "evaluation_folder", "trained_on", "unseen_by_training"]
