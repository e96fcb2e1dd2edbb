"""CPC's autoregressive context network: a GRU over the encoder's frames (CPC_audio's ``CPCAR``)."""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import nn


class CPCContext(nn.GRU):
    """Causal GRU summary ``c_t`` of frames z_1..z_t: (B, T, C) -> (B, T, H).

    A batch-first :class:`torch.nn.GRU` (so its parameters keep the GRU's names,
    ``weight_ih_l0`` ...) whose ``forward`` returns the outputs of the last
    layer only.

    Args:
        input_dim: C, the encoder's frame dimension.
        hidden_dim: H (256 in the paper).
        num_layers: stacked GRU layers.
    """

    def __init__(self, input_dim: int, hidden_dim: int = 256, num_layers: int = 1):
        for name, value in (("input_dim", input_dim), ("hidden_dim", hidden_dim), ("num_layers", num_layers)):
            if value <= 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        super().__init__(input_dim, hidden_dim, num_layers=num_layers, batch_first=True)

    @property
    def out_dim(self) -> int:
        return self.hidden_size

    def forward(self, z: torch.Tensor, hx: Optional[torch.Tensor] = None) -> torch.Tensor:  # type: ignore[override]
        return self.forward_state(z, hx)[0]

    def forward_state(self, z: torch.Tensor, hx: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(c (B, T, H), h (layers, B, H))``: the outputs and the final state, which continues the
        sequence when passed as ``hx`` with the frames that follow ``z`` (B, T, C)."""
        if not isinstance(z, torch.Tensor) or z.ndim != 3 or z.shape[-1] != self.input_size:
            shape = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
            raise ValueError(f"frames must have shape (B, T, {self.input_size}), got {shape}")
        return super().forward(z, hx)


__all__ = ["CPCContext"]
