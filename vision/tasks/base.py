"""What every vision pretext task shares: an encoder, input handling and the probe interface."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Tuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from ..augment import flip_and_translate
from ..data import to_float
from ..encoder import BackboneConfig, ImageEncoder


@dataclass
class TaskConfig:
    """Fields every task has."""

    augment: bool = field(default=True, metadata={"help": "random flips and translations of the training images"})


@dataclass
class ProbedTaskConfig(TaskConfig):
    """Tasks whose training step computes pooled encoder features can train an online probe."""

    online_probe: bool = field(default=False, metadata={"help": "train a linear classifier on detached features alongside (labels never reach the encoder)"})


class PretextTask(nn.Module):
    """Base class: ``forward(batch) -> (loss, metrics)``; ``encode(x, pool) -> (B, D)`` for probes.

    ``batch`` is ``(images (B, C, H, W) uint8 or float in [0, 1], labels)``;
    labels are never used for training.
    """

    name = "task"
    needs_color = False

    def __init__(self, config: TaskConfig, backbone: BackboneConfig, in_channels: int, num_classes: int = 0):
        super().__init__()
        if self.needs_color and in_channels != 3:
            raise ValueError(f"{self.name} needs colour (3-channel RGB) images, got {in_channels} channel(s)")
        self.config, self.backbone_config, self.in_channels = config, backbone, in_channels
        self.encoder = ImageEncoder(backbone, in_channels)
        wants_probe = getattr(config, "online_probe", False) and num_classes > 1
        self.online_classifier = nn.Linear(self.encoder.out_dim, num_classes) if wants_probe else None

    def online_probe_loss(self, features: torch.Tensor, batch: Any, metrics: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Cross-entropy of the online linear probe on detached (B, D) features (0 when off or unlabelled).

        The features are detached, so the labels never influence the
        representation (solo-learn's online probe); ``metrics`` gains
        ``online_acc``.
        """
        labels = batch[1] if isinstance(batch, (tuple, list)) and len(batch) > 1 else None
        if self.online_classifier is None or labels is None or (labels < 0).any():
            return features.new_zeros(())
        logits = self.online_classifier(features.detach()[: len(labels)])
        metrics["online_acc"] = (logits.argmax(1) == labels).float().mean().detach()
        return F.cross_entropy(logits, labels)

    def images(self, batch: Any, augment: bool = True) -> torch.Tensor:
        """The float (B, C, H, W) images of a batch, augmented when training."""
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"{self.name} expects images (B, {self.in_channels}, H, W), got {tuple(x.shape)}")
        x = to_float(x)
        if augment and self.training and self.config.augment:
            x = flip_and_translate(x, padding=max(1, x.shape[-1] // 8))
        return x

    def encode(self, x: torch.Tensor, pool: int = 1) -> torch.Tensor:
        """Frozen representation for probes: (B, C, H, W) in [0, 1] -> (B, D·pool²)."""
        return self.encoder.probe_features(to_float(x), pool)

    def lr_scales(self) -> List[Tuple[List[nn.Parameter], float]]:
        """Trainable parameters grouped by learning-rate multiplier: ``[(params, scale)]``.

        The optimiser gives each group ``scale`` times the base learning rate
        (and the schedule scales all groups alike). Default: one group at 1.
        """
        return [([p for p in self.parameters() if p.requires_grad], 1.0)]

    def train_metadata(self) -> Dict[str, Any]:
        return {"task": self.name}


def detached_call(module: nn.Module, *inputs: torch.Tensor) -> torch.Tensor:
    """``module(*inputs)`` with the module's parameters detached: gradients reach the inputs only.

    Lets one optimizer train a generator and its adversary: the generator's
    loss goes through the adversary without changing it.
    """
    params = {k: v.detach() for k, v in module.named_parameters()}
    return functional_call(module, params, inputs)


def classification_output(logits: torch.Tensor, targets: torch.Tensor) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
    """Cross-entropy and accuracy of (N, K) logits against (N,) targets."""
    loss = F.cross_entropy(logits, targets)
    return loss, {"accuracy": (logits.argmax(1) == targets).float().mean().detach()}
