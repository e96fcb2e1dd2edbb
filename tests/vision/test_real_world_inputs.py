"""Image folders and .npz files as users have them: odd modes, EXIF, hidden files, layouts, array orders."""
import io
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from multissl.vision.data import ImageSplits, high_depth_to_uint8, load_images, read_image
from multissl.vision.probe import evaluate

RNG = np.random.default_rng(0)


def _rgb(w=12, h=12):
    return Image.fromarray(RNG.integers(0, 256, (h, w, 3), dtype=np.uint8))


def _write_odd_files(folder):
    """One file of every troublesome kind; returns how many of them are readable images."""
    folder.mkdir(parents=True)
    _rgb().save(folder / "rgb.png")
    _rgb().convert("L").save(folder / "grey.png")
    _rgb().convert("LA").save(folder / "la.png")
    _rgb().convert("RGBA").save(folder / "rgba.PNG")
    _rgb().convert("P").save(folder / "p.png", transparency=0)
    _rgb().convert("CMYK").save(folder / "cmyk.JPG")
    _rgb().convert("1").save(folder / "bit.bmp")
    _rgb().save(folder / "w.webp")
    Image.fromarray(RNG.integers(0, 65536, (12, 12)).astype(np.uint16)).save(folder / "deep.png")
    Image.fromarray(RNG.random((12, 12)).astype(np.float32)).save(folder / "float.tif")
    _rgb().save(folder / ".hidden.png")
    (folder / "._rgb.png").write_bytes(b"\0\5\26\7AppleDouble")
    (folder / "notes.txt").write_text("not an image")
    (folder / "zero.png").write_bytes(b"")
    buf = io.BytesIO()
    _rgb(32, 32).save(buf, "JPEG")
    (folder / "truncated.jpg").write_bytes(buf.getvalue()[:200])
    return 10


def test_folder_of_odd_files_loads_what_it_can_and_names_the_rest(tmp_path):
    readable = _write_odd_files(tmp_path / "data" / "ünï cödé")
    _write_odd_files(tmp_path / "data" / "other class")
    (tmp_path / "data" / "empty").mkdir()
    (tmp_path / "data" / ".ipynb_checkpoints").mkdir()
    _rgb().save(tmp_path / "data" / "loose.png")
    with pytest.warns(UserWarning) as record:
        s = load_images(str(tmp_path / "data"), image_size=8)
    text = "\n".join(str(w.message) for w in record)
    for needle in ("zero.png", "truncated.jpg", "4 hidden", "['empty']", "loose.png"):
        assert needle in text
    assert s.classes == ["empty", "other class", "ünï cödé"]
    assert len(s.x_train) + len(s.x_test) == 2 * readable and s.x_train.shape[1:] == (3, 8, 8)


def test_exif_orientation_is_applied(tmp_path):
    pixels = np.zeros((4, 8, 3), np.uint8)
    pixels[:, :4, 0] = 255  # left half red, right half blue
    pixels[:, 4:, 2] = 255
    img = Image.fromarray(pixels)
    exif = img.getexif()
    exif[0x0112] = 6  # shown rotated 90 degrees clockwise: the left half goes to the top
    img.save(tmp_path / "photo.jpg", exif=exif, quality=100)
    upright = read_image(tmp_path / "photo.jpg", 8).astype(int)
    assert upright[:3, :, 0].mean() > 200 and upright[5:, :, 2].mean() > 200


@pytest.mark.parametrize("values, mode, mean", [
    (np.full((4, 4), 65535, np.uint16), "I;16", 255), (np.full((4, 4), 32768, np.uint16), "I;16", 128),
    (np.full((4, 4), 0.5, np.float32), "F", 128), (np.full((4, 4), 100, np.int32), "I", 100),
    (np.full((4, 4), 4000, np.int32), "I", 16), (np.array([[-1.0, 3.0]], np.float32), "F", 128),
])
def test_high_bit_depth_images_are_scaled_not_clipped(values, mode, mean):
    assert abs(float(high_depth_to_uint8(values, mode).mean()) - mean) <= 1


def _class_tree(root, classes, n=3):
    for cls in classes:
        (root / cls).mkdir(parents=True)
        for i in range(n):
            _rgb(8, 8).save(root / cls / f"{i}.png")


def test_folder_layouts(tmp_path):
    _class_tree(tmp_path / "only-train" / "train", ["a", "b"], 5)
    s = load_images(str(tmp_path / "only-train"))
    assert s.classes == ["a", "b"] and (len(s.x_train), len(s.x_test)) == (8, 2)
    _class_tree(tmp_path / "tv" / "train", ["a", "b"])
    _class_tree(tmp_path / "tv" / "validation", ["a", "b", "images"])
    with pytest.warns(UserWarning, match=r"not classes of train/ and are left out: \['images'\]"):
        s = load_images(str(tmp_path / "tv"))
    assert len(s.x_test) == 6
    flat = tmp_path / "flat"
    flat.mkdir()
    for i in range(4):
        _rgb(8, 8).save(flat / f"{i}.jpg")
    s = load_images(str(flat))
    assert len(s.x_train) == 4 and not s.has_labels and s.image_size == (8, 8)
    (tmp_path / "nothing").mkdir()
    with pytest.raises(ValueError, match="neither class sub-folders nor images"):
        load_images(str(tmp_path / "nothing"))


def test_probe_needs_two_classes():
    x = torch.zeros(6, 3, 8, 8, dtype=torch.uint8)
    splits = ImageSplits(x, torch.zeros(6, dtype=torch.long), x, torch.zeros(6, dtype=torch.long), ["cat"], "cats")
    with pytest.raises(ValueError, match=r"at least 2 classes, but all 6 are of class 'cat'"):
        evaluate(None, None, splits)


def test_npz_channels_first_floats_label_columns_and_key_case(tmp_path):
    x = RNG.integers(0, 256, (10, 8, 8, 3), dtype=np.uint8)
    y = np.arange(10) % 2
    with open(tmp_path / "nchw.NPZ", "wb") as f:  # np.savez would add ".npz" to a path
        np.savez(f, x_train=x.transpose(0, 3, 1, 2), y_train=y, x_test=x[:4].transpose(0, 3, 1, 2), y_test=y[:4])
    np.savez(tmp_path / "keras.npz", X_train=x / 255.0, Y_train=y[:, None], X_test=x[:4] / 255.0, Y_test=y[:4, None])
    expected = torch.from_numpy(x.transpose(0, 3, 1, 2))
    for name in ("nchw.NPZ", "keras.npz"):
        s = load_images(str(tmp_path / name))
        assert torch.equal(s.x_train, expected) and s.y_train.tolist() == y.tolist()
    np.savez(tmp_path / "grey.npz", x_train=x[:, None, :, :, 0], y_train=y, x_test=x[:4, None, :, :, 0], y_test=y[:4])
    assert load_images(str(tmp_path / "grey.npz")).channels == 1
    alpha = np.full((10, 8, 8, 1), 255, np.uint8)
    np.savez(tmp_path / "rgba.npz", x_train=np.concatenate([x, alpha], -1).transpose(0, 3, 1, 2), y_train=y,
             x_test=np.concatenate([x, alpha], -1)[:4].transpose(0, 3, 1, 2), y_test=y[:4])
    with pytest.warns(UserWarning, match="alpha channel is dropped"):
        assert torch.equal(load_images(str(tmp_path / "rgba.npz")).x_train, expected)


def test_decode_errors_cover_oversized_images(tmp_path, monkeypatch):
    _rgb(40, 40).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 1600 pixels is then more than twice the limit: a bomb
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert read_image(tmp_path / "big.png", 8) is None
    assert any("DecompressionBombError" in str(w.message) and "big.png" in str(w.message) for w in caught)
