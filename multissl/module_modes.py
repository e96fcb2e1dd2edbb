"""Running a network once to learn its output shapes, without changing it: :func:`measuring`."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn


@contextmanager
def measuring(*modules: nn.Module) -> Iterator[torch.device]:
    """Inside the block every submodule of ``modules`` is in eval mode (batch norm statistics untouched) and no
    gradient is recorded; afterwards each submodule has its own train/eval mode back. Yields the device of the
    first parameter (the CPU for a network without parameters), where a blank input should go."""
    layers = [m for module in modules for m in module.modules()]
    modes = [m.training for m in layers]
    param = next((p for module in modules for p in module.parameters()), None)
    try:
        for module in modules:
            module.eval()
        with torch.no_grad():
            yield param.device if param is not None else torch.device("cpu")
    finally:
        for layer, mode in zip(layers, modes):
            layer.training = mode


__all__ = ["measuring"]
