"""CPC's waveform encoder: strided 1-D convolutions on raw audio (CPC_audio's ``CPCEncoder``).

With the paper's sizes (kernels 10, 8, 4, 4, 4; strides 5, 4, 2, 2, 2; 512
channels, each convolution followed by a normalisation and ReLU) a waveform
(B, N) becomes frames ``z`` (B, T, 512), one per 160 samples (10 ms at 16 kHz).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Sequence

import torch
from einops import rearrange
from torch import nn

from .framing import PAPER_KERNELS, PAPER_STRIDES, receptive_field

if TYPE_CHECKING:  # pragma: no cover
    from .cpc import CPCConfig

NORMS = ("channel", "batch", "none")


class ChannelNorm(nn.Module):
    """Layer norm over the channels of each time step of (B, C, T) (CPC_audio's ChannelNorm)."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return rearrange(self.norm(rearrange(x, "b c t -> b t c")), "b t c -> b c t")


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "channel":
        return ChannelNorm(channels)
    if kind == "batch":
        return nn.BatchNorm1d(channels)
    return nn.Identity()


class CPCEncoder(nn.Module):
    """Strided conv stack: waveform (B, N) -> frames (B, T, C) with T = conv_frames(N).

    Built from a :class:`~multissl.audio.cpc.CPCConfig` (``CPCEncoder(config)``:
    ``encoder_channels``, ``encoder_kernels``, ``encoder_strides``,
    ``encoder_norm``) or from the keyword arguments.
    """

    def __init__(self, config: Optional["CPCConfig"] = None, *, channels: int = 512,
                 kernels: Sequence[int] = PAPER_KERNELS, strides: Sequence[int] = PAPER_STRIDES, norm: str = "batch"):
        super().__init__()
        if config is not None:
            channels, kernels, strides, norm = (config.encoder_channels, config.encoder_kernels,
                                                config.encoder_strides, config.encoder_norm)
        kernels, strides = tuple(int(k) for k in kernels), tuple(int(s) for s in strides)
        if len(kernels) != len(strides) or not kernels or min(kernels + strides) <= 0 or channels <= 0:
            raise ValueError(f"need channels > 0 and equally many (> 0) kernels and strides, got channels={channels}, "
                             f"kernels={kernels}, strides={strides}")
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
        layers, in_ch = [], 1
        for k, s in zip(kernels, strides):
            layers += [nn.Conv1d(in_ch, channels, k, s), _norm(norm, channels), nn.ReLU()]
            in_ch = channels
        self.net = nn.Sequential(*layers)
        self.out_dim = channels
        self.kernels, self.strides = kernels, strides
        self.min_samples = receptive_field(kernels, strides)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        if wave.ndim != 2:
            raise ValueError(f"waveform batch must have shape (B, N), got {tuple(wave.shape)}")
        if wave.shape[1] < self.min_samples:
            raise ValueError(f"waveforms of {wave.shape[1]} samples are shorter than the encoder's receptive field ({self.min_samples})")
        return rearrange(self.net(rearrange(wave, "b n -> b 1 n")), "b c t -> b t c")


__all__ = ["CPCEncoder", "ChannelNorm", "NORMS"]
