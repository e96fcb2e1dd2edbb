"""Small helpers for ``torch.distributed`` (DDP under ``torchrun``).

All functions degrade gracefully to single-process behaviour when no process
group is initialised, so library code can call them unconditionally.
"""
from __future__ import annotations

import atexit
import os
from typing import Any, Callable, Optional, TypeVar

import torch
import torch.distributed as dist

T = TypeVar("T")


def is_distributed() -> bool:
    """True when a process group with more than one rank is active."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def is_main_process() -> bool:
    return rank() == 0


def launched_by_torchrun() -> bool:
    """True when the environment variables set by ``torchrun`` ask for >1 process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


def init_from_env(backend: Optional[str] = None) -> torch.device:
    """Initialise the process group from torchrun's environment; return this rank's device.

    Uses NCCL when CUDA is available and gloo otherwise. Does nothing (and
    returns the default device) when not launched by torchrun or when a group
    already exists.
    """
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available()
    device = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    if launched_by_torchrun() and not dist.is_initialized():
        dist.init_process_group(backend or ("nccl" if use_cuda else "gloo"))
        atexit.register(_destroy_group)  # before interpreter finalisation, where gloo's threads would abort it
    return device


def _destroy_group() -> None:
    """The process group the library brought up, destroyed at exit unless the program already did."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def init_if_launched() -> None:
    """Bring the process group up when started by ``torchrun`` (before any rank touches a shared folder)."""
    if launched_by_torchrun() and not dist.is_initialized():
        init_from_env()


def barrier() -> None:
    """Wait for every rank (nothing without a process group)."""
    if is_distributed():
        dist.barrier()


def main_process_first(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` on rank 0 alone, its result handed to every rank; then every rank goes on.

    For work on shared files (creating a run folder, writing its config): no two
    ranks race on them. An exception on rank 0 is raised on every rank (of the
    same type, with the same message, where the type can be rebuilt from it), so
    no rank waits forever for one that failed. Without a process group it is a
    plain call.
    """
    if not is_distributed():
        return fn(*args, **kwargs)
    error: Optional[BaseException] = None
    box: list = [None]
    if is_main_process():
        try:
            box[0] = ("ok", fn(*args, **kwargs))
        except Exception as err:  # handed to the other ranks, then raised here too
            error = err
            box[0] = ("error", (type(err), str(err)))
    dist.broadcast_object_list(box, src=0)
    status, value = box[0]
    if error is not None:
        raise error
    if status == "error":
        raise _rebuilt(*value)
    return value


def _rebuilt(cls: type, message: str) -> BaseException:
    try:
        return cls(message)
    except Exception:
        return RuntimeError(message)


class _GatherWithGrad(torch.autograd.Function):
    """all_gather whose backward sends each rank the summed gradient of its own slice."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.batch = x.shape[0]
        parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, x.contiguous())
        return torch.cat(parts, dim=0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        start = dist.get_rank() * ctx.batch
        return grad[start : start + ctx.batch]


class _AllReduceWithGrad(torch.autograd.Function):
    """Sum over ranks whose backward is the same sum of the gradients (every rank's output used every input)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        out = x.clone().contiguous()
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone().contiguous()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad


def all_reduce_with_grad(x: torch.Tensor) -> torch.Tensor:
    """The sum of ``x`` over every rank, differentiably (global batch statistics); ``x`` itself without DDP."""
    if not is_distributed():
        return x
    return _AllReduceWithGrad.apply(x)


def gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` (B, ...) from every rank into (world*B, ...), differentiably.

    Gradients flowing into another rank's rows are summed across ranks and
    returned to the rank that owns them. Combined with DDP's gradient
    averaging this gives exactly the gradient of the mean per-rank loss. All
    ranks must pass the same batch size. Returns ``x`` unchanged without DDP.
    """
    if not is_distributed():
        return x
    return _GatherWithGrad.apply(x)


@torch.no_grad()
def gather_no_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` (B, ...) from every rank into (world*B, ...) without gradient."""
    if not is_distributed():
        return x
    parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts, dim=0)


def all_reduce_mean(x: torch.Tensor) -> torch.Tensor:
    """Mean of ``x`` over ranks (a copy; ``x`` itself is untouched)."""
    if not is_distributed():
        return x
    y = x.detach().clone()
    dist.all_reduce(y, op=dist.ReduceOp.SUM)
    return y / dist.get_world_size()
