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


def _spawn(tmp_path, method, world=2):
    mp.spawn(global_bn_workers.worker, args=(world, _free_port(), str(tmp_path), method), nprocs=world, join=True)
    return [torch.load(tmp_path / f"{method}-rank{rank}.pt") for rank in range(world)]


@pytest.mark.slow
@pytest.mark.parametrize("method", global_bn_workers.METHODS)
def test_two_ranks_with_global_bn_give_the_loss_and_gradients_of_one_process(tmp_path, method, monkeypatch):
    """SimCLR, BYOL, MoCo v2 (queries and keys) and CPC with negatives drawn from the gathered global batch."""
    ranks = _spawn(tmp_path, method)
    global_bn_workers.patch_views(monkeypatch.setattr)
    single_loss, single_grads, single_queues = global_bn_workers.step(method)
    for loss, grads, queues in ranks:
        torch.testing.assert_close(loss, single_loss, rtol=1e-5, atol=1e-5)
        assert grads.keys() == single_grads.keys()
        for name, grad in grads.items():
            torch.testing.assert_close(grad, single_grads[name], rtol=1e-4, atol=1e-5, msg=lambda m: f"{method} {name}: {m}")
        assert queues.keys() == single_queues.keys()
        for name, queue in queues.items():  # MoCo: both ranks enqueue the whole batch's keys, in the batch's order
            torch.testing.assert_close(queue, single_queues[name], rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_moco_shuffle_bn_across_ranks_encodes_keys_as_one_process_in_groups(tmp_path):
    """Without global BN, each rank encodes a shuffled share of all ranks' keys: one process with the same
    permutation and ``bn_splits=2`` gives the same keys."""
    ranks = _spawn(tmp_path, "moco-keys")
    single = global_bn_workers.shuffled_keys()
    half = len(single) // 2
    for rank, keys in enumerate(ranks):
        torch.testing.assert_close(keys, single[rank * half:(rank + 1) * half], rtol=1e-4, atol=1e-5)
