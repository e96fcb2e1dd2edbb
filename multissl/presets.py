"""Presets and overrides: one way to merge partial settings into a method's defaults.

A training run's settings are a :class:`Recipe`: named sections, each a
config dataclass (e.g. ``{"model": CPCConfig, "options": CPCTrainOptions,
"train": TrainConfig}``). A modality starts from a preset's recipe and
applies what the user gave, field by field:

- a partial section object (``train=TrainConfig(max_minutes=5)``): only the
  fields given to its constructor replace the preset's (so the preset keeps its
  batch size, steps and schedule), even a value equal to the class default
  (classes marked :func:`tracks_given`; for others, the fields that differ
  from the class defaults);
- a dict for a section (``train={"max_minutes": 5}``): every key given;
- flat keyword overrides (``max_minutes=5, lr=1e-3``): each routed to the one
  section that has a field of that name.

Settings renamed to one spelling across the modalities (:data:`RENAMED_SETTINGS`, e.g. audio's
``learning_rate`` -> ``lr``) keep working under their old names with a one-line DeprecationWarning, as
flat overrides, section dicts, constructor arguments and command-line flags; a setting given in the
section it left (video ``options={"lr": ...}``) moves to its section with the same warning. Stored run
records are read with the same moves, silently.

The command line uses the same path: flags the user did not type are absent
(``argparse.SUPPRESS``) and the typed ones are flat overrides, so a CLI run
and a Python run with the same arguments get the same recipe.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
import warnings
import weakref
from dataclasses import asdict, fields, is_dataclass
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Type

from .setting_checks import check_setting


def _field_default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return dataclasses.MISSING


def changed_fields(config: Any) -> Dict[str, Any]:
    """The fields of dataclass instance ``config`` whose values differ from the class defaults."""
    if not is_dataclass(config) or isinstance(config, type):
        raise TypeError(f"expected a config dataclass instance, got {type(config).__name__}")
    out = {}
    for f in fields(config):
        if not f.init:
            continue
        value = getattr(config, f.name)
        if value != _field_default(f):
            out[f.name] = value
    return out


_GIVEN: Dict[int, frozenset] = {}  # id of a tracked config instance -> the names its constructor was given (kept out of
# the instance's own __dict__, so that vars(config) and config.__dict__ stay its fields)


def tracks_given(cls: Type[Any]) -> Type[Any]:
    """Class decorator (above ``@dataclass``): instances remember which fields their constructor was given, so that
    a partial section overrides a preset with exactly those fields, including values equal to the class defaults."""
    if cls.__dict__.get("_tracks_given"):
        return cls
    init = cls.__init__
    params = list(inspect.signature(init).parameters)[1:]

    @functools.wraps(init)
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        _GIVEN[id(self)] = frozenset(params[:len(args)]) | frozenset(kwargs)
        weakref.finalize(self, _GIVEN.pop, id(self), None)

    cls.__init__ = __init__
    cls._tracks_given = True
    return cls


def given_fields(config: Any) -> Dict[str, Any]:
    """The fields of dataclass instance ``config`` that its caller set: those given to the constructor of a
    :func:`tracks_given` class, else those that differ from the class defaults (:func:`changed_fields`)."""
    given = _GIVEN.get(id(config))
    if given is None:
        return changed_fields(config)
    names = {f.name for f in fields(config) if f.init}
    given = {RENAMED_SETTINGS.get(name, name) for name in given}  # an older argument name sets the field it became
    return {name: getattr(config, name) for name in sorted(given & names)}


# old name -> the one spelling every modality uses now
RENAMED_SETTINGS: Dict[str, str] = {"learning_rate": "lr", "lr_schedule": "schedule", "warmup_steps": "warmup",
                                    "init_seed": "seed", "holdout_videos": "holdout"}


_MOVED: Dict[int, Dict[str, Any]] = {}  # id of a config instance -> its deprecated arguments, under their new names


def moved_settings(config: Any, **old: Any) -> Dict[str, Any]:
    """For a config class's ``__post_init__(self, ...)``: ``moved_settings(self, old_name=value, ...)`` keeps the
    deprecated constructor arguments that were given (not None), under their new names, with one DeprecationWarning
    each; the recipe layer routes them to their sections. Returns them."""
    owner, moved = type(config).__name__, {}
    for name, value in old.items():
        if value is not None:
            new = RENAMED_SETTINGS.get(name, name)
            warnings.warn(f"{owner}({name}=...) is deprecated: the setting is {new!r} now (the recipe's own section)",
                          DeprecationWarning, stacklevel=5)
            moved[new] = value
    if moved:
        _MOVED[id(config)] = moved
        weakref.finalize(config, _MOVED.pop, id(config), None)
    return moved


def _coerce(cls: Type[Any], name: str, value: Any) -> Any:
    """Lists become tuples for tuple-typed fields (JSON and argparse give lists)."""
    hint = typing.get_type_hints(cls).get(name)
    origin = typing.get_origin(hint)
    if origin is typing.Union:
        origins = {typing.get_origin(a) for a in typing.get_args(hint)}
        origin = tuple if tuple in origins else origin
    if origin is tuple and isinstance(value, list):
        return tuple(value)
    return value


def config_from_dict(cls: Type[Any], values: Mapping[str, Any], strict: bool = False) -> Any:
    """``cls(**values)`` keeping only ``cls``'s fields (``strict``: unknown keys are an error)."""
    names = {f.name for f in fields(cls) if f.init}
    unknown = sorted(set(values) - names)
    if strict and unknown:
        raise ValueError(f"{cls.__name__} has no field(s) {unknown}; its fields are {sorted(names)}")
    return cls(**{k: _coerce(cls, k, v) for k, v in values.items() if k in names})


def merge_config(base: Any, partial: Any = None, **overrides: Any) -> Any:
    """``base`` with the changed fields of ``partial`` (an instance) or all keys of ``partial`` (a dict),
    then ``overrides``, replacing its fields. Unknown names raise ``ValueError``; every value given is
    checked against its field's type (:func:`multissl.setting_checks.check_setting`)."""
    given: Dict[str, Any] = {}
    if partial is not None:
        if isinstance(partial, Mapping):
            given.update(partial)
        elif isinstance(partial, type(base)):
            given.update(given_fields(partial))
        else:
            raise TypeError(f"expected a {type(base).__name__} or a dict, got {type(partial).__name__}")
    given.update(overrides)
    return config_from_dict(type(base), {**asdict(base), **checked_settings(type(base), given)}, strict=True)


def checked_settings(cls: Type[Any], values: Mapping[str, Any]) -> Dict[str, Any]:
    """``values`` for config class ``cls``, each checked against its field's type (names ``cls`` lacks are kept
    as they are, for the caller's unknown-name error)."""
    hints, by_name = typing.get_type_hints(cls), {f.name: f for f in fields(cls)}
    return {k: check_setting(cls.__name__, by_name[k], hints.get(k), v) if k in by_name else v for k, v in values.items()}


class Recipe:
    """Named config sections of one training run; immutable in use (``apply`` returns a new one)."""

    def __init__(self, **sections: Any):
        for name, section in sections.items():
            if not is_dataclass(section) or isinstance(section, type):
                raise TypeError(f"recipe section {name!r} must be a config dataclass instance, got {type(section).__name__}")
        self.sections: Dict[str, Any] = dict(sections)

    def __getattr__(self, name: str) -> Any:
        sections = self.__dict__.get("sections", {})
        if name in sections:
            return sections[name]
        raise AttributeError(name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Recipe) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"Recipe({', '.join(f'{k}={v!r}' for k, v in self.sections.items())})"

    def field_sections(self) -> Dict[str, list]:
        """Field name -> the sections that have it."""
        owners: Dict[str, list] = {}
        for section_name, section in self.sections.items():
            for f in fields(section):
                if f.init:
                    owners.setdefault(f.name, []).append(section_name)
        return owners

    def route(self, overrides: Mapping[str, Any]) -> Dict[str, Dict[str, Any]]:
        """Flat ``{field: value}`` -> ``{section: {field: value}}``; unknown or ambiguous names raise. An old name
        (:data:`RENAMED_SETTINGS`) is read as its new one, with a DeprecationWarning; the new name wins if both are given."""
        owners, routed = self.field_sections(), {}
        for name, value in self._renamed(overrides, owners).items():
            where = owners.get(name)
            if not where:
                raise ValueError(f"unknown setting {name!r}; the settings are {sorted(owners)}")
            if len(where) > 1:
                raise ValueError(f"setting {name!r} exists in sections {where}; pass it inside one of them, "
                                 f"e.g. {where[0]}={{{name!r}: ...}}")
            routed.setdefault(where[0], {})[name] = value
        return routed

    @staticmethod
    def _renamed(overrides: Mapping[str, Any], owners: Mapping[str, Any]) -> Dict[str, Any]:
        out = {}
        for name, value in overrides.items():
            new = RENAMED_SETTINGS.get(name)
            if name not in owners and new in owners:
                warnings.warn(f"setting {name!r} is deprecated: it is {new!r} now", DeprecationWarning, stacklevel=5)
                if new in overrides:
                    continue
                name = new
            out[name] = value
        return out

    def apply(self, given: Optional[Mapping[str, Any]] = None, overrides: Optional[Mapping[str, Any]] = None) -> "Recipe":
        """A new recipe with ``given`` sections (partial instances or dicts) and flat ``overrides`` merged in."""
        given = dict(given or {})
        unknown = sorted(set(given) - set(self.sections))
        if unknown:
            raise ValueError(f"unknown section(s) {unknown}; the sections are {sorted(self.sections)}")
        given, moved = self._moved_out(given)
        routed = self.route({**moved, **(overrides or {})})
        merged = {}
        for name, section in self.sections.items():
            merged[name] = merge_config(section, given.get(name), **routed.get(name, {}))
        return Recipe(**merged)

    def _moved_out(self, given: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
        """(``given`` without the settings that belong to another section now, those settings as flat overrides):
        a section dict's key its section lacks but another has (video ``options={"lr": ...}``, warned here), and
        a section instance's deprecated constructor arguments (warned by :func:`moved_settings`)."""
        owners, kept, moved = self.field_sections(), {}, {}
        for name, values in given.items():
            if isinstance(values, Mapping):
                own = {f.name for f in fields(self.sections[name]) if f.init}
                elsewhere = {k for k in values if k not in own and (k in owners or RENAMED_SETTINGS.get(k) in owners)}
                for key in sorted(elsewhere):
                    new = RENAMED_SETTINGS.get(key, key) if key not in owners else key
                    warnings.warn(f"{name}={{{key!r}: ...}} is deprecated: the setting is {new!r} in section "
                                  f"{owners[new][0]!r} now", DeprecationWarning, stacklevel=4)
                    moved[new] = values[key]
                values = {k: v for k, v in values.items() if k not in elsewhere}
            else:
                moved.update(_MOVED.get(id(values), {}))
            kept[name] = values
        return kept, moved

    def to_dict(self) -> Dict[str, Dict[str, Any]]:
        return {name: asdict(section) for name, section in self.sections.items()}

    @classmethod
    def from_dict(cls, classes: Mapping[str, Type[Any]], values: Mapping[str, Mapping[str, Any]]) -> "Recipe":
        """Rebuild from :meth:`to_dict` output (unknown keys of older/newer versions are ignored; a setting that has
        moved to another section or name since, :data:`RENAMED_SETTINGS`, is read there unless that is set too)."""
        values = _stored_moves(classes, values)
        return cls(**{name: config_from_dict(c, values.get(name, {})) for name, c in classes.items()})


def _stored_moves(classes: Mapping[str, Type[Any]], values: Mapping[str, Mapping[str, Any]]) -> Dict[str, Dict[str, Any]]:
    owner = {f.name: name for name, c in classes.items() for f in fields(c) if f.init}
    out = {name: dict(values.get(name, {})) for name in classes}
    for name, c in classes.items():
        own = {f.name for f in fields(c) if f.init}
        for key, value in values.get(name, {}).items():
            if key in own:
                continue
            new = key if key in owner else RENAMED_SETTINGS.get(key)
            target = owner.get(new) if new else None
            if target is not None and (target, new) != (name, key) and new not in values.get(target, {}):
                out[target].setdefault(new, value)
    return out


def preset_recipe(presets: Mapping[str, Mapping[str, Mapping[str, Any]]], name: str, base: Recipe, modality: str = "") -> Recipe:
    """``base`` (every section at its class defaults) with preset ``name``'s per-section values applied."""
    if name not in presets:
        raise ValueError(f"unknown {modality + ' ' if modality else ''}preset {name!r}; choose from {sorted(presets)}")
    return base.apply(given={section: dict(values) for section, values in presets[name].items()})


def method_and_preset(modality: str, method: Optional[str], preset: Optional[str], methods: Sequence[str],
                      presets: Mapping[str, Any], default_preset: str = "cpu") -> Tuple[str, str]:
    """The ``(method, preset)`` of a modality's ``train`` / ``recipe(method=None, *, preset=None)`` call.

    ``method`` None is the modality's only (or first) method; ``preset`` None is ``default_preset``. A preset
    name given where the method goes (``audio.recipe("cpu")``, the older spelling) is taken as the preset, with
    a DeprecationWarning. Unknown names are a ValueError listing the choices."""
    if method is not None and method not in methods and method in presets and preset is None:
        warnings.warn(f"{modality}: the first argument is the method now; pass the preset by name (preset={method!r})",
                      DeprecationWarning, stacklevel=3)
        method, preset = None, method
    method = methods[0] if method is None else method
    preset = default_preset if preset is None else preset
    if method not in methods:
        raise ValueError(f"unknown {modality} method {method!r}; choose from {list(methods)}")
    if preset not in presets:
        raise ValueError(f"unknown {modality} preset {preset!r}; choose from {sorted(presets)}")
    return method, preset


__all__ = ["RENAMED_SETTINGS", "Recipe", "changed_fields", "given_fields", "moved_settings", "tracks_given", "checked_settings", "config_from_dict", "merge_config", "method_and_preset", "preset_recipe"]
