import numpy as np
import pytest
import torch

from multissl.audio.cpc import CPCConfig
from multissl.audio.folder import AudioFolder
from multissl.audio.mfcc import MFCCConfig, mfcc_frames
from multissl.audio.probes import ProbeConfig, ProbeData, cpc_extractor, mfcc_extractor, phone_scores, speaker_scores
from multissl.audio.training import CPCTrainOptions, load_run, train
from multissl.engine import TrainConfig


def test_mfcc_frames_have_10ms_hop_and_39_dims():
    wave = np.random.default_rng(0).normal(0, 0.1, 16000).astype(np.float32)
    feats = mfcc_frames(wave)
    assert feats.shape == ((16000 - 400) // 160 + 1, 39)
    assert mfcc_frames(wave, MFCCConfig(deltas=False)).shape[1] == 13
    assert mfcc_frames(wave[:100]).shape == (1, 39)  # shorter than one window: padded
    with pytest.raises(ValueError, match="shape \\(N,\\)"):
        mfcc_frames(np.zeros((2, 100), np.float32))


@pytest.mark.slow
def test_mfcc_probes_on_the_librispeech_sample(shared_data):
    folder = AudioFolder(shared_data / "librispeech-sample")
    data = ProbeData.build(folder, ProbeConfig(window=20480))
    scores = speaker_scores(mfcc_extractor(), data)
    assert 0 <= scores["speaker_acc_window"] <= 1 and scores["dim"] == 80  # 40 MFCCs, mean + std
    assert scores["speaker_acc_window"] > 1 / 6 + 0.1  # real speakers: MFCC is well above chance
    phones = phone_scores(mfcc_extractor(), data)
    assert phones is not None and phones["phone_frames_test"] > 100
    assert phones["phone_acc"] > 0.1  # 41 classes


def test_probe_needs_two_speakers(tmp_path, audio_file):
    audio_file(tmp_path / "solo" / "a.wav", 200, 1.0, 16000)
    audio_file(tmp_path / "solo" / "b.wav", 220, 1.0, 16000)
    with pytest.raises(ValueError, match="at least 2 speakers"):
        ProbeData.build(AudioFolder(tmp_path))


def test_label_mismatch_is_an_error(tiny_corpus, tmp_path):
    import shutil

    copy = tmp_path / "c"
    shutil.copytree(tiny_corpus, copy)
    lines = (copy / "phone_labels.txt").read_text().splitlines()
    lines[0] = " ".join(lines[0].split()[:-20])  # 20 labels short
    (copy / "phone_labels.txt").write_text("\n".join(lines) + "\n")
    folder = AudioFolder(copy)
    data = ProbeData.build(folder, ProbeConfig(window=8192))
    with pytest.raises(ValueError, match=f"utterance {lines[0].split()[0]}: .* phone labels"):
        phone_scores(mfcc_extractor(), data)


@pytest.mark.slow
def test_trained_cpc_beats_its_random_initialisation(tiny_corpus, tmp_path):
    config = CPCConfig(encoder_channels=32, context_dim=32, window=4096, num_negatives=8, prediction_steps=6)
    options = CPCTrainOptions(holdout=0.25)
    engine = TrainConfig(steps=300, batch_size=16, verbose=False, checkpoint_every=0, seed=0)
    torch.set_num_threads(1)
    try:
        train(tiny_corpus, tmp_path / "run", model=config, options=options, train=engine, lr=3e-3, schedule="constant")
        run = load_run(tmp_path / "run")
        trained, initial, record = run.model, run.initial, run.config
        data = ProbeData.build(AudioFolder(tiny_corpus), ProbeConfig(window=8192, holdout=0.25))  # the run's holdout
        cpc = speaker_scores(cpc_extractor(trained), data)
        rand = speaker_scores(cpc_extractor(initial), data)
    finally:
        torch.set_num_threads(2)
    assert record["data"]["split"]["test_segments"] == 4
    assert cpc["speaker_acc_window"] >= rand["speaker_acc_window"] + 0.15, (cpc, rand)
    assert cpc["speaker_acc_window"] > 0.5  # 4 speakers: chance 0.25


def test_probe_table_rows_columns_and_missing_scores():
    from multissl.audio.probes import probe_table

    results = {"cpc": {"speaker_acc_window": 0.9, "phone_acc": None}, "mfcc": {"speaker_acc_window": 0.81234}}
    table = probe_table(results, ["speaker_acc_window", ("phone_acc", "phones")]).splitlines()
    assert table[0] == "| features | speaker_acc_window | phones |" and table[1] == "|---|---|---|"
    assert table[2:] == ["| cpc | 0.900 | - |", "| mfcc | 0.812 | - |"]
    assert probe_table(results, ["speaker_acc_window"], rows=["mfcc"]).splitlines()[2:] == ["| mfcc | 0.812 |"]


def test_mfcc_baseline_keeps_10_ms_frames_at_the_runs_sample_rate():
    from multissl.audio.mfcc import mfcc_frames
    from multissl.audio.probes import SPEAKER_MFCC

    at_8k = SPEAKER_MFCC.at_rate(8000)
    assert (at_8k.win_length, at_8k.hop_length, at_8k.sample_rate) == (200, 80, 8000)
    assert SPEAKER_MFCC.at_rate(16000) == SPEAKER_MFCC
    tone = np.sin(2 * np.pi * 440 * np.arange(8000 * 3) / 8000).astype(np.float32)  # 3 s at 8 kHz
    assert len(mfcc_frames(tone, at_8k)) == (len(tone) - 200) // 80 + 1  # 298 frames of 10 ms, not 149 of 20 ms
    assert len(mfcc_frames(tone, SPEAKER_MFCC)) == (len(tone) - 400) // 160 + 1


def _one_folder_per_speaker(root, audio_file, utterances, seconds):
    for i, freq in enumerate((150, 260, 410, 640)):
        for u in range(utterances):
            audio_file(root / f"spk{i}" / f"u{u}.wav", freq * (1 + 0.03 * u), seconds, 16000)
    return AudioFolder(root)


def test_speaker_clustering_falls_back_to_held_out_pieces_with_one_utterance_per_speaker(tmp_path, audio_file):
    from multissl.audio.probes import clustering_cell, speaker_clusters

    one_each = ProbeData.build(_one_folder_per_speaker(tmp_path / "one", audio_file, 1, 3.0),
                               ProbeConfig(window=4000, holdout=0.5))
    scores = speaker_clusters(mfcc_extractor(), one_each)
    # 1.5 s held out per speaker: six 4000-sample pieces each (the last 0.25 s joins the one before)
    assert scores["clustered"] == "pieces" and scores["cluster_items"] == 24 and scores["clusters"] == 4
    assert scores["nmi"] > 0.9 and scores["not_scored"] is None  # four tones: the pieces cluster by speaker
    assert clustering_cell(scores) == "24 pieces"
    two_each = ProbeData.build(_one_folder_per_speaker(tmp_path / "two", audio_file, 2, 1.0), ProbeConfig(window=4000))
    scores = speaker_clusters(mfcc_extractor(), two_each)
    assert scores["clustered"] == "utterances" and scores["cluster_items"] == 8
    one_piece_each = ProbeData.build(one_each.folder, ProbeConfig(window=32000, holdout=0.5))
    scores = speaker_clusters(mfcc_extractor(), one_piece_each)
    assert scores["nmi"] is None and clustering_cell(scores) == "not scored: 4 pieces for 4 clusters"


def test_probe_and_cluster_tables_print_why_a_clustering_is_not_scored():
    from multissl.audio.cli import _table
    from multissl.audio.clusters import score_line

    refused = {"speaker_acc_window": 0.5, "nmi": None, "ami": None, "ari": None, "silhouette": None, "clustered": "utterances",
               "cluster_items": 251, "clusters": 251, "not_scored": "not scored: 251 utterances for 251 clusters"}
    scored = {**refused, "nmi": 0.61, "ami": 0.4, "ari": 0.2, "silhouette": 0.05, "clustered": "pieces", "cluster_items": 700, "not_scored": None}
    rows = _table({"cpc": refused, "mfcc": scored}).splitlines()
    assert rows[2].endswith("| - | - | - | - | not scored: 251 utterances for 251 clusters | - |")
    assert rows[3].endswith("| 0.610 | 0.400 | 0.200 | 0.050 | 700 pieces | - |")
    assert score_line(refused) == "not scored: 251 utterances for 251 clusters"
    assert score_line(scored) == "NMI 0.610  AMI 0.400  ARI 0.200  silhouette 0.050"
