"""Every vision method around a user nn.Module backbone (torchvision), trained with one call per step."""
import pytest
import torch
import torchvision
from torch import nn

from multissl.vision.encoder import BackboneConfig, UserBackbone
from multissl.vision.registry import TASKS
from multissl.vision.tasks import BYOL, DeepInfoMax, DenoisingAutoencoder, MoCo, RotationTask, SimCLR, SplitBrainAutoencoder

DENSE = {"dae", "context-encoder", "split-brain", "dim"}
FAST_CONFIGS = {
    "jigsaw": {"num_permutations": 24, "resize": 48, "tile_size": 12},
    "relative-patch": {"resize": 48, "patch_size": 12, "gap": 2, "jitter": 1},
}


def vector_net() -> nn.Module:
    """torchvision ResNet-18 giving (B, 512) features."""
    net = torchvision.models.resnet18(num_classes=10)
    net.fc = nn.Identity()
    return net


def map_net() -> nn.Module:
    """torchvision ResNet-18 up to layer3: (B, 256, H/16, W/16) maps."""
    return nn.Sequential(*list(torchvision.models.resnet18().children())[:-3])


def snapshot(module: nn.Module):
    return [p.detach().clone() for p in module.parameters()]


def changed(module: nn.Module, before) -> bool:
    return any(not torch.equal(p, q) for p, q in zip(module.parameters(), before))


@pytest.mark.slow
def test_acceptance_snippet():
    torch.manual_seed(0)
    net = torchvision.models.resnet18(num_classes=10); net.fc = torch.nn.Identity()
    task = SimCLR(backbone=net, feature_dim=512)
    opt = torch.optim.Adam(task.parameters(), 1e-3)
    images = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8)
    before = snapshot(net)
    losses = []
    for _ in range(3):
        loss = task.training_loss(images)
        opt.zero_grad(); loss.backward(); opt.step()
        losses.append(float(loss.detach()))
    assert all(torch.isfinite(torch.tensor(losses)))
    assert changed(net, before)
    assert task.encoder.net is net and task.config == SimCLR.config_class()


@pytest.mark.parametrize("name", sorted(TASKS))
def test_every_method_trains_two_steps_with_a_torchvision_backbone(name):
    torch.manual_seed(0)
    spec = TASKS[name]
    net, dim = (map_net(), 256) if name in DENSE else (vector_net(), 512)
    task = spec.task(spec.config(**FAST_CONFIGS.get(name, {})), net, 3, image_size=32, num_classes=10, feature_dim=dim)
    opt = torch.optim.SGD(task.parameters(), 1e-3)
    images, labels = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8), torch.randint(10, (8,))
    before = snapshot(net)
    for step in range(1, 3):
        loss, metrics = task.training_loss(images, labels, return_metrics=True)
        assert loss.ndim == 0 and torch.isfinite(loss), (name, loss)
        assert all(torch.isfinite(torch.as_tensor(v)).all() for v in metrics.values())
        opt.zero_grad(); loss.backward(); opt.step()
        task.after_optimizer_step(step, 2)
    assert changed(net, before), name
    task.eval()
    with torch.no_grad():
        z = task.encode(images[:4])
    assert z.ndim == 2 and len(z) == 4 and torch.isfinite(z).all()
    assert z.shape[1] == (2 * dim if name == "split-brain" else dim)


@pytest.mark.parametrize("cls, target", [(MoCo, "key"), (BYOL, "target")])
def test_momentum_methods_copy_the_user_backbone(cls, target):
    torch.manual_seed(0)
    net = vector_net()
    task = cls(backbone=net, feature_dim=512)
    copy = getattr(task, target)["encoder"].net
    assert copy is not net and all(not p.requires_grad for p in copy.parameters())
    assert all(torch.equal(p, q) for p, q in zip(net.parameters(), copy.parameters()))
    opt = torch.optim.SGD(task.parameters(), 0.1)
    loss = task.training_loss(torch.rand(8, 3, 32, 32))
    opt.zero_grad(); loss.backward(); opt.step()
    moved = snapshot(copy)
    task.after_optimizer_step(1, 10)  # the EMA update, as the engine calls it
    assert changed(copy, moved)


def test_byol_momentum_follows_the_engines_progress():
    task = BYOL(backbone=BackboneConfig(arch="resnet10", width=4), tau_base=0.996)
    task.after_optimizer_step(3, None, progress=0.5)  # e.g. half of a time budget
    assert float(task.tau) == pytest.approx(0.998)
    task.after_optimizer_step(3)  # nothing known: tau_base
    assert float(task.tau) == pytest.approx(0.996)


def test_a_map_backbone_also_serves_the_vector_methods_and_probes():
    task = RotationTask(backbone=map_net(), feature_dim=256)
    x = torch.rand(4, 3, 32, 32)
    assert task.encoder.has_map and task.encoder.output_stride == 16
    assert task.encode(x).shape == (4, 256) and task.encode(x, pool=2).shape == (4, 256 * 4)
    assert torch.isfinite(task.training_loss(x))


def test_keyword_construction_defaults_and_overrides():
    task = SimCLR(backbone=vector_net(), temperature=0.2, proj_out=32)  # feature_dim inferred
    assert task.encoder.out_dim == 512 and task.config.temperature == 0.2 and task.config.proj_out == 32
    assert task.backbone_config is None and task.user_backbone
    lib = SimCLR()  # the library ResNet with BackboneConfig() defaults
    assert isinstance(lib.backbone_config, BackboneConfig) and not lib.user_backbone
    with pytest.raises(TypeError, match=r"unknown option\(s\) \['temprature'\]"):
        SimCLR(backbone=vector_net(), temprature=0.2)
    with pytest.raises(TypeError, match="SimCLRConfig"):
        SimCLR(TASKS["byol"].config(), vector_net())


def test_user_backbone_normalisation():
    net = nn.Sequential(nn.Flatten(), nn.Identity())
    x = torch.rand(2, 3, 4, 4)
    center = UserBackbone(net, 48, image_size=4)
    imagenet = UserBackbone(net, 48, image_size=4, normalize="imagenet")
    raw = UserBackbone(net, 48, image_size=4, normalize=None)
    assert torch.allclose(center(x), ((x - 0.5) / 0.25).flatten(1))
    assert torch.allclose(raw(x), x.flatten(1))
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    assert torch.allclose(imagenet(x), ((x - mean) / std).flatten(1))
    task = RotationTask(backbone=imagenet)  # a wrapped backbone is used as it is
    assert task.encoder is imagenet


def test_construction_check_keeps_the_training_mode():
    net = vector_net()
    net.train()
    running = net.bn1.running_mean.clone()
    SimCLR(backbone=net, feature_dim=512)
    assert net.training and net.layer1.training and torch.equal(net.bn1.running_mean, running)


def test_wrong_feature_dim_or_shape_is_a_clear_error():
    with pytest.raises(ValueError, match=r"feature_dim=128 but the backbone gives 512 features"):
        SimCLR(backbone=vector_net(), feature_dim=128)
    with pytest.raises(ValueError, match=r"must return features \(B, D\) or a feature map \(B, D, h, w\).*got \(2, 3, 4\)"):
        SimCLR(backbone=nn.Sequential(nn.AdaptiveAvgPool2d(2), nn.Flatten(2)), feature_dim=3)  # (B, 3, 4)
    with pytest.raises(ValueError, match=r"feature_dim=256 but the encoder gives"):
        SimCLR(backbone=BackboneConfig(arch="resnet10", width=8), feature_dim=256)
    with pytest.raises(TypeError, match="backbone must be a BackboneConfig or an nn.Module"):
        SimCLR(backbone="resnet18")


@pytest.mark.parametrize("cls", [DenoisingAutoencoder, DeepInfoMax, SplitBrainAutoencoder])
def test_dense_methods_explain_that_they_need_a_map(cls):
    with pytest.raises(ValueError, match=r"needs a backbone that returns a feature map \(B, D, h, w\).*children\(\)\)\[:-2\]"):
        cls(backbone=vector_net(), feature_dim=512)


def test_split_brain_halves_are_separate_copies_behind_channel_adapters():
    net = map_net()
    task = SplitBrainAutoencoder(backbone=net, feature_dim=256)
    assert task.l_encoder.net[1] is net and task.ab_encoder.net[1] is not net
    assert task.l_encoder.in_channels == 1 and task.ab_encoder.in_channels == 2
    l_in = torch.rand(2, 1, 8, 8)
    assert torch.allclose(task.l_encoder.net[0](l_in), l_in.expand(-1, 3, -1, -1))


def test_dim_reads_local_features_from_the_first_of_several_maps():
    from torchvision.models.feature_extraction import create_feature_extractor

    torch.manual_seed(0)
    trunk = create_feature_extractor(torchvision.models.resnet18(), {"layer2": "local", "layer3": "out"})
    task = DeepInfoMax(backbone=trunk, feature_dim=256)
    assert task.encoder.stage_dims == [128, 256] and task.local_index == 0
    assert task.local_proj[0].in_channels == 128
    loss = task.training_loss(torch.rand(4, 3, 32, 32))
    assert torch.isfinite(loss)
    loss.backward()
    assert all(p.grad is not None for n, p in trunk.named_parameters() if n.startswith("layer2."))
