"""The encoder of an audio run for :mod:`multissl.export`: CPC's encoder and context network."""
from __future__ import annotations

from typing import Any, Dict, Tuple

import torch
from torch import nn

from multissl.export import Exported
from multissl.run import Run

from .context import CPCContext
from .cpc import CPCConfig
from .encoder import CPCEncoder


class CPCFeatures(nn.Module):
    """CPC without its predictors: ``forward(wave)``: (B, N) waveforms at the run's sample rate -> context
    c (B, T, H); ``encode(wave)`` -> (z (B, T, C), c (B, T, H)), one frame per ``config.hop`` samples."""

    def __init__(self, encoder: nn.Module, context: nn.Module):
        super().__init__()
        self.encoder, self.context = encoder, context

    def encode(self, wave: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        z = self.encoder(wave)
        return z, self.context(z)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.encode(wave)[1]


def encoder_of(run: Run) -> Exported:
    config = run.model.config
    features = CPCFeatures(run.model.encoder, run.model.context)
    facts = {"input": f"waveforms (B, N) at {config.sample_rate} Hz", "output": f"context (B, N / {config.hop}, {config.context_dim})",
             "model": config.as_dict()}
    return Exported(features, facts, torch.zeros(1, config.window))


def encoder_from(description: Dict[str, Any]) -> nn.Module:
    config = CPCConfig(**description["model"])
    return CPCFeatures(CPCEncoder(config), CPCContext(config.encoder_channels, config.context_dim, config.context_layers))


__all__ = ["CPCFeatures", "encoder_from", "encoder_of"]
