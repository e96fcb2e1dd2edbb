"""Run inside spawned processes by test_moco_ddp.py."""
import os

import torch
import torch.distributed as dist


def shuffle_bn_worker(rank, world, port, out_dir):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        from multissl.vision.encoder import BackboneConfig
        from multissl.vision.tasks.moco import MoCo, MoCoConfig

        torch.manual_seed(0)  # same weights on every rank
        task = MoCo(MoCoConfig(queue_size=64), BackboneConfig(arch="resnet10", width=4), 3)
        task.key.eval()  # running statistics: keys must not depend on which rank computed them
        g = torch.Generator().manual_seed(1)
        everything = torch.rand(8, 3, 16, 16, generator=g)
        mine = everything[rank * 4 : (rank + 1) * 4]
        torch.manual_seed(100 + rank)
        keys = task.embed_keys(mine)
        direct = torch.nn.functional.normalize(task.key["head"](task.key["encoder"].features(mine)), dim=1)
        torch.save({"shuffled": keys, "direct": direct}, os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()
