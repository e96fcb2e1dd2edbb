"""``multissl vision finetune | efficiency | transfer`` and their Python API."""
import json

import pytest

from multissl.cli import main
from tests.cli_errors import one_line_error

TINY = ["--lrs", "0.003", "--epochs", "1", "--min-steps", "2", "--batch-size", "32", "--warmup-steps", "1"]




def test_finetune_command(vision_run, tmp_path):
    out = tmp_path / "f.json"
    assert main(["vision", "finetune", str(vision_run), "digits", "--labels", "0.1", "--supervised", "--json", str(out), *TINY]) == 0
    scores = json.loads(out.read_text())
    assert scores["labelled"] == 144 and scores["fraction"] == 0.1  # round(0.1 * ~180) of each of 10 digits
    for key in ("finetune_acc", "linear_acc", "supervised_acc"):
        assert 0.0 <= scores[key] <= 1.0
    assert scores["finetune_lr"] == 0.003 and scores["finetune_fit_size"] + scores["finetune_val_size"] == 144


def test_efficiency_command_writes_table_json_and_curve(vision_run, tmp_path, capsys):
    out, png = tmp_path / "e.json", tmp_path / "curve.png"
    assert main(["vision", "efficiency", str(vision_run), "digits", "--fractions", "0.05", "1", "--seeds", "2",
                 "--json", str(out), "-o", str(png), *TINY]) == 0
    assert "| 5 % |" in capsys.readouterr().out
    payload = json.loads(out.read_text())
    for amount, seeds in (("0.05", 2), ("1", 1)):
        row = payload["by_amount"][amount]
        assert set(row) == {"linear", "finetune", "supervised"}
        assert all(len(row[m]["values"]) == seeds and {"mean", "std"} <= set(row[m]) for m in row)
    assert payload["settings"]["finetune"]["lrs"] == [0.003] and png.stat().st_size > 1000


def test_transfer_command(vision_run, tmp_path):
    out = tmp_path / "t.json"
    assert main(["vision", "transfer", str(vision_run), "digits", "digits", "--json", str(out)]) == 0
    row = json.loads(out.read_text())["by_dataset"]["digits"]
    assert {"linear_acc", "random_linear_acc", "pixels_linear_acc"} <= set(row)


@pytest.mark.parametrize("args, needles", [
    (["efficiency", "{run}", "digits", "--fractions", "0.1", "0"], ["label fraction must be in (0, 1], got 0.0"]),
    (["finetune", "{run}", "digits", "--labels", "1.5"], ["got 1.5"]),
    (["finetune", "{run}", "digits", "--per-class", "1000"], ["per_class=1000 is above the smallest class"]),
    (["finetune", "{run}", "skimage"], ["has no labels"]),
    (["transfer", "{run}", "{bad_npz}"], ["train has 3 classes and test has 2"]),
    (["finetune", "{text_run}", "digits"], ["is a text run; this takes vision runs"]),
])
def test_bad_input_is_a_one_line_error(vision_run, tmp_path, capsys, args, needles):
    import numpy as np

    bad_npz = tmp_path / "bad.npz"
    rng = np.random.default_rng(0)
    np.savez(bad_npz, x_train=rng.integers(0, 255, (12, 16, 16, 1), dtype=np.uint8), y_train=np.arange(12) % 3,
             x_test=rng.integers(0, 255, (4, 16, 16, 1), dtype=np.uint8), y_test=np.arange(4) % 2)
    text_run = tmp_path / "w2v"
    text_run.mkdir()
    (text_run / "config.json").write_text(json.dumps({"kind": "text", "method": "skipgram", "recipe": {}}))
    filled = [a.format(run=vision_run, bad_npz=bad_npz, text_run=text_run) for a in args]
    assert main(["vision", *filled, *TINY]) == 2
    one_line_error(capsys, *needles)


def test_a_method_without_one_image_encoder_is_a_one_line_error(tmp_path, capsys):
    import numpy as np

    rgb = tmp_path / "rgb.npz"
    rng = np.random.default_rng(0)
    np.savez(rgb, x_train=rng.integers(0, 255, (40, 16, 16, 3), dtype=np.uint8), y_train=np.arange(40) % 4,
             x_test=rng.integers(0, 255, (8, 16, 16, 3), dtype=np.uint8), y_test=np.arange(8) % 4)
    run = tmp_path / "sb"
    assert main(["vision", "train", "split-brain", str(rgb), "-o", str(run), "--steps", "1",
                 "--batch-size", "16", "--width", "8", "--arch", "resnet10", "--no-verbose"]) == 0
    capsys.readouterr()
    assert main(["vision", "efficiency", str(run), str(rgb), "--fractions", "0.5", *TINY]) == 2
    one_line_error(capsys, "method 'split-brain' has no single image encoder to fine-tune")
