"""Run folders that are not what a command expects: another modality's run, other data, a file, a foreign checkpoint."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from multissl.checks import check_positive, shown
from multissl.cli import main
from tests.cli_errors import one_line_error

TINY_VISION = dict(arch="resnet10", width=4, steps=1, batch_size=8, verbose=False, checkpoint_every=0)


def _npz(path, n=16, size=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, 3, size, size), dtype=np.uint8)
    np.savez(path, x_train=x, y_train=np.arange(n) % 2, x_test=x[:4], y_test=np.arange(4) % 2)
    return path


def _vision_run(tmp_path, name="run", data=None):
    from multissl import vision

    data = data or _npz(tmp_path / "a.npz")
    return vision.train(str(data), tmp_path / name, "rotation", **TINY_VISION)


def test_text_does_not_resume_a_vision_run_folder(tmp_path, capsys):
    run = _vision_run(tmp_path)
    before = (run.path / "config.json").read_text()
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat\n" * 50)
    assert main(["text", "train", str(corpus), "-o", str(run.path), "--resume"]) == 2
    assert "is a vision rotation run, not text" in one_line_error(capsys)
    assert (run.path / "config.json").read_text() == before


def test_vision_resumes_on_its_own_data_and_refuses_other_data(tmp_path, monkeypatch):
    from multissl import vision

    run = _vision_run(tmp_path)
    other = _npz(tmp_path / "b.npz", seed=1)
    with pytest.raises(ValueError, match="it trained on .*a.npz, not .*b.npz"):
        vision.train(str(other), run.path, "rotation", **{**TINY_VISION, "steps": 2}, resume="auto")
    assert json.loads((run.path / "config.json").read_text())["data"].endswith("a.npz")
    monkeypatch.chdir(tmp_path)  # the same file by another path resumes
    resumed = vision.train("./a.npz", run.path, "rotation", **{**TINY_VISION, "steps": 2}, resume="auto")
    assert resumed.result.step == 2


def test_a_file_given_as_a_run_folder_is_named_as_a_file(tmp_path):
    import multissl

    path = _npz(tmp_path / "small.npz")
    with pytest.raises(NotADirectoryError, match="small.npz is a file, not a run folder"):
        multissl.load_run(path)


def test_a_map_location_that_is_no_device_is_named(tmp_path):
    import multissl
    from multissl import text

    run = _vision_run(tmp_path)
    with pytest.raises(ValueError, match="map_location 'banana' is not a device"):
        multissl.load_run(run.path, map_location="banana")
    with pytest.raises(ValueError, match="map_location 'banana' is not a device"):
        text.load_run(run.path, map_location="banana")


def test_a_checkpoint_copied_from_another_run_is_named_not_a_state_dict_error(tmp_path):
    import multissl

    vision_run = _vision_run(tmp_path)
    other = _vision_run(tmp_path, "other")
    config = json.loads((other.path / "config.json").read_text())
    config["recipe"]["backbone"]["width"] = 8  # the config of a wider network, the checkpoint of a narrower one
    (other.path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="does not hold the weights of its config.json's network .*another shape"):
        multissl.load_run(other.path)
    audio_like = tmp_path / "audio_run"
    audio_like.mkdir()
    shutil.copytree(vision_run.path / "checkpoints", audio_like / "checkpoints")
    from multissl.audio.training import recipe

    (audio_like / "config.json").write_text(json.dumps({"kind": "audio", "method": "cpc", "init_seed": 0,
                                                         "recipe": recipe().to_dict()}))
    with pytest.raises(ValueError, match=r"an? audio cpc run\): \d+ weight\(s\) missing, \d+ unexpected"):
        multissl.load_run(audio_like)


def test_messages_show_numpy_numbers_and_paths_plainly():
    assert shown(np.int64(3)) == 3 and type(shown(np.float32(0.5))) is float
    assert shown(Path("/data/x")) == "/data/x" and shown([Path("a"), np.int64(1)]) == ["a", 1]
    with pytest.raises(ValueError, match=r"k must be > 0, got 0$"):
        check_positive("k", np.int64(0))


def test_images_too_small_to_train_on_are_a_one_line_error_naming_the_size(tmp_path, capsys):
    x = np.full((16, 1, 1, 3), 128, np.uint8)  # (N, H, W, C): 1x1 RGB pictures
    data = tmp_path / "dots.npz"
    np.savez(data, x_train=x, y_train=np.arange(16) % 2, x_test=x[:4], y_test=np.arange(4) % 2)
    assert main(["vision", "train", "rotation", str(data), "-o", str(tmp_path / "run"), "--steps", "1", "--arch", "resnet10",
                 "--width", "4", "--batch-size", "8"]) == 2
    one_line_error(capsys, "1x1 px, too small to train on", "--image-size 8")
    assert main(["vision", "train", "rotation", str(data), "-o", str(tmp_path / "run"), "--steps", "1", "--arch", "resnet10",
                 "--width", "4", "--batch-size", "8", "--image-size", "8", "--overwrite"]) == 0
