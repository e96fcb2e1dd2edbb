import warnings

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from multissl.audio.folder import AudioFolder, compile_speaker_pattern
from multissl.audio.io import AudioReadError, read_audio
from multissl.audio.speaker_batches import SpeakerGrouped
from multissl.audio.windows import RandomWindows, fixed_windows, split_segments
from multissl.engine.data import SampleKey


def dominant_frequency(wave: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
    return float(np.fft.rfftfreq(len(wave), 1 / rate)[spectrum.argmax()])


@pytest.mark.parametrize("rate,channels", [(8000, 1), (44100, 2), (16000, 2), (22050, 1)])
def test_any_rate_and_channel_count_becomes_16k_mono(tmp_path, audio_file, rate, channels):
    path = audio_file(tmp_path / f"a_{rate}_{channels}.wav", 440.0, 1.5, rate, channels)
    wave = read_audio(path, 16000)
    assert wave.ndim == 1 and wave.dtype == np.float32
    assert abs(len(wave) - 24000) <= 1
    assert abs(dominant_frequency(wave, 16000) - 440.0) < 2.0
    assert 0.25 < np.abs(wave).max() < 0.35  # stereo is averaged, not summed


def test_stereo_channels_are_averaged(tmp_path, audio_file):
    left, right = audio_file.sine(300.0, 1.0, 16000), audio_file.sine(1000.0, 1.0, 16000)
    wave = read_audio(audio_file.write(tmp_path / "s.wav", np.stack([left, right], axis=1), 16000))
    np.testing.assert_allclose(wave, (left + right) / 2, atol=1e-4)


def test_librispeech_sample(shared_data):
    root = shared_data / "librispeech-sample"
    folder = AudioFolder(root)
    assert len(folder) == 9 and folder.num_speakers == 6
    assert folder.speakers == ["2911", "4051", "4397", "5393", "5678", "6476"]
    i = folder.utterances.index("2911-12359-0007")
    assert folder.items[i].speaker == "2911" and len(folder.wave(i)) == 81520
    assert len(folder.phone_labels) == 6 and len(folder.phone_labels["2911-12359-0007"]) == 508


def test_filename_template_and_regex_patterns(tmp_path, audio_file):
    for digit in range(2):
        for speaker in ("alice", "bob", "carol"):
            audio_file(tmp_path / "flat" / f"{digit}_{speaker}_{digit + 3}.wav", 200 + 50 * digit, 0.3, 8000)
    folder = AudioFolder(tmp_path / "flat", speaker_pattern="{digit}_{speaker}_{index}.wav")
    assert folder.speakers == ["alice", "bob", "carol"] and len(folder) == 6
    regex = AudioFolder(tmp_path / "flat", speaker_pattern=r"\d+_(?P<speaker>[a-z]+)_\d+")
    assert list(regex.speaker_ids) == list(folder.speaker_ids)
    with pytest.raises(ValueError, match="matches none of the 6 audio files"):
        AudioFolder(tmp_path / "flat", speaker_pattern=r"^spk(\d+)")
    with pytest.raises(ValueError, match="no group"):
        compile_speaker_pattern(r"\d+")
    with pytest.raises(ValueError, match="no \\{speaker\\} field"):
        compile_speaker_pattern("{digit}_{index}.wav")


def test_partial_pattern_match_warns_once(tmp_path, audio_file):
    audio_file(tmp_path / "0_ann_1.wav", 200, 0.3, 8000)
    audio_file(tmp_path / "readme.wav", 200, 0.3, 8000)
    with pytest.warns(UserWarning, match="does not match 1 of 2 files") as record:
        folder = AudioFolder(tmp_path, speaker_pattern="{digit}_{speaker}_{index}.wav")
    assert len(record) == 1 and folder.speakers == ["ann"]


def test_corrupt_empty_and_silent_files_are_skipped_with_one_warning_each(tmp_path, audio_file):
    audio_file(tmp_path / "spk1" / "good.wav", 200, 0.5, 16000)
    (tmp_path / "spk1" / "corrupt.flac").write_bytes(b"fLaC this is not really flac data" * 10)
    audio_file.write(tmp_path / "spk2" / "empty.wav", np.zeros(0, np.float32), 16000)
    audio_file.write(tmp_path / "spk2" / "silent.wav", np.zeros(8000, np.float32), 16000)
    audio_file(tmp_path / "spk2" / "ok.wav", 300, 0.5, 16000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        folder = AudioFolder(tmp_path)
    messages = [str(w.message) for w in caught]
    assert sorted(it.path.name for it in folder.items) == ["good.wav", "ok.wav"]
    for name in ("corrupt.flac", "empty.wav", "silent.wav"):
        assert sum(name in m for m in messages) == 1, messages
    assert folder.speakers == ["spk1", "spk2"]


def test_unreadable_file_error_names_it(tmp_path):
    bad = tmp_path / "x.wav"
    bad.write_bytes(b"RIFF....garbage")
    with pytest.raises(AudioReadError, match="x.wav"):
        read_audio(bad)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_audio(tmp_path / "missing.wav")


def test_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        AudioFolder(tmp_path / "nope")
    (tmp_path / "notes.txt").write_text("no audio here")
    with pytest.raises(ValueError, match="no audio files"):
        AudioFolder(tmp_path)
    (tmp_path / "bad.wav").write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="bad.wav"), pytest.raises(ValueError, match="none of the 1 audio files"):
        AudioFolder(tmp_path)


def test_split_holds_out_whole_utterances_and_splits_single_ones_in_time(shared_data):
    folder = AudioFolder(shared_data / "librispeech-sample")
    split = split_segments(folder, 0.25, seed=0)
    whole_test = {s.index for s in split.test if s.start == 0 and s.stop is None}
    whole_train = {s.index for s in split.train if s.start == 0 and s.stop is None}
    assert not whole_test & whole_train
    assert sorted(split.time_split_speakers) == ["2911", "4051", "5393", "6476"]
    for speaker in folder.speakers:  # every speaker on both sides
        sid = folder.speakers.index(speaker)
        assert any(folder.speaker_ids[s.index] == sid for s in split.train)
        assert any(folder.speaker_ids[s.index] == sid for s in split.test)
    timed = [s for s in split.train if s.stop is not None]
    for seg in timed:  # head for training, tail for testing: no sample on both sides
        tail = next(t for t in split.test if t.index == seg.index)
        assert tail.start == seg.stop
    assert split_segments(folder, 0.25, seed=0) == split


def test_random_windows_pad_short_segments_and_are_drawn_from_the_key(tiny_corpus):
    folder = AudioFolder(tiny_corpus)
    split = split_segments(folder, 0.25)
    with pytest.warns(UserWarning, match="zero-padded"):
        long = RandomWindows(folder, split.train, 16000 * 20)
    assert long[0]["wave"].shape == (320000,)
    ds = RandomWindows(folder, split.train, 4096)
    keys = [SampleKey(i, epoch=2, seed=7) for i in range(5)]
    torch.manual_seed(1)
    a = [ds[k]["wave"] for k in keys]
    torch.manual_seed(2)  # torch's global generator plays no part
    b = [ds[k]["wave"] for k in keys]
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(ds[SampleKey(0, epoch=3, seed=7)]["wave"], a[0])  # another epoch, another offset
    assert ds[3]["speaker"].item() == folder.speaker_ids[split.train[3].index]


def test_speaker_grouped_batches(tiny_corpus):
    folder = AudioFolder(tiny_corpus)
    ds = RandomWindows(folder, split_segments(folder, 0.25).train, 2048, repeats=4)
    grouped = SpeakerGrouped(ds, ds.item_speakers(), group_size=4)
    sampler = grouped.batch_sampler(batch_size=8, seed=0, rank=0, world_size=1)
    batches = list(DataLoader(grouped, batch_sampler=sampler))
    assert len(batches) == len(sampler) == len(ds) // 8  # 4 speakers x 12 items: every item once
    for batch in batches:
        assert batch["wave"].shape == (8, 2048)
        groups = batch["speaker"].view(2, 4)
        assert (groups == groups[:, :1]).all()
        assert groups[0, 0] != groups[1, 0]  # groups are dealt speaker by speaker
    with pytest.raises(ValueError, match="multiple of group_size"):
        grouped.batch_sampler(batch_size=6, seed=0, rank=0, world_size=1)


def test_fixed_windows_cover_without_overlap():
    wave = np.arange(25, dtype=np.float32)
    wins = fixed_windows(wave, 10)
    assert [len(w) for w in wins] == [10, 10, 10]
    np.testing.assert_array_equal(wins[2][:5], np.arange(20, 25))
    assert not wins[2][5:].any()
    assert len(fixed_windows(wave[:22], 10)) == 2  # a 2-sample rest is dropped (< half a window)
    assert len(fixed_windows(wave[:3], 10)) == 1  # the only window is kept, padded
