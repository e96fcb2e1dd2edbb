"""The ``optim`` section every torch modality shares: optimizer, learning rate, weight decay, schedule, warm-up.

Audio (CPC), video (the colorizer) and vision (every method) read the same
:class:`OptimConfig`, so ``lr=3e-4`` or ``--schedule cosine`` mean one thing in
each; only the defaults differ, set by each modality's recipe. Text trains
word2vec without a torch optimizer: its ``alpha`` (gensim's name) is its
learning rate and ``lr`` is accepted as an alias of it.

:func:`make_optimizer` builds the optimizer over parameters (or parameter
groups) and :func:`schedule_for` the :class:`~multissl.schedules.LRSchedule`
factory the engine binds to it.
"""
from __future__ import annotations

import functools
import warnings
from dataclasses import InitVar, dataclass, field
from typing import Any, Callable, Iterable, Optional

import torch

from .presets import tracks_given
from .schedules import SHAPES, ScheduleFactory

OPTIMIZERS = ("adam", "adamw", "sgd")


@tracks_given
@dataclass
class OptimConfig:
    """Optimiser and learning-rate schedule of a run (the ``optim`` section of every torch modality's recipe)."""

    optimizer: str = field(default="adamw", metadata={"help": "adam, adamw (decoupled weight decay) or sgd (momentum 0.9, "
                                                              "nesterov)", "choices": OPTIMIZERS})
    lr: float = field(default=1e-3, metadata={"help": "peak learning rate"})
    weight_decay: float = field(default=0.0, metadata={"help": "weight decay (decoupled for adamw)"})
    schedule: str = field(default="constant", metadata={"help": "constant, or cosine/linear decay to 0 over the run (steps, "
                                                                "epochs or time budget)", "choices": SHAPES})
    warmup: int = field(default=0, metadata={"help": "linear learning-rate warm-up over this many optimizer steps (0: none)",
                                             "min": 0})
    warmup_steps: InitVar[Optional[int]] = None  # the older name of ``warmup``

    def __post_init__(self, warmup_steps: Optional[int]) -> None:
        if warmup_steps is not None:
            warnings.warn("OptimConfig(warmup_steps=...) is deprecated: it is warmup now", DeprecationWarning, stacklevel=3)
            self.warmup = warmup_steps


def make_optimizer(params: Iterable[Any], config: OptimConfig) -> torch.optim.Optimizer:
    """``config.optimizer`` over ``params`` (tensors or parameter-group dicts, whose own ``lr`` wins) at ``config.lr``."""
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=0.9, nesterov=True, weight_decay=config.weight_decay)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {config.optimizer!r}")


def optimizer_factory(config: OptimConfig) -> Callable[[Iterable[Any]], torch.optim.Optimizer]:
    """``factory(parameters)`` -> :func:`make_optimizer`; :func:`multissl.engine.fit` makes it when first needed."""
    return functools.partial(make_optimizer, config=config)


def schedule_for(config: OptimConfig) -> ScheduleFactory:
    """The learning-rate schedule of ``config`` (shape and warm-up), to bind to the optimizer once it exists."""
    return ScheduleFactory(config.schedule, config.warmup)


__all__ = ["OPTIMIZERS", "OptimConfig", "make_optimizer", "optimizer_factory", "schedule_for"]
