"""A vision run folder on the core run layer (:mod:`multissl.run`): write its config, load it back."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional

from multissl.presets import Recipe
from multissl.run import Run, load_run_weights, read_run_config as _read_run_config, seeded_build, stored_recipe, write_run_config

from .data import ImageSplits, load_images, match_channels
from .encoder import BackboneConfig
from .registry import build_task, task_spec
from .tasks.base import PretextTask


def save_run_config(run_dir, method: str, settings: Recipe, in_channels: int, image_size: int, num_classes: int,
                    seed: int, data: str, preset: str = "cpu", data_mode: str = "memory", size_recipe: str = "32px") -> Dict[str, Any]:
    """Write ``run_dir/config.json`` for a vision run (``preset``: the compute-budget preset; ``size_recipe``: the
    image-size recipe used; ``data_mode``: how the data was read, memory, stream or user) and return the record."""
    path = write_run_config(run_dir, "vision", method, seed, settings.to_dict(), in_channels=in_channels,
                            image_size=image_size, num_classes=num_classes, data=data, preset=preset, data_mode=data_mode,
                            size_recipe=size_recipe)
    return read_run_config(path.parent)


def read_run_config(run_dir) -> Dict[str, Any]:
    """The ``config.json`` of a vision run folder (folders written before the run layer too)."""
    return _read_run_config(run_dir, kind="vision")


def _with_legacy_values(record: Dict[str, Any], config_class: type) -> Dict[str, Any]:
    """``record`` with the task fields it lacks set to ``config_class.legacy_values``: the behaviour runs had
    before those fields existed (a newer default would rebuild a different network than the checkpoint's)."""
    legacy = getattr(config_class, "legacy_values", {})
    if not legacy:
        return record
    if "recipe" in record:
        stored = record["recipe"].get("task", {})
        return {**record, "recipe": {**record["recipe"], "task": {**legacy, **stored}}}
    return {**record, "task_config": {**legacy, **record.get("task_config", {})}}


def _sections(record: Dict[str, Any]) -> Recipe:
    """The task and backbone sections of a record, new or legacy layout."""
    spec = task_spec(record.get("method") or record["task"])
    record = _with_legacy_values(record, spec.config)
    return stored_recipe(record, {"task": spec.config, "backbone": BackboneConfig}, {"task": "task_config", "backbone": "backbone"})


def build_from_config(record: Dict[str, Any]) -> PretextTask:
    """A freshly initialised task as described by a run's config.json (the global RNG is used as it is)."""
    sections = _sections(record)
    method = record.get("method") or record["task"]
    return build_task(method, sections.task, sections.backbone, record["in_channels"], record["image_size"],
                      record.get("num_classes", 0))


def vision_run(path: Optional[Path], method: str, model: PretextTask, initial: PretextTask, record: Dict[str, Any],
               result: Any = None, image_size: Optional[int] = None) -> Run:
    """The :class:`~multissl.run.Run` of a vision method; both networks remember the side they were trained on
    (``train_image_size``: ``image_size``, else the record's), so that features of other sizes are flagged."""
    side = image_size or record.get("image_size")
    for task in (model, initial):
        task.train_image_size = int(side) if side else None
    return Run(path, "vision", method, model, initial, record, result)


def load_run(path, map_location=None) -> Run:
    """The trained task of a run folder and the same task at its initial weights, as a :class:`~multissl.run.Run`.

    The initial twin is rebuilt from the run's seed, so it is exactly the
    initialisation training started from.
    """
    record = read_run_config(path)
    seed = int(record.get("init_seed", record.get("seed", 0)))
    initial = seeded_build(lambda: build_from_config(record), seed)
    trained = seeded_build(lambda: build_from_config(record), seed)
    load_run_weights(trained, path, record, map_location)
    method = record.get("method") or record["task"]
    return vision_run(Path(path), method, trained.eval(), initial.eval(), record)


def load_for_run(run: Run, data, root: Optional[str] = None, image_size: Optional[int] = None) -> ImageSplits:
    """``data`` (a spec for :func:`~multissl.vision.data.load_images`, or :class:`ImageSplits` used as given) as the
    run's network takes it: resized to the run's training side (or ``image_size``) and with its channel count
    (grey repeated to RGB or RGB made grey, with a warning)."""
    if not isinstance(data, ImageSplits):
        data = load_images(str(data), root, image_size or run.config.get("image_size"))
    return match_channels(data, int(run.config.get("in_channels", data.channels)))


def open_for_run(run: Run, data, root: Optional[str] = None, image_size: Optional[int] = None, data_mode: str = "auto"):
    """Like :func:`load_for_run`, but a large data set comes back streamed (:class:`ImageStreams`, decoded in worker
    processes when its features are taken) instead of decoded into memory; ``data_mode`` as in ``vision.train``."""
    from .streaming import ImageStreams, open_images

    if isinstance(data, ImageSplits):
        return load_for_run(run, data)
    images, _ = open_images(str(data), root, image_size or run.config.get("image_size"), data_mode=data_mode)
    return images if isinstance(images, ImageStreams) else load_for_run(run, images)


__all__ = ["build_from_config", "load_for_run", "load_run", "open_for_run", "read_run_config", "save_run_config", "vision_run"]
