"""MoCo's shuffle BN across 2 CPU processes (gloo) returns every key to its own sample."""
import socket

import pytest
import torch
import torch.multiprocessing as mp

from tests.vision import moco_ddp_worker


@pytest.mark.slow
def test_shuffle_bn_across_ranks_unshuffles_correctly(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(moco_ddp_worker.shuffle_bn_worker, args=(2, port, str(tmp_path)), nprocs=2, join=True)
    for rank in range(2):
        out = torch.load(tmp_path / f"rank{rank}.pt")
        assert torch.allclose(out["shuffled"], out["direct"], atol=1e-5)
