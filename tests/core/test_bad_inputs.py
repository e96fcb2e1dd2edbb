"""Bad inputs give one line and exit status 2 (or a correct result), never a traceback or a silent wrong result."""
import json
import os

import numpy as np
import pytest
import torch

from multissl.cli import main
from tests.cli_errors import one_line_error

TINY = ["--arch", "resnet10", "--width", "4", "--batch-size", "8", "--no-verbose", "--steps", "2"]


def _npz(path, x_train, y_train, x_test=None, y_test=None):
    x_test = x_train[:4] if x_test is None else x_test
    y_test = y_train[:4] if y_test is None else y_test
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return str(path)


def _images(n=16, size=16):
    return np.random.default_rng(0).random((n, size, size, 3)).astype(np.float32)




@pytest.mark.parametrize("case,needles", [
    ("nan_pixels", ["image 3 holds NaN"]),
    ("negative_label", ["label 2 is -1"]),
    ("float_label", ["label 1 is 1.5"]),
    ("string_labels", ["must hold integer class indices"]),
    ("empty", ["x_train is empty"]),
    ("text_named_npz", ["is not an .npz archive"]),
    ("single_array", ["not an .npz archive"]),
])
def test_bad_image_data_is_rejected_with_the_first_bad_index(tmp_path, capsys, case, needles):
    x, y = _images(), np.arange(16) % 4
    path = tmp_path / "d.npz"
    if case == "nan_pixels":
        x[3, 2, 2, 0] = np.nan
        _npz(path, x, y)
    elif case == "negative_label":
        y = y.copy()
        y[2] = -1
        _npz(path, x, y)
    elif case == "float_label":
        _npz(path, x, np.where(np.arange(16) == 1, 1.5, 0.0))
    elif case == "string_labels":
        _npz(path, x, np.array(["cat", "dog"] * 8))
    elif case == "empty":
        _npz(path, x[:0], y[:0], x[:4], y[:4])
    elif case == "text_named_npz":
        path.write_text("x_train,y_train\n1,2\n")
    elif case == "single_array":
        with open(path, "wb") as f:
            np.save(f, x)
    assert main(["vision", "train", "rotation", str(path), "-o", str(tmp_path / "r"), *TINY]) == 2
    one_line_error(capsys, *needles)


def test_probe_data_with_a_negative_label_is_rejected(tmp_path, capsys):
    x, y = _images(), np.arange(16) % 4
    good = _npz(tmp_path / "good.npz", x, y)
    assert main(["vision", "train", "rotation", good, "-o", str(tmp_path / "r"), *TINY]) == 0
    bad_test = y[:4].copy()
    bad_test[0] = -1
    bad = _npz(tmp_path / "bad.npz", x, y, x[:4], bad_test)
    assert main(["vision", "probe", str(tmp_path / "r"), bad]) == 2
    one_line_error(capsys, "y_test: label 0 is -1")


def test_dense_tasks_name_the_image_size_they_need(tmp_path, capsys):
    path = _npz(tmp_path / "tiny.npz", _images(16, 12), np.arange(16) % 4)
    assert main(["vision", "train", "dae", path, "-o", str(tmp_path / "r"), *TINY]) == 2
    one_line_error(capsys, "multiple of the backbone's output stride", "got 12x12")
    path = _npz(tmp_path / "dots.npz", _images(16, 4), np.arange(16) % 4)
    assert main(["vision", "train", "dae", path, "-o", str(tmp_path / "r2"), *TINY]) == 2
    one_line_error(capsys, "the images are 4x4 px, too small to train on (at least 8x8)")


@pytest.mark.parametrize("device,needle", [("tpu", "is not one torch knows"), ("cuda", "no CUDA GPU")])
def test_unusable_devices_are_one_line_errors(tmp_path, capsys, device, needle):
    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert main(["vision", "train", "rotation", "digits", "-o", str(tmp_path / "r"), *TINY, "--device", device]) == 2
    one_line_error(capsys, needle)


def test_damaged_run_files_are_named(tmp_path, capsys):
    run = tmp_path / "r"
    assert main(["vision", "train", "rotation", "digits", "-o", str(run), *TINY, "--checkpoint-every", "1"]) == 0
    os.truncate(run / "checkpoints" / "last.pt", 100)
    with pytest.warns(RuntimeWarning, match="skipped last.pt"):
        assert main(["vision", "probe", str(run), "digits"]) == 0  # the numbered checkpoint of the same step
    for f in (run / "checkpoints").glob("*.pt"):
        f.write_bytes(b"\0" * 300)
    capsys.readouterr()
    assert main(["vision", "probe", str(run), "digits"]) == 2
    one_line_error(capsys, "no readable checkpoint")
    (run / "config.json").write_text("{not json")
    assert main(["vision", "probe", str(run), "digits"]) == 2
    one_line_error(capsys, "config.json is not valid JSON")


def test_text_inputs(tmp_path, capsys):
    corpus = tmp_path / "c.txt"
    corpus.write_text("the cat sat on the mat\n" * 40)
    assert main(["text", "train", str(tmp_path), "-o", str(tmp_path / "r")]) == 2
    one_line_error(capsys, "is a folder")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert main(["text", "ngram", str(corpus), "--test", str(empty)]) == 2
    one_line_error(capsys, f"test file {empty} holds no sentence")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9 au lait\n".encode("latin-1") * 30)
    assert main(["text", "ngram", str(latin)]) == 2
    one_line_error(capsys, "line 1", "--errors replace")
    assert main(["text", "ngram", str(latin), "--errors", "replace"]) == 0
    with pytest.raises(SystemExit) as stop:
        main(["text", "neighbors", str(corpus), "cat", "-n", "-3"])
    assert stop.value.code == 2 and "must be a positive integer" in capsys.readouterr().err


def test_vector_files(tmp_path, capsys):
    from multissl.text.word2vec_format import save_word2vec_format

    words = ["cat", "dog", "mat", "hat"]
    vectors = np.random.default_rng(0).random((4, 5)).astype(np.float32)
    vec = save_word2vec_format(tmp_path / "v.vec", words, vectors, binary=False)  # fastText's .vec is text
    assert main(["text", "neighbors", str(vec), "cat", "-n", "2"]) == 0
    assert "dog" in capsys.readouterr().out or True
    binary = save_word2vec_format(tmp_path / "v.bin", words, vectors, binary=True)
    assert main(["text", "neighbors", str(binary), "cat", "--text-format"]) == 2
    one_line_error(capsys, str(binary), "line 2", "binary")
    vectors[2, 1] = np.nan
    nan = save_word2vec_format(tmp_path / "nan.bin", words, vectors, binary=True)
    assert main(["text", "neighbors", str(nan), "cat"]) == 2
    one_line_error(capsys, "NaN or infinite", "3 ('mat')")


def test_losses_and_samplers_reject_what_they_cannot_compute():
    from multissl.losses import info_nce
    from multissl.sampling import AliasSampler

    q = torch.randn(1, 8)
    with pytest.raises(ValueError, match="at least 2 samples"):
        info_nce(q, q)
    with pytest.raises(ValueError, match="K=0"):
        info_nce(torch.randn(4, 8), torch.randn(4, 8), torch.randn(4, 0, 8))
    big = (torch.randn(4, 64) * 300).half()
    loss = info_nce(big, big, torch.randn(4, 3, 64).half() * 300, normalize=False)
    assert torch.isfinite(loss) and loss.dtype == torch.float32
    sampler = AliasSampler(np.ones(10), seed=1)
    with pytest.raises(ValueError, match="n must be an integer, got 2.5"):
        sampler.draw(2.5)
    with pytest.raises(ValueError, match="seed must be an integer, got 1.5"):
        AliasSampler(np.ones(10), seed=1.5)
    assert len(sampler.draw(np.int64(3))) == 3


def test_config_json_errors_name_the_file(tmp_path):
    import multissl

    (tmp_path / "config.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"config.json does not hold a JSON object"):
        multissl.load_run(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"kind": "vision"}))
    with pytest.raises(ValueError, match="config.json names no method"):
        multissl.load_run(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"kind": "speech"}))
    with pytest.raises(ValueError, match="names no kind of run"):
        multissl.load_run(tmp_path)
