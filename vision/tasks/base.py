"""What every vision pretext task shares: an encoder, input handling and the probe interface."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from multissl.randomness import isolated_rng

from ..augment import flip_and_translate
from ..data import to_float
from ..encoder import Backbone, BackboneConfig, UserBackbone, build_encoder


@dataclass
class TaskConfig:
    """Fields every task has."""

    augment: bool = field(default=True, metadata={"help": "random flips and translations of the training images"})


@dataclass
class ProbedTaskConfig(TaskConfig):
    """Tasks whose training step computes pooled encoder features can train an online probe."""

    online_probe: bool = field(default=True, metadata={"help": "when the data has labels, train a linear classifier on detached "
                                                                "features alongside (solo-learn's online probe: its accuracy is "
                                                                "logged as online_acc; labels never reach the encoder)"})


def resolve_config(task_name: str, config_class: type, config: Optional[TaskConfig], overrides: Dict[str, Any]) -> TaskConfig:
    """``config`` (default: ``config_class()``) with ``overrides`` applied (``dataclasses.replace``)."""
    if config is not None and not isinstance(config, config_class):
        raise TypeError(f"{task_name} needs a {config_class.__name__}, got {type(config).__name__}")
    if config is not None and not overrides:
        return config
    names = {f.name for f in dataclasses.fields(config_class)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise TypeError(f"{task_name} got unknown option(s) {unknown}; the fields of {config_class.__name__} are {sorted(names)}")
    return dataclasses.replace(config, **overrides) if config is not None else config_class(**overrides)


class PretextTask(nn.Module):
    """Base class: ``forward(batch) -> (loss, metrics)``; ``encode(x, pool) -> (B, D)`` for probes.

    ``batch`` is ``(images (B, C, H, W) uint8 or float in [0, 1], labels)``;
    labels are never used for training (only by the optional online probe).

    Every task is built either as the training entry points do,
    ``Task(config, BackboneConfig(...), in_channels, image_size=..., num_classes=...)``,
    or around a network of your own::

        net = torchvision.models.resnet18(); net.fc = nn.Identity()
        task = SimCLR(backbone=net, feature_dim=512)          # config: SimCLRConfig() defaults
        task = SimCLR(backbone=net, feature_dim=512, temperature=0.2)  # ... with a field changed
        opt = torch.optim.Adam(task.parameters(), 1e-3)
        for images in loader:                                  # (B, 3, H, W) uint8 or float in [0, 1]
            loss = task.training_loss(images)
            opt.zero_grad(); loss.backward(); opt.step()
            task.after_optimizer_step(step, max_steps)         # momentum methods (moco, byol) need this

    Args (of every task's constructor):
        config: the task's config dataclass (``config_class``); ``None``: its defaults.
        backbone: a :class:`BackboneConfig` (the library ResNet; ``None``: the
            default one), or any ``nn.Module`` mapping images (B, in_channels,
            H, W), normalised as ``(x - 0.5) / 0.25``, to features (B, D) or to a
            map (B, D, h, w); see :class:`~multissl.vision.encoder.UserBackbone`
            (wrap the module in one yourself for another normalisation). The
            dense methods (dae, context-encoder, split-brain, dim) need a map.
        in_channels: image channels (3: RGB).
        image_size: training image side; sizes the heads of the methods whose
            layers depend on it, and the dummy forward pass that checks a user
            backbone.
        num_classes: sizes the optional online probe (``online_probe``); 0: none.
        feature_dim: D of a user backbone (checked; ``None``: inferred).
        **overrides: fields of the config to change, e.g. ``temperature=0.2``.
    """

    name = "task"
    sample_unit = "images"  # what the engine's progress lines count
    needs_color = False
    config_class: type = TaskConfig

    def __init__(self, config: Optional[TaskConfig] = None, backbone: Backbone = None, in_channels: int = 3,
                 num_classes: int = 0, *, image_size: int = 32, feature_dim: Optional[int] = None, **overrides: Any):
        super().__init__()
        config = resolve_config(self.name, self.config_class, config, overrides)
        if self.needs_color and in_channels != 3:
            raise ValueError(f"{self.name} needs colour (3-channel RGB) images, got {in_channels} channel(s)")
        if backbone is None:
            backbone = BackboneConfig()
        self.config, self.in_channels = config, in_channels
        # the library ResNet's config, None for a user backbone
        self.backbone_config = backbone if isinstance(backbone, BackboneConfig) else None
        self.encoder = build_encoder(backbone, in_channels, image_size, feature_dim)
        wants_probe = getattr(config, "online_probe", False) and num_classes > 1
        with isolated_rng(0):  # the probe's initial weights leave the method's own initialisation as it was without it
            self.online_classifier = nn.Linear(self.encoder.out_dim, num_classes) if wants_probe else None

    @property
    def user_backbone(self) -> bool:
        """Whether the encoder wraps a network of the user's (not the library ResNet)."""
        return isinstance(getattr(self, "encoder", None), UserBackbone)

    def _require_feature_map(self, image_size: int) -> int:
        """The encoder's output stride, or a ValueError when it gives no map that tiles (image_size x image_size) images."""
        encoder = self.encoder
        if not encoder.has_map:
            raise ValueError(
                f"{self.name} needs a backbone that returns a feature map (B, D, h, w), but this one returns feature "
                f"vectors (B, {encoder.out_dim}); pass the network without its global pooling and classifier, e.g. "
                f"backbone=nn.Sequential(*list(torchvision.models.resnet18().children())[:-2]), feature_dim=512")
        if encoder.output_stride is None:
            h, w = encoder.map_size(image_size)
            raise ValueError(f"{self.name} needs a square feature map that tiles the image evenly; the backbone maps "
                             f"{image_size}x{image_size} images to {h}x{w}")
        if image_size < encoder.output_stride or image_size % encoder.output_stride:
            raise ValueError(f"{self.name} needs images whose side is a multiple of the backbone's output stride "
                             f"{encoder.output_stride} (e.g. {max(encoder.output_stride, 32)}), got {image_size}x{image_size}; "
                             "resize the images (--image-size)")
        return encoder.output_stride

    def training_loss(self, images: torch.Tensor, labels: Optional[torch.Tensor] = None, *,
                      return_metrics: bool = False) -> Union[torch.Tensor, Tuple[torch.Tensor, Dict[str, torch.Tensor]]]:
        """The loss of one training step on a batch: one call for your own loop.

        Args:
            images: (B, C, H, W) uint8 in [0, 255] or float in [0, 1]; the
                method's augmentations, views, patches ... are made inside.
            labels: (B,) class indices, used only by the online probe
                (``online_probe=True`` and ``num_classes`` > 1); never by the
                self-supervised loss.
            return_metrics: also return the step's metrics dict (detached
                scalars, e.g. ``accuracy``, ``online_acc``).

        Returns: the scalar loss (with gradients), or ``(loss, metrics)``.

        Same as ``forward((images, labels))``, the engine's contract. The task
        should be in training mode (``task.train()``, the default). Methods
        with a momentum encoder or a layer-wise schedule (moco, byol, the mlp
        dae) also need ``after_optimizer_step`` after every optimizer step.
        """
        loss, metrics = self((images,) if labels is None else (images, labels))
        return (loss, metrics) if return_metrics else loss

    def after_optimizer_step(self, step: int, max_steps: Optional[int] = None, progress: Optional[float] = None) -> None:
        """Call after every ``optimizer.step()`` (the engine does): ``step`` is the number of optimizer steps done
        (1 after the first), ``max_steps`` the planned total (``None``: unknown), ``progress`` the training
        progress in [0, 1] when known (the engine passes it; it also covers time budgets).

        No-op here; MoCo and BYOL move their momentum encoder towards the
        online one (BYOL's momentum follows a cosine schedule over
        ``progress``, else ``step / max_steps``; constant ``tau_base`` with
        neither), the mlp DAE moves to the next layer every
        ``steps_per_layer`` steps.
        """

    def online_probe_loss(self, features: torch.Tensor, batch: Any, metrics: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Cross-entropy of the online linear probe on detached (B, D) features, over the batch's labelled images
        (label >= 0; 0 when the probe is off or no image of the batch has a label).

        The features are detached, so the labels never influence the
        representation (solo-learn's online probe); ``metrics`` gains
        ``online_acc``.
        """
        if self.online_classifier is None:
            return features.new_zeros(())
        labels = batch[1] if isinstance(batch, (tuple, list)) and len(batch) > 1 else None
        known = labels >= 0 if labels is not None else None  # -1: an image without a label
        if known is None or not known.any():  # zero, yet touching the probe: DDP needs every parameter in the graph
            return sum(p.sum() for p in self.online_classifier.parameters()) * 0.0
        logits = self.online_classifier(features.detach()[: len(labels)][known])
        metrics["online_acc"] = (logits.argmax(1) == labels[known]).float().mean().detach()
        return F.cross_entropy(logits, labels[known])

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

    def view_crops(self) -> Optional[List[Any]]:
        """The geometric half of each view the method makes (a :class:`~multissl.vision.streaming.CropSpec` per view),
        for data decoded in worker processes, which then cut the views from the original images; None for methods
        that take whole images (the default). A batch of such views is (B, V, C, S, S)."""
        return None

    def lr_scales(self) -> List[Tuple[List[nn.Parameter], float]]:
        """Trainable parameters grouped by learning-rate multiplier: ``[(params, scale)]``.

        The optimiser gives each group ``scale`` times the base learning rate
        (and the schedule scales all groups alike). Default: one group at 1.
        """
        return [([p for p in self.parameters() if p.requires_grad], 1.0)]

    def train_metadata(self) -> Dict[str, Any]:
        return {"task": self.name}


def crop_specs(views) -> List[Any]:
    """The worker-side crop of each view config (its scale range and flip)."""
    from ..streaming import CropSpec

    return [CropSpec(v.min_scale, v.max_scale, v.flip) for v in views]


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
