import json

import numpy as np
import pytest
import torch

from multissl.cli import main
from multissl.video.masks import read_mask, write_mask

SYNTH = ["--height", "64", "--width", "80", "--train-frames", "8", "--eval-frames", "5", "--max-objects", "2"]
TRAIN = ["--steps", "2", "--batch-size", "2", "--crop", "32", "--short-side", "64", "--width", "4", "--conv3d-channels", "8",
         "--conv3d-layers", "1", "--embed-dim", "8", "--backbone", "resnet10", "--clips-per-video", "4", "--no-verbose"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("video-cli")
    assert main(["video", "synth", str(root / "bench"), "--videos", "2", "--eval-videos", "2", "--seed", "0", *SYNTH]) == 0
    assert main(["video", "train", str(root / "bench" / "train"), "-o", str(root / "run"), "--preset", "cpu", *TRAIN]) == 0
    return root


@pytest.mark.slow
def test_synth_writes_mp4_and_davis_layout(trained):
    bench = trained / "bench"
    assert sorted(p.name for p in (bench / "train").iterdir()) == ["video_000.mp4", "video_001.mp4"]
    frames = sorted((bench / "eval" / "JPEGImages" / "480p" / "synth_000").glob("*.jpg"))
    masks = sorted((bench / "eval" / "Annotations" / "480p" / "synth_000").glob("*.png"))
    assert len(frames) == len(masks) == 5
    assert read_mask(masks[0]).max() >= 1
    assert (bench / "eval" / "ImageSets" / "2017" / "val.txt").read_text().split() == ["synth_000", "synth_001"]


def test_synth_refuses_a_frame_rate_of_zero_in_one_line(tmp_path, capsys):
    assert main(["video", "synth", str(tmp_path / "bench"), "--fps", "0"]) == 2
    assert "fps must be a frame rate > 0, got 0.0" in capsys.readouterr().err
    assert not (tmp_path / "bench").exists()


@pytest.mark.slow
def test_synthetic_generation_is_seeded():
    from multissl.video.synthetic import SynthConfig, generate_video

    cfg = SynthConfig(height=32, width=48)
    a, ma = generate_video(3, 4, cfg)
    b, mb = generate_video(3, 4, cfg)
    c, _ = generate_video(4, 4, cfg)
    assert np.array_equal(a, b) and np.array_equal(ma, mb) and not np.array_equal(a, c)


@pytest.mark.slow
def test_train_run_folder_and_reproducibility(trained, tmp_path, capsys):
    run = trained / "run"
    config = json.loads((run / "config.json").read_text())
    assert config["recipe"]["model"]["width"] == 4 and config["recipe"]["clips"]["crop"] == 32 and config["preset"] == "cpu"
    assert config["kind"] == "video" and config["method"] == "colorizer" and config["propagation"]["context"] == 10
    assert (run / "checkpoints" / "last.pt").is_file() and (run / "metrics.jsonl").is_file()
    assert main(["video", "train-colorizer", str(trained / "bench" / "train"), "-o", str(tmp_path / "again"), *TRAIN]) == 0
    assert "`train-colorizer` is deprecated" in capsys.readouterr().err  # the old spelling still works
    a = torch.load(run / "checkpoints" / "last.pt", weights_only=False)["model"]
    b = torch.load(tmp_path / "again" / "checkpoints" / "last.pt", weights_only=False)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)  # same seed, same weights and colour clusters


@pytest.mark.slow
def test_eval_writes_every_method(trained, tmp_path, capsys):
    out = tmp_path / "eval.json"
    assert main(["video", "eval", str(trained / "run"), str(trained / "bench" / "eval"), "--json", str(out), "--context", "2"]) == 0
    results = json.loads(out.read_text())
    assert set(results) == {"model", "copy_first", "pixels", "random"}
    for r in results.values():
        assert {"J_mean", "F_mean", "JF_mean"} <= set(r) and set(r["sequences"]) == {"synth_000", "synth_001"}
        assert 0 <= r["JF_mean"] <= 1
    assert "| copy_first |" in capsys.readouterr().out


@pytest.mark.slow
def test_track_writes_masks_and_overlay(trained, tmp_path):
    seq = trained / "bench" / "eval" / "JPEGImages" / "480p" / "synth_000"
    first = trained / "bench" / "eval" / "Annotations" / "480p" / "synth_000" / "00000.png"
    assert main(["video", "track", str(trained / "run"), str(seq), "--first-mask", str(first), "-o", str(tmp_path / "out")]) == 0
    masks = sorted((tmp_path / "out" / "masks").glob("*.png"))
    assert [m.name for m in masks] == [f"{t:05d}.png" for t in range(5)]
    assert np.array_equal(read_mask(masks[0]), read_mask(first))
    assert (tmp_path / "out" / "overlay.png").stat().st_size > 1000
    # a video file works too
    video = trained / "bench" / "train" / "video_000.mp4"
    assert main(["video", "track", str(trained / "run"), str(video), "--first-mask", str(first), "-o", str(tmp_path / "vid"), "--threads", "1"]) == 0
    assert len(list((tmp_path / "vid" / "masks").glob("*.png"))) == 8


@pytest.mark.slow
def test_track_bad_masks_give_one_line_errors(trained, tmp_path, capsys):
    seq = trained / "bench" / "eval" / "JPEGImages" / "480p" / "synth_000"
    write_mask(tmp_path / "empty.png", np.zeros((64, 80), int))
    write_mask(tmp_path / "small.png", np.ones((32, 40), int))
    assert main(["video", "track", str(trained / "run"), str(seq), "--first-mask", str(tmp_path / "empty.png"), "-o", str(tmp_path / "o")]) == 2
    assert "holds no object" in capsys.readouterr().err
    assert main(["video", "track", str(trained / "run"), str(seq), "--first-mask", str(tmp_path / "small.png"), "-o", str(tmp_path / "o")]) == 2
    assert "is 40x32 pixels but the frames are 80x64" in capsys.readouterr().err
    assert main(["video", "eval", str(tmp_path), str(trained / "bench" / "eval")]) == 2
    assert "is not a video run folder" in capsys.readouterr().err
    assert main(["video", "eval", str(trained / "run"), str(tmp_path)]) == 2
    assert "is not a DAVIS-layout folder" in capsys.readouterr().err


@pytest.mark.slow
def test_demo_part_shows_the_shipped_colorizer_beating_every_baseline(tmp_path):
    from multissl.video.demo import run

    section = run(tmp_path, quick=False, seed=0)
    jf = section.metrics["JF_mean"]
    assert set(jf) == {"colorizer shipped", "colorizer live", "copy_first", "pixels", "random init"}
    assert jf["colorizer shipped"] > max(jf["pixels"], jf["copy_first"], jf["random init"])
    assert "better than raw Lab pixels" in section.markdown.strip().splitlines()[-1]
    for picture in section.pictures:
        assert (tmp_path / picture).stat().st_size > 1000
    assert section.metrics["live_last_loss"] < section.metrics["live_first_loss"]


@pytest.mark.slow
def test_broken_video_inputs_are_one_line_errors(trained, tmp_path, capsys):
    import shutil

    davis = tmp_path / "davis"
    shutil.copytree(trained / "bench" / "eval", davis)
    (davis / "ImageSets" / "2017" / "val.txt").write_text("synth_000\nmissing_seq\n")
    assert main(["video", "eval", str(trained / "run"), str(davis), "--split", "val"]) == 2
    err = capsys.readouterr().err
    assert "names 1 sequence(s) with no frame folder" in err and "missing_seq" in err and "Traceback" not in err
    empty = tmp_path / "empty_frames"
    empty.mkdir()
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"not a video at all" * 100)
    mask = trained / "bench" / "eval" / "Annotations" / "480p" / "synth_000" / "00000.png"
    for source in (empty, garbage):
        assert main(["video", "track", str(trained / "run"), str(source), "--first-mask", str(mask), "-o", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("multissl") and err.count("multissl: error:") == 1 and "Traceback" not in err
    blank = tmp_path / "blank.png"
    write_mask(blank, np.zeros((64, 80), int))
    seq = trained / "bench" / "eval" / "JPEGImages" / "480p" / "synth_000"
    assert main(["video", "track", str(trained / "run"), str(seq), "--first-mask", str(blank), "-o", str(tmp_path / "o")]) == 2
    assert f"first mask {blank} holds no object" in capsys.readouterr().err
