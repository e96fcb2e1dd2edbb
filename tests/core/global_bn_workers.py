"""Worker processes of test_global_batchnorm.py (importable by spawn): one step of a method on this rank's part
of a fixed global batch, with global batch norm, against the same step in one process on the whole batch."""
import os

import torch
import torch.distributed as dist

from multissl.sync_batchnorm import convert_batchnorm

BATCH = 8  # the global batch; each of 2 ranks holds half
VISION = ("simclr", "byol", "moco-v2")
CPC_MODES = {"cpc-batch": "batch", "cpc-sequence": "sequence", "cpc-group": "group"}
METHODS = VISION + tuple(CPC_MODES)
WAVE_SAMPLES = 800


def global_batch(method):
    """The whole batch: images (8, 3, 16, 16), or for CPC waveforms (8, 800) with 4 speakers spread over both halves."""
    gen = torch.Generator().manual_seed(0)
    if method in CPC_MODES:
        return {"wave": torch.randn(BATCH, WAVE_SAMPLES, generator=gen), "speaker": torch.arange(BATCH) % 4}
    return torch.rand(BATCH, 3, 16, 16, generator=gen)


def fixed_views(x, configs):
    """Deterministic stand-ins for a method's random views: the images and their mirror images."""
    return [x, x.flip(-1)]


def build(method, distributed):
    """``method``'s small network at fixed initial weights. MoCo on one process encodes its keys as one batch: with
    global batch norm the ranks' shuffled key batches have the statistics of the whole batch too."""
    torch.manual_seed(0)
    if method in CPC_MODES:
        from multissl.audio.cpc import CPC, CPCConfig

        return CPC(CPCConfig(encoder_channels=8, encoder_kernels=(10, 8, 4), encoder_strides=(5, 4, 2), context_dim=8,
                             prediction_steps=3, num_negatives=5, negatives=CPC_MODES[method], window=WAVE_SAMPLES))
    from multissl.vision.encoder import BackboneConfig
    from multissl.vision.registry import TASKS

    extra = {"queue_size": 16, "shuffle_bn": distributed} if method == "moco-v2" else {}
    return TASKS[method].task(backbone=BackboneConfig(arch="resnet10", width=4), image_size=16, proj_hidden=16,
                              proj_out=8, **extra)


def loss_of(method, model, batch):
    return model(batch)[0] if method in CPC_MODES else model((batch,))[0]


def batch_for(method, rank=None, world=1):
    data = global_batch(method)
    if rank is None:
        return data
    part = slice(rank * BATCH // world, (rank + 1) * BATCH // world)
    return {k: v[part] for k, v in data.items()} if isinstance(data, dict) else data[part]


def step(method, rank=None, world=1):
    """(loss, {name: gradient}, {name: buffer after the step}) of one forward/backward (with the views patched by the
    caller); under a process group, with global batch norm, over this rank's part."""
    model = build(method, distributed=rank is not None)
    model.train()
    if rank is not None:
        convert_batchnorm(model)
    loss = loss_of(method, model, batch_for(method, rank, world))
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}
    queues = {n: b.detach().clone() for n, b in model.named_buffers() if n.startswith("queue.")}
    return loss.detach(), grads, queues


def shuffled_keys(rank=None, world=2):
    """MoCo v2's keys of this rank's part with shuffle BN and plain batch norm (one process: the whole batch
    in ``world`` groups, which is what the ranks' shuffled sub-batches are)."""
    from multissl.vision.encoder import BackboneConfig
    from multissl.vision.tasks.moco import MoCo

    torch.manual_seed(0)
    model = MoCo(backbone=BackboneConfig(arch="resnet10", width=4), image_size=16, proj_hidden=16, proj_out=8,
                 queue_size=16, bn_splits=world)
    model.train()
    return model.embed_keys(batch_for("moco-v2", rank, world))


def patch_views(setattr_=setattr):
    """Deterministic views in the methods' modules (``setattr_``: pytest's ``monkeypatch.setattr`` in the test
    process, so that they come back after the test)."""
    from multissl.vision.tasks import byol, moco, simclr

    for module in (simclr, byol, moco):
        setattr_(module, "make_views", fixed_views)


def worker(rank, world, port, out_dir, method):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        if method == "moco-keys":
            torch.save(shuffled_keys(rank, world), os.path.join(out_dir, f"{method}-rank{rank}.pt"))
            return
        patch_views()  # a process of its own: nothing to restore
        loss, grads, queues = step(method, rank, world)
        for g in grads.values():  # what DDP does: the mean over ranks
            dist.all_reduce(g)
            g /= world
        dist.all_reduce(loss)
        torch.save((loss / world, grads, queues), os.path.join(out_dir, f"{method}-rank{rank}.pt"))
    finally:
        dist.destroy_process_group()
