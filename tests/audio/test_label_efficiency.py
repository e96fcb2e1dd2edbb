"""``multissl audio efficiency``: speaker identification with few labels, and its Python API."""
import json
from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf
import torch

from multissl.cli import main
from multissl.evaluation import FinetuneConfig, label_subset
from tests.cli_errors import one_line_error

RATE, WINDOW = 16000, 4096
TINY_RUN = dict(encoder_channels=8, context_dim=8, window=2048, num_negatives=4, prediction_steps=2, batch_size=4,
                verbose=False, checkpoint_every=0)
TINY_FINETUNE = FinetuneConfig(lrs=(1e-3,), epochs=1, min_steps=2, batch_size=32, warmup_steps=1)
TINY_FLAGS = ["--lrs", "0.001", "--epochs", "1", "--min-steps", "2", "--batch-size", "32", "--warmup-steps", "1",
              "--window", str(WINDOW), "--quiet"]


def _voice(f0: float, seconds: float, rng) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    f0 = f0 * rng.uniform(0.97, 1.03)
    wave = sum(np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 6)) / k for k in range(1, 6))
    return (0.2 * wave + rng.normal(0, 0.01, len(t))).astype(np.float32)


@pytest.fixture(scope="module")
def speakers(tmp_path_factory):
    """3 speakers x 3 utterances of 1.5 s (harmonic tones): 6 windows of 4096 samples per utterance."""
    root = tmp_path_factory.mktemp("efficiency") / "speakers"
    rng = np.random.default_rng(0)
    for name, f0 in (("ann", 110.0), ("bob", 170.0), ("cat", 260.0)):
        (root / name).mkdir(parents=True)
        for i in range(3):
            sf.write(root / name / f"{name}_{i}.wav", _voice(f0, 1.5, rng), RATE)
    return root


@pytest.fixture(scope="module")
def cpc_run(speakers, tmp_path_factory):
    from multissl import audio

    run = tmp_path_factory.mktemp("efficiency") / "cpc"
    audio.train(speakers, run, steps=2, **TINY_RUN)
    return run




def test_window_features_and_encoder_shapes(cpc_run):
    from multissl.audio.label_evaluation import (
        WindowEncoder,
        audio_run,
        mfcc_window_features,
    )

    waves = [np.random.default_rng(i).normal(0, 0.1, WINDOW).astype(np.float32) for i in range(3)]
    assert mfcc_window_features(waves).shape == (3, 80)  # 40 MFCC means + 40 standard deviations
    run = audio_run(cpc_run)
    assert WindowEncoder(run.initial)(torch.from_numpy(np.stack(waves))).shape == (3, 8)  # (B, context_dim)


def test_api_rows_for_every_count_with_three_methods(cpc_run, speakers, tmp_path):
    from multissl.audio import efficiency_run
    from multissl.audio.probes import ProbeConfig

    result = efficiency_run(cpc_run, speakers, per_speaker=(1, 2, 5, "all"), seeds=3, config=TINY_FINETUNE,
                            probe=ProbeConfig(window=WINDOW), verbose=False)
    assert result.methods == ["cpc_linear", "mfcc_linear", "supervised"] and result.axis == "per_class"
    assert [row["amount"] for row in result.rows] == ["1", "2", "5", "all"]
    assert [row["labelled"] for row in result.rows] == [3, 6, 15, 36]  # 2 training utterances x 6 windows per speaker
    for row in result.rows:
        assert len(row["seeds"]) == (1 if row["amount"] == "all" else 3)
        for method in result.methods:
            values = row[method]["values"]
            assert len(values) == len(row["seeds"])
            assert all(0.0 <= v <= 1.0 for v in values), (row["amount"], method, values)
    settings = result.settings
    assert settings["window"] == WINDOW and settings["mfcc_config"]["n_mfcc"] == 40 and settings["mfcc_config"]["n_mels"] == 40
    assert settings["test_audio_unseen_by_cpc"] is True and settings["seeds"] == 3
    assert settings["data"]["split"]["test_segments"] == 3 and settings["finetune"]["lrs"] == [1e-3]
    assert result.plot(tmp_path / "curve.png").stat().st_size > 1000


def test_cli_writes_table_json_and_curve(cpc_run, speakers, tmp_path, capsys):
    out, png = tmp_path / "e.json", tmp_path / "curve.png"
    assert main(["audio", "efficiency", str(cpc_run), str(speakers), "--per-speaker", "2", "all", "--seeds", "2",
                 "--json", str(out), "-o", str(png), *TINY_FLAGS]) == 0
    assert "| 2 | 6 | 2 |" in capsys.readouterr().out
    payload = json.loads(out.read_text())
    for amount, seeds in (("2", 2), ("all", 1)):
        row = payload["by_amount"][amount]
        assert set(row) == {"cpc_linear", "mfcc_linear", "supervised"}
        assert all({"mean", "std"} <= set(row[m]) and len(row[m]["values"]) == seeds for m in row)
    assert payload["settings"]["finetune"]["epochs"] == 1 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("args, needles", [
    (["{vision_run}", "{data}"], ["is a vision run; this takes audio runs"]),
    (["{text_run}", "{data}"], ["is a text run; this takes audio runs"]),
    (["{run}", "{data}", "--per-speaker", "1", "999"], ["per_speaker=999 is above the 12 training windows of speaker"]),
    (["{run}", "{data}", "--per-speaker", "0"], ["must be >= 1", "got 0"]),
    (["{run}", "{solo}"], ["at least 2 speakers"]),
    (["{run}", "{data}", "--window", "100"], ["window=100 samples is shorter than one frame"]),
])
def test_bad_input_is_a_one_line_error_before_any_work(cpc_run, speakers, tmp_path, capsys, monkeypatch, args, needles):
    from multissl.audio import label_evaluation

    def no_work(*args, **kwargs):
        raise AssertionError("features were computed or a network trained before the error")
    monkeypatch.setattr(label_evaluation, "linear_evaluators", no_work)
    monkeypatch.setattr(label_evaluation, "finetune_window_evaluator", no_work)
    folders = {}
    for kind, method in (("vision", "simclr"), ("text", "skipgram")):
        folders[f"{kind}_run"] = tmp_path / kind
        folders[f"{kind}_run"].mkdir()
        (folders[f"{kind}_run"] / "config.json").write_text(json.dumps({"kind": kind, "method": method, "recipe": {}}))
    solo = tmp_path / "solo" / "ann"
    solo.mkdir(parents=True)
    for i in range(2):
        sf.write(solo / f"ann_{i}.wav", _voice(110.0, 1.0, np.random.default_rng(i)), RATE)
    filled = [a.format(run=cpc_run, data=speakers, solo=solo.parent, **folders) for a in args]
    assert main(["audio", "efficiency", *TINY_FLAGS, *filled]) == 2  # the case's flags come last and win
    one_line_error(capsys, *needles)


def test_supervised_sees_only_the_labelled_windows(cpc_run, speakers):
    from multissl.audio.label_evaluation import (
        audio_run,
        finetune_window_evaluator,
        speaker_windows,
    )
    from multissl.audio.probes import ProbeConfig

    run = audio_run(cpc_run)
    windows = speaker_windows(run, speakers, ProbeConfig(window=WINDOW))
    indices = label_subset(windows.y_train, per_class=5, seed=0)
    outside = torch.ones(len(windows.y_train), dtype=torch.bool)
    outside[torch.as_tensor(indices)] = False
    poisoned_labels = windows.y_train.clone()
    poisoned_labels[outside] = (poisoned_labels[outside] + 1) % len(windows.speakers)
    poisoned = replace(windows, y_train=poisoned_labels)
    assert int((poisoned.y_train != windows.y_train).sum()) == int(outside.sum()) > 0
    clean = finetune_window_evaluator(run.initial, windows, TINY_FINETUNE)(indices, 0)
    dirty = finetune_window_evaluator(run.initial, poisoned, TINY_FINETUNE)(indices, 0)
    assert clean == dirty and 0.0 <= clean <= 1.0
