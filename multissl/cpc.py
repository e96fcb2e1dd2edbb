"""Contrastive Predictive Coding's criterion, shared by audio CPC and vision CPC v2.

:class:`CPCCriterion` holds one linear predictor ``W_k`` per step k = 1..K and
scores each prediction ``W_k c_t`` against the true target ``z_{t+k}`` and
negatives by dot product (InfoNCE, van den Oord et al. 2018). It returns the
loss and, from the same logits, the accuracy of every step.

Layout: ``context`` (B, T, ..., C) and ``targets`` (B, T, ..., D). Axis 1 is
the one predicted along; the axes between it and the features are independent
positions (none for audio frames (B, T, C); the columns of a patch grid
(B, rows, cols, D) for CPC v2, which predicts rows below).

Negatives (``negatives=``):

- ``"batch"``: ``num_negatives`` targets drawn from the whole batch;
- ``"sequence"``: from the same sequence (same utterance / image);
- ``"group"``: from the sequences of the same group (e.g. speaker), given
  ``groups`` (B,) at call time;
- ``"all"``: every target of the batch is a candidate (a full softmax over
  B·T·... keys, CPC v2's "other patches of the image and other images").

The sampled modes use :func:`multissl.sampling.sample_negative_indices`
(never the positive itself) and, as in CPC_audio, share a target's negatives
between the K predictions of it.

Under DDP the candidates are the targets of the global batch: every rank
gathers them (with gradient) and the negatives are drawn for the global batch
from one seed shared by the ranks, so ``world`` ranks of B sequences train
like one process with ``world`` x B.
"""
from __future__ import annotations

import math
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from . import distributed as dist_utils
from .checks import check_choice, check_finite, check_positive
from .losses import info_nce_logits
from .sampling import sample_negative_indices

NEGATIVE_MODES = ("batch", "sequence", "group", "all")


class CPCCriterion(nn.Module):
    """K-step linear predictors + InfoNCE, returning ``(loss, metrics)``.

    Args:
        context_dim: C, the dimension of the context vectors ``c``.
        target_dim: D, the dimension of the target encodings ``z``.
        prediction_steps: K; predict ``z_{t+1}`` .. ``z_{t+K}`` from ``c_t``
            (at most T - 1 steps are used for a sequence of length T).
        num_negatives: negatives per prediction in the sampled modes.
        negatives: ``"batch"``, ``"sequence"``, ``"group"`` or ``"all"`` (see
            the module docstring).
        temperature: divides the scores (1: CPC's plain dot products).
        bias: give the predictors a bias (CPC v2's 1x1 convolutions have one).

    Call: ``loss, metrics = criterion(context, targets, groups=None)``

    - ``context``: (B, T, *S, C); ``c[:, t]`` may only have seen inputs up to t.
    - ``targets``: (B, T, *S, D), e.g. the encoder's ``z`` (same B, T, *S).
    - ``groups``: (B,) integer group of each sequence, needed for ``"group"``.

    Returns the scalar loss (mean over steps of the mean InfoNCE of the
    predictions of that step) and ``metrics``: ``acc_k1`` .. ``acc_kK``
    (share of predictions whose true target outscores every candidate,
    from the training logits) and their mean ``acc`` (0-d tensors, detached).

    Example::

        criterion = CPCCriterion(256, 512, prediction_steps=12, num_negatives=128, negatives="sequence")
        loss, metrics = criterion(c, z)                    # audio: c (B, T, 256), z (B, T, 512)
        criterion = CPCCriterion(64, 64, 3, negatives="all", bias=True)
        loss, metrics = criterion(c_grid, z_grid)          # vision: (B, rows, cols, 64), predicts rows below
    """

    def __init__(
        self,
        context_dim: int,
        target_dim: int,
        prediction_steps: int = 12,
        num_negatives: int = 128,
        negatives: str = "batch",
        temperature: float = 1.0,
        bias: bool = False,
    ):
        super().__init__()
        for name, value in (("context_dim", context_dim), ("target_dim", target_dim),
                            ("prediction_steps", prediction_steps), ("num_negatives", num_negatives),
                            ("temperature", temperature)):
            check_positive(name, value)
        check_choice("negatives", negatives, NEGATIVE_MODES)
        self.context_dim, self.target_dim = int(context_dim), int(target_dim)
        self.prediction_steps = int(prediction_steps)
        self.num_negatives = int(num_negatives)
        self.negatives = negatives
        self.temperature = float(temperature)
        self.predictors = nn.ModuleList(nn.Linear(context_dim, target_dim, bias=bias) for _ in range(prediction_steps))

    # ------------------------------------------------------------------ #
    def predict(self, context: torch.Tensor, k: int) -> torch.Tensor:
        """Predictions of the targets k steps ahead: (B, T, *S, C) -> (B, T - k, *S, D)."""
        if not 1 <= k <= self.prediction_steps:
            raise ValueError(f"k must be in 1..{self.prediction_steps}, got {k}")
        return self.predictors[k - 1](context[:, : context.shape[1] - k])

    def negative_indices(self, shape: Tuple[int, ...], groups: Optional[torch.Tensor] = None,
                         seed: Optional[int] = None) -> torch.Tensor:
        """Draw ``num_negatives`` negatives for every target position, never the target itself.

        Args:
            shape: (B, T, *S), the target layout without the feature axis.
            groups: (B,) group ids, for ``negatives="group"``.
            seed: seed of the draws; ``None`` draws one from torch's global generator.
        Returns:
            (B, T, P, N) int64 indices (CPU) into the B·T·P targets flattened
            in (b, t, s) order, with P = prod(S) (1 without position axes).
        """
        if self.negatives == "all":
            raise ValueError("negatives='all' scores every target; there are no negative indices to draw")
        B, T = int(shape[0]), int(shape[1])
        P = math.prod(int(s) for s in shape[2:])
        per_sequence = T * P
        if self.negatives == "batch":
            item_groups = torch.zeros(B * per_sequence, dtype=torch.long)
        elif self.negatives == "sequence":
            item_groups = torch.arange(B).repeat_interleave(per_sequence)
        else:
            if groups is None:
                raise ValueError("negatives='group' needs groups: a (B,) tensor of group ids (e.g. speakers)")
            groups = torch.as_tensor(groups)
            if groups.shape != (B,):
                raise ValueError(f"groups must have shape ({B},), one id per sequence, got {tuple(groups.shape)}")
            item_groups = groups.detach().cpu().long().repeat_interleave(per_sequence)
        index = sample_negative_indices(item_groups, torch.arange(B * per_sequence), self.num_negatives, seed)
        return index.view(B, T, P, self.num_negatives)

    # ------------------------------------------------------------------ #
    def forward(
        self, context: torch.Tensor, targets: torch.Tensor, groups: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        self._check_inputs(context, targets)
        B, T = targets.shape[:2]
        D = targets.shape[-1]
        P = math.prod(targets.shape[2:-1])
        c = context.reshape(B, T, P, context.shape[-1])
        z = targets.reshape(B, T, P, D)
        K = min(self.prediction_steps, T - 1)
        everything, all_groups, first = _global_targets(z, groups)
        keys = everything.reshape(-1, D)
        if self.negatives == "all":
            index = torch.arange(len(keys), device=z.device).view(-1, T, P)[first:first + B]
        else:
            index = self.negative_indices(everything.shape[:3], all_groups, dist_utils.shared_random_seed())
            index = index[first:first + B].to(z.device)
            sampled = keys[index.reshape(-1)].view(B, T, P, self.num_negatives, D)  # negatives of target (b, t, p)
        losses, accs = [], []
        for k in range(1, K + 1):
            pred = self.predictors[k - 1](c[:, : T - k]).reshape(-1, D)
            if self.negatives == "all":
                logits = pred @ keys.T / self.temperature
                target = index[:, k:].reshape(-1)
            else:
                logits = info_nce_logits(pred, z[:, k:].reshape(-1, D), sampled[:, k:].reshape(-1, self.num_negatives, D),
                                         temperature=self.temperature, normalize=False)
                target = torch.zeros(len(pred), dtype=torch.long, device=pred.device)
            losses.append(F.cross_entropy(logits, target, reduction="none").mean())
            accs.append(_accuracy(logits.detach(), target))
        metrics = {f"acc_k{k}": acc for k, acc in enumerate(accs, start=1)}
        metrics["acc"] = sum(accs) / K
        return torch.stack(losses).mean(), metrics

    def _check_inputs(self, context: torch.Tensor, targets: torch.Tensor) -> None:
        for name, x in (("context", context), ("targets", targets)):
            if not isinstance(x, torch.Tensor) or x.ndim < 3:
                shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
                raise ValueError(f"{name} must have shape (B, T, ..., features), got {shape}")
        if context.shape[:-1] != targets.shape[:-1]:
            raise ValueError(f"context {tuple(context.shape)} and targets {tuple(targets.shape)} must share "
                             "their (B, T, ...) positions")
        if context.shape[-1] != self.context_dim:
            raise ValueError(f"context has {context.shape[-1]} features, the criterion expects context_dim={self.context_dim}")
        if targets.shape[-1] != self.target_dim:
            raise ValueError(f"targets have {targets.shape[-1]} features, the criterion expects target_dim={self.target_dim}")
        if targets.shape[1] < 2:
            raise ValueError(f"need at least 2 steps along axis 1 to predict, got targets {tuple(targets.shape)}")
        check_finite("context", context)
        check_finite("targets", targets)

    def extra_repr(self) -> str:
        return (f"context_dim={self.context_dim}, target_dim={self.target_dim}, prediction_steps={self.prediction_steps}, "
                f"negatives={self.negatives!r}, num_negatives={self.num_negatives}, temperature={self.temperature}")


def _global_targets(z: torch.Tensor, groups: Optional[torch.Tensor]):
    """(targets of every rank (world*B, T, P, D) with gradient, their groups or None, index of this rank's first
    sequence in them); ``(z, groups, 0)`` without a process group."""
    if not dist_utils.is_distributed():
        return z, groups, 0
    if groups is not None:
        groups = dist_utils.gather_no_grad(torch.as_tensor(groups, device=z.device).long())
    return dist_utils.gather_with_grad(z), groups, dist_utils.rank() * z.shape[0]


def _accuracy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Share of rows whose target logit is strictly above every other logit of the row."""
    rows = torch.arange(len(logits), device=logits.device)
    positive = logits[rows, target]
    others = logits.index_put((rows, target), torch.tensor(-math.inf, dtype=logits.dtype, device=logits.device))
    return (positive > others.amax(1)).float().mean()


def legacy_predictor_hook(name: str = "criterion"):
    """A ``load_state_dict`` pre-hook for checkpoints saved before the predictors moved into a :class:`CPCCriterion`.

    Renames ``{prefix}predictors.<k>.*`` to ``{prefix}{name}.predictors.<k>.*``
    and squeezes 1x1-convolution weights (D, C, 1, 1) to linear ones (D, C).
    Register it with ``module._register_load_state_dict_pre_hook(legacy_predictor_hook())``.
    """

    def hook(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs):
        old = prefix + "predictors."
        for key in [k for k in state_dict if k.startswith(old)]:
            value = state_dict.pop(key)
            if key.endswith(".weight") and value.ndim == 4 and value.shape[2:] == (1, 1):
                value = value.flatten(1)
            state_dict[f"{prefix}{name}.predictors." + key[len(old):]] = value

    return hook


__all__ = ["CPCCriterion", "NEGATIVE_MODES", "legacy_predictor_hook"]
