"""Probing a trained CPC run on a folder of speech: the library path behind ``multissl audio probe``.

:func:`evaluation_setup` reads the folder at the run's sample rate and builds the three feature
extractors every audio evaluation compares (the trained CPC, an MFCC baseline and the same CPC at
its random initial weights); :func:`probe_run` runs the speaker (and phone) probes with them.
"""
from __future__ import annotations

from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from multissl.run import Run

from .folder import AudioFolder


def trained_on(record: Dict[str, Any], data: Any) -> bool:
    """Whether ``data`` is the folder the run with config ``record`` trained on (False for a user's Dataset)."""
    root = (record.get("data") or {}).get("root")
    return root is not None and isinstance(data, (str, Path)) and Path(root).resolve() == Path(data).resolve()


def evaluation_setup(run: Any, data: Any, speaker_pattern: Optional[str] = None, feature: str = "context",
                     verbose: bool = True) -> Tuple[Run, AudioFolder, Dict[str, Any], bool]:
    """``(run, folder, extractors, own)``: the run (a :class:`~multissl.run.Run` or its folder), ``data`` read as an
    :class:`AudioFolder` at the run's rate (the speaker pattern the run trained with, on its own data), the
    extractors ``{"cpc", "mfcc", "random"}`` and whether ``data`` is the run's own training folder."""
    from .probes import SPEAKER_MFCC, cpc_extractor, mfcc_extractor
    from .training import load_run

    run = run if isinstance(run, Run) else load_run(run)
    own = trained_on(run.config, data)
    pattern = speaker_pattern or ((run.config.get("data") or {}).get("speaker_pattern") if own else None)
    rate = run.model.config.sample_rate
    folder = data if isinstance(data, AudioFolder) else AudioFolder(data, rate, pattern, verbose=verbose)
    extractors = {"cpc": cpc_extractor(run.model, feature), "mfcc": mfcc_extractor(SPEAKER_MFCC.at_rate(rate)),
                  "random": cpc_extractor(run.initial, feature)}
    return run, folder, extractors, own


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
    from .probes import ProbeConfig, ProbeData, compare
    from .training import run_recipe

    run, folder, extractors, own = evaluation_setup(run, data, speaker_pattern, feature, verbose)
    trained = run_recipe(run.config).options
    defaults = {"holdout": trained.holdout if own and trained.holdout > 0 else 0.2,
                "split_seed": trained.split_seed if own else 0}
    known = {f.name for f in fields(ProbeConfig)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ValueError(f"unknown probe setting(s) {unknown}; the settings are {sorted(known)}")
    config = ProbeConfig(**{**defaults, **{k: v for k, v in settings.items() if v is not None}})
    probe_data = ProbeData.build(folder, config)
    results = compare(extractors, probe_data, verbose=verbose)
    unseen = own and trained.holdout > 0 and trained.holdout == config.holdout and config.split_seed == trained.split_seed
    return {**results, "data": probe_data.describe(), "probe": asdict(config), "run": str(run.path), "feature": feature,
            "test_audio_unseen_by_cpc": bool(unseen)}


__all__ = ["evaluation_setup", "probe_run", "trained_on"]
