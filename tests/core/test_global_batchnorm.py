"""Global batch norm: 2 processes with half the batch each train like 1 process with all of it (CPU, gloo)."""
import copy
import socket

import pytest
import torch
import torch.multiprocessing as mp
from torch import nn

from multissl.sync_batchnorm import GlobalBatchNorm, convert_batchnorm
from tests.core import global_bn_workers


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_outside_a_process_group_it_is_a_plain_batch_norm():
    torch.manual_seed(0)
    plain = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 14 * 14, 2), nn.BatchNorm1d(2))
    twin = copy.deepcopy(plain)
    params = list(twin.parameters())
    converted = convert_batchnorm(twin)
    assert sum(isinstance(m, GlobalBatchNorm) for m in converted.modules()) == 2
    assert all(a is b for a, b in zip(params, converted.parameters()))  # an optimizer made before still holds them
    assert converted.state_dict().keys() == plain.state_dict().keys()
    x = torch.randn(6, 3, 16, 16)
    torch.testing.assert_close(converted(x), plain(x))
    torch.testing.assert_close(converted[1].running_var, plain[1].running_var)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["simclr", "byol"])
def test_two_ranks_with_global_bn_give_the_loss_and_gradients_of_one_process(tmp_path, method, monkeypatch):
    world = 2
    mp.spawn(global_bn_workers.worker, args=(world, _free_port(), str(tmp_path), method), nprocs=world, join=True)
    global_bn_workers.patch_views(monkeypatch.setattr)
    single_loss, single_grads = global_bn_workers.step(method)
    for rank in range(world):
        loss, grads = torch.load(tmp_path / f"{method}-rank{rank}.pt")
        torch.testing.assert_close(loss, single_loss, rtol=1e-5, atol=1e-5)
        assert grads.keys() == single_grads.keys()
        for name, grad in grads.items():
            torch.testing.assert_close(grad, single_grads[name], rtol=1e-4, atol=1e-5, msg=lambda m: f"{method} {name}: {m}")
