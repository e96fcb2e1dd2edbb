"""What a modality hands :func:`multissl.export.export_encoder`: its encoder, how to describe it, an example input."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Optional

import torch
from torch import nn


@dataclass
class Exported:
    """``module``: the network whose ``state_dict`` is written (None: ``write`` writes the export itself);
    ``description``: JSON facts to rebuild it (the modality's ``encoder_from`` reads them); ``example``: an input
    to trace for TorchScript; ``traced``: the module to trace when it is not ``module`` (e.g. one that normalises)."""

    module: Optional[nn.Module]
    description: Dict[str, Any] = field(default_factory=dict)
    example: Optional[torch.Tensor] = None
    traced: Optional[nn.Module] = None
    write: Optional[Callable[[Path], None]] = None


__all__ = ["Exported"]
