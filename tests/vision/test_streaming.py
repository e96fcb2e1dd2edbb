"""Images read from disk while training: listing, decoding in workers, crops from the originals, memory-mapped arrays."""
import io
import json
import warnings

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from multissl import vision
from multissl.engine.data import EpochSampler, SampleKey
from multissl.vision.data import decode_listing, load_images
from multissl.vision.decode import cropped_rgb, random_crop_box, resized_rgb
from multissl.vision.image_files import list_file, list_images
from multissl.vision.streaming import CropSpec, ImageStreams, StreamedImages, choose_image_mode, open_images

RNG = np.random.default_rng(0)


def _photo(w, h, seed=0):
    """A smooth random colour picture (JPEG-friendly)."""
    g = np.random.default_rng(seed)
    low = g.integers(0, 255, (4, 4, 3), dtype=np.uint8)
    return Image.fromarray(low).resize((w, h), Image.BILINEAR)


def _photo_folder(root, classes=("cat", "dog"), per_class=6, sizes=((300, 220), (180, 260), (256, 256))):
    for c, cls in enumerate(classes):
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            w, h = sizes[i % len(sizes)]
            _photo(w, h, seed=10 * c + i).save(root / cls / f"{i}.jpg", quality=90)
    return root


def test_streamed_and_in_memory_images_are_identical_without_random_crops(tmp_path):
    folder = _photo_folder(tmp_path / "photos")
    (folder / "dog" / "extra.png").write_bytes(_png(_photo(64, 48, 7)))
    listing = list_images(folder)
    memory = decode_listing(listing, 32)
    streamed = StreamedImages(listing.train, 32)
    assert len(streamed) == len(memory.x_train) == 10  # 13 images, 3 held out
    for i in range(len(streamed)):
        image, label = streamed[i]
        assert torch.equal(image, memory.x_train[i]) and int(label) == int(memory.y_train[i])


def _png(img):
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def test_views_are_cropped_from_the_original_and_depend_only_on_the_key(tmp_path):
    folder = _photo_folder(tmp_path / "photos")
    listing = list_images(folder)
    crops = [CropSpec(0.08, 1.0), CropSpec(0.08, 1.0)]
    data = StreamedImages(listing.train, 24, crops)
    views, label = data[SampleKey(3, epoch=1, seed=5)]
    assert views.shape == (2, 3, 24, 24) and views.dtype == torch.uint8
    again, _ = data[SampleKey(3, epoch=1, seed=5)]
    other, _ = data[SampleKey(3, epoch=2, seed=5)]
    assert torch.equal(views, again) and not torch.equal(views, other)
    sampler = EpochSampler(len(data), seed=2, keyed=True)
    batches = [torch.cat([b[0] for b in DataLoader(data, batch_size=4, sampler=sampler, num_workers=w)]) for w in (0, 2)]
    assert torch.equal(*batches)


def test_a_full_crop_of_a_large_jpeg_decoded_at_a_reduced_scale_matches_the_full_decode(tmp_path):
    big = _photo(1600, 1200, 3)
    big.save(tmp_path / "big.jpg", quality=95)
    full = np.asarray(Image.open(tmp_path / "big.jpg").convert("RGB").resize((64, 64), Image.BILINEAR)).astype(float)
    via_draft = resized_rgb(tmp_path / "big.jpg", 64).astype(float)
    assert np.abs(full - via_draft).mean() < 2.0
    whole = lambda h, w: [((0.0, 0.0, float(h), float(w)), False)]  # noqa: E731
    assert np.abs(cropped_rgb(tmp_path / "big.jpg", 64, whole)[0].astype(float) - full).mean() < 2.0


def test_random_crop_boxes_follow_torchvision_rules():
    rng = np.random.default_rng(0)
    for _ in range(200):
        top, left, h, w = random_crop_box(rng, 300, 200, (0.2, 0.9))
        assert 0 <= top and top + h <= 300 and 0 <= left and left + w <= 200
        assert 0.2 * 0.95 <= h * w / 60000 <= 0.9 * 1.05 and 3 / 4 * 0.95 <= w / h <= 4 / 3 * 1.05
    assert random_crop_box(rng, 10, 1000, (0.99, 1.0)) == (0.0, 493.0, 10.0, 13.0)  # torchvision's centre fallback


def test_auto_mode_streams_large_images_and_what_does_not_fit(monkeypatch):
    assert choose_image_mode("auto", 10_000, 64, 3, 64 * 64)[0] == "memory"
    assert choose_image_mode("auto", 2_000, 96, 3, 330 * 330)[0] == "stream"
    assert choose_image_mode("stream", 10, 32, 3, 32 * 32)[0] == "stream"
    assert choose_image_mode("memory", 2_000, 96, 3, 330 * 330)[0] == "memory"
    monkeypatch.setattr("multissl.streamed.memory_budget", lambda: 10**6)
    mode, why = choose_image_mode("auto", 10_000, 64, 3, 64 * 64)
    assert mode == "stream" and "would not fit" in why


def test_open_images_picks_the_path_and_says_why(tmp_path):
    folder = _photo_folder(tmp_path / "photos")
    streams, how = open_images(str(folder), image_size=32)
    assert isinstance(streams, ImageStreams) and "much larger than 32x32" in how and streams.classes == ["cat", "dog"]
    small, how = open_images(str(folder), image_size=128)
    assert not isinstance(small, ImageStreams) and how.startswith("held in memory") and small.image_size == (128, 128)
    forced, how = open_images(str(folder), image_size=128, data_mode="stream")
    assert isinstance(forced, ImageStreams) and "data_mode=stream" in how
    with pytest.raises(ValueError, match="--data-mode stream needs image files"):
        open_images("digits", data_mode="stream")


def _npz(path, n=12, side=20, compressed=False, channels_first=False):
    x = RNG.integers(0, 256, (n, side, side, 3), dtype=np.uint8)
    if channels_first:
        x = x.transpose(0, 3, 1, 2)
    save = np.savez_compressed if compressed else np.savez
    save(path, x_train=x, y_train=np.arange(n) % 3, x_test=x[:4], y_test=np.arange(4) % 3)
    return path


@pytest.mark.parametrize("channels_first", [False, True])
def test_npz_images_stream_memory_mapped_as_they_load_in_memory(tmp_path, channels_first):
    path = _npz(tmp_path / "a.npz", channels_first=channels_first)
    memory = load_images(str(path))
    streams, how = open_images(str(path), data_mode="stream")
    assert isinstance(streams.train.array, np.memmap) and streams.classes == ["0", "1", "2"]
    data = streams.train_dataset()
    for i in range(len(data)):
        image, label = data[i]
        assert torch.equal(image, memory.x_train[i]) and int(label) == int(memory.y_train[i])
    resized = streams.__class__(**{**streams.__dict__, "side": 16}).train_dataset()
    assert torch.equal(resized[5][0], load_images(str(path), image_size=16).x_train[5])
    with pytest.raises(ValueError, match="compressed"):
        open_images(str(_npz(tmp_path / "c.npz", compressed=True)), data_mode="stream")


def test_npy_of_images_is_unlabelled_training_data(tmp_path):
    np.save(tmp_path / "x.npy", RNG.integers(0, 256, (10, 16, 16, 3), dtype=np.uint8))
    memory, _ = open_images(str(tmp_path / "x.npy"))
    streams, _ = open_images(str(tmp_path / "x.npy"), data_mode="stream")
    assert len(memory.x_train) == len(streams.train) == 10 and not memory.has_labels and not streams.has_labels
    assert torch.equal(streams.train_dataset()[7][0], memory.x_train[7])


def test_list_files_with_and_without_labels(tmp_path):
    folder = _photo_folder(tmp_path / "photos", per_class=5)
    files = sorted(folder.rglob("*.jpg"))
    (tmp_path / "labelled.csv").write_text("path,label\n" + "".join(f"{f.relative_to(tmp_path)},{f.parent.name}\n" for f in files))
    listing = list_file(tmp_path / "labelled.csv")
    assert listing.classes == ["cat", "dog"] and (len(listing.train), len(listing.test)) == (8, 2)
    (tmp_path / "plain.txt").write_text("# my photos\n" + "".join(f"{f}\n" for f in files))
    plain = list_images(tmp_path / "plain.txt")
    assert len(plain.train) == 10 and not plain.has_labels
    (tmp_path / "ints.tsv").write_text("".join(f"{f}\t{i % 4}\n" for i, f in enumerate(files)))
    assert list_file(tmp_path / "ints.tsv").classes == ["0", "1", "2", "3"]
    (tmp_path / "missing.txt").write_text(f"{files[0]}\nnot/there.jpg\n")
    with pytest.raises(ValueError, match=r"missing.txt, line 2: image 'not/there.jpg' does not exist"):
        list_file(tmp_path / "missing.txt")
    (tmp_path / "mixed.txt").write_text(f"{files[0]} cat\n{files[1]}\n")
    with pytest.raises(ValueError, match="some lines have a label and some do not"):
        list_file(tmp_path / "mixed.txt")


def test_a_corrupt_jpeg_in_the_stream_is_skipped_with_a_warning_naming_it(tmp_path):
    folder = _photo_folder(tmp_path / "photos", classes=("a",), per_class=4)
    buf = io.BytesIO()
    _photo(300, 300, 9).save(buf, "JPEG")
    (folder / "a" / "1.jpg").write_bytes(buf.getvalue()[:300])
    data = StreamedImages(list_images(folder).train, 32, [CropSpec()])
    index = [f.name for f in data.source.files].index("1.jpg")
    with pytest.warns(RuntimeWarning, match=r"skipping unreadable image .*1\.jpg"):
        views, _ = data[index]
    assert views.shape == (1, 3, 32, 32)


def test_simclr_trains_on_a_streamed_folder_and_resumes_exactly_with_workers(tmp_path, tiny_backbone):
    folder = _photo_folder(tmp_path / "photos", per_class=12)
    common = dict(image_size=32, batch_size=8, arch="resnet10", width=8, proj_hidden=32, num_workers=2, checkpoint_every=2,
                  verbose=False)
    whole = vision.train(str(folder), tmp_path / "whole", "simclr", steps=4, **common)
    assert json.loads((tmp_path / "whole" / "config.json").read_text())["data_mode"] == "stream"
    vision.train(str(folder), tmp_path / "cut", "simclr", steps=2, **common)
    resumed = vision.train(str(folder), tmp_path / "cut", "simclr", steps=4, resume="auto", **common)
    for (name, a), b in zip(whole.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), name


def test_whole_image_methods_train_on_streamed_images(tmp_path):
    folder = _photo_folder(tmp_path / "photos", per_class=8)
    run = vision.train(str(folder), tmp_path / "rot", "rotation", image_size=32, steps=2, batch_size=8, arch="resnet10",
                       width=8, data_mode="stream", verbose=False)
    assert run.result.step == 2


class _Squares(Dataset):
    classes = ["dark", "light"]

    def __len__(self):
        return 24

    def __getitem__(self, i):
        return torch.full((3, 16, 16), 40 + 150 * (i % 2), dtype=torch.uint8), i % 2


def test_a_user_dataset_and_a_user_dataloader_train(tmp_path):
    common = dict(steps=2, batch_size=8, arch="resnet10", width=8, verbose=False)
    run = vision.train(_Squares(), tmp_path / "ds", "rotation", **common)
    assert run.config["data_mode"] == "user" and run.config["image_size"] == 16 and run.config["num_classes"] == 2
    loader = DataLoader(_Squares(), batch_size=8, shuffle=True)
    with pytest.raises(ValueError, match="needs image_size="):
        vision.train(loader, tmp_path / "dl", "simclr", **common)
    assert vision.train(loader, tmp_path / "dl", "simclr", image_size=16, **common).result.step == 2


def test_probe_and_picture_of_a_streamed_folder(tmp_path, capsys):
    from multissl.cli import main

    folder = _photo_folder(tmp_path / "photos", per_class=10)
    common = ["--image-size", "32", "--steps", "1", "--batch-size", "8", "--arch", "resnet10", "--width", "8", "--no-verbose"]
    assert main(["vision", "train", "dae", str(folder), "-o", str(tmp_path / "dae"), *common]) == 0
    assert main(["vision", "probe", str(tmp_path / "dae"), str(folder), "--data-mode", "stream", "--json",
                 str(tmp_path / "probe.json")]) == 0
    scores = json.loads((tmp_path / "probe.json").read_text())
    assert {"linear_acc", "knn_acc", "random_linear_acc", "random_knn_acc"} <= set(scores) and "pixels_linear_acc" not in scores
    assert "probing raw pixels: skipped (the data is streamed from disk" in capsys.readouterr().err
    assert main(["vision", "picture", str(tmp_path / "dae"), str(folder), "-o", str(tmp_path / "p.png"), "--count", "3"]) == 0
    assert (tmp_path / "p.png").is_file()
