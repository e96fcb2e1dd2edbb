"""Learning-rate and momentum schedules driven by training progress.

Progress is a number in [0, 1]: the larger of *steps done / planned steps*
and *time spent / time budget* (see :func:`training_progress`). A schedule
written against progress works whether a run is bounded by steps, epochs, a
time budget, or several of them — a time budget alone is enough for a cosine
schedule.

- :func:`cosine_factor` / :func:`warmup_factor`: the shapes;
- :class:`LRSchedule`: sets every parameter group's learning rate to its base
  rate times ``warmup(step) * shape(progress)``; the engine calls
  :meth:`LRSchedule.set_progress` before every optimizer step;
- :class:`ScheduleFactory`: an :class:`LRSchedule` not yet bound to its optimizer
  (for :func:`multissl.engine.fit` with an optimizer factory);
- :func:`cosine_momentum`: BYOL's / MoCo's EMA momentum from progress.
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Optional

import torch

SHAPES = ("constant", "cosine", "linear")


def training_progress(step: int, max_steps: Optional[int], elapsed_s: float, budget_s: Optional[float]) -> float:
    """The larger of ``step / max_steps`` and ``elapsed_s / budget_s``, clipped to [0, 1].

    Either bound may be None (unknown); with neither, progress is 0.
    """
    parts = [0.0]
    if max_steps:
        parts.append(step / max_steps)
    if budget_s:
        parts.append(elapsed_s / budget_s)
    return min(1.0, max(parts))


def cosine_factor(progress: float, final: float = 0.0) -> float:
    """Half a cosine from 1 (progress 0) down to ``final`` (progress 1)."""
    return final + (1.0 - final) * 0.5 * (1.0 + math.cos(math.pi * min(max(progress, 0.0), 1.0)))


def warmup_factor(step: int, warmup_steps: int) -> float:
    """Linear warm-up: (step + 1) / warmup_steps for the first ``warmup_steps`` steps, then 1."""
    return min(1.0, (step + 1) / warmup_steps) if warmup_steps > 0 else 1.0


def shape_factor(shape: str, progress: float, final: float = 0.0) -> float:
    """The factor of schedule ``shape`` (constant, cosine or linear decay to ``final``) at ``progress``."""
    if shape == "constant":
        return 1.0
    if shape == "cosine":
        return cosine_factor(progress, final)
    if shape == "linear":
        return 1.0 - (1.0 - final) * min(max(progress, 0.0), 1.0)
    raise ValueError(f"schedule must be one of {SHAPES}, got {shape!r}")


def cosine_momentum(progress: float, start: float, end: float) -> float:
    """EMA momentum rising from ``start`` (progress 0) to ``end`` (progress 1) on a half cosine (BYOL)."""
    return end - (end - start) * cosine_factor(progress)


class LRSchedule:
    """Learning rate = base rate x warm-up(step) x shape(progress), for every parameter group.

    Args:
        optimizer: its groups' current ``lr`` values are the base rates.
        shape: ``"constant"``, ``"cosine"`` or ``"linear"`` (decay to ``final`` x base).
        warmup_steps: linear warm-up length in optimizer steps (0: none).
        final: the factor reached at progress 1 (0 for the usual cosine to zero).

    The engine (:func:`multissl.engine.fit`) calls :meth:`set_progress` before
    each optimizer step with the step number and the training progress; a
    user loop can do the same. ``state_dict``/``load_state_dict`` make it
    checkpointable like a torch scheduler.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, shape: str = "constant", warmup_steps: int = 0, final: float = 0.0):
        if shape not in SHAPES:
            raise ValueError(f"schedule must be one of {SHAPES}, got {shape!r}")
        if warmup_steps < 0:
            raise ValueError(f"warmup_steps must be >= 0, got {warmup_steps}")
        self.optimizer, self.shape, self.warmup_steps, self.final = optimizer, shape, warmup_steps, final
        self.base_lrs: List[float] = [group.setdefault("initial_lr", group["lr"]) for group in optimizer.param_groups]
        self.step_count, self.progress = 0, 0.0
        self.set_progress(0, 0.0)

    @property
    def needs_length(self) -> bool:
        """True when the shape depends on progress (the run needs steps, epochs or a time budget)."""
        return self.shape != "constant"

    def factor(self, step: int, progress: float) -> float:
        return warmup_factor(step, self.warmup_steps) * shape_factor(self.shape, progress, self.final)

    def set_progress(self, step: int, progress: float) -> None:
        """Set every group's learning rate for optimizer step ``step`` at ``progress`` in [0, 1]."""
        self.step_count, self.progress = step, progress
        f = self.factor(step, progress)
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = base * f

    def get_last_lr(self) -> List[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> Dict[str, Any]:
        return {"base_lrs": list(self.base_lrs), "step_count": self.step_count, "progress": self.progress}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.base_lrs = list(state["base_lrs"])
        self.set_progress(int(state["step_count"]), float(state["progress"]))


class ScheduleFactory:
    """``factory(optimizer) -> LRSchedule(optimizer, shape, warmup_steps, final)``; ``needs_length`` is known
    before the optimizer exists, so a run without a length is refused before its set-up."""

    def __init__(self, shape: str = "constant", warmup_steps: int = 0, final: float = 0.0):
        if shape not in SHAPES:
            raise ValueError(f"schedule must be one of {SHAPES}, got {shape!r}")
        if warmup_steps < 0:
            raise ValueError(f"warmup_steps must be >= 0, got {warmup_steps}")
        self.shape, self.warmup_steps, self.final = shape, warmup_steps, final

    @property
    def needs_length(self) -> bool:
        return self.shape != "constant"

    def __call__(self, optimizer: torch.optim.Optimizer) -> LRSchedule:
        return LRSchedule(optimizer, self.shape, self.warmup_steps, self.final)


__all__ = ["LRSchedule", "SHAPES", "ScheduleFactory", "cosine_factor", "cosine_momentum", "shape_factor", "training_progress", "warmup_factor"]
