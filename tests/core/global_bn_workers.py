"""Worker processes of test_global_batchnorm.py (importable by spawn): one step of a method on this rank's half."""
import os

import torch
import torch.distributed as dist

from multissl.sync_batchnorm import convert_batchnorm

BATCH = 8  # the global batch; each of 2 ranks holds half


def global_images(seed=0):
    return torch.rand(BATCH, 3, 16, 16, generator=torch.Generator().manual_seed(seed))


def fixed_views(x, configs):
    """Deterministic stand-ins for a method's random views: the images and their mirror images."""
    return [x, x.flip(-1)]


def build(method):
    """A small network of ``method`` at fixed initial weights: (task, loss of a batch of images)."""
    from multissl.vision.encoder import BackboneConfig

    torch.manual_seed(0)
    from multissl.vision.registry import TASKS

    task = TASKS[method].task(backbone=BackboneConfig(arch="resnet10", width=4), image_size=16, proj_hidden=16, proj_out=8)
    return task, lambda batch: task((batch,))[0]


def batch_for(method, rank=None, world=1):
    data = global_images()
    if rank is None:
        return data
    half = len(data) // world
    return data[rank * half:(rank + 1) * half]


def step(method, rank=None, world=1):
    """(loss, {name: gradient}) of one forward/backward (with the views patched by the caller); under a process
    group, over this rank's half."""
    task, loss_of = build(method)
    task.train()
    if rank is not None:
        convert_batchnorm(task)
    loss = loss_of(batch_for(method, rank, world))
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in task.named_parameters() if p.grad is not None}
    return loss.detach(), grads


def patch_views(setattr_=setattr):
    """Deterministic views in the methods' modules (``setattr_``: pytest's ``monkeypatch.setattr`` in the test
    process, so that they come back after the test)."""
    from multissl.vision.tasks import byol, simclr

    setattr_(simclr, "make_views", fixed_views)
    setattr_(byol, "make_views", fixed_views)


def worker(rank, world, port, out_dir, method):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        patch_views()  # a process of its own: nothing to restore
        loss, grads = step(method, rank, world)
        for g in grads.values():  # what DDP does: the mean over ranks
            dist.all_reduce(g)
            g /= world
        dist.all_reduce(loss)
        torch.save((loss / world, grads), os.path.join(out_dir, f"{method}-rank{rank}.pt"))
    finally:
        dist.destroy_process_group()
