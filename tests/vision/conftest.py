import pytest
import torch

from multissl.vision.encoder import BackboneConfig


@pytest.fixture
def tiny_backbone():
    return BackboneConfig(arch="resnet10", width=8)


@pytest.fixture
def images():
    """16 smooth random colour images (16, 3, 32, 32) uint8 with per-image colour casts."""
    g = torch.Generator().manual_seed(0)
    low = torch.rand(16, 3, 4, 4, generator=g)
    x = torch.nn.functional.interpolate(low, size=(32, 32), mode="bilinear", align_corners=False)
    return (x * 255).round().to(torch.uint8)


@pytest.fixture(scope="session")
def vision_run(tmp_path_factory):
    """A 1-channel rotation run folder trained for 2 steps on digits resized to 16x16."""
    from multissl.cli import main

    run = tmp_path_factory.mktemp("label-eval") / "rot"
    assert main(["vision", "train", "rotation", "digits", "--image-size", "16", "-o", str(run), "--steps", "2",
                 "--batch-size", "32", "--width", "8", "--arch", "resnet10", "--no-verbose"]) == 0
    return run
