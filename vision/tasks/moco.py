"""Momentum Contrast, v1 (He et al. 2020) and v2 (Chen, Fan, Girshick & He 2020).

A query encoder and a momentum key encoder (EMA) embed two views of every
image; InfoNCE classifies each query's key against a queue of keys from
earlier batches (the core's ``MemoryQueue``). v1: linear head, temperature
0.07; v2: MLP head, blur in the augmentation and a cosine learning-rate
schedule.

Defaults are the authors' CIFAR-10 recipe (the MoCo repository's CIFAR demo:
m = 0.99, v2 temperature 0.1, queue 4096, 8 BN splits). The ImageNet papers
use m = 0.999 and temperature 0.2 (v2), tuned for ~10^5 steps: in a run of
~10^3 steps a 0.999 key encoder still carries ~25 % of its random
initialisation at the end (0.999^1340), and on the CIFAR-10 subset at a
15-minute CPU budget it probes 1.5 (linear) to 4 (kNN) points lower.

Batch norm would let the query/key pair cheat through batch statistics;
MoCo shuffles the key batch across GPUs ("shuffle BN"). Under DDP this
module does the same; on one device it splits the shuffled key batch into
``bn_splits`` groups with their own statistics, the single-device substitute.

In your own loop, the key encoder is a deep copy of the query encoder (your
backbone, e.g. ``MoCo(backbone=net, feature_dim=512)``) and only moves when
you call ``task.after_optimizer_step(step, max_steps)`` after every
``optimizer.step()``, as the engine does.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from multissl import distributed as dist_utils
from multissl.heads import MLPHead, MoCoProjectionHead
from multissl.losses import info_nce
from multissl.momentum import momentum_copy, update_momentum
from multissl.sampling import MemoryQueue

from ..batch_augment import make_views, moco_v1_views, moco_v2_views
from ..data import to_float
from ..encoder import Backbone
from .base import PretextTask, ProbedTaskConfig, crop_specs


@dataclass
class MoCoConfig(ProbedTaskConfig):
    temperature: float = field(default=0.1, metadata={"help": "InfoNCE temperature (CIFAR recipe 0.1; ImageNet papers: 0.07 in v1, 0.2 in v2)"})
    momentum: float = field(default=0.99, metadata={"help": "EMA momentum of the key encoder (CIFAR recipe 0.99; ImageNet papers 0.999)"})
    queue_size: int = field(default=4096, metadata={"help": "keys in the queue (65536 on ImageNet); a multiple of the global batch"})
    proj_hidden: int = field(default=512, metadata={"help": "hidden units of v2's MLP head (2048 in the paper)"})
    proj_out: int = field(default=128, metadata={"help": "embedding size"})
    mlp_head: bool = field(default=True, metadata={"help": "v2's MLP head (v1: linear)"})
    v2_augment: bool = field(default=True, metadata={"help": "v2's augmentation (jitter p=0.8, blur); v1's otherwise"})
    shuffle_bn: bool = field(default=True, metadata={"help": "shuffle BN under DDP, split BN on one device"})
    bn_splits: int = field(default=8, metadata={"help": "single-device shuffle BN: groups with their own statistics"})


@dataclass
class MoCoV1Config(MoCoConfig):
    temperature: float = field(default=0.07, metadata={"help": "InfoNCE temperature (0.07 in v1)"})
    mlp_head: bool = field(default=False, metadata={"help": "an MLP head instead of v1's linear one"})
    v2_augment: bool = field(default=False, metadata={"help": "use v2's augmentation instead of v1's"})


class MoCo(PretextTask):
    name = "moco"

    config_class = MoCoConfig

    def __init__(self, config: Optional[MoCoConfig] = None, backbone: Backbone = None, in_channels: int = 3, image_size: int = 32,
                 num_classes: int = 0, *, feature_dim: Optional[int] = None, **overrides):
        super().__init__(config, backbone, in_channels, num_classes, image_size=image_size, feature_dim=feature_dim, **overrides)
        config = self.config
        d = self.encoder.out_dim
        head = MoCoProjectionHead(d, config.proj_hidden, config.proj_out) if config.mlp_head else MLPHead([d, config.proj_out])
        self.query = nn.ModuleDict({"encoder": self.encoder, "head": head})
        self.key = momentum_copy(self.query)
        self.queue = MemoryQueue(config.queue_size, config.proj_out)
        self.views = moco_v2_views() if config.v2_augment else moco_v1_views()

    def view_crops(self):
        return crop_specs([self.views, self.views])

    def _check_queue(self, batch_size: int) -> None:
        global_batch = batch_size * dist_utils.world_size()
        if self.config.queue_size % global_batch:
            raise ValueError(f"queue_size ({self.config.queue_size}) must be a multiple of the global batch size ({global_batch})")

    def embed_queries(self, x: torch.Tensor):
        features = self.query["encoder"].features(x)
        return features, F.normalize(self.query["head"](features), dim=1)

    @torch.no_grad()
    def embed_keys(self, x: torch.Tensor) -> torch.Tensor:
        """Key embeddings (B, D) with shuffled batch norm (across ranks under DDP, in groups on one device)."""
        encode = lambda v: F.normalize(self.key["head"](self.key["encoder"].features(v)), dim=1)  # noqa: E731
        if not self.config.shuffle_bn:
            return encode(x)
        if dist_utils.is_distributed():
            return self._shuffled_across_ranks(x, encode)
        order = torch.randperm(len(x), device=x.device)
        groups = min(self.config.bn_splits, len(x) // 2) or 1
        keys = torch.cat([encode(chunk) for chunk in x[order].chunk(groups)])
        return keys[torch.argsort(order)]

    @staticmethod
    def _shuffled_across_ranks(x: torch.Tensor, encode) -> torch.Tensor:
        everything = dist_utils.gather_no_grad(x)
        order = torch.randperm(len(everything), device=x.device)
        dist.broadcast(order, src=0)
        rank, b = dist_utils.rank(), len(x)
        mine = order.view(dist_utils.world_size(), b)[rank]
        keys = dist_utils.gather_no_grad(encode(everything[mine]))
        return keys[torch.argsort(order)].view(dist_utils.world_size(), b, -1)[rank]

    def forward(self, batch):
        x = to_float(batch[0])
        self._check_queue(len(x))
        q_view, k_view = make_views(x, [self.views, self.views])
        features, q = self.embed_queries(q_view)
        k = self.embed_keys(k_view)
        loss = info_nce(q, k, self.queue.keys.clone(), temperature=self.config.temperature, normalize=False)
        metrics = {}
        with torch.no_grad():
            pos = (q * k).sum(1, keepdim=True)
            neg = q @ self.queue.keys.T
            metrics["key_accuracy"] = (pos > neg.max(1, keepdim=True).values).float().mean()
        self.queue.enqueue(dist_utils.gather_no_grad(k))
        return loss + self.online_probe_loss(features, batch, metrics), metrics

    def after_optimizer_step(self, step: int, max_steps: Optional[int] = None, progress: Optional[float] = None) -> None:
        """Move the key encoder and head towards the query ones (EMA with ``momentum``); call after every optimizer step."""
        update_momentum(self.query, self.key, self.config.momentum)
