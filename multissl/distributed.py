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


def leave_together() -> None:
    """Wait for every rank, then close the process group: called when a command has finished on every rank, so
    that no rank tears its connections down while another still uses them (a rank exiting alone could abort at
    exit with ``terminate called without an active exception``). Nothing without a process group."""
    if not (dist.is_available() and dist.is_initialized()):
        return
    if is_distributed():
        dist.barrier()
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


def shared_random_seed() -> int:
    """A seed in [0, 2**62) from torch's global generator, the same on every rank: rank 0's draw.

    Every rank draws one (so all generators advance alike) and takes rank 0's.
    For random choices that must agree across ranks, such as negatives drawn
    for the whole global batch. Without a process group it is a plain draw.
    """
    seed = torch.randint(0, 2**62, (1,))
    if is_distributed():
        on_device = seed.cuda() if dist.get_backend() == "nccl" else seed
        dist.broadcast(on_device, src=0)
        seed = on_device.cpu()
    return int(seed.item())


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


def gather_objects(obj: Any) -> list:
    """``obj`` (anything picklable) of every rank, in rank order (a collective); ``[obj]`` without DDP."""
    if not is_distributed():
        return [obj]
    objects: list = [None] * dist.get_world_size()
    dist.all_gather_object(objects, obj)
    return objects


def all_reduce_mean(x: torch.Tensor) -> torch.Tensor:
    """Mean of ``x`` over ranks (a copy; ``x`` itself is untouched)."""
    if not is_distributed():
        return x
    y = x.detach().clone()
    dist.all_reduce(y, op=dist.ReduceOp.SUM)
    return y / dist.get_world_size()


def sparse_parameters(module: torch.nn.Module) -> list:
    """The weights of ``module``'s embeddings with sparse gradients (``nn.Embedding(..., sparse=True)``, bags too)."""
    return [m.weight for m in module.modules() if isinstance(m, (torch.nn.Embedding, torch.nn.EmbeddingBag)) and m.sparse]


def broadcast_parameters(module: torch.nn.Module) -> None:
    """Rank 0's parameters and buffers copied to every rank (what DDP does when it wraps a module)."""
    if not is_distributed():
        return
    with torch.no_grad():
        for tensor in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(tensor.data, src=0)


def average_gradients(module: torch.nn.Module) -> None:
    """Every gradient of ``module`` replaced by its mean over ranks, as DDP would leave it.

    Sparse gradients (embeddings with ``sparse=True``) travel as the rows they touch: every rank
    gathers the others' (row index, row) pairs, so a step exchanges the rows its batch used instead of
    a dense (V, D) table. Dense gradients are all-reduced. A parameter without a gradient counts as zero.
    """
    if not is_distributed():
        return
    sparse = {id(p) for p in sparse_parameters(module)}
    for param in module.parameters():
        if not param.requires_grad:
            continue
        if id(param) in sparse:
            param.grad = _mean_of_sparse(param)
            continue
        if param.grad is None:
            param.grad = torch.zeros_like(param)
        dist.all_reduce(param.grad)
        param.grad /= dist.get_world_size()


def _mean_of_sparse(param: torch.Tensor) -> torch.Tensor:
    """The mean over ranks of ``param``'s sparse (rows, dim) gradient, from every rank's touched rows."""
    grad = param.grad
    if grad is None:
        grad = torch.sparse_coo_tensor(torch.zeros(1, 0, dtype=torch.long), torch.zeros(0, *param.shape[1:]),
                                       param.shape, device=param.device, dtype=param.dtype, check_invariants=False)
    grad = grad.coalesce()
    rows, values = grad.indices()[0], grad.values()
    counts = gather_no_grad(torch.tensor([len(rows)], device=rows.device))
    most = int(counts.max())
    padded_rows = torch.zeros(most, dtype=rows.dtype, device=rows.device)
    padded_rows[:len(rows)] = rows
    padded_values = values.new_zeros((most,) + tuple(values.shape[1:]))
    padded_values[:len(rows)] = values
    all_rows, all_values = gather_no_grad(padded_rows), gather_no_grad(padded_values)
    keep = torch.cat([torch.arange(most, device=rows.device) < int(n) for n in counts])
    mean = torch.sparse_coo_tensor(all_rows[keep].unsqueeze(0), all_values[keep] / dist.get_world_size(), param.shape,
                                   check_invariants=False)  # rows from coalesced gradients: in range by construction
    return mean.coalesce()

