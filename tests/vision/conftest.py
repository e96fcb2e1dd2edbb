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
