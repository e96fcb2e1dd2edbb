"""Train CPC on a folder of speech with the core engine, and load the run back.

:func:`train` reads the folder (lengths from the file index; the waveforms
held in memory or read window by window, see ``data_mode``), holds out the
probe's test utterances (so that the speaker probe later tests on audio CPC
never saw), draws random windows from the rest and runs
:func:`multissl.engine.fit`. It also trains on a user's own ``Dataset``,
``IterableDataset`` or ``DataLoader`` (:mod:`multissl.audio.user_data`). The run folder is
the core's (:mod:`multissl.run`): ``config.json`` (everything needed to
rebuild the model and its random initialisation), ``checkpoints/`` and
``metrics.jsonl``. :func:`load_run` returns a :class:`multissl.run.Run`.

Settings are a :class:`~multissl.presets.Recipe` with sections ``model``
(:class:`CPCConfig`), ``optim`` (the core's :class:`~multissl.optim.OptimConfig`:
Adam by default), ``options`` (:class:`CPCTrainOptions`) and ``train``
(the engine's :class:`~multissl.engine.TrainConfig`, whose ``seed`` seeds the
initial weights and the data order); :func:`recipe` merges
what the caller gives into a preset field by field. Presets (``PRESETS``):

- ``paper``: the paper's sizes (512 channels, GRU 256, 12 steps, 128
  negatives, 20480-sample windows, batch 8 per process, Adam 2e-4);
- ``cpu`` (default): the paper's GRU (256) and 1.28 s windows with a narrow
  encoder (64 channels), 16 negatives from the batch, batch 8, Adam 2e-3
  with 100 warm-up steps and cosine decay over the run (20000 steps of about
  0.15 s on two cores, or the time budget, whichever ends first: at most
  9.9 minutes unless ``max_minutes`` says otherwise); the last 20 % of each
  speaker's audio (or 20 % of their utterances) is held out for the probes.
"""
from __future__ import annotations

import warnings
from dataclasses import InitVar, dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional

from multissl.engine import TrainConfig, fit
from multissl.holdout import check_holdout
from multissl.optim import OptimConfig, make_optimizer, optim_for_run, schedule_for
from multissl.presets import Recipe, method_and_preset, moved_settings, preset_recipe, tracks_given
from multissl.run import Run, check_resumed_data, load_run_weights, prepare_run_folder, read_run_config, seeded_build, stored_recipe, write_run_config

from .cpc import CPC, CPCConfig
from .folder import AudioFolder
from .training_data import training_data

METHODS = ("cpc",)
DEFAULT_PRESET = "cpu"


@tracks_given
@dataclass
class CPCTrainOptions:
    """Data options of a CPC run (besides the model, the ``optim`` section and the engine settings).

    The older arguments ``learning_rate``, ``lr_schedule``, ``warmup_steps`` and ``init_seed`` still work, with a
    DeprecationWarning: they are ``optim.lr``, ``optim.schedule``, ``optim.warmup`` and ``train.seed`` now.
    """

    holdout: float = field(default=0.2, metadata={"help": "held-out data, the probe's test set: a share of each speaker's "
                                                            "utterances (< 1), or that many utterances per speaker (a whole "
                                                            "number >= 1); 0 trains on everything", "min": 0})
    split_seed: int = field(default=0, metadata={"help": "seed of the held-out utterance split"})
    speaker_group_size: int = field(default=0, metadata={"help": "windows per speaker group in a batch (0: plain shuffled "
                                                                  "batches; negatives=group defaults to 4)"})
    learning_rate: InitVar[Optional[float]] = None
    lr_schedule: InitVar[Optional[str]] = None
    warmup_steps: InitVar[Optional[int]] = None
    init_seed: InitVar[Optional[int]] = None

    def __post_init__(self, learning_rate, lr_schedule, warmup_steps, init_seed):
        check_holdout(self.holdout)
        moved_settings(self, learning_rate=learning_rate, lr_schedule=lr_schedule, warmup_steps=warmup_steps, init_seed=init_seed)


OPTIM_DEFAULTS = {"optimizer": "adam", "lr": 2e-4}  # the paper's Adam
PRESETS: Dict[str, Dict[str, Dict[str, Any]]] = {
    "paper": {
        "model": {},
        "optim": {"lr": 2e-4},
        "train": {"batch_size": 8},
    },
    "cpu": {
        "model": {"encoder_channels": 64, "context_dim": 256, "window": 20480, "num_negatives": 16},
        "optim": {"lr": 2e-3, "schedule": "cosine", "warmup": 100},
        "train": {"batch_size": 8, "steps": 20000, "max_minutes": 9.9, "checkpoint_every": 500, "log_every": 50},
    },
}
SECTIONS = {"model": CPCConfig, "optim": OptimConfig, "options": CPCTrainOptions, "train": TrainConfig}


def recipe(method: Optional[str] = None, *, preset: Optional[str] = None, model: Any = None, optim: Any = None,
           options: Any = None, train: Any = None, **overrides: Any) -> Recipe:
    """The settings of a run of ``method`` (``"cpc"``, the default): preset ``preset`` (``"cpu"``, the default, or
    ``"paper"``) with the given sections (partial dataclasses or dicts) and flat ``overrides`` (any field of any
    section, e.g. ``max_minutes=5``) merged in field by field."""
    method, preset = method_and_preset("audio", method, preset, METHODS, PRESETS, DEFAULT_PRESET)
    defaults = Recipe(model=CPCConfig(), optim=OptimConfig(**OPTIM_DEFAULTS), options=CPCTrainOptions(), train=TrainConfig())
    base = preset_recipe(PRESETS, preset, defaults, "audio")
    given = {k: v for k, v in {"model": model, "optim": optim, "options": options, "train": train}.items() if v is not None}
    return base.apply(given, overrides)


def build_model(config: CPCConfig, seed: int) -> CPC:
    """A CPC model whose initial weights depend only on ``seed`` (the global RNG is left unchanged)."""
    return seeded_build(lambda: CPC(config), seed)


def train(
    data,
    output,
    method: Optional[str] = None,
    *,
    preset: Optional[str] = None,
    model: Any = None,
    optim: Any = None,
    options: Any = None,
    train: Any = None,
    speaker_pattern: Optional[str] = None,
    folder: Optional[AudioFolder] = None,
    data_mode: str = "auto",
    **overrides: Any,
) -> Run:
    """Train CPC on the audio under ``data`` and write the run folder ``output``.

    Args:
        data: a folder of audio files (LibriSpeech layout, or ``speaker_pattern``),
            an :class:`AudioFolder`, or a user's torch ``Dataset`` /
            ``IterableDataset`` (items ``{"wave": (window,) float, "speaker": int}``
            or ``(wave, speaker)``) or ``DataLoader`` (batches ``{"wave": (B, N),
            "speaker": (B,)}``); see :mod:`multissl.audio.user_data`.
        output: the run folder to write.
        method: ``"cpc"`` (the only audio method).
        preset: ``"cpu"`` (default) or ``"paper"``.
        model, optim, options, train: partial :class:`CPCConfig`,
            :class:`~multissl.optim.OptimConfig`, :class:`CPCTrainOptions` and
            :class:`~multissl.engine.TrainConfig` (or dicts); only the fields you
            set replace the preset's. ``seed`` (train) seeds the initial weights
            and the data order.
        folder: an :class:`AudioFolder` already read instead of re-reading ``data``.
        data_mode: for a folder: ``"auto"`` (waveforms in memory when they fit the
            core's budget, else read from disk window by window), ``"memory"`` or
            ``"stream"``; the choice is printed and kept in config.json's ``"data"``.
        **overrides: any field of those sections by name (``lr=1e-3``, ``seed=3``, ``max_minutes=1``, ``window=10240``).
    Returns:
        the :class:`~multissl.run.Run` (``.model`` trained, ``.initial``, ``.result``).
    """
    method, preset = method_and_preset("audio", method, preset, METHODS, PRESETS, DEFAULT_PRESET)
    settings = recipe(method, preset=preset, model=model, optim=optim, options=options, train=train, **overrides)
    config = settings.model
    out = Path(output)
    engine = TrainConfig(**{**settings.to_dict()["train"], "output_dir": str(out)})
    prepare_run_folder(out, "audio", method, settings.to_dict(), engine.resume, engine.overwrite)
    batches, data_record, folder = training_data(data, folder, speaker_pattern, data_mode, settings, engine.verbose)
    check_resumed_data(out, engine.resume, _data_source(data_record), lambda record: _data_source(record.get("data") or {}))
    net = build_model(config, engine.seed)
    record_path = write_run_config(out, "audio", method, engine.seed, settings.to_dict(), preset=preset, data=data_record)
    optim = optim_for_run(settings.optim, engine)
    optimizer = make_optimizer(net.parameters(), optim)
    scheduler = schedule_for(optim)(optimizer)
    result = fit(net, batches, optimizer, engine, scheduler=scheduler, metadata={"run": read_run_config(out)})
    record = read_run_config(record_path.parent)
    return Run(out, "audio", method, net.eval(), build_model(config, engine.seed).eval(), record, result,
               {"folder": folder} if folder is not None else {})


def train_cpc(data, output_dir, config: Optional[CPCConfig] = None, options: Optional[CPCTrainOptions] = None,
              train_config: Optional[TrainConfig] = None, speaker_pattern: Optional[str] = None,
              folder: Optional[AudioFolder] = None, preset_name: Optional[str] = None, **kwargs: Any) -> Run:
    """Deprecated spelling of :func:`train` (``train_cpc(data, out, config, options, train)``)."""
    warnings.warn("multissl.audio.train_cpc is deprecated; use multissl.audio.training(data, output, ...)",
                  DeprecationWarning, stacklevel=2)
    train_config = kwargs.pop("train", train_config)
    return train(data, output_dir, "cpc", preset=preset_name or DEFAULT_PRESET, model=config, options=options, train=train_config,
                 speaker_pattern=speaker_pattern, folder=folder)


def run_recipe(record: Dict[str, Any]) -> Recipe:
    """The recipe stored in a run's config.json (also reads folders written before the run layer)."""
    return stored_recipe(record, SECTIONS, {"model": "cpc", "options": "options", "train": "train"})


def _data_source(data_record: Dict[str, Any]) -> Optional[str]:
    """The folder a run's data record names, or its user data set's type."""
    return data_record.get("root") or data_record.get("type")


def load_run(path, map_location=None) -> Run:
    """The trained CPC of a run folder, and the same network at its initial weights, as a :class:`~multissl.run.Run`."""
    record = read_run_config(path, kind="audio")
    config, seed = run_recipe(record).model, int(record.get("init_seed", 0))
    trained = build_model(config, seed)
    load_run_weights(trained, path, record, map_location)
    initial = build_model(config, seed)
    return Run(Path(path), "audio", record.get("method", "cpc"), trained.eval(), initial.eval(), record)


__all__ = ["CPCTrainOptions", "DEFAULT_PRESET", "METHODS", "PRESETS", "SECTIONS", "build_model", "load_run", "recipe",
           "run_recipe", "train", "train_cpc"]
