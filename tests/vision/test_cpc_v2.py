"""CPC v2 (Hénaff et al. 2020): directions, causal context, layer norm, per-patch augmentation, patch sizes, config."""
import argparse

import pytest
import torch
from torch import nn

from multissl.backbones import norm_layer
from multissl.cliutils import add_dataclass_arguments, dataclass_from_args
from multissl.vision.encoder import BackboneConfig
from multissl.vision.tasks.cpc_v2 import DIRECTIONS, CPCv2, CPCv2Config

G = 5


def _task(backbone, **kw):
    torch.manual_seed(0)
    return CPCv2(CPCv2Config(grid=G, patch_size=8, **kw), backbone, 3, image_size=32)


def _order(direction: str) -> torch.Tensor:
    """(G, G) position of every cell along the direction (0 = read first)."""
    rows = torch.arange(G)[:, None].expand(G, G)
    cols = torch.arange(G)[None, :].expand(G, G)
    return {"top-down": rows, "bottom-up": G - 1 - rows, "left-right": cols, "right-left": G - 1 - cols}[direction]


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_masked_context_sees_nothing_at_or_after_the_predicted_patch(direction, tiny_backbone):
    """Changing every cell after step t leaves the context at steps <= t unchanged (and does change later ones)."""
    task = _task(tiny_backbone)
    z = torch.randn(2, task.encoder.out_dim, G, G)
    order = _order(direction)
    with torch.no_grad():
        base = task.context_map(z, direction)
        for t in range(G - 1):
            changed = z.clone()
            changed[:, :, order > t] += torch.randn_like(changed[:, :, order > t])
            diff = (task.context_map(changed, direction) - base).abs().amax(dim=(0, 1))
            assert (diff[order <= t] == 0).all(), (direction, t)
            assert (diff[order > t] > 0).any(), (direction, t)


def test_directions_have_their_own_networks_and_the_loss_averages_them(images, tiny_backbone):
    task = _task(tiny_backbone, patch_augment=False, augment=False)
    assert set(task.contexts) == set(task.criteria) == {"top_down", "bottom_up", "left_right", "right_left"}
    assert task.contexts["top_down"] is not task.contexts["bottom_up"]
    assert task.contexts["top_down"].blocks[0][1].out_channels == task.encoder.out_dim // 4  # bottleneck blocks
    task.eval()
    loss, metrics = task((images[:4], None))
    z = task.embed_patches(images[:4].float() / 255, augment=False)
    expected = torch.stack([task.direction_loss(z, d)[0] for d in DIRECTIONS]).mean()
    assert torch.allclose(loss, expected, atol=1e-5)
    assert {f"acc_{d.replace('-', '_')}" for d in DIRECTIONS} <= set(metrics)


@pytest.mark.parametrize("norm, leaks", [("layer", False), ("batch", True)])
def test_layer_norm_statistics_do_not_cross_patches(norm, leaks, tiny_backbone):
    """In train mode, changing one patch changes no other patch's embedding with layer norm (it does with batch norm)."""
    task = _task(tiny_backbone, encoder_norm=norm).train()
    patches = torch.rand(2, G, G, 3, 8, 8)
    changed = patches.clone()
    changed[0, 1, 2] = torch.rand(3, 8, 8)
    with torch.no_grad():
        diff = (task.patch_embeddings(patches) - task.patch_embeddings(changed)).abs().amax(dim=1)
    assert diff[0, 1, 2] > 0
    others = torch.ones_like(diff, dtype=torch.bool)
    others[0, 1, 2] = False
    assert bool((diff[others] > 0).any()) == leaks


def test_encoder_norm_overrides_the_library_backbone_only(tiny_backbone):
    assert _task(tiny_backbone).encoder.config.norm == "layer"
    assert isinstance(norm_layer("layer", 8), nn.GroupNorm) and norm_layer("layer", 8).num_groups == 1
    assert not any(isinstance(m, nn.BatchNorm2d) for m in _task(tiny_backbone).encoder.modules())
    assert _task(tiny_backbone, encoder_norm="batch").encoder.config.norm == "batch"
    group = BackboneConfig(arch="resnet10", width=8, norm="group")
    assert _task(group, encoder_norm="backbone").encoder.config.norm == "group"
    user = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    assert isinstance(_task(user).encoder.net[1], nn.BatchNorm2d)  # a user backbone is left as given


def test_patch_augmentation_keeps_shapes_and_differs_per_patch(tiny_backbone):
    task = _task(tiny_backbone)
    patch = torch.rand(1, 3, 8, 8)
    torch.manual_seed(1)
    out = task.augment_patches(patch.expand(64, -1, -1, -1))
    assert out.shape == (64, 3, 8, 8) and out.min() >= 0 and out.max() <= 1
    flat = out.flatten(1)
    distinct = (torch.cdist(flat, flat) > 1e-4).float().mean()
    assert distinct > 0.9  # almost every pair of copies was augmented differently
    torch.manual_seed(1)
    assert torch.equal(task.augment_patches(patch.expand(64, -1, -1, -1)), out)  # seeded through torch's RNG
    gray = task.augment_patches(torch.rand(8, 1, 8, 8))  # one channel: crop and flip only
    assert gray.shape == (8, 1, 8, 8)


def test_loss_is_finite_and_decreases_on_tiny_data(tiny_backbone):
    torch.manual_seed(0)
    task = CPCv2(CPCv2Config(grid=4, patch_size=8, predict_steps=2, augment=False, patch_augment=False), tiny_backbone, 3)
    images = torch.rand(4, 3, 20, 20, generator=torch.Generator().manual_seed(0))  # noise: overlaps identify neighbours
    losses = []
    for _ in range(5):  # plain SGD steps (building a torch optimizer costs seconds of imports on first use)
        loss = task.training_loss(images)
        assert torch.isfinite(loss)
        task.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p in task.parameters():
                p -= 0.05 * p.grad
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0] - 0.1, losses


@pytest.mark.parametrize("image_size, patch, stride", [(32, 8, 4), (64, 16, 8), (96, 24, 12), (256, 64, 32)])
def test_patch_size_scales_with_the_image(image_size, patch, stride, tiny_backbone):
    """patch_size=0: 7 x 7 patches overlapping by half that cover the image (the paper: 64-px patches on 256 px)."""
    task = CPCv2(None, tiny_backbone, 3, image_size=image_size)
    assert (task.patch_size, task.stride, task.input_size) == (patch, stride, image_size)
    assert task.patches(torch.rand(1, 3, image_size, image_size)).shape == (1, 7, 7, 3, patch, patch)
    assert CPCv2(None, tiny_backbone, 3, image_size=image_size, patch_size=8).patch_size == 8


@pytest.mark.parametrize("kw, message", [
    ({"directions": ("top-down", "diagonal")}, "directions must be distinct names among top-down"),
    ({"directions": "top-down,top-down"}, "directions must be distinct"),
    ({"directions": ()}, "directions must be distinct"),
    ({"encoder_norm": "instance"}, "encoder_norm must be one of batch, group, layer, backbone"),
    ({"crop_min_scale": 0.0}, r"crop_min_scale must be in \(0, 1\]"),
    ({"jitter": -0.1}, "jitter must be >= 0"),
    ({"gray_prob": 1.5}, r"gray_prob must be in \[0, 1\]"),
    ({"patch_size": -8}, "patch_size must be at least 4 pixels"),
    ({"context_width": -2}, "context_width >= -1"),
    ({"grid": 3, "predict_steps": 3}, "need grid >= 2 and 1 <= predict_steps < grid"),
])
def test_config_errors_are_clear(kw, message, tiny_backbone):
    with pytest.raises(ValueError, match=message):
        CPCv2(None, tiny_backbone, 3, **kw)


def test_directions_from_the_command_line():
    parser = argparse.ArgumentParser()
    add_dataclass_arguments(parser, CPCv2Config)
    args = parser.parse_args(["--directions", "top-down,Left-Right", "--encoder-norm", "batch", "--jitter", "0.2"])
    config = dataclass_from_args(CPCv2Config, args)
    assert config.directions == ("top-down", "left-right") and config.encoder_norm == "batch" and config.jitter == 0.2
    assert CPCv2Config().directions == DIRECTIONS


def test_single_direction_checkpoints_from_before_load(tiny_backbone):
    """Old state dicts (context.*, criterion.* or predictors.<k> as 1x1 convs) load as the top-down direction."""
    old_layout = dict(directions=("top-down",), encoder_norm="batch", context_width=64)  # 64: the tiny encoder's D
    source = _task(tiny_backbone, **old_layout)
    old = {}
    for key, value in source.state_dict().items():
        key = key.replace("contexts.top_down.", "context.")
        if key.startswith("criteria.top_down.predictors."):
            key, value = key.replace("criteria.top_down.", ""), value[..., None, None] if key.endswith("weight") else value
        old[key] = value
    assert any(k.startswith("predictors.") for k in old) and any(k.startswith("context.") for k in old)
    target = CPCv2(CPCv2Config(grid=G, patch_size=8, **old_layout), tiny_backbone, 3)
    target.load_state_dict(old)
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value), key
