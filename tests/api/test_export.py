"""multissl export: a run's encoder out of the library (torchvision keys for torchvision backbones), and back."""
import json

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from multissl import load_encoder
from multissl.cli import main
from multissl.export import export_encoder
from multissl.run import Run

IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for i in range(16):
        folder = root / f"class{i % 2}"
        folder.mkdir(exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return root


def _images():
    return torch.rand(4, 3, 32, 32)


def _train(photos, run, *backbone):
    assert main(["vision", "train", "simclr", str(photos), "-o", str(run), "--steps", "1", "--batch-size", "8",
                 "--no-verbose", "--num-workers", "0", *backbone]) == 0


def test_a_torchvision_backbone_exports_to_torchvision_and_gives_the_runs_features(photos, tmp_path):
    import torchvision

    from multissl import vision

    run_dir = tmp_path / "run"
    _train(photos, run_dir, "--backbone", "torchvision:resnet18")
    assert json.loads((run_dir / "config.json").read_text())["recipe"]["backbone"]["arch"] == "torchvision:resnet18"
    assert main(["export", str(run_dir), "-o", str(tmp_path / "enc.pt")]) == 0
    model = torchvision.models.resnet18()
    model.fc = nn.Identity()
    model.load_state_dict(torch.load(tmp_path / "enc.pt"), strict=True)
    model.eval()
    images = _images()
    with torch.no_grad():
        ours = model((images - IMAGENET_MEAN) / IMAGENET_STD)
    expected = vision.features(vision.load_run(run_dir), images)
    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-5)
    assert json.loads((tmp_path / "enc.pt.json").read_text())["kind"] == "vision"


def test_the_librarys_trunk_loads_with_load_encoder_and_as_torchscript(photos, tmp_path):
    from multissl import vision

    run_dir = tmp_path / "run"
    _train(photos, run_dir, "--arch", "resnet10", "--width", "4")
    run = vision.load_run(run_dir)
    images = _images()
    expected = vision.features(run, images)
    export_encoder(run_dir, tmp_path / "enc.pt")
    with torch.no_grad():
        torch.testing.assert_close(load_encoder(tmp_path / "enc.pt")(images), expected, rtol=1e-4, atol=1e-5)
    assert main(["export", str(run_dir), "-o", str(tmp_path / "enc.ts"), "--torchscript"]) == 0
    with torch.no_grad():
        torch.testing.assert_close(load_encoder(tmp_path / "enc.ts")(images), expected, rtol=1e-4, atol=1e-5)


def test_audio_and_video_encoders_round_trip(tmp_path):
    from multissl.audio import CPC, CPCConfig
    from multissl.video import Colorizer, ColorizerConfig

    cpc = CPC(CPCConfig(encoder_channels=8, context_dim=8, window=4000, prediction_steps=2, num_negatives=2)).eval()
    export_encoder(Run(None, "audio", "cpc", cpc, cpc, {"kind": "audio"}), tmp_path / "cpc.pt")
    wave = torch.randn(2, 4000)
    with torch.no_grad():
        torch.testing.assert_close(load_encoder(tmp_path / "cpc.pt")(wave), cpc.encode(wave)[1])
    colorizer = Colorizer(ColorizerConfig(backbone="resnet10", width=4, conv3d_layers=1, conv3d_channels=8, embed_dim=8)).eval()
    export_encoder(Run(None, "video", "colorizer", colorizer, colorizer, {"kind": "video"}), tmp_path / "col.pt")
    gray = torch.rand(1, 2, 1, 32, 32) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(load_encoder(tmp_path / "col.pt")(gray), colorizer.network(gray))


def test_load_encoder_names_a_file_export_did_not_write(tmp_path):
    torch.save({}, tmp_path / "plain.pt")
    with pytest.raises(FileNotFoundError, match=r"plain.pt.json is missing: load_encoder reads files written by `multissl export`"):
        load_encoder(tmp_path / "plain.pt")


def test_an_unknown_torchvision_name_or_library_is_one_clear_line():
    from multissl.vision.encoder import BackboneConfig, build_encoder

    with pytest.raises(ValueError, match="torchvision has no classification model 'resnet5'"):
        build_encoder(BackboneConfig(arch="torchvision:resnet5"))
    with pytest.raises(ValueError, match="or torchvision:NAME / timm:NAME; got 'keras:resnet50'"):
        BackboneConfig(arch="keras:resnet50")
