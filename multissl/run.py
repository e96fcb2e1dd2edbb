"""The run folder: one format for every modality, and :func:`load_run` for all of them.

A run folder holds

- ``config.json``: ``{"multissl_version", "kind", "method", "init_seed",
  "recipe": {section: {field: value}}, "data": {...}, ...}`` — everything
  needed to rebuild the model and its initial weights;
- ``checkpoints/`` (``last.pt`` and numbered ones) and ``metrics.jsonl``,
  written by the engine (:func:`multissl.engine.fit`).

``kind`` is the modality (``"text"``, ``"audio"``, ``"video"``,
``"vision"``); :func:`load_run` reads ``config.json`` and hands the folder to
that modality's ``load_run``, which returns a :class:`Run`. Folders written
before the run layer existed (no ``kind``) are recognised by their keys.
"""
from __future__ import annotations

import importlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, TypeVar, Union

import torch
from torch import nn

from . import __version__
from . import distributed as dist_utils
from .engine.checkpoints import atomic_write_bytes
from .engine.tensorboard_log import remove_event_files
from .presets import Recipe
from .randomness import isolated_rng

CONFIG_FILE = "config.json"
KINDS = ("text", "audio", "video", "vision")
PathLike = Union[str, Path]
M = TypeVar("M")


@dataclass
class Run:
    """A trained run.

    Attributes:
        path: the run folder.
        kind: the modality (``"audio"``, ``"video"``, ``"vision"``, ``"text"``).
        method: the method trained (``"cpc"``, ``"colorizer"``, ``"simclr"``, ``"skipgram"`` ...).
        model: the trained model, in eval mode.
        initial: the same model at the weights training started from
            (rebuilt from the saved seed; the "random init" baseline).
        config: the run's ``config.json``.
        result: the engine's :class:`~multissl.engine.FitResult` when the
            run was just trained by ``train``; None when loaded.
    """

    path: Path
    kind: str
    method: str
    model: Any
    initial: Any
    config: Dict[str, Any]
    result: Any = None
    extras: Dict[str, Any] = field(default_factory=dict)

    @property
    def recipe(self) -> Dict[str, Dict[str, Any]]:
        """The settings the run was trained with, by section."""
        return self.config.get("recipe", {})


def seeded_build(factory: Callable[[], M], seed: int) -> M:
    """``factory()`` with torch's global generator seeded by ``seed`` inside a fork
    (the caller's RNG state is left as it was): the same seed gives the same initial weights."""
    with isolated_rng(seed):
        return factory()


def check_resumed_data(output: PathLike, resume: Any, given: Any, recorded: Callable[[Dict[str, Any]], Any]) -> None:
    """When ``resume`` continues the run in ``output``: the data ``given`` (a path, or a description of a user's data
    set) must be the data the run trained on (``recorded(config record)``), else a ValueError names both. Paths are
    compared resolved; a run that recorded no data is not checked."""
    if not resume or not (Path(output) / CONFIG_FILE).is_file():
        return
    before = recorded(read_run_config(output))
    if before is not None and data_identity(before) != data_identity(given):
        raise ValueError(f"cannot resume {output}: it trained on {before}, not {given} (resume on the run's data, or "
                         "--overwrite to start a new run on this data)")


def data_identity(source: Any) -> Any:
    """What tells one data source from another: an existing path as its resolved ``str``, a list or tuple as the
    list of its items' identities, anything else (a missing path, a data set's description) as it is."""
    if isinstance(source, (list, tuple)):
        return [data_identity(s) for s in source]
    if isinstance(source, (str, Path)) and Path(source).exists():
        return str(Path(source).resolve())
    return source


def load_run_weights(model: nn.Module, path: PathLike, record: Dict[str, Any], map_location: Any = None,
                     optional: Sequence[str] = ()) -> Dict[str, torch.Tensor]:
    """Load the newest readable checkpoint of run folder ``path`` into ``model`` (built from its ``config.json``
    ``record``) and return its state dict. A checkpoint whose weights are not that network's (one copied from
    another run) is a ValueError naming the run and the keys that differ; keys in ``optional`` may be missing
    (buffers added after older runs were written)."""
    from .engine import load_checkpoint

    state = load_checkpoint(path, map_location=map_location or "cpu")["model"]
    mismatch = f"the checkpoint of {path} does not hold the weights of its config.json's network (a " \
               f"{record.get('kind')} {record.get('method')} run)"
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as err:  # same names, other shapes
        shapes = [line.strip() for line in str(err).splitlines() if "size mismatch" in line]
        raise ValueError(f"{mismatch}: {len(shapes)} weight(s) of another shape (e.g. {shapes[0] if shapes else err}); "
                         "was it copied from another run?") from None
    missing = [k for k in missing if k not in optional]
    if missing or unexpected:
        sample = ", ".join([*missing[:3], *unexpected[:3]])
        raise ValueError(f"{mismatch}: {len(missing)} weight(s) missing, {len(unexpected)} unexpected (e.g. {sample}); "
                         "was it copied from another run?")
    return state


def write_run_config(output: PathLike, kind: str, method: str, init_seed: int, recipe: Dict[str, Any],
                     **extra: Any) -> Path:
    """Write ``output/config.json`` (creating the folder) and return its path; under torchrun rank 0 writes it
    and the other ranks wait until it is there."""
    return dist_utils.main_process_first(_write_run_config, output, kind, method, init_seed, recipe, **extra)


def _write_run_config(output: PathLike, kind: str, method: str, init_seed: int, recipe: Dict[str, Any], **extra: Any) -> Path:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    out = Path(output)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"run folder {out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    record = {"multissl_version": __version__, "kind": kind, "method": method, "init_seed": int(init_seed),
              "recipe": recipe, **extra}
    path = out / CONFIG_FILE
    # atomically: a start cut short by SIGKILL or Ctrl-C (multissl.interrupts) must leave a readable config for --resume
    atomic_write_bytes(path, json.dumps(record, indent=2, default=str).encode("utf-8"))
    return path


CORE_FILES = (CONFIG_FILE, "metrics.jsonl", "checkpoints")
RESUMABLE_SECTIONS = ("train",)  # settings a resumed run may change; the others must match the run's


def _holds_run(folder: Path) -> bool:
    checkpoints = folder / "checkpoints"
    return (folder / CONFIG_FILE).is_file() or (folder / "metrics.jsonl").is_file() or (
        checkpoints.is_dir() and any(checkpoints.iterdir()))


def _differences(old: Dict[str, Any], new: Dict[str, Any]) -> List[str]:
    """``section.field old -> new`` for every setting outside the resumable sections that changed."""
    out = []
    for section in sorted(set(old) | set(new)):
        if section in RESUMABLE_SECTIONS:
            continue
        a, b = old.get(section, {}), new.get(section, {})
        for name in sorted(set(a) | set(b)):
            va, vb = a.get(name), b.get(name)
            if (list(va) if isinstance(va, tuple) else va) != (list(vb) if isinstance(vb, tuple) else vb):
                out.append(f"{section}.{name} {va!r} -> {vb!r}")
    return out


def prepare_run_folder(output: PathLike, kind: str, method: str, recipe: Dict[str, Any], resume: Any = None,
                       overwrite: bool = False, files: Sequence[str] = (), check_settings: bool = True) -> Path:
    """Check a run folder before any work starts, so that two runs never mix and nothing fails after training.

    Under ``torchrun`` the process group comes up first and rank 0 alone checks,
    clears or creates the folder while the others wait; an error there is
    raised on every rank.

    - a folder that holds no run (missing or empty): created;
    - a run folder and ``resume``: its kind, method and settings (outside
      the ``train`` section) must match, else a ``ValueError`` names the
      differing fields;
    - a run folder and ``overwrite``: its run files (config, metrics,
      checkpoints and the modality's ``files``) are removed;
    - a run folder and neither: ``FileExistsError`` saying to pass resume or overwrite.
    """
    dist_utils.init_if_launched()
    return dist_utils.main_process_first(_prepare_run_folder, output, kind, method, recipe, resume, overwrite, files,
                                         check_settings)


def _prepare_run_folder(output: PathLike, kind: str, method: str, recipe: Dict[str, Any], resume: Any, overwrite: bool,
                        files: Sequence[str], check_settings: bool) -> Path:
    folder = Path(output)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"run folder {folder} exists and is not a folder")
    if resume and overwrite:
        raise ValueError("resume and overwrite exclude each other: continue the run or replace it")
    if folder.is_dir() and _holds_run(folder):
        if overwrite:
            for name in (*CORE_FILES, *files):
                target = folder / name
                if target.is_dir():
                    shutil.rmtree(target)
                elif target.exists():
                    target.unlink()
            remove_event_files(folder)
        elif resume:
            if (folder / CONFIG_FILE).is_file():
                _check_same_run(folder, kind, method, recipe if check_settings else None)
        else:
            raise FileExistsError(f"{folder} already holds a run; pass --resume to continue it or --overwrite to replace it "
                                  "(Python: resume='auto' or overwrite=True)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"cannot create the run folder {folder}: {err.strerror}") from None
    return folder


def _check_same_run(folder: Path, kind: str, method: str, recipe: Optional[Dict[str, Any]]) -> None:
    """The run in ``folder`` is a ``kind`` ``method`` run and (unless ``recipe`` is None: the modality checks its own)
    has the same settings outside ``train``."""
    record = read_run_config(folder)
    if record.get("kind") != kind or record.get("method", method) != method:
        raise ValueError(f"cannot resume {folder}: it is a {record.get('kind')} {record.get('method')} run, not {kind} {method}")
    if recipe is None:
        return
    changed = _differences(record.get("recipe", {}), recipe)
    if changed:
        raise ValueError(f"cannot resume {folder}: its settings differ: {'; '.join(changed)} "
                         "(resume with the run's settings, or --overwrite to start a new run)")


def _legacy_kind(record: Dict[str, Any]) -> Optional[str]:
    """The modality of a config.json written before the run layer (no ``kind`` key)."""
    if "task" in record and "backbone" in record:
        return "vision"
    if "cpc" in record:
        return "audio"
    if "clips" in record and "model" in record:
        return "video"
    return None


def read_run_config(path: PathLike, kind: Optional[str] = None) -> Dict[str, Any]:
    """The ``config.json`` of run folder ``path`` with its ``kind`` filled in.

    Raises ``FileNotFoundError`` when the folder or its config is missing,
    ``ValueError`` when it is not valid JSON, or is a run of another ``kind``.
    """
    folder = Path(path)
    if folder.is_file():
        raise NotADirectoryError(f"{folder} is a file, not a run folder (a folder with config.json and checkpoints/, "
                                 "written by `multissl <modality> train -o FOLDER`)")
    if not folder.is_dir():
        raise FileNotFoundError(f"run folder {folder} does not exist")
    config_file = folder / CONFIG_FILE
    if not config_file.is_file():
        what, command = (f"an {kind}" if kind in ("audio",) else f"a {kind}", kind) if kind else ("a multissl", "<modality>")
        raise FileNotFoundError(f"{folder} is not {what} run folder: {config_file} is missing "
                                f"(train one with `multissl {command} train`)")
    try:
        record = json.loads(config_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{config_file} is not valid JSON ({err})") from None
    if not isinstance(record, dict):
        raise ValueError(f"{config_file} does not hold a JSON object")
    record.setdefault("kind", _legacy_kind(record))
    if record["kind"] not in KINDS:
        raise ValueError(f"{config_file} names no kind of run (text, audio, video or vision), got {record['kind']!r}")
    legacy_method = {"audio": "cpc", "video": "colorizer"}.get(record["kind"], record.get("task"))
    record.setdefault("method", legacy_method)
    if not record["method"]:
        raise ValueError(f"{config_file} names no method")
    if kind is not None and record["kind"] != kind:
        raise ValueError(f"{folder} is a {record['kind']} run, not a {kind} run")
    return record


def stored_recipe(record: Dict[str, Any], sections: Dict[str, type],
                  legacy: Dict[str, Union[str, Callable[[Dict[str, Any]], Dict[str, Any]]]]) -> Recipe:
    """The :class:`~multissl.presets.Recipe` a run's ``config.json`` record was trained with.

    ``sections`` maps section names to their config classes. Folders written
    before the run layer have no ``"recipe"``: each section's values are read
    from ``legacy[section]``, a key of the old record or a function of it.
    """
    if "recipe" in record:
        return Recipe.from_dict(sections, record["recipe"])
    old = {name: (source(record) if callable(source) else record.get(source, {})) for name, source in legacy.items()}
    return Recipe.from_dict(sections, old)


def as_run(run: Union["Run", PathLike], kind: str) -> "Run":
    """``run`` checked (a :class:`Run`) or loaded (a folder): a ValueError naming both kinds unless it is a ``kind`` run."""
    if not isinstance(run, Run):
        return load_run(run, kind=kind)
    if run.kind != kind:
        raise ValueError(f"{run.path} is a {run.kind} run; this takes {kind} runs (multissl {kind} train)")
    return run


def load_run(path: PathLike, map_location: Union[str, torch.device, None] = None, kind: Optional[str] = None) -> Run:
    """Load any run folder: its modality's ``load_run`` rebuilds the model and its initial twin.

    Args:
        path: a run folder written by ``multissl.<modality>.train`` or
            ``multissl <modality> train``.
        map_location: where to load the weights (default: the CPU).
        kind: when given, a run of another modality is a ValueError naming both.
    Returns:
        a :class:`Run` (``.model``, ``.initial``, ``.config``, ``.kind``, ``.method``).
    """
    record = read_run_config(path)
    if kind is not None and record["kind"] != kind:
        raise ValueError(f"{path} is a {record['kind']} run; this takes {kind} runs (multissl {kind} train)")
    module = importlib.import_module(f"multissl.{record['kind']}")
    return module.load_run(path, map_location=map_location)


__all__ = ["CONFIG_FILE", "KINDS", "Run", "as_run", "check_resumed_data", "data_identity", "load_run", "load_run_weights", "prepare_run_folder", "read_run_config", "seeded_build", "stored_recipe",
           "write_run_config"]
