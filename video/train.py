"""Training the colorizer on a folder of videos, and loading a trained run.

A run folder holds ``config.json`` (model, clip and propagation settings,
the preset) and the engine's ``checkpoints/last.pt`` (weights including the
colour clusters), ``metrics.jsonl`` and ``colour_clusters.json``.

Presets:

- ``cpu``: ResNet-18 of width 8 (output stride 8) and a 1x1 projection
  (no dilated 3-D layers: with three of them the tracking J&F on held-out
  synthetic videos was 35-42 instead of 71 after 8 minutes), 64-d
  L2-normalised embeddings compared at temperature 0.05, no coordinate
  channels, colour rebalancing 0.5; 128 x 128 random crops of frames resized
  to a 256-pixel short side (16 x 16 features), clip frames 2 apart; batch 8,
  Adam 2e-3; propagation context 10 frames. Learns in minutes on two CPU cores.
- ``paper``: ResNet-18 of width 64, a 5-layer 3-D stack of 256 channels,
  64-d embeddings, 256 x 256 input (32 x 32 features), batch 32.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Union

import torch

from multissl.engine import TrainConfig, fit, load_checkpoint, seed_everything

from .colorizer import Colorizer, ColorizerConfig
from .dataset import ClipConfig, VideoFolder
from .propagation import PropagationConfig

PathLike = Union[str, Path]
CONFIG_FILE = "config.json"


@dataclass
class Preset:
    model: ColorizerConfig
    clips: ClipConfig
    batch_size: int
    lr: float
    eval_short_side: int
    propagation: PropagationConfig = field(default_factory=PropagationConfig)


PRESETS: Dict[str, Preset] = {
    "cpu": Preset(
        model=ColorizerConfig(width=8, conv3d_layers=0, conv3d_channels=64, embed_dim=64, coords=False, normalize=True,
                              temperature=0.05, rebalance=0.5),
        clips=ClipConfig(short_side=256, crop=128, stride=2, clips_per_video=400),
        batch_size=8, lr=2e-3, eval_short_side=256, propagation=PropagationConfig(context=10),
    ),
    "paper": Preset(
        model=ColorizerConfig(),
        clips=ClipConfig(short_side=256, crop=256, clips_per_video=400),
        batch_size=32, lr=1e-3, eval_short_side=256,
    ),
}


def preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {name!r}")
    return PRESETS[name]


def save_run_config(output: PathLike, model: ColorizerConfig, clips: ClipConfig, propagation: PropagationConfig,
                    eval_short_side: int, extra: Optional[Dict[str, Any]] = None) -> Path:
    path = Path(output) / CONFIG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"model": model.as_dict(), "clips": clips.as_dict(), "propagation": propagation.as_dict(),
               "eval_short_side": eval_short_side, **(extra or {})}
    path.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return path


def train_colorizer(
    videos: Union[PathLike, Sequence[PathLike]],
    output: PathLike,
    preset_name: str = "cpu",
    train: Optional[TrainConfig] = None,
    model: Optional[ColorizerConfig] = None,
    clips: Optional[ClipConfig] = None,
    lr: Optional[float] = None,
    color_frames: int = 200,
    backend: str = "auto",
):
    """Train a colorizer on every video under ``videos`` into the run folder ``output``.

    Args:
        preset_name: ``"cpu"`` or ``"paper"``; ``model``/``clips``/``lr`` override it.
        train: engine settings (steps, max_minutes, seed, resume, ...);
            ``train.batch_size`` is used as given (the CLI fills in the
            preset's). With ``max_minutes`` and neither ``steps`` nor
            ``epochs``, training runs until the time is spent.
        color_frames: frames sampled to fit the 16 ab colour clusters.
    Returns:
        (the trained :class:`Colorizer`, the engine's ``FitResult``).
    """
    p = preset(preset_name)
    model_cfg, clip_cfg = model or p.model, clips or p.clips
    train = train or TrainConfig(batch_size=p.batch_size)
    train = replace(train, output_dir=str(output))
    seed_everything(train.seed)
    data = VideoFolder(videos, clip_cfg, backend=backend, verbose=train.verbose)
    task = Colorizer(model_cfg)
    task.fit_colors(data.sample_frames(color_frames, seed=train.seed), seed=train.seed)
    save_run_config(output, model_cfg, clip_cfg, p.propagation, p.eval_short_side,
                    {"preset": preset_name, "videos": [str(r.path) for r in data.readers], "lr": lr or p.lr})
    (Path(output) / "colour_clusters.json").write_text(json.dumps(task.quantizer.centers.tolist()), encoding="utf-8")
    optimizer = torch.optim.Adam(task.parameters(), lr=lr or p.lr)
    result = fit(task, data, optimizer, train, metadata={"preset": preset_name, "clips": clip_cfg.as_dict()})
    return task, result


@dataclass
class Run:
    """A trained run: the colorizer (eval mode) and its settings."""

    model: Colorizer
    propagation: PropagationConfig
    eval_short_side: int
    config: Dict[str, Any]
    path: Path


def load_run(path: PathLike, map_location: str = "cpu") -> Run:
    """Rebuild the colorizer of a run folder from ``config.json`` and ``checkpoints/last.pt``."""
    path = Path(path)
    config_file = path / CONFIG_FILE
    if not config_file.is_file():
        raise FileNotFoundError(f"{path} is not a colorizer run: {config_file} is missing")
    config = json.loads(config_file.read_text(encoding="utf-8"))
    model = Colorizer(ColorizerConfig(**config["model"]))
    checkpoint = load_checkpoint(path, map_location=map_location)
    missing, unexpected = model.load_state_dict(checkpoint["model"], strict=False)
    missing = [k for k in missing if k != "color_weights"]  # runs saved before colour rebalancing existed
    if missing or unexpected:
        raise ValueError(f"checkpoint of {path} does not match its config.json: missing {missing}, unexpected {unexpected}")
    model.eval()
    return Run(model, PropagationConfig(**config["propagation"]), int(config["eval_short_side"]), config, path)


__all__ = ["PRESETS", "Preset", "Run", "load_run", "preset", "save_run_config", "train_colorizer"]
