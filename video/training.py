"""Training the colorizer on a folder of videos, and loading a trained run.

The run folder is the core's (:mod:`multissl.run`): ``config.json`` (the
recipe, the propagation settings and evaluation size of the preset), the
engine's ``checkpoints/last.pt`` (weights including the colour clusters),
``metrics.jsonl`` and ``colour_clusters.json``.

Settings are a :class:`~multissl.presets.Recipe` with sections ``model``
(:class:`ColorizerConfig`), ``clips`` (:class:`ClipConfig`), ``optim`` (the
core's :class:`~multissl.optim.OptimConfig`: Adam by default), ``options``
(:class:`ColorizerOptions`) and ``train`` (the engine's
:class:`~multissl.engine.TrainConfig`). Presets:

- ``cpu`` (default): ResNet-18 of width 8 (output stride 8) and a 1x1
  projection (no dilated 3-D layers: with three of them the tracking J&F on
  held-out synthetic videos was 35-42 instead of 71 after 8 minutes), 64-d
  L2-normalised embeddings compared at temperature 0.05, no coordinate
  channels, colour rebalancing 0.5; 128 x 128 random crops of frames resized
  to a 256-pixel short side (16 x 16 features), clip frames sampled at 12 frames
  per second whatever the file's rate (2 apart in the 24 fps synthetic videos);
  batch 8, Adam 2e-3; propagation context 10 frames. Learns in minutes on two CPU cores.
- ``paper``: ResNet-18 of width 64, a 5-layer 3-D stack of 256 channels,
  64-d embeddings, 256 x 256 input (32 x 32 features), batch 32.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import InitVar, dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Union

import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset

from multissl.distributed import main_process_first
from multissl.engine import TrainConfig, fit
from multissl.holdout import check_holdout
from multissl.optim import OptimConfig, optim_for_run, optimizer_factory, schedule_for
from multissl.presets import Recipe, method_and_preset, moved_settings, preset_recipe, tracks_given
from multissl.progress import say
from multissl.randomness import isolated_rng
from multissl.threads import one_torch_thread
from multissl.run import Run, check_resumed_data, load_run_weights, prepare_run_folder, read_run_config, seeded_build, stored_recipe, write_run_config

from .colorizer import Colorizer, ColorizerConfig
from .dataset import ClipConfig, VideoFolder
from .heldout import split_holdout
from .propagation import PropagationConfig
from .user_clips import checked, clip_frames, is_user_data

PathLike = Union[str, Path]
METHODS = ("colorizer",)
DEFAULT_PRESET = "cpu"


@tracks_given
@dataclass
class ColorizerOptions:
    """Data options of a colorizer run (the optimiser is the ``optim`` section).

    The older arguments ``lr`` and ``holdout_videos`` still work, with a DeprecationWarning: they are ``optim.lr``
    and ``holdout`` now.
    """

    color_frames: int = field(default=200, metadata={"help": "frames sampled to fit the ab colour clusters"})
    backend: str = field(default="auto", metadata={"help": "video reader: auto (PyAV, decord for files PyAV cannot open), pyav, "
                                                           "decord", "choices": ["auto", "decord", "pyav"]})
    holdout: float = field(default=0, metadata={"help": "videos kept out of training, for evaluation (`video cycle`): a "
                                                        "share of them (< 1) or that many (a whole number >= 1), the last "
                                                        "in sorted path order; recorded in config.json", "min": 0})
    lr: InitVar[Optional[float]] = None
    holdout_videos: InitVar[Optional[int]] = None

    def __post_init__(self, lr, holdout_videos):
        check_holdout(self.holdout)
        moved_settings(self, lr=lr, holdout_videos=holdout_videos)


OPTIM_DEFAULTS = {"optimizer": "adam", "lr": 1e-3}
PRESETS: Dict[str, Dict[str, Dict[str, Any]]] = {
    "cpu": {
        "model": {"width": 8, "conv3d_layers": 0, "conv3d_channels": 64, "embed_dim": 64, "coords": False, "normalize": True,
                  "temperature": 0.05, "rebalance": 0.5},
        "clips": {"short_side": 256, "crop": 128, "stride": 2, "fps": 12.0, "clips_per_video": 400},
        "optim": {"lr": 2e-3},
        "train": {"batch_size": 8},
    },
    "paper": {
        "model": {},
        "clips": {"short_side": 256, "crop": 256, "clips_per_video": 400},
        "optim": {"lr": 1e-3},
        "train": {"batch_size": 32},
    },
}
# evaluation settings stored with a run (not training settings): label propagation and frame size
EVALUATION = {"cpu": {"propagation": {"context": 10}, "eval_short_side": 256},
              "paper": {"propagation": {}, "eval_short_side": 256}}
SECTIONS = {"model": ColorizerConfig, "clips": ClipConfig, "optim": OptimConfig, "options": ColorizerOptions, "train": TrainConfig}


def recipe(method: Optional[str] = None, *, preset: Optional[str] = None, model: Any = None, clips: Any = None,
           optim: Any = None, options: Any = None, train: Any = None, **overrides: Any) -> Recipe:
    """The settings of a run of ``method`` (``"colorizer"``, the default): preset ``preset`` (``"cpu"``, the default,
    or ``"paper"``) with the given sections (partial dataclasses or dicts) and flat ``overrides`` (any field of any
    section, e.g. ``max_minutes=8``) merged in field by field."""
    method, preset = method_and_preset("video", method, preset, METHODS, PRESETS, DEFAULT_PRESET)
    defaults = Recipe(model=ColorizerConfig(), clips=ClipConfig(), optim=OptimConfig(**OPTIM_DEFAULTS), options=ColorizerOptions(),
                      train=TrainConfig())
    base = preset_recipe(PRESETS, preset, defaults, "video")
    given = {k: v for k, v in {"model": model, "clips": clips, "optim": optim, "options": options, "train": train}.items()
             if v is not None}
    return base.apply(given, overrides)


@dataclass
class ColorizerRun(Run):
    """A colorizer run; adds the preset's label propagation settings and evaluation frame size."""

    @property
    def propagation(self) -> PropagationConfig:
        return PropagationConfig(**self.config.get("propagation", {}))

    @property
    def eval_short_side(self) -> int:
        return int(self.config["eval_short_side"])


def train(
    data: Union[PathLike, Sequence[PathLike], Dataset, IterableDataset, DataLoader],
    output: PathLike,
    method: Optional[str] = None,
    *,
    preset: Optional[str] = None,
    model: Any = None,
    clips: Any = None,
    optim: Any = None,
    options: Any = None,
    train: Any = None,
    **overrides: Any,
) -> ColorizerRun:
    """Train a colorizer on every video under ``data`` (or on a user's own clips) into the run folder ``output``.

    Args:
        data: a folder of videos and frame folders (searched recursively), one video, or a list of them
            (``holdout=N`` keeps the last N, sorted by path, out of training; ``holdout=0.1`` a tenth of them); or a user's torch
            ``Dataset`` / ``IterableDataset`` of clips (T, 3, H, W) float RGB in [0, 1] (T >= 2, H and W
            multiples of 8), or a ``DataLoader`` of batches (B, T, 3, H, W) of them
            (:mod:`multissl.video.user_clips`; the ``clips`` settings then do not apply).
        method: ``"colorizer"`` (the only video method).
        preset: ``"cpu"`` (default) or ``"paper"``.
        model, clips, optim, options, train: partial :class:`ColorizerConfig`,
            :class:`ClipConfig`, :class:`~multissl.optim.OptimConfig`, :class:`ColorizerOptions` and
            :class:`~multissl.engine.TrainConfig` (or dicts); ``seed`` (train) seeds the initial weights,
            the colour clusters and the data order; only the fields
            you set replace the preset's. With ``max_minutes`` and neither
            ``steps`` nor ``epochs``, training runs until the time is spent.
        **overrides: any field of those sections by name (``max_minutes=8``, ``crop=64``, ``data_mode="stream"``).
    Returns:
        a :class:`ColorizerRun` (``.model``, ``.initial``, ``.result``, ``.propagation``).
    """
    method, preset = method_and_preset("video", method, preset, METHODS, PRESETS, DEFAULT_PRESET)
    settings = recipe(method, preset=preset, model=model, clips=clips, optim=optim, options=options, train=train, **overrides)
    engine = TrainConfig(**{**settings.to_dict()["train"], "output_dir": str(output)})
    prepare_run_folder(output, "video", method, settings.to_dict(), engine.resume, engine.overwrite, files=("colour_clusters.json",))
    task = seeded_build(lambda: Colorizer(settings.model), engine.seed)
    data, record = _training_data(data, settings, engine.verbose)
    check_resumed_data(output, engine.resume, record["data"]["source"], lambda old: (old.get("data") or {}).get("source"))
    evaluation = EVALUATION[preset]
    propagation = PropagationConfig(**evaluation["propagation"]).as_dict()
    write_run_config(output, "video", method, engine.seed, settings.to_dict(), preset=preset, propagation=propagation,
                     eval_short_side=evaluation["eval_short_side"], **record)

    def fit_colours() -> None:  # in fit, while its workers decode the first batches
        with isolated_rng(engine.seed), one_torch_thread():  # reading and sampling frames leaves the caller's generators alone
            frames = _colour_frames(data, settings.options.color_frames, settings.clips.crop, engine.seed)
            task.fit_colors(frames, seed=engine.seed)
        main_process_first(_write_colour_clusters, Path(output) / "colour_clusters.json", task.quantizer.centers.tolist())

    optim = optim_for_run(settings.optim, engine)
    result = fit(task, data, optimizer_factory(optim), engine, scheduler=schedule_for(optim),  # made at step 1
                 metadata={"preset": preset, "clips": settings.clips.as_dict()}, prepare=fit_colours)
    initial = _initial_colorizer(settings.model, engine.seed, task.state_dict())
    return ColorizerRun(Path(output), "video", method, task.eval(), initial, read_run_config(output), result)


def _initial_colorizer(config: ColorizerConfig, seed: int, trained_state: Dict[str, torch.Tensor]) -> Colorizer:
    """The network at the weights training started from: rebuilt from the seed, with the colour clusters (fitted
    before step 1 and never trained) of ``trained_state``."""
    initial = seeded_build(lambda: Colorizer(config), seed)
    colours = {k: v for k, v in trained_state.items() if k.startswith("quantizer.") or k == "color_weights"}
    initial.load_state_dict(colours, strict=False)
    return initial.eval()


def _training_data(videos: Any, settings: Recipe, verbose: bool):
    """(the data ``fit`` trains on, config.json's record of it); says on one line how clips are read."""
    if is_user_data(videos):
        if settings.options.holdout:
            raise ValueError("holdout needs a folder of videos; hold clips out of your own data set yourself")
        data = checked(videos)
        say(f"training on the clips of a user {type(videos).__name__} (data_mode does not apply)", verbose)
        return data, {"data": {"source": f"user {type(videos).__name__}", "mode": "user data"}, "videos": [], "holdout_videos": []}
    sources, held_out = split_holdout(videos, settings.options.holdout)
    data = VideoFolder(sources, settings.clips, backend=settings.options.backend, verbose=verbose)
    say(data.summary(), verbose)
    source = [str(v) for v in videos] if isinstance(videos, (list, tuple)) else str(videos)
    return data, {"data": {"source": source, **data.data_record()},
                  "videos": [str(Path(v.path).resolve()) for v in data.videos],  # absolute: `video cycle` matches them from anywhere
                  "holdout_videos": [str(p.resolve()) for p in held_out]}


def _colour_frames(data: Any, count: int, crop: Optional[int], seed: int) -> torch.Tensor:
    """(N, 3, H, W) frames to fit the colour clusters on: a crop-sized window of cheap frames of the videos (the
    colours training sees), or frames of the user's clips."""
    return data.sample_frames(count, seed=seed, window=crop) if isinstance(data, VideoFolder) else clip_frames(data, count)


def _write_colour_clusters(path: Path, centers: list) -> None:
    path.write_text(json.dumps(centers), encoding="utf-8")


def train_colorizer(videos, output, preset_name: str = "cpu", train_config: Optional[TrainConfig] = None,
                    model: Optional[ColorizerConfig] = None, clips: Optional[ClipConfig] = None, lr: Optional[float] = None,
                    color_frames: int = 200, backend: str = "auto", **kwargs: Any):
    """Deprecated spelling of :func:`train`; returns ``(model, FitResult)`` as before."""
    warnings.warn("multissl.video.train_colorizer is deprecated; use multissl.video.training(videos, output, ...)",
                  DeprecationWarning, stacklevel=2)
    train_config = kwargs.pop("train", train_config)
    options = {"color_frames": color_frames, "backend": backend}
    run = train(videos, output, "colorizer", preset=preset_name, model=model, clips=clips, optim={"lr": lr} if lr is not None else None,
                options=options, train=train_config)
    return run.model, run.result


LEGACY_SECTIONS = {"model": "model", "clips": "clips", "optim": lambda record: {"lr": record["lr"]} if "lr" in record else {},
                   "options": lambda record: {}, "train": lambda record: {}}


def load_run(path: PathLike, map_location=None) -> ColorizerRun:
    """Rebuild the colorizer of a run folder from ``config.json`` and ``checkpoints/last.pt``.

    ``.initial`` is the network at the weights training started from: rebuilt
    from the run's seed, with the colour clusters fitted before training.
    """
    path = Path(path)
    record = read_run_config(path, kind="video")
    settings = stored_recipe(record, SECTIONS, LEGACY_SECTIONS)
    seed = int(record.get("init_seed", 0))
    model = seeded_build(lambda: Colorizer(settings.model), seed)
    state = load_run_weights(model, path, record, map_location, optional=("color_weights",))  # older runs lack it
    return ColorizerRun(path, "video", record.get("method", "colorizer"), model.eval(), _initial_colorizer(settings.model, seed, state),
                        record)


__all__ = ["ColorizerOptions", "ColorizerRun", "DEFAULT_PRESET", "EVALUATION", "METHODS", "PRESETS", "SECTIONS", "load_run",
           "recipe", "train", "train_colorizer"]
