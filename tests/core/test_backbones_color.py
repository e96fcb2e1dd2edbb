import numpy as np
import pytest
import torch
from skimage import color as skcolor

from multissl.backbones import ResNet, resnet
from multissl.color import ABQuantizer, kmeans, lab_to_rgb, rgb_to_lab


@pytest.mark.parametrize(
    "kwargs, size, out_dim, stride",
    [
        ({}, 64, 512, 32),
        ({"cifar_stem": True}, 32, 512, 8),
        ({"output_stride": 8}, 64, 512, 8),
        ({"name": "resnet50"}, 64, 2048, 32),
        ({"width": 16, "output_stride": 8, "in_channels": 1}, 64, 128, 8),
        ({"norm": "group", "width": 16}, 64, 128, 32),
    ],
)
def test_resnet_shapes_and_strides(kwargs, size, out_dim, stride):
    net = resnet(**kwargs)
    x = torch.randn(2, net.in_channels, size, size)
    fmap = net.feature_map(x)
    assert fmap.shape == (2, out_dim, size // stride, size // stride)
    assert net.features(x).shape == (2, out_dim) and net.output_stride == stride


def test_stage_maps_are_every_stages_output():
    net = resnet("resnet18", cifar_stem=True, width=8).eval()
    x = torch.randn(2, 3, 32, 32)
    maps = net.stage_maps(x)
    assert [tuple(m.shape) for m in maps] == [(2, 8, 32, 32), (2, 16, 16, 16), (2, 32, 8, 8), (2, 64, 4, 4)]
    assert net.stage_dims == [8, 16, 32, 64]
    assert torch.equal(maps[-1], net.feature_map(x))


def test_resnet18_matches_torchvision_parameter_count():
    import torchvision

    tv = torchvision.models.resnet18(weights=None)
    tv_params = sum(p.numel() for n, p in tv.named_parameters() if not n.startswith("fc."))
    assert sum(p.numel() for p in resnet("resnet18").parameters()) == tv_params


def test_backbone_errors():
    with pytest.raises(ValueError, match=r"expected input of shape \(B, 3, H, W\), got \(2, 1, 8, 8\)"):
        resnet("resnet10").features(torch.randn(2, 1, 8, 8))
    with pytest.raises(ValueError, match="output_stride must be one of"):
        resnet("resnet18", output_stride=12)
    with pytest.raises(ValueError, match="name must be one of"):
        resnet("vgg")
    with pytest.raises(ValueError, match="same non-zero length"):
        ResNet(depths=(1, 1), widths=(8,), strides=(1, 2))


def test_rgb_to_lab_matches_scikit_image_and_round_trips():
    rng = np.random.default_rng(0)
    img = rng.random((17, 13, 3))
    img[0, 0] = 0  # black, and very dark values hit the linear branch
    img[0, 1] = 0.001
    ours = rgb_to_lab(torch.from_numpy(img).permute(2, 0, 1)).permute(1, 2, 0).numpy()
    assert np.abs(ours - skcolor.rgb2lab(img)).max() < 1e-4
    back = lab_to_rgb(torch.from_numpy(ours).permute(2, 0, 1)).permute(1, 2, 0).numpy()
    assert np.abs(back - img).max() < 1e-5
    assert np.abs(back - skcolor.lab2rgb(ours)).max() < 1e-4


def test_lab_batched_layout():
    x = torch.rand(2, 4, 3, 5, 6)
    assert rgb_to_lab(x).shape == x.shape
    with pytest.raises(ValueError, match=r"rgb must have shape \(\.\.\., 3, H, W\), got \(2, 4, 5\)"):
        rgb_to_lab(torch.rand(2, 4, 5))


def test_kmeans_recovers_planted_clusters():
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.0, 0], [10, 0], [0, 10], [10, 10]])
    labels = torch.randint(4, (800,), generator=g)
    x = centres[labels] + 0.5 * torch.randn(800, 2, generator=g)
    found, assign = kmeans(x, 4, seed=1)
    order = torch.cdist(centres, found).argmin(1)
    assert torch.allclose(found[order], centres, atol=0.2)
    assert (order[labels] == assign).float().mean() == 1.0
    again, _ = kmeans(x, 4, seed=1)
    assert torch.equal(found, again)


def test_ab_quantizer_encode_decode():
    colours = torch.tensor([[-40.0, 30], [20, 60], [50, -50], [0, 0]])
    g = torch.Generator().manual_seed(0)
    idx = torch.randint(4, (2, 8, 8), generator=g)
    ab = colours[idx].permute(0, 3, 1, 2) + 0.5 * torch.randn(2, 2, 8, 8, generator=g)
    q = ABQuantizer(4).fit(ab)
    codes = q.encode(ab)
    assert torch.allclose(q.decode(codes), ab, atol=3.0)
    onehot = torch.nn.functional.one_hot(codes, 4).permute(0, 3, 1, 2).float()
    assert torch.allclose(q.decode_distribution(onehot), q.decode(codes))
    restored = ABQuantizer(4)
    restored.load_state_dict(q.state_dict())
    assert torch.equal(restored.encode(ab), codes)
    with pytest.raises(RuntimeError, match="not fitted"):
        ABQuantizer(4).encode(ab)
    with pytest.raises(ValueError, match="only 1 distinct ab values"):
        ABQuantizer(4).fit(torch.zeros(1, 2, 4, 4))
