"""The frame-level speaker probe (the CPC paper's protocol), pooling and the time split it relies on."""
import numpy as np
import pytest
import torch

from multissl.audio.folder import AudioFolder, speaker_from_layout
from multissl.audio.framing import conv_frames
from multissl.audio.mfcc import mfcc_frames
from multissl.audio.probes import (SPEAKER_MFCC, ProbeConfig, ProbeData, chunk_frames, compare, frame_speaker_scores,
                                   mfcc_extractor, pool, pooled_features)
from multissl.evaluation import standardized
from multissl.audio.windows import split_segments


def test_chunked_frames_keep_the_10ms_frame_count():
    wave = np.random.default_rng(0).normal(0, 0.1, 16000 * 3 + 1234).astype(np.float32)
    whole = mfcc_frames(wave, SPEAKER_MFCC)
    pieces = chunk_frames(mfcc_extractor(), [wave], 20480)[0]
    assert pieces.shape[1] == 40
    # every 20480-sample piece gives (20480 - 400) / 160 + 1 = 126 frames; a 1.28 s piece loses < 3 frames to its edge
    starts = range(0, len(wave) - 20480 // 4, 20480)
    assert len(starts) == 3 and abs(len(pieces) - len(whole)) <= 3 * len(starts)
    assert torch.allclose(pieces[:126], whole[:126], atol=1e-4)  # the first piece's frames are the whole wave's frames


def test_chunk_frames_folds_a_short_tail_and_rejects_bad_chunks():
    wave = np.zeros(20480 + 1000, np.float32)
    calls = []

    def extractor(waves):
        calls.extend(len(w) for w in waves)
        return [torch.zeros(len(w) // 160, 2) for w in waves]
    chunk_frames(extractor, [wave], 20480)
    assert calls == [len(wave)]  # 1000 samples < a quarter chunk: joined to the first piece
    with pytest.raises(ValueError, match="chunk"):
        chunk_frames(extractor, [wave], 0)


def test_cpc_frames_are_10ms_apart():
    assert conv_frames(16000, (10, 8, 4, 4, 4), (5, 4, 2, 2, 2)) == 98  # 1 s of audio -> ~100 frames of 10 ms


def test_pool_and_standardise():
    frames = torch.tensor([[1.0, 2.0], [3.0, 2.0]])
    assert torch.allclose(pool(frames), torch.tensor([2.0, 2.0, 1.0, 0.0]))
    assert torch.allclose(pool(frames, "mean"), torch.tensor([2.0, 2.0]))
    with pytest.raises(ValueError, match="pooling"):
        pool(frames, "max")
    x = standardized(torch.tensor([[1.0, 5.0], [3.0, 5.0]]))
    assert torch.allclose(x, torch.tensor([[-1.0, 0.0], [1.0, 0.0]]))  # a constant dimension stays 0


def test_flat_librispeech_names_give_the_speaker():
    from pathlib import Path

    assert speaker_from_layout(Path("103-1240-0000.flac")) == "103"
    assert speaker_from_layout(Path("103/1240/103-1240-0000.flac")) == "103"
    assert speaker_from_layout(Path("p225/p225_001.wav")) == "p225"
    assert speaker_from_layout(Path("notes.wav")) == ""


def test_time_split_leaves_no_test_frame_in_training(tmp_path, audio_file):
    for speaker, freq in (("11", 200), ("12", 330), ("13", 470)):
        audio_file(tmp_path / f"{speaker}-1-0.wav", freq, 2.0, 16000)
    folder = AudioFolder(tmp_path)
    assert folder.speakers == ["11", "12", "13"]
    split = split_segments(folder, 0.2, 0)
    for train, test in zip(split.train, split.test):
        assert train.index == test.index and train.stop == test.start == int(32000 * 0.8)  # head trains, tail tests
    data = ProbeData.build(folder, ProbeConfig(holdout=0.2, frames=True, frame_chunk=8000, window=8000))
    scores = frame_speaker_scores(mfcc_extractor(), data)
    # frames come from the segments only: the 1.6 s head trains, the 0.4 s tail gives (6400 - 400) / 160 + 1 = 38 test frames
    assert scores["speaker_frames_train_available"] == sum(len(f) for f in chunk_frames(mfcc_extractor(), data.segment_waves(split.train), 8000))
    assert scores["speaker_frames_test"] == 3 * 38
    assert scores["speaker_acc_frame"] == 1.0  # three pure tones: trivially separable
    assert scores["speaker_pieces_test"] == 3 and scores["speaker_acc_piece_vote"] == 1.0  # one 0.4 s tail piece per speaker


def test_frame_probe_subsamples_training_frames_and_compare_reports_it(tmp_path, audio_file):
    for speaker, freq in (("11", 200), ("12", 330)):
        audio_file(tmp_path / f"{speaker}-1-0.wav", freq, 1.5, 16000)
    data = ProbeData.build(AudioFolder(tmp_path), ProbeConfig(holdout=0.2, window=4000, frames=True, max_speaker_frames=50))
    results = compare({"mfcc": mfcc_extractor()}, data)
    assert results["mfcc"]["speaker_frames_train"] == 50 < results["mfcc"]["speaker_frames_train_available"]
    assert "speaker_acc_frame" in results["mfcc"]
    plain = compare({"mfcc": mfcc_extractor()}, ProbeData.build(AudioFolder(tmp_path), ProbeConfig(holdout=0.2, window=4000)))
    assert "speaker_acc_frame" not in plain["mfcc"]


@pytest.mark.parametrize("field", ["frame_chunk", "max_speaker_frames", "window"])
def test_probe_config_rejects_non_positive_sizes(field):
    with pytest.raises(ValueError, match=field):
        ProbeConfig(**{field: 0})


def test_pooled_features_are_mean_and_std_for_every_extractor():
    waves = [np.random.default_rng(i).normal(0, 0.1, 8000).astype(np.float32) for i in range(3)]
    assert pooled_features(mfcc_extractor(), waves).shape == (3, 80)
    assert pooled_features(mfcc_extractor(), waves, pooling="mean").shape == (3, 40)


def test_librispeech_251_reads_251_speakers_from_flat_names(shared_data):
    root = shared_data / "librispeech-251" / "librispeech_train-clean-100"
    if not root.is_dir():
        pytest.skip("librispeech-251 not in the shared data")
    folder = AudioFolder(root, preload=False)
    assert folder.num_speakers == 251 and len(folder) == 251
    wave = folder.wave(0)
    assert wave.dtype == np.float32 and wave.ndim == 1 and len(wave) > 16000
