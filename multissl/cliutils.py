"""Turn config dataclasses into command-line flags and back.

Every field of a config dataclass becomes ``--field-name`` with the field's
type, default and ``metadata["help"]``; ``metadata["choices"]``,
``metadata["nargs"]`` and ``metadata["const"]`` are passed to argparse.
Booleans get ``--flag/--no-flag``; tuples and lists take several values.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import typing
from pathlib import Path
from typing import Any, Dict, Iterable, Optional, Type, TypeVar

T = TypeVar("T")


def _base_type(annotation: Any):
    """(python type, is_sequence) of an annotation such as Optional[int] or Tuple[int, ...]."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _base_type(args[0])
    if origin in (tuple, list, typing.Sequence):
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        return (args[0] if args else str), True
    if origin is typing.Literal:
        return type(typing.get_args(annotation)[0]), False
    return annotation, False


def add_dataclass_arguments(
    parser: argparse.ArgumentParser,
    cls: Type[Any],
    exclude: Iterable[str] = (),
    defaults: Optional[Dict[str, Any]] = None,
    title: Optional[str] = None,
    suppress: bool = False,
) -> argparse._ArgumentGroup:
    """Add one ``--flag`` per field of dataclass ``cls`` to ``parser`` (in a group).

    ``defaults`` overrides field defaults for this command (e.g. a preset's
    batch size); ``exclude`` names fields given as positionals or not exposed.
    ``suppress``: flags the user does not type are left out of the parsed
    namespace (help still shows ``defaults``), so that only typed flags
    override a preset (see :func:`add_recipe_arguments`).
    """
    hints = typing.get_type_hints(cls)
    group = parser.add_argument_group(title or f"{cls.__name__} options")
    defaults = defaults or {}
    for f in dataclasses.fields(cls):
        if f.name in exclude or not f.init:
            continue
        default = defaults.get(f.name, _field_default(f))
        flag = "--" + f.name.replace("_", "-")
        typ, is_seq = _base_type(hints[f.name])
        meta = dict(f.metadata)
        help_text = meta.get("help", "")
        help_text = f"{help_text} (default: {default})" if help_text else f"default: {default}"
        kwargs: Dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS if suppress else default, "help": help_text}
        if "choices" in meta:
            kwargs["choices"] = [*meta["choices"], *meta.get("renamed_values", {})]
        if typ is bool:
            group.add_argument(flag, action=argparse.BooleanOptionalAction, **kwargs)
            continue
        kwargs["type"] = typ if typ in (int, float, str) else str
        if is_seq:
            kwargs["nargs"] = "+"
        if "nargs" in meta:
            kwargs["nargs"] = meta["nargs"]
        if "const" in meta:
            kwargs["const"] = meta["const"]
        group.add_argument(flag, **kwargs)
    return group


def _field_default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return None


def dataclass_from_args(cls: Type[T], args: argparse.Namespace, **overrides: Any) -> T:
    """Build ``cls`` from the parsed flags that name its fields (plus ``overrides``)."""
    hints = typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        if f.name in overrides:
            values[f.name] = overrides[f.name]
        elif hasattr(args, f.name):
            value = getattr(args, f.name)
            _, is_seq = _base_type(hints[f.name])
            values[f.name] = tuple(value) if is_seq and isinstance(value, list) else value
    return cls(**values)





def add_recipe_arguments(parser: argparse.ArgumentParser, recipe: Any, titles: Optional[Dict[str, str]] = None,
                         exclude: Iterable[str] = ("output_dir",), preset_note: str = "") -> None:
    """One ``--flag`` per field of every section of a :class:`~multissl.presets.Recipe`.

    Flags not typed are absent from the namespace; :func:`recipe_overrides`
    collects the typed ones, which the modality merges into its preset (the
    same call the Python API makes). Help shows the recipe's values as defaults.
    """
    from dataclasses import asdict

    titles = titles or {}
    for name, section in recipe.sections.items():
        title = titles.get(name, name) + preset_note
        add_dataclass_arguments(parser, type(section), exclude=exclude, defaults=asdict(section), title=title, suppress=True)
    for old, new in _renamed_flags(recipe).items():  # older spellings: hidden, read as the new flag (with a warning)
        parser.add_argument("--" + old.replace("_", "-"), dest=old, type=_flag_type(parser, new), default=argparse.SUPPRESS,
                            help=argparse.SUPPRESS)


def _renamed_flags(recipe: Any) -> Dict[str, str]:
    from .presets import RENAMED_SETTINGS

    names = recipe.field_sections()
    return {old: new for old, new in RENAMED_SETTINGS.items() if new in names and old not in names}


def _flag_type(parser: argparse.ArgumentParser, dest: str):
    for action in parser._actions:
        if action.dest == dest:
            return action.type
    return str


def recipe_overrides(args: argparse.Namespace, recipe: Any) -> Dict[str, Any]:
    """The recipe fields the user typed on the command line (and older spellings of them, which the recipe reads
    with a DeprecationWarning), as flat overrides (lists as tuples)."""
    names = {*recipe.field_sections(), *_renamed_flags(recipe)}
    return {k: tuple(v) if isinstance(v, list) else v for k, v in vars(args).items() if k in names}


def add_deprecated_command(subparsers, old: str, new: str, register) -> None:
    """Register ``old`` as a deprecated spelling of command ``new``: same flags, a one-line warning.

    ``register(subparsers, name)`` must add the command under ``name`` and set ``func``.
    """
    parser = register(subparsers, old, help_text=f"deprecated spelling of `{new}`")
    func = parser.get_default("func")

    def warn_then_run(args):
        print(f"multissl: warning: `{old}` is deprecated and will be removed; use `{new}`", file=sys.stderr)
        return func(args)

    parser.set_defaults(func=warn_then_run)


class _HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.HelpFormatter):
    """Keeps the line breaks of descriptions (command lists) and wraps flag help."""


def add_command_group(subparsers, name: str, help_text: str, description: str):
    """Add a command group (``multissl NAME ...``) and return its sub-command registry.

    Called without a sub-command, the group prints its own help.
    """
    parser = subparsers.add_parser(name, help=help_text, description=description, formatter_class=_HelpFormatter)
    parser.set_defaults(func=lambda args: parser.print_help() or 0)
    return parser.add_subparsers(title="commands", metavar="COMMAND")


def add_train_arguments(parser: argparse.ArgumentParser, **defaults: Any) -> None:
    """Add every :class:`~multissl.engine.TrainConfig` field as a flag (``--steps``,
    ``--max-minutes``, ``--seed``, ``--resume`` ...). ``defaults`` override the
    engine's defaults for this command (e.g. a preset's ``batch_size``).
    ``--output-dir`` is left out: train commands take ``-o/--output``.
    """
    from .engine import TrainConfig

    add_dataclass_arguments(parser, TrainConfig, exclude=("output_dir",), defaults=defaults, title="training loop")


def train_config_from_args(args: argparse.Namespace, output_dir: Optional[str] = None, **overrides: Any):
    """The :class:`~multissl.engine.TrainConfig` given by the flags of :func:`add_train_arguments`."""
    from .engine import TrainConfig

    return dataclass_from_args(TrainConfig, args, output_dir=output_dir, **overrides)


__all__ = ["add_command_group", "add_dataclass_arguments", "add_deprecated_command", "add_recipe_arguments",
           "add_train_arguments", "dataclass_from_args", "prepare_output_file", "recipe_overrides", "signature_defaults", "train_config_from_args", "write_json_file"]


def prepare_output_file(path, what: str = "output file") -> Path:
    """Check an output file path before any work: not a folder, parent folders created (or a clear error)."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{what} {path} is a folder; give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"cannot create the folder of {what} {path}: {err.strerror}") from None
    if path.parent.exists() and not os.access(path.parent, os.W_OK):
        raise ValueError(f"cannot write {what} {path}: its folder is not writable")
    return path


def signature_defaults(func) -> Dict[str, Any]:
    """``{parameter: default}`` of a Python function, so that a command's flags take their defaults from it."""
    import inspect

    return {name: p.default for name, p in inspect.signature(func).parameters.items() if p.default is not inspect.Parameter.empty}


def write_json_file(path, payload: Any) -> Path:
    """Write a command's ``--json`` result: indented UTF-8 JSON, parent folders created.

    NaN and infinite numbers (e.g. a Spearman score over fewer than two pairs) are written as ``null``:
    Python's ``NaN`` token is not JSON, and other tools refuse the file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(json_safe(payload), indent=2, allow_nan=False), encoding="utf-8")
    return path


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float (in dicts, lists and tuples, at any depth) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value

