"""Projection and prediction MLP heads with the papers' defaults.

Every head maps (B, in_dim) -> (B, out_dim).
"""
from __future__ import annotations

from typing import Sequence

from torch import nn

from .checks import check_positive


class MLPHead(nn.Sequential):
    """Linear layers with optional batch norm and ReLU between them.

    Args:
        dims: ``[in_dim, hidden..., out_dim]`` (at least two entries).
        batch_norm: BatchNorm1d after every hidden linear layer.
        last_batch_norm: BatchNorm1d (no affine) after the output layer, as
            SimCLR v2 and MoCo v3 do.
        bias: bias in linear layers followed by batch norm (redundant with it).
    """

    def __init__(self, dims: Sequence[int], batch_norm: bool = True, last_batch_norm: bool = False, bias: bool = True):
        if len(dims) < 2:
            raise ValueError(f"dims must list at least input and output sizes, got {list(dims)}")
        for i, d in enumerate(dims):
            check_positive(f"dims[{i}]", d)
        layers = []
        for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:])):
            last = i == len(dims) - 2
            norm = last_batch_norm if last else batch_norm
            layers.append(nn.Linear(d_in, d_out, bias=bias and not norm))
            if norm:
                layers.append(nn.BatchNorm1d(d_out, affine=not last))
            if not last:
                layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)
        self.in_dim, self.out_dim = dims[0], dims[-1]


class SimCLRProjectionHead(MLPHead):
    """SimCLR's g(·): in -> hidden -> out (2048 -> 2048 -> 128 on ResNet-50).

    ``last_batch_norm`` puts a BatchNorm1d on the output too, as the official
    SimCLR code (v1 and v2) and lightly do; (B, in_dim) -> (B, out_dim).
    """

    def __init__(self, in_dim: int = 2048, hidden_dim: int = 2048, out_dim: int = 128, num_layers: int = 2,
                 batch_norm: bool = True, last_batch_norm: bool = True):
        check_positive("num_layers", num_layers)
        super().__init__([in_dim] + [hidden_dim] * (num_layers - 1) + [out_dim], batch_norm=batch_norm,
                         last_batch_norm=last_batch_norm)


class MoCoProjectionHead(MLPHead):
    """MoCo v2's MLP head: in -> hidden -> ReLU -> out (2048 -> 2048 -> 128), no batch norm."""

    def __init__(self, in_dim: int = 2048, hidden_dim: int = 2048, out_dim: int = 128):
        super().__init__([in_dim, hidden_dim, out_dim], batch_norm=False)


class BYOLProjectionHead(MLPHead):
    """BYOL's projector: in -> 4096 (BN, ReLU) -> 256."""

    def __init__(self, in_dim: int = 2048, hidden_dim: int = 4096, out_dim: int = 256):
        super().__init__([in_dim, hidden_dim, out_dim], batch_norm=True)


class BYOLPredictionHead(MLPHead):
    """BYOL's predictor q: 256 -> 4096 (BN, ReLU) -> 256."""

    def __init__(self, in_dim: int = 256, hidden_dim: int = 4096, out_dim: int = 256):
        super().__init__([in_dim, hidden_dim, out_dim], batch_norm=True)


__all__ = ["MLPHead", "SimCLRProjectionHead", "MoCoProjectionHead", "BYOLProjectionHead", "BYOLPredictionHead"]
