import json

import numpy as np
import pytest
import torch
from PIL import Image

from multissl.cli import main
from multissl.vision.data import ImageSplits, load_images
from multissl.vision.probe import evaluate
from multissl.vision.tasks.base import PretextTask


def _write_npz(path, n=20, size=8, channels=3, drop=None):
    rng = np.random.default_rng(0)
    shape = (n, size, size, channels) if channels else (n, size, size)
    arrays = {"x_train": rng.integers(0, 256, shape, dtype=np.uint8), "y_train": rng.integers(0, 3, n),
              "x_test": rng.integers(0, 256, shape, dtype=np.uint8)[:6], "y_test": rng.integers(0, 3, 6)}
    if drop:
        del arrays[drop]
    np.savez(path, **arrays)
    return path


def test_load_npz_layouts(tmp_path):
    s = load_images(_write_npz(tmp_path / "a.npz"))
    assert s.x_train.shape == (20, 3, 8, 8) and s.x_train.dtype == torch.uint8 and s.y_test.shape == (6,)
    g = load_images(_write_npz(tmp_path / "g.npz", channels=0))
    assert g.channels == 1
    assert load_images(_write_npz(tmp_path / "b.npz"), image_size=16).image_size == (16, 16)
    with pytest.raises(ValueError, match=r"lacks arrays \['y_test'\]"):
        load_images(_write_npz(tmp_path / "c.npz", drop="y_test"))
    with pytest.raises(FileNotFoundError, match="missing.npz does not exist"):
        load_images(str(tmp_path / "missing.npz"))
    with pytest.raises(FileNotFoundError, match="is neither an .npz file"):
        load_images("not-a-dataset")
    with pytest.raises(ValueError, match="needs root"):
        load_images("cifar10")


def test_image_folder_with_a_corrupt_file(tmp_path):
    for split in ("train", "test"):
        for cls, colour in (("red", (255, 0, 0)), ("blue", (0, 0, 255))):
            folder = tmp_path / split / cls
            folder.mkdir(parents=True)
            for i in range(3):
                Image.new("RGB", (40, 30), colour).save(folder / f"{i}.png")
    (tmp_path / "train" / "red" / "broken.png").write_bytes(b"not a png")
    with pytest.warns(UserWarning, match=r"skipping unreadable image .*broken.png"):
        s = load_images(str(tmp_path), image_size=16)
    assert s.classes == ["blue", "red"] and s.x_train.shape == (6, 3, 16, 16) and s.x_test.shape == (6, 3, 16, 16)
    assert s.x_train[s.y_train == 1][:, 0].float().mean() > 250  # red class is red


def test_digits_and_shipped_photos():
    d = load_images("digits")
    assert d.x_train.shape[1:] == (1, 8, 8) and len(d.x_train) + len(d.x_test) == 1797
    k = load_images("skimage", image_size=48)
    assert k.x_train.shape[1:] == (3, 48, 48) and not k.has_labels


def test_shared_cifar_subset(shared_data):
    s = load_images(str(shared_data / "cifar10-subset.npz"))
    assert s.x_train.shape == (10000, 3, 32, 32) and s.x_test.shape == (2000, 3, 32, 32)
    assert torch.bincount(s.y_test).tolist() == [200] * 10


class OracleTask(PretextTask):
    """Encodes the class that is written into pixel (0, 0): perfectly separable features."""

    name = "oracle"

    def __init__(self, trained: bool):
        from multissl.vision.encoder import BackboneConfig
        from multissl.vision.tasks.base import TaskConfig

        super().__init__(TaskConfig(), BackboneConfig(arch="resnet10", width=4), 1)
        self.trained = trained

    def encode(self, x, pool=1):
        label = (x[:, 0, 0, 0].float()).long()
        if self.trained:
            return torch.nn.functional.one_hot(label, 4).float() + 0.01 * torch.randn(len(x), 4)
        return torch.randn(len(x), 4)


def test_probe_harness_reproduces_known_accuracies():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(4, (400,), generator=g)
    x = torch.randint(0, 256, (400, 1, 6, 6), generator=g, dtype=torch.uint8)
    x[:, 0, 0, 0] = y.to(torch.uint8)
    splits = ImageSplits(x[:300], y[:300], x[300:], y[300:])
    scores = evaluate(OracleTask(True), OracleTask(False), splits)
    assert scores["linear_acc"] == 1.0 and scores["knn_acc"] == 1.0
    assert scores["random_linear_acc"] < 0.45 and scores["random_knn_acc"] < 0.45
    assert 0.0 <= scores["pixels_linear_acc"] <= 1.0


@pytest.mark.slow
def test_cli_train_probe_picture_resume(tmp_path, capsys):
    run = tmp_path / "run"
    args = ["vision", "train", "dae", "digits", "--image-size", "16", "-o", str(run),
            "--batch-size", "32", "--width", "8", "--arch", "resnet10", "--no-verbose", "--checkpoint-every", "3"]
    assert main(args + ["--steps", "6"]) == 0
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["method"] == "dae" and cfg["recipe"]["backbone"]["width"] == 8 and cfg["image_size"] == 16
    assert cfg["kind"] == "vision" and cfg["recipe"]["train"]["batch_size"] == 32
    assert main(args + ["--steps", "9", "--resume"]) == 0
    from multissl.engine import load_checkpoint

    assert load_checkpoint(run)["step"] == 9
    assert main(["vision", "probe", str(run), "digits", "--json", str(tmp_path / "p.json")]) == 0
    scores = json.loads((tmp_path / "p.json").read_text())
    assert {"linear_acc", "knn_acc", "random_linear_acc", "random_knn_acc", "pixels_linear_acc"} <= scores.keys()
    from multissl.vision.probe import probe_run

    again = probe_run(run, load_images("digits", image_size=16), pixels=True)
    assert {k: round(v, 6) for k, v in again.items()} == {k: round(v, 6) for k, v in scores.items() if k in again}
    assert main(["vision", "picture", str(run), "digits", "-o", str(tmp_path / "pic.png")]) == 0
    assert (tmp_path / "pic.png").stat().st_size > 1000
    assert main(["vision", "picture", str(run), "cifar10", "-o", "x.png"]) == 2  # needs --root
    capsys.readouterr()
    # the old --data spelling still works, with a warning
    assert main(["vision", "probe", str(run), "--data", "digits", "--no-pixels", "--json", str(tmp_path / "q.json")]) == 0
    assert "`--data DATA` is deprecated" in capsys.readouterr().err
    without_pixels = json.loads((tmp_path / "q.json").read_text())
    assert not any(k.startswith("pixels_") for k in without_pixels)
    assert without_pixels == {k: v for k, v in scores.items() if not k.startswith("pixels_")}
    assert main(["vision", "probe", str(run)]) == 2
    assert "DATA is missing" in capsys.readouterr().err


def test_same_seed_same_parameters(tmp_path):
    from multissl.engine import TrainConfig
    from multissl.vision.encoder import BackboneConfig
    from multissl.vision import train

    splits = load_images("digits")
    results = []
    for _ in range(2):
        run = train(splits, None, "rotation", backbone=BackboneConfig(arch="resnet10", width=4),
                    train=TrainConfig(steps=3, batch_size=16, seed=5, verbose=False))
        results.append(run.model.state_dict())
    assert all(torch.equal(results[0][k], results[1][k]) for k in results[0])

