"""Evaluating a run on data other than its training data: other image sizes and channel counts."""
import numpy as np
import pytest
import torch
from PIL import Image

from multissl.cli import main
from multissl.vision import features, load_images
from multissl.vision.data import ImageSplits, describe_splits, match_channels, resize_splits
from multissl.vision.run import load_run


def _rgb_npz(path, side=24):
    rng = np.random.default_rng(0)
    np.savez(path, x_train=rng.integers(0, 255, (30, side, side, 3), dtype=np.uint8), y_train=np.arange(30) % 3,
             x_test=rng.integers(0, 255, (9, side, side, 3), dtype=np.uint8), y_test=np.arange(9) % 3)
    return path


def _splits(channels: int) -> ImageSplits:
    x = torch.randint(0, 256, (4, channels, 8, 8), dtype=torch.uint8)
    y = torch.arange(4) % 2
    return ImageSplits(x, y, x[:2], y[:2], ["a", "b"], "toy")


def test_grey_images_are_repeated_to_rgb_with_a_warning():
    grey = _splits(1)
    with pytest.warns(UserWarning, match="1-channel images but 3 channel.* repeated to RGB"):
        rgb = match_channels(grey, 3)
    assert rgb.x_train.shape == (4, 3, 8, 8) and all(torch.equal(rgb.x_train[:, c], grey.x_train[:, 0]) for c in range(3))


def test_rgb_images_become_grey_by_luminance_with_a_warning():
    rgb = _splits(3)
    with pytest.warns(UserWarning, match="converted to grey"):
        grey = match_channels(rgb, 1)
    expected = (0.299 * rgb.x_test[:, 0].float() + 0.587 * rgb.x_test[:, 1].float() + 0.114 * rgb.x_test[:, 2].float()).round()
    assert grey.x_test.shape == (2, 1, 8, 8) and torch.equal(grey.x_test[:, 0], expected.to(torch.uint8))
    assert match_channels(rgb, 3) is rgb


def test_resizing_is_recorded_and_described():
    splits = resize_splits(_splits(3), 4)
    assert splits.source_size == "8x8"
    assert describe_splits(splits) == "toy: 4 train / 2 test images, 3 x 4x4 (resized from 8x8)"


def test_a_folder_of_mixed_sizes_says_what_it_resized(tmp_path):
    for i, size in enumerate([(40, 30), (30, 40), (64, 64)]):
        (tmp_path / "a").mkdir(exist_ok=True)
        Image.new("RGB", size, (i * 50, 0, 0)).save(tmp_path / "a" / f"{i}.png")
    with pytest.warns(UserWarning, match=r"images of 3 sizes, 30x40 to 64x64 are resized to 32x32"):
        splits = load_images(str(tmp_path))
    assert splits.source_size == "3 sizes, 30x40 to 64x64"
    assert load_images(str(tmp_path), image_size=16).source_size == "3 sizes, 30x40 to 64x64"


def test_grey_run_is_probed_on_rgb_data_at_its_size(vision_run, tmp_path, capsys):
    npz = _rgb_npz(tmp_path / "rgb.npz")
    with pytest.warns(UserWarning, match="converted to grey"):
        assert main(["vision", "probe", str(vision_run), str(npz), "--knn-k", "3"]) == 0
    err = capsys.readouterr().err
    assert "rgb: 30 train / 9 test images, 1 x 16x16 (resized from 24x24); the run's training size" in err
    assert "probing raw pixels: 30 x 256 features" in err


def test_features_of_another_size_than_the_run_saw_are_flagged(vision_run):
    run = load_run(vision_run)
    with pytest.warns(UserWarning, match="features of 24x24 images from a network trained on 16x16"):
        features(run, torch.zeros(2, 1, 24, 24, dtype=torch.uint8))


def test_features_take_numpy_images_and_refuse_nan_or_out_of_range_ones(vision_run):
    run = load_run(vision_run)
    images = np.random.default_rng(0).integers(0, 256, (3, 1, 16, 16), dtype=np.uint8)
    assert torch.equal(features(run, images), features(run, torch.from_numpy(images)))
    bad = torch.rand(2, 1, 16, 16)
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="images hold 1 NaN or infinite values"):
        features(run, bad)
    with pytest.raises(ValueError, match=r"float images must lie in \[0, 1\] \(uint8 pixels divided by 255\), got "):
        features(run, torch.rand(2, 1, 16, 16) * 255)
    with pytest.raises(ValueError, match=r"images must have shape \(N, C, H, W\), got \(16, 16\)"):
        features(run, np.zeros((16, 16), np.float32))
