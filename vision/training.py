"""Train a vision method from Python: ``multissl.vision.train(data, output, method, **overrides) -> Run``.

Settings are a :class:`~multissl.presets.Recipe` with sections ``task`` (the
method's config, e.g. :class:`SimCLRConfig`), ``backbone``
(:class:`BackboneConfig`), ``optim`` (:class:`OptimConfig`) and ``train``
(the engine's :class:`~multissl.engine.TrainConfig`). :func:`recipe` starts
from the method's defaults in :mod:`multissl.vision.registry` (the same ones
``multissl vision train METHOD`` shows) and merges what the caller gives
field by field. Used by the CLI, the examples, the demo and the benchmarks.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, List, Optional, Tuple, Union

import torch
from torch.utils.data import DataLoader, Dataset

from multissl.engine import FitResult, TrainConfig, fit
from multissl.presets import Recipe, method_and_preset
from multissl.progress import say
from multissl.run import Run, check_resumed_data, prepare_run_folder, seeded_build
from multissl.optim import OptimConfig, optim_for_run, schedule_for
from multissl.optim import make_optimizer as optimizer_from_config
from multissl.setting_checks import check_value

from .batch_augment import MIN_IMAGE_SIDE
from .data import ImageSplits, describe_splits
from .streaming import ImageStreams, open_images
from .user_data import UserImages
from .encoder import BackboneConfig
from .registry import (AUTO_SIZE, DEFAULT_PRESET, PRESETS, SIZE_RECIPES, TASKS, TRAIN_DEFAULTS, build_task, size_recipe_for,
                       size_recipe_values, task_spec)
from .run import save_run_config, vision_run
from .tasks.base import PretextTask, TaskConfig


OPTIM_DEFAULTS = {"optimizer": "adamw", "lr": 2e-3, "weight_decay": 1e-4, "warmup": 100}  # before a method's own


def _param_groups(task: torch.nn.Module, lr: float) -> List[dict]:
    """One optimiser group per learning-rate multiplier the task asks for (``PretextTask.lr_scales``)."""
    scales = task.lr_scales() if hasattr(task, "lr_scales") else [([p for p in task.parameters() if p.requires_grad], 1.0)]
    return [{"params": params, "lr": lr * scale} for params, scale in scales if params]


def make_optimizer(task: torch.nn.Module, cfg: OptimConfig, total_steps: Optional[int] = None):
    """(optimizer, :class:`~multissl.schedules.LRSchedule`); parameter groups follow the task's ``lr_scales()``.

    The schedule runs on training progress (the engine drives it), so no
    length is needed here; ``total_steps`` is accepted for older callers and ignored.
    """
    optimizer = optimizer_from_config(_param_groups(task, cfg.lr), cfg)
    return optimizer, schedule_for(cfg)(optimizer)


SECTIONS = ("task", "backbone", "optim", "train")


def recipe(method: Optional[str] = None, *, preset: Optional[str] = None, task: Any = None, backbone: Any = None,
           optim: Any = None, train: Any = None, size_recipe: str = "32px", **overrides: Any) -> Recipe:
    """The settings of a vision run: method ``method``'s defaults (registry), preset ``preset`` (``"cpu"``, the
    default), then image-size recipe ``size_recipe`` (``"32px"``: the defaults; ``"64px"``:
    :data:`~multissl.vision.registry.SIZE_RECIPES`), with the given sections (partial dataclasses or dicts) and flat
    ``overrides`` (any field of any section) merged in field by field."""
    method, preset, size_recipe = _method_preset_size(method, preset, size_recipe)
    if size_recipe == AUTO_SIZE:
        size_recipe = "32px"
    spec = task_spec(method)
    base = Recipe(task=spec.config(), backbone=BackboneConfig(), optim=OptimConfig(**OPTIM_DEFAULTS), train=TrainConfig())
    base = base.apply({"optim": dict(spec.optim_defaults), "train": {**TRAIN_DEFAULTS, **spec.defaults}})
    base = base.apply({section: dict(values) for section, values in PRESETS[preset].items()})
    base = base.apply(size_recipe_values(size_recipe, method))
    given = {k: v for k, v in {"task": task, "backbone": backbone, "optim": optim, "train": train}.items() if v is not None}
    return base.apply(given, overrides)


def _method_preset_size(method: Optional[str], preset: Optional[str], size_recipe: str) -> Tuple[str, str, str]:
    """(method, preset, size_recipe); an image-size name given as ``preset`` (the older spelling) is taken as the
    ``size_recipe``, with a DeprecationWarning."""
    if method is None:
        raise ValueError(f"vision needs a method; choose from {sorted(TASKS)}")
    if preset in (*SIZE_RECIPES, AUTO_SIZE):
        warnings.warn(f"vision: preset={preset!r} names an image-size recipe; pass size_recipe={preset!r} (--size-recipe): "
                      "preset names a compute budget in every modality", DeprecationWarning, stacklevel=3)
        preset, size_recipe = None, preset
    method, preset = method_and_preset("vision", method, preset, sorted(TASKS), PRESETS, DEFAULT_PRESET)
    if size_recipe not in (*SIZE_RECIPES, AUTO_SIZE):
        raise ValueError(f"unknown vision size_recipe {size_recipe!r}; choose from {sorted(SIZE_RECIPES) + [AUTO_SIZE]}")
    return method, preset, size_recipe


def _open_data(data: Any, root: Optional[str], image_size: Optional[int], seed: int, data_mode: str):
    """``(images, spec, how)``: the data as :class:`ImageSplits` (in memory), :class:`ImageStreams` (read from disk
    while training) or :class:`UserImages` (a user's Dataset or DataLoader); what to record; how it is read."""
    if isinstance(data, ImageSplits):
        return data, data.name or "ImageSplits", "held in memory (ImageSplits given)"
    if isinstance(data, (Dataset, DataLoader)) or (not isinstance(data, (str, Path)) and hasattr(data, "__iter__")):
        images = UserImages.of(data, image_size)
        return images, images.name, "the user's data, read by its own loader" if isinstance(data, DataLoader) else \
            "the user's data set, batched by the engine"
    images, how = open_images(str(data), root, image_size, seed, data_mode)
    return images, str(data), how


def train(
    data: Union[str, Path, ImageSplits, Dataset, DataLoader],
    output: Optional[Union[str, Path]],
    method: Optional[str] = None,
    *,
    preset: Optional[str] = None,
    task: Any = None,
    backbone: Any = None,
    optim: Any = None,
    train: Any = None,
    root: Optional[str] = None,
    image_size: Optional[int] = None,
    size_recipe: str = AUTO_SIZE,
    data_mode: str = "auto",
    callbacks=(),
    **overrides: Any,
) -> Run:
    """Train vision method ``method`` on the train split of ``data``; write the run folder ``output``.

    Args:
        data: an ImageFolder root or a folder of images, a list file of image
            paths (and labels), an ``.npz`` (x_train, y_train, x_test, y_test) or
            ``.npy`` of images, ``"digits"``, ``"shapes"``, ``"skimage"``, a
            torchvision name with ``root``, loaded :class:`ImageSplits`, or your own
            ``Dataset`` / ``IterableDataset`` / ``DataLoader`` (items ``(image (C, H, W)
            uint8, label)``, label -1 when unknown; a DataLoader yields such batches;
            ``image_size`` is then required unless a Dataset's first item shows it).
        output: the run folder (None: train without writing anything).
        method: a registry name (``multissl vision methods``): ``"simclr"``, ``"rotation"`` ...
        task, backbone, optim, train: partial section configs or dicts; only
            the fields you set replace the method's defaults.
        image_size: the training side (crop size); default: the images' side when
            they all have one square size, else 96 (at most their median short side).
        preset: ``"cpu"`` (the default: the registry's recipes, minutes on a CPU).
        size_recipe: image-size recipe, ``"auto"`` (``"64px"`` for images of 64
            pixels or more, else ``"32px"``), ``"32px"`` or ``"64px"``; recorded in the run.
        data_mode: ``"auto"`` (held in memory when decoded at the training side it
            fits the memory budget and the images are not much larger than that;
            else read from disk in worker processes), ``"memory"`` or ``"stream"``.
        **overrides: any field of any section by name (``max_minutes=5``, ``temperature=0.2``).
    Returns:
        the :class:`~multissl.run.Run` (``.model`` trained, ``.initial``, ``.result``).
    """
    method, preset, size_recipe = _method_preset_size(method, preset, size_recipe)
    sections = dict(task=task, backbone=backbone, optim=optim, train=train)
    seed = recipe(method, preset=preset, **sections, **overrides).train.seed
    if image_size is not None:
        image_size = check_value("image_size", int, image_size, minimum=1)
    images, data_spec, how = _open_data(data, root, image_size, seed, data_mode)
    _check_trainable_size(images.image_size)
    size = images.image_size[0]
    size_recipe = size_recipe_for(size) if size_recipe == AUTO_SIZE else size_recipe
    settings = recipe(method, preset=preset, size_recipe=size_recipe, **sections, **overrides)
    engine = TrainConfig(**{**settings.to_dict()["train"], "output_dir": str(output) if output is not None else None})
    if output is not None:
        prepare_run_folder(output, "vision", method, settings.to_dict(), engine.resume, engine.overwrite)
        check_resumed_data(output, engine.resume, data_spec, lambda record: record.get("data"))
    num_classes = len(images.classes) if images.has_labels else 0

    def build() -> PretextTask:
        return build_task(method, settings.task, settings.backbone, images.channels, size, num_classes)

    net = seeded_build(build, engine.seed)  # the initialisation is part of the run: load_run rebuilds it from the seed
    say(f"data {describe_images(images)}; {how}", engine.verbose)
    record = None
    if output is not None:
        record = save_run_config(output, method, settings, images.channels, size, num_classes, engine.seed, data_spec, preset,
                                 data_mode=_mode_of(images), size_recipe=size_recipe)
    optimizer, scheduler = make_optimizer(net, optim_for_run(settings.optim, engine))
    dataset = images.train_dataset() if isinstance(images, (ImageSplits, UserImages)) else images.train_dataset(net.view_crops())
    result = fit(net, dataset, optimizer, engine, scheduler=scheduler, callbacks=callbacks, metadata={"task": method})
    return vision_run(Path(output) if output is not None else None, method, net.eval(), seeded_build(build, engine.seed).eval(),
                      record or {}, result, image_size=size)


def _check_trainable_size(image_size) -> None:
    h, w = image_size
    if min(h, w) < MIN_IMAGE_SIDE:
        raise ValueError(f"the images are {h}x{w} px, too small to train on (at least {MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE}); "
                         f"image_size={MIN_IMAGE_SIDE} (--image-size {MIN_IMAGE_SIDE}) or more resizes them")


def describe_images(images) -> str:
    """One line on the data a run trains on (in memory, streamed or the user's)."""
    return describe_splits(images) if isinstance(images, ImageSplits) else images.describe()


def _mode_of(images) -> str:
    return "memory" if isinstance(images, ImageSplits) else "stream" if isinstance(images, ImageStreams) else "user"


def train_task(name: str, splits: ImageSplits, task_config: Optional[TaskConfig] = None, backbone: Optional[BackboneConfig] = None,
               optim: Optional[OptimConfig] = None, train_config: Optional[TrainConfig] = None, data_spec: str = "",
               callbacks=(), **kwargs: Any) -> Tuple[PretextTask, FitResult]:
    """Deprecated spelling of :func:`train`; returns ``(task, FitResult)`` and writes to ``train.output_dir``."""
    warnings.warn("multissl.vision.training.train_task is deprecated; use multissl.vision.train(data, output, method, ...)",
                  DeprecationWarning, stacklevel=2)
    train_config = kwargs.pop("train", train_config) or TrainConfig()
    if data_spec:
        splits = ImageSplits(splits.x_train, splits.y_train, splits.x_test, splits.y_test, splits.classes, data_spec)
    run = globals()["train"](splits, train_config.output_dir, name, task=task_config, backbone=backbone, optim=optim,
                             train=train_config, callbacks=callbacks)
    return run.model, run.result


__all__ = ["OptimConfig", "SECTIONS", "make_optimizer", "recipe", "train", "train_task"]
