import json

import pytest

from multissl.cli import main

SYNTH = ["--height", "64", "--width", "80", "--train-frames", "12", "--eval-frames", "3", "--max-objects", "2"]
TRAIN = ["--steps", "2", "--batch-size", "2", "--crop", "32", "--short-side", "64", "--width", "4", "--conv3d-channels", "8",
         "--conv3d-layers", "0", "--embed-dim", "8", "--backbone", "resnet10", "--clips-per-video", "2", "--color-frames", "4",
         "--no-verbose"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("video-cycle")
    assert main(["video", "synth", str(root / "bench"), "--videos", "3", "--eval-videos", "1", "--seed", "0", *SYNTH]) == 0
    assert main(["video", "train", str(root / "bench" / "train"), "-o", str(root / "run"), *TRAIN, "--holdout", "1"]) == 0
    return root


def test_train_holds_out_the_last_video(trained):
    config = json.loads((trained / "run" / "config.json").read_text())
    assert config["recipe"]["options"]["holdout"] == 1
    assert [p.split("/")[-1] for p in config["videos"]] == ["video_000.mp4", "video_001.mp4"]
    assert [p.split("/")[-1] for p in config["holdout_videos"]] == ["video_002.mp4"]
    assert config["recipe"]["clips"]["fps"] == 12.0 and config["data"]["mode"] == "memory" and config["data"]["decoded_mb"] > 0


def test_cycle_prints_the_table_on_held_out_videos(trained, tmp_path, capsys):
    out = tmp_path / "cycle.json"
    args = ["video", "cycle", str(trained / "run"), str(trained / "bench" / "train"), "--n", "2", "4", "--segments", "4",
            "--clips-per-video", "1", "--color-clips", "2", "--short-side", "64", "--json", str(out)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "evaluating only the 1 held-out videos (video_002.mp4)" in text
    for row in ("| trained model |", "| raw Lab pixels |", "| random init |"):
        assert row in text
    assert "cycle mIoU, N=2" in text and "cycle mIoU, N=4" in text and "colour accuracy" in text
    result = json.loads(out.read_text())
    assert [v.split("/")[-1] for v in result["videos"]] == ["video_002.mp4"]
    assert set(result["cycle_miou"]) == {"model", "pixels", "random"}
    assert all(0 <= s <= 1 for per in result["cycle_miou"].values() for s in per.values())
    assert set(result["color_accuracy"]) == {"trained model", "initial weights", "copy_previous"}


def test_cycle_rejects_bad_arguments(trained, capsys):
    assert main(["video", "cycle", str(trained / "run"), str(trained / "bench" / "train"), "--n", "0"]) == 2
    assert "--n, --segments and --clips-per-video must be >= 1" in capsys.readouterr().err
