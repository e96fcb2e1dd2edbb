"""Small pretrained weights shipped inside the package, and the command that rebuilds each.

A shipped model is a minimal run folder under ``multissl/weights/NAME/``:
``config.json`` (the run's settings, plus a ``"pretrained"`` record of how it
was built) and ``checkpoints/last.pt`` holding only the model's weights in
float16 (each file at most :data:`MAX_BYTES`). :func:`multissl.run.load_run`
reads it like any run, so ``load_pretrained(NAME).model`` is the network and
``.initial`` the same network at its initial weights.

Each entry of :data:`REGISTRY` names a builder, ``module:function`` with the
signature ``build(work_dir: Path, seed: int) -> Path`` (the run folder it
trained; it makes its own data, trains a fixed number of steps and is
reproducible from ``seed``). ``multissl pretrained build NAME`` runs it and
exports the result over the shipped copy; ``multissl pretrained list`` shows
what is shipped.
"""
from __future__ import annotations

import argparse
import datetime
import importlib
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Union

import torch

from .run import CONFIG_FILE, Run, load_run

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
MAX_BYTES = 2 * 1024 * 1024
PathLike = Union[str, Path]


@dataclass(frozen=True)
class Pretrained:
    """One shipped model: its name, the builder that trains it, and what it is."""

    name: str
    builder: str
    description: str

    @property
    def command(self) -> str:
        return f"multissl pretrained build {self.name}"


REGISTRY: Dict[str, Pretrained] = {p.name: p for p in (
    Pretrained("audio-cpc-synth", "multissl.audio.demo:build_pretrained",
               "CPC (cpu preset, 3000 steps) on 24 synthetic espeak-ng speakers drawn with seeds the demo never uses"),
    Pretrained("video-colorizer-synth", "multissl.video.demo:build_pretrained",
               "colorizer (cpu preset, 3000 steps) on 12 synthetic videos drawn with seeds the demo never uses"),
    Pretrained("vision-shapes", "multissl.vision.demo:build_pretrained",
               "rotation prediction (resnet10 width 8, 2000 steps) on 20 000 generated shapes the demo never uses"),
)}


def _entry(name: str) -> Pretrained:
    if name not in REGISTRY:
        raise ValueError(f"unknown pretrained model {name!r}; choose from {sorted(REGISTRY)}")
    return REGISTRY[name]


def pretrained_path(name: str, root: Optional[PathLike] = None) -> Path:
    """The folder of shipped model ``name`` (``root`` defaults to the package's ``weights/``)."""
    _entry(name)
    return Path(root or WEIGHTS_DIR) / name


def load_pretrained(name: str, root: Optional[PathLike] = None) -> Run:
    """The shipped model ``name`` as a :class:`~multissl.run.Run` (weights cast to float32).

    Raises ``FileNotFoundError`` saying how to build it when it is not there.
    """
    folder = pretrained_path(name, root)
    if not (folder / CONFIG_FILE).is_file():
        raise FileNotFoundError(f"no shipped model {name!r} in {folder}; build it with `{_entry(name).command}`")
    return load_run(folder)


def describe(name: str, root: Optional[PathLike] = None) -> Dict[str, object]:
    """The ``"pretrained"`` record of a shipped model's config.json (steps, seconds, command, date)."""
    config = json.loads((pretrained_path(name, root) / CONFIG_FILE).read_text(encoding="utf-8"))
    return config.get("pretrained", {})


def export_run(run_dir: PathLike, dest: PathLike, record: Dict[str, object], max_bytes: int = MAX_BYTES) -> Path:
    """Write run ``run_dir``'s config and its newest weights as float16 to folder ``dest`` (replaced).

    ``record`` is stored as config.json's ``"pretrained"`` entry. Raises
    ``ValueError`` when the weights file would exceed ``max_bytes``.
    """
    from .engine.checkpoints import load_checkpoint

    run_dir, dest = Path(run_dir), Path(dest)
    checkpoint = load_checkpoint(run_dir)
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in checkpoint["model"].items()}
    staging = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "checkpoints").mkdir(parents=True)
    weights = staging / "checkpoints" / "last.pt"
    torch.save({"model": state, "step": checkpoint.get("step")}, weights)
    size = weights.stat().st_size
    if size > max_bytes:
        shutil.rmtree(staging)
        raise ValueError(f"{run_dir}: float16 weights take {size} bytes, over the {max_bytes}-byte limit for shipped models")
    config = json.loads((run_dir / CONFIG_FILE).read_text(encoding="utf-8"))
    config["pretrained"] = {**record, "step": checkpoint.get("step"), "bytes": size}
    (staging / CONFIG_FILE).write_text(json.dumps(config, indent=2, default=str), encoding="utf-8")
    shutil.rmtree(dest, ignore_errors=True)
    staging.rename(dest)
    return dest


def build(name: str, work_dir: PathLike, seed: int = 0, dest: Optional[PathLike] = None) -> Path:
    """Train shipped model ``name`` from scratch in ``work_dir`` and export it to ``dest``
    (default: the package's ``weights/NAME``, replacing the shipped copy); returns ``dest``."""
    entry = _entry(name)
    module, function = entry.builder.split(":")
    builder = getattr(importlib.import_module(module), function)
    started = time.perf_counter()
    run_dir = builder(Path(work_dir), seed)
    seconds = time.perf_counter() - started
    record = {"name": name, "command": entry.command + (f" --seed {seed}" if seed else ""), "seed": seed,
              "build_seconds": round(seconds, 1), "built": datetime.date.today().isoformat(),
              "torch_threads": torch.get_num_threads(), "description": entry.description}
    return export_run(run_dir, Path(dest) if dest else pretrained_path(name), record)


def register(subparsers) -> None:
    parser = subparsers.add_parser("pretrained", help="list or rebuild the small pretrained models shipped with multissl",
                                   description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    listing = commands.add_parser("list", help="the shipped models: name, steps, size, how each was built")
    listing.set_defaults(func=_cmd_list)
    builder = commands.add_parser("build", help="train a shipped model from scratch and export it (float16)")
    builder.add_argument("name", choices=sorted(REGISTRY), help="which model")
    builder.add_argument("--work", default=None, help="folder for its data and run (default: multissl-pretrained-NAME)")
    builder.add_argument("--dest", default=None, help="export folder (default: the package's weights/NAME, replacing it)")
    builder.add_argument("--seed", type=int, default=0, help="random seed (default: 0, the shipped models' seed)")
    builder.set_defaults(func=_cmd_build)
    parser.set_defaults(func=lambda args: parser.print_help() or 0)


def _cmd_list(args: argparse.Namespace) -> int:
    for name, entry in REGISTRY.items():
        folder = pretrained_path(name)
        if (folder / CONFIG_FILE).is_file():
            info = describe(name)
            print(f"{name}: {entry.description}; {info.get('step')} steps, {info.get('bytes')} bytes, built "
                  f"{info.get('built')} by `{info.get('command')}` ({info.get('build_seconds')} s)")
        else:
            print(f"{name}: not shipped in {folder}; build it with `{entry.command}`")
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    dest = build(args.name, args.work or f"multissl-pretrained-{args.name}", args.seed, args.dest)
    print(f"exported {args.name} to {dest}")
    return 0


__all__ = ["MAX_BYTES", "Pretrained", "REGISTRY", "WEIGHTS_DIR", "build", "describe", "export_run", "load_pretrained",
           "pretrained_path"]
