"""Every setting a user gives is checked once, against the type its config dataclass declares.

:func:`check_setting` is called by the recipe layer (:func:`multissl.presets.merge_config`) for
each value a preset, a partial config, a dict or a flat keyword override sets, so the Python API
and the command line (whose flags are flat overrides) fail the same way, with one line naming
the setting:

- ``int``: an int (NumPy ints too; a float only when whole, e.g. ``2.0``), never a bool;
- ``float``: a finite int or float (``nan`` and ``inf`` are refused), never a bool;
- ``bool``: ``True`` / ``False`` (or 0 / 1), never a string such as ``"no"``;
- ``str``: a string, one of the field's ``choices`` metadata when it has them;
- ``Optional[X]``: ``None`` or an ``X``; ``Tuple[X, ...]``: a list or tuple of ``X``;
- a field's ``min`` metadata: the smallest value it takes (``min=1`` for a width);
- a field's ``renamed_values`` metadata (``{"speaker": "group"}``): old spellings of its choices, read as the
  new ones with a DeprecationWarning.

Other annotations (tensors, ``Any``, nested structures) are left to the code that reads them.
"""
from __future__ import annotations

import math
import numbers
import typing
import warnings
from dataclasses import Field
from typing import Any

import numpy as np

from .errors import MultisslError


class InvalidSetting(MultisslError, TypeError, ValueError):
    """A setting of the wrong type or out of range: a ``TypeError`` and a ``ValueError`` both, so that the
    command line prints it on one line and Python callers may catch either."""


def check_setting(owner: str, field: Field, hint: Any, value: Any) -> Any:
    """``value`` for ``field`` of config class ``owner``, normalised (NumPy scalars to Python, whole floats to
    int, lists to tuples), or an :class:`InvalidSetting` naming ``owner.field`` and what it takes."""
    renamed = field.metadata.get("renamed_values", {})
    if isinstance(value, str) and value in renamed:
        warnings.warn(f"{owner}.{field.name}={value!r} is deprecated: it is {renamed[value]!r} now", DeprecationWarning, stacklevel=6)
        value = renamed[value]
    return check_value(f"{owner}.{field.name}", hint, value, field.metadata.get("min"), field.metadata.get("choices"))


def check_value(name: str, hint: Any, value: Any, minimum: Any = None, choices: Any = None) -> Any:
    """``value`` checked against type ``hint``, the smallest value ``minimum`` and ``choices`` (each optional), for a
    setting that is not a config field (e.g. ``check_value("image_size", int, 0, minimum=1)``)."""
    value = _of_type(name, hint, value)
    if choices and isinstance(value, str) and value not in choices:
        raise InvalidSetting(f"{name} must be one of {list(choices)}, got {value!r}")
    if minimum is not None and isinstance(value, numbers.Number) and value < minimum:
        raise InvalidSetting(f"{name} must be >= {minimum}, got {value!r}")
    return value


def _of_type(name: str, hint: Any, value: Any) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union:
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            return _of_type(name, options[0], value)
        return value
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        if not isinstance(value, (list, tuple)):
            raise InvalidSetting(f"{name} must be a list of {_kind(args[0])}s, got {_shown(value)}")
        return tuple(_of_type(f"{name}[{i}]", args[0], v) for i, v in enumerate(value))
    if hint is bool:
        return _as_bool(name, value)
    if hint is int:
        return _as_int(name, value)
    if hint is float:
        return _as_float(name, value)
    if hint is str and not isinstance(value, str):
        raise InvalidSetting(f"{name} must be a string, got {_shown(value)}")
    return value


def _as_bool(name: str, value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, numbers.Integral) and value in (0, 1)):
        return bool(value)
    raise InvalidSetting(f"{name} must be True or False, got {_shown(value)}")


def _as_int(name: str, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise InvalidSetting(f"{name} must be an integer, got {value!r}")
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer():
        return int(value)
    raise InvalidSetting(f"{name} must be an integer, got {_shown(value)}")


def _as_float(name: str, value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise InvalidSetting(f"{name} must be a number, got {_shown(value)}")
    if not math.isfinite(value):
        raise InvalidSetting(f"{name} must be a finite number, got {float(value)}")
    return float(value)


def _kind(hint: Any) -> str:
    return getattr(hint, "__name__", str(hint))


def _shown(value: Any) -> str:
    """``'fast' (a str)``: the value as typed, and its type."""
    return f"{value!r} (a {type(value).__name__})"


__all__ = ["InvalidSetting", "check_setting", "check_value"]
