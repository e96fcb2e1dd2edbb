"""Train CPC on a folder of speech with the core engine, and load the run back.

:func:`train_cpc` reads the folder, holds out the probe's test utterances
(so that the speaker probe later tests on audio CPC never saw), draws random
windows from the rest and runs :func:`multissl.engine.fit`. The run folder
holds ``config.json`` (everything needed to rebuild the model and its random
initialisation), ``checkpoints/`` and ``metrics.jsonl``. :func:`load_run`
returns the trained model and the same network at its initial weights.

Presets (``PRESETS``):

- ``paper``: the paper's sizes (512 channels, GRU 256, 12 steps, 128
  negatives, 20480-sample windows, batch 8 per process, Adam 2e-4);
- ``cpu``: 32 channels, GRU 64, 5120-sample (0.32 s) windows, 8 negatives,
  batch 32, Adam 3e-3 with cosine decay over 6000 steps (about 0.1 CPU-second each) and at most
  9.9 minutes of wall clock (the budget is checked after each step).
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import torch

from multissl.engine import FitResult, TrainConfig, fit, load_checkpoint

from .cpc import CPC, CPCConfig
from .folder import AudioFolder
from .windows import RandomWindows, SpeakerGroupedBatches, split_segments

CONFIG_FILE = "config.json"


@dataclass
class CPCTrainOptions:
    """Optimiser and data options of a CPC run (besides the model and the engine settings)."""

    learning_rate: float = field(default=2e-4, metadata={"help": "Adam learning rate"})
    holdout: float = field(default=0.25, metadata={"help": "share of each speaker's utterances kept out of training "
                                                            "(the probe's test set; 0 trains on everything)"})
    split_seed: int = field(default=0, metadata={"help": "seed of the held-out utterance split"})
    speaker_group_size: int = field(default=0, metadata={"help": "windows per speaker group in a batch (0: plain shuffled "
                                                                  "batches; negatives=speaker defaults to 4)"})
    init_seed: int = field(default=0, metadata={"help": "seed of the model's initial weights"})
    lr_schedule: str = field(default="constant", metadata={"help": "constant, or cosine decay to 0 over --steps",
                                                             "choices": ("constant", "cosine")})


PRESETS: Dict[str, Dict[str, Dict[str, Any]]] = {
    "paper": {
        "cpc": {},
        "options": {"learning_rate": 2e-4},
        "train": {"batch_size": 8},
    },
    "cpu": {
        "cpc": {"encoder_channels": 32, "context_dim": 64, "window": 5120, "num_negatives": 8},
        "options": {"learning_rate": 3e-3, "lr_schedule": "cosine"},
        "train": {"batch_size": 32, "steps": 6000, "max_minutes": 9.9, "checkpoint_every": 500, "log_every": 50},
    },
}


def preset(name: str) -> Tuple[CPCConfig, CPCTrainOptions, Dict[str, Any]]:
    """(model config, options, engine overrides) of a preset."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
    p = PRESETS[name]
    return CPCConfig(**p["cpc"]), CPCTrainOptions(**p["options"]), dict(p["train"])


@dataclass
class TrainedRun:
    """What :func:`train_cpc` returns."""

    model: CPC
    folder: AudioFolder
    result: FitResult
    output_dir: Path


def _loader(dataset: RandomWindows, config: CPCConfig, options: CPCTrainOptions, train: TrainConfig):
    group = options.speaker_group_size or (4 if config.negatives == "speaker" else 0)
    if not group:
        return dataset
    if train.batch_size % group:
        raise ValueError(f"batch_size {train.batch_size} must be a multiple of speaker_group_size {group}")
    return SpeakerGroupedBatches(dataset, train.batch_size, group, seed=train.seed)


def _scheduler(optimizer, options: CPCTrainOptions, train: TrainConfig):
    """Cosine decay of the learning rate to 0 over ``train.steps`` (None for a constant rate)."""
    if options.lr_schedule == "constant":
        return None
    if options.lr_schedule != "cosine":
        raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {options.lr_schedule!r}")
    if not train.steps:
        raise ValueError("lr_schedule='cosine' needs a step count (--steps)")
    total = train.steps
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total) / total)))


def build_model(config: CPCConfig, init_seed: int) -> CPC:
    """A CPC model whose initial weights depend only on ``init_seed``."""
    state = torch.get_rng_state()
    try:
        torch.manual_seed(init_seed)
        return CPC(config)
    finally:
        torch.set_rng_state(state)


def train_cpc(
    data,
    output_dir,
    config: Optional[CPCConfig] = None,
    options: Optional[CPCTrainOptions] = None,
    train: Optional[TrainConfig] = None,
    speaker_pattern: Optional[str] = None,
    folder: Optional[AudioFolder] = None,
    preset_name: Optional[str] = None,
) -> TrainedRun:
    """Train CPC on the audio under ``data`` and write the run to ``output_dir``.

    ``config``/``options`` default to the ``cpu`` preset; ``train`` is the
    engine's :class:`~multissl.engine.TrainConfig` (its ``output_dir`` is set
    to ``output_dir``). A preloaded ``folder`` may be passed instead of
    re-reading ``data``.
    """
    base_cfg, base_opt, base_train = preset(preset_name or "cpu")
    config, options = config or base_cfg, options or base_opt
    train = train or TrainConfig(**base_train)
    out = Path(output_dir)
    train = TrainConfig(**{**asdict(train), "output_dir": str(out)})
    folder = folder or AudioFolder(data, config.sample_rate, speaker_pattern, verbose=train.verbose)
    if folder.sample_rate != config.sample_rate:
        raise ValueError(f"folder sample rate {folder.sample_rate} differs from the model's {config.sample_rate}")
    split = split_segments(folder, options.holdout, options.split_seed)
    dataset = RandomWindows(folder, split.train, config.window)
    model = build_model(config, options.init_seed)
    out.mkdir(parents=True, exist_ok=True)
    record = {
        "preset": preset_name, "cpc": config.as_dict(), "options": asdict(options), "train": asdict(train),
        "data": {"root": str(Path(folder.root).resolve()), "speaker_pattern": speaker_pattern, "utterances": len(folder),
                 "speakers": folder.num_speakers, "seconds": round(folder.seconds(), 1), "split": split.describe()},
    }
    (out / CONFIG_FILE).write_text(json.dumps(record, indent=2), encoding="utf-8")
    optimizer = torch.optim.Adam(model.parameters(), lr=options.learning_rate)
    scheduler = _scheduler(optimizer, options, train)
    result = fit(model, _loader(dataset, config, options, train), optimizer, train, scheduler=scheduler, metadata={"run": record})
    return TrainedRun(model, folder, result, out)


def read_run_config(run_dir) -> Dict[str, Any]:
    """The ``config.json`` of a run folder."""
    path = Path(run_dir) / CONFIG_FILE
    if not Path(run_dir).is_dir():
        raise FileNotFoundError(f"run folder {run_dir} does not exist")
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a CPC run folder: {path} is missing (train one with `multissl audio train-cpc`)")
    return json.loads(path.read_text(encoding="utf-8"))


def _dataclass(cls, values: Dict[str, Any]):
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in names})


def load_run(run_dir, map_location: str = "cpu") -> Tuple[CPC, CPC, Dict[str, Any]]:
    """(trained model, the same network at its initial weights, config.json) of a run folder."""
    record = read_run_config(run_dir)
    config = _dataclass(CPCConfig, record["cpc"])
    options = _dataclass(CPCTrainOptions, record.get("options", {}))
    trained = build_model(config, options.init_seed)
    trained.load_state_dict(load_checkpoint(run_dir, map_location=map_location)["model"])
    initial = build_model(config, options.init_seed)
    return trained.eval(), initial.eval(), record


__all__ = ["CONFIG_FILE", "CPCTrainOptions", "PRESETS", "TrainedRun", "build_model", "load_run", "preset", "read_run_config", "train_cpc"]
