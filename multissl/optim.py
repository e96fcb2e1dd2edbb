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

import dataclasses
import functools
import math
import os
import warnings
from dataclasses import InitVar, dataclass, field
from typing import Any, Callable, Iterable, Optional, Tuple

import torch

from .presets import tracks_given
from .schedules import SHAPES, ScheduleFactory

OPTIMIZERS = ("adam", "adamw", "sgd", "lars")
LR_SCALINGS = ("none", "linear", "sqrt")
REFERENCE_BATCH = 256  # the papers' lr = base lr x global batch / 256


@tracks_given
@dataclass
class OptimConfig:
    """Optimiser and learning-rate schedule of a run (the ``optim`` section of every torch modality's recipe)."""

    optimizer: str = field(default="adamw", metadata={"help": "adam, adamw (decoupled weight decay), sgd (momentum 0.9, "
                                                              "nesterov) or lars (SimCLR's and BYOL's; biases and norms excluded)",
                                                      "choices": OPTIMIZERS})
    lr: float = field(default=1e-3, metadata={"help": "peak learning rate"})
    weight_decay: float = field(default=0.0, metadata={"help": "weight decay (decoupled for adamw)"})
    schedule: str = field(default="constant", metadata={"help": "constant, or cosine/linear decay to 0 over the run (steps, "
                                                                "epochs or time budget)", "choices": SHAPES})
    warmup: int = field(default=0, metadata={"help": "linear learning-rate warm-up over this many optimizer steps (0: none)",
                                             "min": 0})
    lr_scaling: str = field(default="none", metadata={"help": "scale lr with the global batch (batch size x processes x "
                                                              "accumulate): linear (lr x batch / 256, SimCLR/BYOL/MoCo) or "
                                                              "sqrt (lr x sqrt(batch / 256)); none: lr as given",
                                                      "choices": LR_SCALINGS})
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
    if config.optimizer == "lars":
        return LARS(params, lr=config.lr, weight_decay=config.weight_decay)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {config.optimizer!r}")


class LARS(torch.optim.Optimizer):
    """LARS (You et al. 2017) as SimCLR and BYOL train with it: SGD with momentum whose update of each weight
    matrix or kernel is scaled by the trust ratio ``eta * ||w|| / ||g + weight_decay * w||``; biases and
    normalisation parameters (every parameter with one dimension or none) get neither the trust ratio nor
    weight decay (the papers' exclusion).

    Args:
        params: tensors or parameter groups.
        lr: learning rate; momentum: 0.9; weight_decay: applied to the adapted parameters only; eta: 0.001.
    """

    def __init__(self, params, lr: float, momentum: float = 0.9, weight_decay: float = 0.0, eta: float = 0.001):
        if lr <= 0 or not 0 <= momentum < 1 or weight_decay < 0 or eta <= 0:
            raise ValueError(f"LARS needs lr > 0, momentum in [0, 1), weight_decay >= 0 and eta > 0; got {lr}, {momentum}, "
                             f"{weight_decay}, {eta}")
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay, "eta": eta})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is not None:
                    self._update(param, group)
        return loss

    def _update(self, param: torch.Tensor, group: dict) -> None:
        grad = param.grad
        if param.ndim > 1:  # weights: decay and the layer-wise trust ratio
            if group["weight_decay"]:
                grad = grad.add(param, alpha=group["weight_decay"])
            w_norm, g_norm = torch.linalg.vector_norm(param), torch.linalg.vector_norm(grad)
            trust = torch.where((w_norm > 0) & (g_norm > 0), group["eta"] * w_norm / g_norm, torch.ones_like(w_norm))
            grad = grad * trust
        state = self.state[param]
        buffer = state.get("momentum_buffer")
        if buffer is None:
            buffer = state["momentum_buffer"] = grad.clone()
        else:
            buffer.mul_(group["momentum"]).add_(grad)
        param.add_(buffer, alpha=-group["lr"])


def global_batch_size(batch_size: int, accumulate: int = 1, processes: Optional[int] = None) -> int:
    """Samples per optimizer step over every process: batch per process x processes x accumulated batches."""
    processes = processes if processes is not None else int(os.environ.get("WORLD_SIZE", "1"))
    return batch_size * processes * accumulate


def for_global_batch(config: OptimConfig, global_batch: int) -> Tuple[OptimConfig, str]:
    """(``config`` with ``lr`` scaled as ``config.lr_scaling`` says for ``global_batch``, a line saying so)."""
    factor = {"none": 1.0, "linear": global_batch / REFERENCE_BATCH, "sqrt": math.sqrt(global_batch / REFERENCE_BATCH)}
    if config.lr_scaling not in factor:
        raise ValueError(f"lr_scaling must be one of {LR_SCALINGS}, got {config.lr_scaling!r}")
    lr = config.lr * factor[config.lr_scaling]
    how = "" if config.lr_scaling == "none" else f" = {config.lr:g} x {'sqrt(' if config.lr_scaling == 'sqrt' else ''}" \
          f"{global_batch} / {REFERENCE_BATCH}{')' if config.lr_scaling == 'sqrt' else ''}"
    return dataclasses.replace(config, lr=lr), f"global batch {global_batch}, learning rate {lr:g}{how}"


def optim_for_run(config: OptimConfig, train: Any) -> OptimConfig:
    """``config`` for a run with engine settings ``train`` (a :class:`~multissl.engine.TrainConfig`): lr scaled for
    the run's global batch; the run prints its global batch and learning rate (on the main process)."""
    from .distributed import is_main_process
    from .engine.config import DEFAULT_BATCH_SIZE
    from .progress import say

    scaled, line = for_global_batch(config, global_batch_size(train.batch_size or DEFAULT_BATCH_SIZE, train.accumulate))
    say(line, train.verbose and is_main_process())
    return scaled


def optimizer_factory(config: OptimConfig) -> Callable[[Iterable[Any]], torch.optim.Optimizer]:
    """``factory(parameters)`` -> :func:`make_optimizer`; :func:`multissl.engine.fit` makes it when first needed."""
    return functools.partial(make_optimizer, config=config)


def schedule_for(config: OptimConfig) -> ScheduleFactory:
    """The learning-rate schedule of ``config`` (shape and warm-up), to bind to the optimizer once it exists."""
    return ScheduleFactory(config.schedule, config.warmup)


__all__ = ["LARS", "LR_SCALINGS", "OPTIMIZERS", "OptimConfig", "for_global_batch", "global_batch_size", "make_optimizer", "optim_for_run",
           "optimizer_factory", "schedule_for"]
