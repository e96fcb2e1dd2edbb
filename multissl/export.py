"""A trained encoder out of its run folder, for use outside the library: ``multissl export RUN -o encoder.pt``.

:func:`export_encoder` writes the encoder of a run as a plain ``state_dict`` (``torch.save``), and beside it
``encoder.pt.json``, which says what the file holds and how to rebuild the network:

- vision: the task's encoder. With a ``torchvision:NAME`` backbone the state dict has torchvision's keys and
  loads with ``strict=True`` into ``torchvision.models.get_model(NAME)`` whose classifier (``fc``) is set to
  ``nn.Identity()``; feed it images normalised with the ImageNet mean and std. With the library's ResNet it
  loads with :func:`load_encoder`, which returns the encoder (images in [0, 1] -> (B, D) features).
- audio: CPC's encoder and context network (:class:`multissl.audio.export.CPCFeatures`: waveforms (B, N) at
  the run's sample rate -> context (B, T, H)).
- video: the colorizer's network (gray frames (B, T, 1, H, W) in [-1, 1] -> embeddings (B, T, D, H/8, W/8)).
- text: the word vectors, in word2vec's binary format (gensim's ``KeyedVectors.load_word2vec_format`` reads it).

``torchscript=True`` writes a traced TorchScript module instead (``torch.jit.load``), which takes the same
inputs as the network :func:`load_encoder` returns. The core knows no modality: each one's
``multissl.<kind>.export`` module says what its encoder is (``encoder_of(run)`` -> :class:`Exported`,
``encoder_from(description)``).
"""
from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Union

import torch
from torch import nn

from .checks import shown
from .engine.checkpoints import atomic_writer
from .run import as_run, read_run_config

FORMAT = "multissl-encoder"
PathLike = Union[str, Path]


@dataclass
class Exported:
    """``module``: the network whose ``state_dict`` is written (None: ``write`` writes the export itself);
    ``description``: JSON facts to rebuild it (the modality's ``encoder_from`` reads them); ``example``: an input
    to trace for TorchScript; ``traced``: the module to trace when it is not ``module`` (e.g. one that normalises)."""

    module: Optional[nn.Module]
    description: Dict[str, Any] = field(default_factory=dict)
    example: Optional[torch.Tensor] = None
    traced: Optional[nn.Module] = None
    write: Optional[Callable[[Path], None]] = None


def description_path(path: PathLike) -> Path:
    """The JSON file that describes an exported encoder: ``encoder.pt`` -> ``encoder.pt.json``."""
    return Path(str(path) + ".json")


def export_encoder(run: Any, output: PathLike, torchscript: bool = False) -> Path:
    """Write the encoder of ``run`` (a run folder or a loaded :class:`~multissl.run.Run`) to ``output``, and its
    description to ``output + ".json"``. Returns ``output``."""
    kind = read_run_config(run).get("kind") if isinstance(run, (str, Path)) else run.kind
    run = as_run(run, kind)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    exported = importlib.import_module(f"multissl.{kind}.export").encoder_of(run)
    description = {"format": FORMAT, "kind": kind, "method": run.method, "run": str(run.path) if run.path else None,
                   "torchscript": bool(torchscript), **exported.description}
    if exported.module is None:  # text: the vectors are the export
        if torchscript:
            raise ValueError("text runs export word vectors; --torchscript applies to torch encoders")
        exported.write(output)
    elif torchscript:
        module = exported.module.eval()
        with torch.no_grad():
            traced = torch.jit.trace(exported.traced or module, exported.example)
        traced.save(str(output))
    else:
        _save_state_dict(exported.module.state_dict(), output)
    description_path(output).write_text(json.dumps(description, indent=2) + "\n", encoding="utf-8")
    return output


def _save_state_dict(state: Dict[str, torch.Tensor], output: Path) -> None:
    with atomic_writer(output) as tmp:
        torch.save({k: v.detach().cpu() for k, v in state.items()}, tmp)


def read_description(path: PathLike) -> Dict[str, Any]:
    """The description written beside an exported encoder; a one-line error when it is missing or not one."""
    described = description_path(path)
    if not described.is_file():
        raise FileNotFoundError(f"{shown(described)} is missing: load_encoder reads files written by `multissl export` "
                                "(the .pt and its .pt.json)")
    description = json.loads(described.read_text(encoding="utf-8"))
    if description.get("format") != FORMAT:
        raise ValueError(f"{shown(described)} does not describe an exported encoder (no format {FORMAT!r})")
    return description


def load_encoder(path: PathLike, map_location: Any = "cpu") -> nn.Module:
    """The network ``multissl export`` wrote to ``path`` (weights loaded, eval mode); a TorchScript export loads
    with ``torch.jit.load``. Inputs and outputs per modality: see this module's documentation."""
    description = read_description(path)
    if description.get("torchscript"):
        return torch.jit.load(str(path), map_location=map_location).eval()
    kind = description["kind"]
    if kind == "text":
        raise ValueError(f"{shown(path)} holds word vectors: read them with multissl.text.KeyedVectors.load_word2vec_format "
                         "(or gensim's)")
    network = importlib.import_module(f"multissl.{kind}.export").encoder_from(description)
    state = torch.load(str(path), map_location=map_location, weights_only=True)
    network.load_state_dict(state, strict=True)
    return network.eval()


def register(subparsers) -> None:
    """``multissl export RUN -o FILE [--torchscript]``."""
    p = subparsers.add_parser("export", help="write a run's trained encoder for use outside the library",
                              description="Write the trained encoder of the run folder RUN (any modality) to FILE as a plain "
                                          "state_dict (torch.load), with FILE.json describing it; a torchvision:NAME vision "
                                          "backbone loads with strict=True into torchvision.models.get_model(NAME) whose fc is "
                                          "nn.Identity(); the library's own trunks load with multissl.load_encoder(FILE). "
                                          "Text runs export their word vectors (word2vec binary format).")
    p.add_argument("run", help="a run folder (multissl <modality> train ... -o RUN)")
    p.add_argument("-o", "--output", required=True, help="the file to write (e.g. encoder.pt)")
    p.add_argument("--torchscript", action="store_true", help="write a traced TorchScript module (torch.jit.load) instead")
    p.set_defaults(func=_cmd_export)


def _cmd_export(args) -> int:
    path = export_encoder(args.run, args.output, torchscript=args.torchscript)
    described = read_description(path)
    print(f"[multissl] wrote {path} ({'TorchScript' if args.torchscript else 'state_dict'}): {described.get('input')} -> "
          f"{described.get('output')}; described in {description_path(path)}")
    return 0


__all__ = ["FORMAT", "Exported", "description_path", "export_encoder", "load_encoder", "read_description", "register"]
