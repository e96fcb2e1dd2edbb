"""Deep InfoMax (Hjelm et al. 2019).

An early stage of the encoder gives M x M local features (stage 2: 16 x 16 on
32 x 32 images, each seeing a 25-pixel window in ResNet-18; stage 3 units see the
whole image, so matching them to the code rewards image identity over
content); the last feature map, spatially averaged (the features the probes
read) and through a small network (fc 1024, code 64), gives the global code.
The paper's fc layer reads the flattened map instead (``code_input="flat"``),
but then the last stage is free to learn position-specific features that the
pooled probe cannot use (it fell below random init on CIFAR-10): averaging
first makes the pooled features the code's only input. Local-global mutual
information is maximised with the core's estimators (InfoNCE by default, which
probes better here than the paper's JSD; DV): every local feature of an image
is scored against the global codes of all images of the batch, its own being
the positive pair (``beta``). Optional terms: global MI between the code and
the whole feature map (``alpha``), and prior matching (``gamma``): a
discriminator pushes the sigmoid-bounded codes towards a uniform prior,
trained adversarially with the same optimiser.

With a user backbone (``DeepInfoMax(backbone=net, feature_dim=D)``) ``net``
must return a feature map (B, D, h, w), which gives both the local features
and the global code; or several maps (a list or dict, e.g. torchvision's
``create_feature_extractor(resnet, {"layer3": "local", "layer4": "out"})``):
the first gives the local features, the last the code.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Dict, Optional

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from multissl.heads import MLPHead
from multissl.losses import MI_ESTIMATORS, local_global_mi_loss, mi_loss

from ..encoder import Backbone
from .base import PretextTask, ProbedTaskConfig, detached_call


@dataclass
class DIMConfig(ProbedTaskConfig):
    # runs recorded before code_input existed built the code from the flattened map (see vision/run.py)
    legacy_values: ClassVar[Dict[str, object]] = {"code_input": "flat"}
    estimator: str = field(default="infonce", metadata={"help": "MI estimator (the paper's default: jsd)", "choices": list(MI_ESTIMATORS)})
    code_dim: int = field(default=64, metadata={"help": "size of the global code Y (64 in the paper)"})
    score_dim: int = field(default=512, metadata={"help": "size of the space where local and global features are compared"})
    alpha: float = field(default=0.0, metadata={"help": "weight of the global MI term"})
    beta: float = field(default=1.0, metadata={"help": "weight of the local MI term"})
    gamma: float = field(default=0.1, metadata={"help": "weight of the prior-matching term (0: off)"})
    local_stage: int = field(default=2, metadata={"help": "ResNet stage (1-4) whose map gives the local features (2: 16 x 16, "
                                                                   "receptive field 25 px; 4: the last map; "
                                                                   "a user backbone: the first map it returns)"})
    code_input: str = field(default="pooled", metadata={"help": "what the code network reads: pooled (the last map's spatial mean, "
                                                                 "the probed features) or flat (the flattened map, the paper's fc layer)",
                                                         "choices": ["pooled", "flat"]})


class DeepInfoMax(PretextTask):
    name = "dim"

    config_class = DIMConfig

    def __init__(self, config: Optional[DIMConfig] = None, backbone: Backbone = None, in_channels: int = 3, image_size: int = 32,
                 num_classes: int = 0, *, feature_dim: Optional[int] = None, **overrides):
        super().__init__(config, backbone, in_channels, num_classes, image_size=image_size, feature_dim=feature_dim, **overrides)
        config = self.config
        if config.estimator not in MI_ESTIMATORS:
            raise ValueError(f"estimator must be one of {MI_ESTIMATORS}, got {config.estimator!r}")
        if config.code_input not in ("pooled", "flat"):
            raise ValueError(f"code_input must be 'pooled' or 'flat', got {config.code_input!r}")
        if self.user_backbone:
            # a user backbone's local features come from the first map it returns (its only one, or e.g. layer3 of a
            # create_feature_extractor dict); local_stage indexes the library ResNet's stages only
            self._require_feature_map(image_size)
            self.local_index = 0
        else:
            stages = len(self.encoder.stage_dims)
            if not 1 <= config.local_stage <= stages:
                raise ValueError(f"local_stage must be between 1 and {stages} (the encoder's stages), got {config.local_stage}")
            self.local_index = config.local_stage - 1
        d, s = self.encoder.out_dim, config.score_dim
        local_dim = self.encoder.stage_dims[self.local_index]
        h, w = self.encoder.map_size(image_size)
        code_in = d if config.code_input == "pooled" else d * h * w
        self.to_code = MLPHead([code_in, 1024, config.code_dim], batch_norm=True)
        self.local_proj = nn.Sequential(nn.Conv2d(local_dim, s, 1), nn.ReLU(inplace=True), nn.Conv2d(s, s, 1))
        self.global_proj = MLPHead([config.code_dim, s, s], batch_norm=False)
        self.map_proj = MLPHead([d * h * w, s, s], batch_norm=False) if config.alpha else None
        self.prior_critic = MLPHead([config.code_dim, 256, 1], batch_norm=False) if config.gamma else None

    def code(self, fmap: torch.Tensor) -> torch.Tensor:
        """The global code Y: last map (B, D, h, w) -> (B, code_dim), from its spatial mean or its flattening (``code_input``)."""
        x = fmap.mean(dim=(2, 3)) if self.config.code_input == "pooled" else fmap.flatten(1)
        return self.to_code(x)

    def forward(self, batch):
        x = self.images(batch)
        if len(x) < 2:
            raise ValueError(f"dim needs at least 2 images per batch for negative pairs, got {len(x)}")
        maps = self.encoder.stage_maps(x)
        fmap = maps[-1]
        code = self.code(fmap)
        local = rearrange(self.local_proj(maps[self.local_index]), "b s h w -> b (h w) s")
        local_mi = local_global_mi_loss(local, self.global_proj(code), self.config.estimator)
        loss = self.config.beta * local_mi
        metrics = {"local_mi_loss": local_mi.detach()}
        if self.map_proj is not None:
            scores = self.map_proj(fmap.flatten(1)) @ self.global_proj(code).T
            global_mi = mi_loss(scores, torch.arange(len(x), device=x.device), self.config.estimator)
            loss = loss + self.config.alpha * global_mi
            metrics["global_mi_loss"] = global_mi.detach()
        if self.prior_critic is not None:
            prior_loss, critic_loss = self._prior_terms(torch.sigmoid(code))
            loss = loss + self.config.gamma * prior_loss + critic_loss
            metrics.update(prior_loss=prior_loss.detach(), critic_loss=critic_loss.detach())
        features = fmap.mean(dim=(2, 3))
        return loss + self.online_probe_loss(features, batch, metrics), metrics

    def _prior_terms(self, code: torch.Tensor):
        """Encoder's adversarial loss (critic frozen) and the critic's loss (codes detached)."""
        bce = F.binary_cross_entropy_with_logits
        fooled = detached_call(self.prior_critic, code).squeeze(1)
        encoder_loss = bce(fooled, torch.ones_like(fooled))
        prior = torch.rand_like(code)
        real, fake = self.prior_critic(prior).squeeze(1), self.prior_critic(code.detach()).squeeze(1)
        critic_loss = bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake))
        return encoder_loss, critic_loss
