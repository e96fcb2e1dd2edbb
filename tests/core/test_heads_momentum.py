import math

import pytest
import torch
from torch import nn

from multissl.heads import BYOLPredictionHead, BYOLProjectionHead, MLPHead, MoCoProjectionHead, SimCLRProjectionHead
from multissl.momentum import cosine_schedule, momentum_copy, update_momentum


def test_heads_shapes_and_paper_defaults():
    x = torch.randn(4, 2048)
    assert SimCLRProjectionHead()(x).shape == (4, 128)
    assert MoCoProjectionHead()(x).shape == (4, 128)
    assert BYOLProjectionHead()(x).shape == (4, 256)
    assert BYOLPredictionHead()(torch.randn(4, 256)).shape == (4, 256)
    assert not any(isinstance(m, nn.BatchNorm1d) for m in MoCoProjectionHead().modules())
    assert sum(isinstance(m, nn.Linear) for m in SimCLRProjectionHead(num_layers=3).modules()) == 3
    assert isinstance(SimCLRProjectionHead()[-1], nn.BatchNorm1d)  # output BN, as the official SimCLR code
    assert isinstance(SimCLRProjectionHead(last_batch_norm=False)[-1], nn.Linear)


def test_mlp_head_last_batch_norm_and_errors():
    head = MLPHead([8, 16, 4], last_batch_norm=True)
    assert isinstance(head[-1], nn.BatchNorm1d) and head[-1].affine is False
    with pytest.raises(ValueError, match="at least input and output"):
        MLPHead([8])
    with pytest.raises(ValueError, match=r"dims\[1\] must be > 0"):
        MLPHead([8, 0, 4])


def test_update_momentum_follows_ema_formula_exactly():
    online = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))
    target = momentum_copy(online)
    assert all(not p.requires_grad for p in target.parameters())
    with torch.no_grad():
        for p in online.parameters():
            p.add_(1.0)
        online[1].running_mean.fill_(0.5)
    before = [p.clone() for p in target.parameters()]
    update_momentum(online, target, 0.9)
    for b, o, t in zip(before, online.parameters(), target.parameters()):
        assert torch.allclose(t, 0.9 * b + 0.1 * o)
    assert torch.equal(target[1].running_mean, online[1].running_mean)
    with pytest.raises(ValueError, match=r"momentum m must be in \[0, 1\]"):
        update_momentum(online, target, 1.5)


def test_cosine_schedule_endpoints_and_midpoint():
    assert cosine_schedule(0, 100, 0.996, 1.0) == pytest.approx(0.996)
    assert cosine_schedule(100, 100, 0.996, 1.0) == pytest.approx(1.0)
    assert cosine_schedule(50, 100, 0.996, 1.0) == pytest.approx(0.998)
    assert cosine_schedule(500, 100, 0.0, 1.0) == 1.0
    step = 30
    assert cosine_schedule(step, 100, 0.996, 1.0) == pytest.approx(1 - 0.004 * (math.cos(math.pi * 0.3) + 1) / 2)
    with pytest.raises(ValueError, match="max_steps must be > 0"):
        cosine_schedule(0, 0, 0.9, 1.0)
