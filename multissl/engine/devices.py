"""Where and in which precision a run computes: device choice, autocast dtype, agreement across ranks."""
from __future__ import annotations

import warnings
from typing import Optional

import torch

from .. import distributed as dist_utils
from .config import TrainConfig


def select_device(config: TrainConfig) -> torch.device:
    if dist_utils.launched_by_torchrun():
        return dist_utils.init_from_env()
    if config.device:
        return parse_device(config.device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def parse_device(name: str) -> torch.device:
    """``torch.device(name)``, checked: a clear ValueError for names torch does not know or devices not present."""
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ValueError(f"device {name!r} is not one torch knows: use cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {name!r}: no CUDA GPU is available here; use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"device {name!r}: there are {torch.cuda.device_count()} CUDA device(s) (cuda:0..)")
    elif device.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ValueError(f"device {name!r}: MPS is not available here; use --device cpu")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device {name!r} is not supported for training: use cpu, cuda, cuda:N or mps")
    return device


def autocast_dtype(device: torch.device, config: TrainConfig) -> Optional[torch.dtype]:
    """The autocast dtype of the forward pass, or None for full precision."""
    if not config.amp:
        return None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and config.cpu_amp:
        if not cpu_supports_bf16():
            warnings.warn("cpu_amp: oneDNN has no bf16 kernels for this CPU (they need AVX-512, AMX or Arm "
                          "BF16); bf16 autocast will be slow")
        return torch.bfloat16
    return None


def cpu_supports_bf16() -> bool:
    """True when oneDNN has bf16 kernels for this CPU (x86 AVX-512 and up, fastest with AVX512-BF16
    or AMX; Arm with BF16)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def agree(flag: bool) -> bool:
    """True on every rank only if ``flag`` is True on every rank."""
    if not dist_utils.is_distributed():
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=comm_device())
    torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MIN)
    return bool(t.item() > 0)


def comm_device() -> torch.device:
    backend = torch.distributed.get_backend()
    return torch.device("cuda", torch.cuda.current_device()) if backend == "nccl" else torch.device("cpu")



__all__ = ["agree", "autocast_dtype", "cpu_supports_bf16", "parse_device", "select_device"]
