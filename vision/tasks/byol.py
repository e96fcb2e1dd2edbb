"""Bootstrap Your Own Latent (Grill et al. 2020).

An online network (encoder, projector, predictor) predicts the projection
of another view made by a target network that is an EMA of the online one
(tau from 0.996 to 1 on a cosine schedule over training). The loss is the
core's normalised MSE, symmetrised over the two views; the target gets no
gradient (stop-gradient) and there are no negatives.

One departure from the paper's recipe, for short runs: the predictor learns
at ``predictor_lr_scale`` (10) times the base learning rate. The predictor
has to track the online network for the bootstrap to make progress (Tian,
Chen & Ganguli 2021); docs/vision.md has the measured effect at a CPU
budget. ``--predictor-lr-scale 1`` gives the paper's single learning rate.

In your own loop, the target is a deep copy of the online encoder (your
backbone, e.g. ``BYOL(backbone=net, feature_dim=512)``) and only moves when
you call ``task.after_optimizer_step(step, max_steps)`` after every
``optimizer.step()`` (``step`` counts from 1; ``max_steps`` drives the
cosine schedule of tau), as the engine does. ``lr_scales()`` gives the
predictor's faster learning rate as optimizer parameter groups.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import torch
from torch import nn

from multissl.heads import BYOLPredictionHead, BYOLProjectionHead
from multissl.losses import byol_loss
from multissl.momentum import cosine_schedule, momentum_copy, update_momentum
from multissl.schedules import cosine_momentum

from ..batch_augment import byol_views, make_views
from ..data import to_float
from ..encoder import Backbone
from .base import PretextTask, ProbedTaskConfig, crop_specs


@dataclass
class BYOLConfig(ProbedTaskConfig):
    proj_hidden: int = field(default=1024, metadata={"help": "hidden units of projector and predictor (4096 in the paper)"})
    proj_out: int = field(default=256, metadata={"help": "projection size (256 in the paper)"})
    tau_base: float = field(default=0.996, metadata={"help": "EMA momentum at the start (0.996 in the paper)"})
    tau_end: float = field(default=1.0, metadata={"help": "EMA momentum at the end of training (cosine schedule)"})
    crop_min_scale: float = field(default=0.08, metadata={"help": "smallest random crop, as a fraction of the image area (0.08 in the paper)"})
    predictor_lr_scale: float = field(
        default=10.0,
        metadata={"help": "the predictor's learning rate as a multiple of the base rate (1 in the paper; "
                          "a faster predictor speeds up short runs, Tian et al. 2021)"},
    )


class BYOL(PretextTask):
    name = "byol"
    global_batch_norm = True  # the paper's batch norm over all devices' batch (--sync-bn, on by default)

    config_class = BYOLConfig

    def __init__(self, config: Optional[BYOLConfig] = None, backbone: Backbone = None, in_channels: int = 3, image_size: int = 32,
                 num_classes: int = 0, *, feature_dim: Optional[int] = None, **overrides):
        super().__init__(config, backbone, in_channels, num_classes, image_size=image_size, feature_dim=feature_dim, **overrides)
        config = self.config
        if config.predictor_lr_scale <= 0:
            raise ValueError(f"predictor_lr_scale must be > 0, got {config.predictor_lr_scale}")
        d = self.encoder.out_dim
        self.online = nn.ModuleDict({"encoder": self.encoder, "projector": BYOLProjectionHead(d, config.proj_hidden, config.proj_out)})
        self.predictor = BYOLPredictionHead(config.proj_out, config.proj_hidden, config.proj_out)
        self.target = momentum_copy(self.online)
        if not 0 < config.crop_min_scale <= 1:
            raise ValueError(f"crop_min_scale must be in (0, 1], got {config.crop_min_scale}")
        self.views = byol_views(config.crop_min_scale)
        self.register_buffer("tau", torch.tensor(config.tau_base))

    def view_crops(self):
        return crop_specs(self.views)

    def lr_scales(self):
        """The predictor trains at ``predictor_lr_scale`` times the base learning rate."""
        predictor = list(self.predictor.parameters())
        ids = {id(p) for p in predictor}
        rest = [p for p in self.parameters() if p.requires_grad and id(p) not in ids]
        return [(rest, 1.0), (predictor, self.config.predictor_lr_scale)]

    def forward(self, batch):
        x = to_float(batch[0])
        if len(x) < 2:
            raise ValueError(f"byol needs at least 2 images per batch (batch norm), got {len(x)}")
        v1, v2 = make_views(x, self.views)
        features = self.online["encoder"].features(torch.cat([v1, v2]))
        p1, p2 = self.predictor(self.online["projector"](features)).chunk(2)
        with torch.no_grad():
            z1, z2 = self.target["projector"](self.target["encoder"].features(torch.cat([v1, v2]))).chunk(2)
        loss = byol_loss(p1, z2) + byol_loss(p2, z1)
        metrics = {"tau": self.tau.detach().clone()}
        return loss + self.online_probe_loss(features, batch, metrics), metrics

    def after_optimizer_step(self, step: int, max_steps: Optional[int] = None, progress: Optional[float] = None) -> None:
        """Move the target towards the online network with tau on a cosine schedule from ``tau_base`` (progress 0)
        to ``tau_end`` (progress 1). Progress is ``progress`` when given (the engine's, which also covers time
        budgets), else ``step / max_steps``; with neither, tau stays at ``tau_base``. Call after every optimizer step."""
        c = self.config
        if progress is not None:
            tau = cosine_momentum(progress, c.tau_base, c.tau_end)
        elif max_steps:
            tau = cosine_schedule(step, max_steps, c.tau_base, c.tau_end)
        else:
            tau = c.tau_base
        self.tau.fill_(tau)
        update_momentum(self.online, self.target, tau)
