"""The shared optim section: LARS as the papers train with it, and lr scaled with the global batch."""
import pytest
import torch
from torch import nn

from multissl.optim import LARS, OptimConfig, for_global_batch, global_batch_size, make_optimizer


def test_lars_scales_weight_updates_by_the_trust_ratio_and_leaves_biases_plain():
    torch.manual_seed(0)
    layer = nn.Linear(5, 3)
    w0, b0 = layer.weight.detach().clone(), layer.bias.detach().clone()
    layer.weight.grad, layer.bias.grad = torch.randn(3, 5), torch.randn(3)
    opt = LARS(layer.parameters(), lr=0.5, weight_decay=0.0, eta=0.001)
    opt.step()
    step = (w0 - layer.weight.detach()).norm()
    torch.testing.assert_close(step, 0.5 * 0.001 * w0.norm())  # lr x eta x ||w||: the gradient's size drops out
    torch.testing.assert_close(layer.bias.detach(), b0 - 0.5 * layer.bias.grad)  # excluded: plain SGD, no decay


def test_lars_decays_weights_but_not_biases_and_is_a_choice_of_the_optim_section():
    layer = nn.Linear(4, 2)
    assert isinstance(make_optimizer(layer.parameters(), OptimConfig(optimizer="lars", lr=0.1)), LARS)
    layer.weight.grad, layer.bias.grad = torch.zeros(2, 4), torch.zeros(2)
    bias = layer.bias.detach().clone()
    LARS(layer.parameters(), lr=0.1, weight_decay=0.5).step()
    torch.testing.assert_close(layer.bias.detach(), bias)
    with pytest.raises(ValueError, match="LARS needs lr > 0"):
        LARS(layer.parameters(), lr=0.0)


@pytest.mark.parametrize("scaling,expected", [("none", 0.3), ("linear", 0.6), ("sqrt", 0.3 * 2 ** 0.5)])
def test_lr_scales_with_the_global_batch(scaling, expected):
    config, line = for_global_batch(OptimConfig(lr=0.3, lr_scaling=scaling), global_batch_size(128, accumulate=2, processes=2))
    assert config.lr == pytest.approx(expected) and line.startswith("global batch 512, learning rate")
    if scaling == "linear":
        assert line == "global batch 512, learning rate 0.6 = 0.3 x 512 / 256"


def test_every_torch_modality_has_the_large_batch_flags():
    from multissl.cli import build_parser

    parser = build_parser(only="audio")
    args = parser.parse_args(["audio", "train", "data", "-o", "run", "--optimizer", "lars", "--lr-scaling", "linear",
                              "--accumulate", "4"])
    assert (args.optimizer, args.lr_scaling, args.accumulate) == ("lars", "linear", 4)
