import json

import numpy as np
import pytest

from multissl.cli import main

TINY_FLAGS = ["--encoder-channels", "8", "--context-dim", "8", "--window", "4096", "--num-negatives", "4",
              "--prediction-steps", "3", "--steps", "4", "--batch-size", "4", "--no-verbose"]


@pytest.mark.slow
def test_acceptance_sequence_synth_train_probe_cluster(tmp_path, capsys):
    data, run = tmp_path / "spk", tmp_path / "cpc"
    assert main(["audio", "synth", str(data), "--speakers", "3", "--utterances", "4", "--seed", "0", "--quiet"]) == 0
    assert "wrote 12 utterances of 3 speakers" in capsys.readouterr().out
    assert main(["audio", "train", str(data), "-o", str(run), "--preset", "cpu", *TINY_FLAGS]) == 0
    assert "trained 4 steps" in capsys.readouterr().out
    config = json.loads((run / "config.json").read_text())
    assert config["preset"] == "cpu" and config["recipe"]["model"]["encoder_channels"] == 8
    assert config["kind"] == "audio" and config["method"] == "cpc" and "multissl_version" in config
    assert config["recipe"]["optim"]["lr"] == 2e-3  # a preset value the flags left alone
    assert (run / "checkpoints" / "last.pt").is_file()
    probe = tmp_path / "probe.json"
    assert main(["audio", "probe", str(run), str(data), "--json", str(probe), "--quiet", "--frames", "--frame-chunk", "8000"]) == 0
    assert "speaker_acc_frame" in capsys.readouterr().out.splitlines()[0]  # the table's first column
    results = json.loads(probe.read_text())
    assert results["probe"]["frames"] is True and results["probe"]["frame_chunk"] == 8000
    for name in ("cpc", "mfcc", "random"):
        assert results[name]["speaker_frames_test"] > 0
        for key in ("speaker_acc_frame", "speaker_acc_window", "speaker_acc_utterance", "nmi"):
            assert 0.0 <= results[name][key] <= 1.0
        assert results[name]["phone_acc"] is not None  # the synthetic corpus has phone labels
    assert results["test_audio_unseen_by_cpc"] is True
    assert results["data"]["split"]["test_segments"] == 3  # one held-out utterance per speaker
    picture = tmp_path / "clusters.png"
    assert main(["audio", "cluster", str(run), str(data), "-o", str(picture), "--quiet"]) == 0
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "NMI" in capsys.readouterr().out
    # --resume continues the run from its checkpoint
    assert main(["audio", "train", str(data), "-o", str(run), *TINY_FLAGS, "--steps", "6", "--resume"]) == 0
    assert "trained 6 steps" in capsys.readouterr().out


@pytest.mark.slow
def test_probe_on_librispeech_sample_and_speaker_pattern_folder(tmp_path, shared_data, audio_file, capsys):
    sample, run = shared_data / "librispeech-sample", tmp_path / "run"
    assert main(["audio", "train", str(sample), "-o", str(run), *TINY_FLAGS]) == 0
    out = tmp_path / "p.json"
    assert main(["audio", "probe", str(run), str(sample), "--json", str(out), "--quiet"]) == 0
    results = json.loads(out.read_text())
    assert results["data"]["speakers"] == 6
    assert sorted(results["data"]["split"]["speakers_split_in_time"]) == ["2911", "4051", "5393", "6476"]
    assert results["mfcc"]["phone_acc"] is not None and results["mfcc"]["phone_frames_test"] > 0
    flat = tmp_path / "digits"
    rng = np.random.default_rng(0)
    for speaker, base in (("jackson", 120), ("nicolas", 200), ("theo", 300)):
        for digit in range(3):
            for index in range(2):
                audio_file(flat / f"{digit}_{speaker}_{index}.wav", base + 10 * digit + rng.uniform(0, 5), 0.6, 8000)
    pattern = ["--speaker-pattern", "{digit}_{speaker}_{index}.wav"]
    assert main(["audio", "train", str(flat), "-o", str(tmp_path / "run2"), *TINY_FLAGS, *pattern]) == 0
    assert main(["audio", "probe", str(tmp_path / "run2"), str(flat), "--json", str(tmp_path / "d.json"), "--quiet"]) == 0
    assert json.loads((tmp_path / "d.json").read_text())["data"]["speakers"] == 3
    assert main(["audio", "cluster", str(tmp_path / "run2"), str(flat), "-o", str(tmp_path / "d.png"), "--quiet"]) == 0


def test_user_errors_are_one_line_messages(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["audio", "train", str(tmp_path / "empty"), "-o", str(tmp_path / "r")]) == 2
    assert "no audio files" in capsys.readouterr().err
    assert main(["audio", "train", str(tmp_path / "missing"), "-o", str(tmp_path / "r")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["audio", "probe", str(tmp_path / "empty"), str(tmp_path / "empty")]) == 2
    assert "not an audio run folder" in capsys.readouterr().err
    assert main(["audio", "synth", str(tmp_path / "s"), "--speakers", "0"]) == 2
    assert "num_speakers must be >= 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["audio", "train", str(tmp_path), "-o", "x", "--preset", "gpu"])


def test_speaker_pattern_that_matches_nothing_is_an_error(tmp_path, audio_file, capsys):
    audio_file(tmp_path / "a.wav", 200, 0.5, 16000)
    assert main(["audio", "train", str(tmp_path), "-o", str(tmp_path / "r"), "--speaker-pattern", r"^spk_(\d+)"]) == 2
    assert "matches none of the 1 audio files" in capsys.readouterr().err


def test_old_train_cpc_spelling_still_works_and_warns(tiny_corpus, tmp_path, capsys):
    run = tmp_path / "old"
    assert main(["audio", "train-cpc", str(tiny_corpus), "-o", str(run), *TINY_FLAGS]) == 0
    captured = capsys.readouterr()
    assert "`train-cpc` is deprecated" in captured.err and "trained 4 steps" in captured.out
    assert main(["audio", "train", "cpc", str(tiny_corpus), "-o", str(tmp_path / "new"), *TINY_FLAGS]) == 0
