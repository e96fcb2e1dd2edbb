"""The generated "shapes" data set: deterministic, well-formed, train and test apart, reachable by name."""
import numpy as np
import pytest
import torch

from multissl.cli import main
from multissl.vision.data import ImageSplits, load_images
from multissl.vision.shapes import OUTLINES, SHAPE_CLASSES, draw_shape, draw_shapes, make_shapes


def test_same_seed_same_images_other_seed_other_images():
    a, b, c = make_shapes(40, 20, seed=3), make_shapes(40, 20, seed=3), make_shapes(40, 20, seed=4)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_train, b.y_train)
    assert torch.equal(a.x_test, b.x_test) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.x_train, c.x_train)


def test_shapes_dtypes_and_balanced_labels():
    s = make_shapes(50, 30, seed=0)
    assert isinstance(s, ImageSplits) and s.name == "shapes" and s.classes == list(SHAPE_CLASSES)
    assert s.x_train.shape == (50, 3, 32, 32) and s.x_test.shape == (30, 3, 32, 32)
    assert s.x_train.dtype == torch.uint8 and s.y_train.dtype == torch.int64
    assert s.y_train.shape == (50,) and s.y_test.shape == (30,)
    assert torch.bincount(s.y_train, minlength=10).tolist() == [5] * 10  # balanced, then shuffled
    assert 0 <= int(s.y_test.min()) and int(s.y_test.max()) < len(SHAPE_CLASSES)
    assert s.y_train[:10].tolist() != list(range(10))
    assert set(OUTLINES) == set(SHAPE_CLASSES)


def test_images_are_varied_colour_pictures():
    x, _ = draw_shapes(20, seed=1)
    flat = x.flatten(1).float()
    assert flat.std(1).min() > 5  # not flat images
    assert (x[:, 0].float() - x[:, 1].float()).abs().mean() > 5  # colour, not grey
    assert len({bytes(img.numpy()) for img in x}) == 20


def test_train_and_test_splits_share_no_image():
    s = make_shapes(300, 300, seed=0)
    train = {bytes(img.numpy()) for img in s.x_train}
    assert not any(bytes(img.numpy()) in train for img in s.x_test)
    other = make_shapes(0, 300, seed=1000)  # the shipped encoder's images come from seeds >= 1000
    assert not torch.equal(other.x_test, s.x_test)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="n must be >= 0"):
        draw_shapes(-1, seed=0)
    with pytest.raises(ValueError, match="at least 16 pixels"):
        draw_shapes(4, seed=0, side=8)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        draw_shapes(4, seed=-1)
    with pytest.raises(ValueError, match=r"label must be in 0..9"):
        draw_shape(np.random.default_rng(0), 10)
    assert draw_shapes(0, seed=0)[0].shape == (0, 3, 32, 32)


def test_load_images_spec_and_size():
    s = load_images("shapes", seed=2)
    assert s.x_train.shape == (5000, 3, 32, 32) and s.x_test.shape == (1000, 3, 32, 32)
    assert torch.equal(s.x_test, make_shapes(0, 1000, seed=2).x_test)  # the test split does not depend on n_train
    assert load_images("shapes", image_size=24).image_size == (24, 24)


@pytest.mark.slow
def test_cli_trains_on_shapes(tmp_path):
    out = tmp_path / "run"
    code = main(["vision", "train", "rotation", "shapes", "-o", str(out), "--arch", "resnet10", "--width", "4",
                 "--batch-size", "8", "--steps", "2", "--image-size", "16", "--no-verbose"])
    assert code == 0 and (out / "checkpoints" / "last.pt").is_file()
