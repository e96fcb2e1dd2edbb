"""Audio at users' scale: lengths from the file index, windows read by seeking, data_mode, sharded speaker batches,
exact resume with workers, corrupt files in the stream, users' own Datasets and DataLoaders."""
import json
import warnings

import numpy as np
import pytest
import soundfile as sf
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset

from multissl import audio, streamed
from multissl.audio import folder as folder_module
from multissl.audio.folder import AudioFolder
from multissl.audio.io import read_audio
from multissl.audio.speaker_batches import SpeakerGroupedBatches
from multissl.audio.user_data import item_check
from multissl.user_data import checked
from multissl.audio.windows import RandomWindows, split_segments
from multissl.engine.data import SampleKey

TINY = dict(encoder_channels=8, context_dim=8, window=2048, num_negatives=4, prediction_steps=2, batch_size=4,
            verbose=False, checkpoint_every=0)


def speech_like(seconds: float, rate: int, seed: int, channels: int = 1) -> np.ndarray:
    """Harmonics with a wandering pitch and noise: (N,) or (N, channels) float32."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    pitch = 120 + 40 * np.sin(2 * np.pi * 0.7 * t + seed)
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    wave = sum(np.sin(k * phase) / k for k in range(1, 6)) * 0.1 + 0.01 * rng.standard_normal(len(t))
    if channels > 1:
        return np.stack([wave * (1 + 0.2 * c) for c in range(channels)], axis=1).astype(np.float32)
    return wave.astype(np.float32)


def write_corpus(root, files):
    """``files``: {relative path: (seconds, rate, channels)} written as speech-like audio; returns root."""
    for n, (rel, (seconds, rate, channels)) in enumerate(sorted(files.items())):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, speech_like(seconds, rate, n, channels), rate)
    return root


@pytest.mark.parametrize("name,rate,channels,exact", [("a.flac", 16000, 1, True), ("b.wav", 16000, 2, True),
                                                      ("c.wav", 44100, 2, False), ("d.flac", 8000, 1, False)])
def test_a_lazy_window_equals_the_window_cut_from_the_decoded_file(tmp_path, name, rate, channels, exact):
    write_corpus(tmp_path, {f"spk/{name}": (3.0, rate, channels)})
    folder = AudioFolder(tmp_path, data_mode="stream")
    whole = read_audio(tmp_path / "spk" / name, 16000)
    assert folder.lengths[0] == len(whole) and folder.streams
    for start in (0, 1, 4321, 16000, len(whole) - 20480, len(whole) - 7):
        stop = min(len(whole), start + 20480)
        window = folder.span(0, start, stop)
        assert window.dtype == np.float32 and window.shape == (stop - start,)
        if exact:
            np.testing.assert_array_equal(window, whole[start:stop])
        else:
            np.testing.assert_allclose(window, whole[start:stop], atol=1e-5)
    with pytest.raises(ValueError, match="outside"):
        folder.span(0, len(whole) - 10, len(whole) + 1)


def test_the_index_is_reused_on_a_second_read(tmp_path, monkeypatch):
    write_corpus(tmp_path, {f"s{i}/u{j}.flac": (0.5, 16000, 1) for i in range(2) for j in range(3)})
    calls = []
    measure = folder_module.audio_info
    monkeypatch.setattr(folder_module, "audio_info", lambda path: calls.append(path) or measure(path))
    first = AudioFolder(tmp_path, data_mode="stream")
    assert len(calls) == 6 and first.index_counts == {"reused": 0, "measured": 6}
    second = AudioFolder(tmp_path, data_mode="stream")
    assert len(calls) == 6 and second.index_counts == {"reused": 6, "measured": 0}
    assert np.array_equal(first.lengths, second.lengths)
    write_corpus(tmp_path, {"s0/u1.flac": (0.7, 16000, 1)})  # a changed file is measured again
    third = AudioFolder(tmp_path, data_mode="stream")
    assert [p.name for p in calls[6:]] == ["u1.flac"] and third.lengths[1] == 11200


def test_streaming_reads_headers_only_and_the_split_needs_no_decoding(tmp_path, monkeypatch):
    files = {"solo/a.flac": (2.0, 16000, 1), "duo/b.flac": (1.0, 22050, 1), "duo/c.flac": (1.5, 16000, 1)}
    write_corpus(tmp_path, files)
    memory = AudioFolder(tmp_path, data_mode="memory")

    def no_decoding(*args, **kwargs):
        raise AssertionError("a file was decoded")

    monkeypatch.setattr(folder_module, "read_audio", no_decoding)
    stream = AudioFolder(tmp_path, data_mode="stream")
    assert np.array_equal(stream.lengths, memory.lengths) and stream.seconds() == memory.seconds()
    split = split_segments(stream, 0.25, seed=0)
    assert split == split_segments(memory, 0.25, seed=0) and split.time_split_speakers == ["solo"]
    windows = RandomWindows(stream, split.train, 4096)
    assert windows[SampleKey(0, 1, 2)]["wave"].shape == (4096,)  # read by seeking, never decoded whole


def test_data_mode_auto_memory_and_stream_choose_as_documented(tmp_path, monkeypatch):
    write_corpus(tmp_path, {"a/1.flac": (1.0, 16000, 1), "b/2.flac": (0.5, 8000, 1)})
    size = 4 * (16000 + 8000)  # float32 samples at 16 kHz
    monkeypatch.setattr(streamed, "memory_budget", lambda: size)
    fits = AudioFolder(tmp_path)
    assert fits.data_mode == "memory" and not fits.streams and "is within the" in fits.data_mode_reason
    monkeypatch.setattr(streamed, "memory_budget", lambda: size - 1)
    above = AudioFolder(tmp_path)
    assert above.data_mode == "stream" and above.streams and "is above the" in above.data_mode_reason
    monkeypatch.setattr(streamed, "memory_budget", lambda: 2**40)
    monkeypatch.setattr(folder_module, "AUTO_MEMORY_LIMIT", size - 1)  # audio holds less than the budget allows
    assert AudioFolder(tmp_path).data_mode == "stream"
    assert AudioFolder(tmp_path, data_mode="memory").data_mode == "memory"
    assert AudioFolder(tmp_path, preload=False).data_mode == "stream"  # the older spelling
    with pytest.raises(ValueError, match="data_mode must be one of"):
        AudioFolder(tmp_path, data_mode="disk")


def test_train_prints_and_records_the_data_mode(tiny_corpus, tmp_path, capsys):
    from multissl.cli import main

    flags = ["--encoder-channels", "8", "--context-dim", "8", "--window", "2048", "--num-negatives", "4",
             "--prediction-steps", "2", "--batch-size", "4", "--steps", "1", "--num-workers", "0"]
    assert main(["audio", "train", str(tiny_corpus), "-o", str(tmp_path / "run"), "--data-mode", "stream", *flags]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if "audio data:" in l)
    assert "read from disk window by window (data_mode='stream'" in line
    record = json.loads((tmp_path / "run" / "config.json").read_text())["data"]
    assert record["data_mode"] == "stream" and "data_mode='stream'" in record["data_mode_reason"]


def test_a_truncated_flac_in_the_stream_is_skipped_with_a_warning_naming_it(tmp_path):
    write_corpus(tmp_path, {f"s{i}/u{j}.flac": (1.0, 16000, 1) for i in range(2) for j in range(2)})
    broken = tmp_path / "s1" / "u0.flac"
    data = broken.read_bytes()
    broken.write_bytes(data[:len(data) // 8])  # the header says 1 s; most of the frames are gone
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = audio.train(tmp_path, tmp_path / "run", data_mode="stream", holdout=0, steps=4, num_workers=0, **TINY)
    assert run.result.step == 4
    named = [str(w.message) for w in caught if "u0.flac" in str(w.message)]
    assert named and all("skipping unreadable audio file" in m and "truncated" in m for m in named), named


def test_empty_and_unreadable_headers_are_skipped_when_streaming(tmp_path):
    write_corpus(tmp_path, {"a/good.flac": (0.5, 16000, 1)})
    (tmp_path / "a" / "zero.wav").write_bytes(b"")
    (tmp_path / "a" / "junk.flac").write_bytes(b"fLaC not really" * 10)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        folder = AudioFolder(tmp_path, data_mode="stream")
    messages = [str(w.message) for w in caught]
    assert [it.path.name for it in folder.items] == ["good.flac"]
    assert sum("zero.wav" in m and "empty (0 bytes)" in m for m in messages) == 1, messages
    assert sum("junk.flac" in m and "skipping unreadable" in m for m in messages) == 1, messages


def test_files_soundfile_cannot_open_are_measured_by_decoding_with_one_warning(tmp_path, monkeypatch):
    write_corpus(tmp_path, {"a/x.wav": (1.0, 16000, 1), "a/y.ogg": (1.0, 22050, 1), "a/z.ogg": (0.5, 22050, 1)})
    real_info = sf.info
    monkeypatch.setattr(sf, "info", lambda p, *a, **k: (_ for _ in ()).throw(RuntimeError("no"))
                        if str(p).endswith(".ogg") else real_info(p, *a, **k))
    with pytest.warns(UserWarning, match=r"soundfile cannot read 2 of the 3 audio files \(e\.g\. .*y\.ogg\)") as record:
        folder = AudioFolder(tmp_path, data_mode="stream")
    assert sum("soundfile cannot read" in str(w.message) for w in record) == 1
    whole = read_audio(tmp_path / "a" / "y.ogg", 16000)
    assert folder.lengths[1] == len(whole)
    np.testing.assert_array_equal(folder.span(1, 100, 4196), whole[100:4196])


def test_speaker_grouped_batch_shards_are_disjoint_across_two_ranks_and_cover():
    speakers = np.repeat(np.arange(5), [12, 9, 16, 8, 11])
    whole = SpeakerGroupedBatches(speakers, batch_size=8, group_size=4, seed=3, keyed=False)
    whole.set_epoch(2)
    everything = [b for b in whole]
    shares = []
    for rank in range(2):
        sampler = SpeakerGroupedBatches(speakers, batch_size=8, group_size=4, seed=3, rank=rank, world_size=2, keyed=False)
        sampler.set_epoch(2)
        shares.append([b for b in sampler])
        sampler.set_epoch(2, start_batch=2)
        assert list(sampler) == shares[rank][2:] and len(sampler) == len(shares[rank]) - 2  # restartable at a batch
    first, second = ({i for b in share for i in b} for share in shares)
    assert not first & second and len(shares[0]) == len(shares[1]) == len(everything) // 2
    assert sorted(shares[0] + shares[1]) == sorted(everything)  # the ranks share the epoch's batches between them
    seen = [i for b in everything for i in b]
    assert len(seen) == len(set(seen)) == 8 * (sum(n // 4 for n in (12, 9, 16, 8, 11)) // 2)  # no item twice
    for batch in everything:
        assert all(len(set(speakers[batch[k:k + 4]])) == 1 for k in (0, 4))
    whole.set_epoch(3)
    assert [b for b in whole] != everything  # a new epoch, new batches


@pytest.mark.slow
def test_exact_resume_mid_epoch_with_two_workers_gives_bit_identical_weights(tiny_corpus, tmp_path):
    settings = dict(TINY, negatives="group", batch_size=8, seed=4, checkpoint_every=3, schedule="constant")

    def weights(name, steps, workers, mode="stream", **kw):
        run = audio.train(tiny_corpus, tmp_path / name, data_mode=mode, steps=steps, num_workers=workers, **settings, **kw)
        return torch.cat([p.detach().flatten() for p in run.model.parameters()])

    whole = weights("whole", 6, workers=0, mode="memory")  # windows cut from memory in the training process
    weights("cut", 4, workers=2)  # read from disk by 2 workers; checkpoints at step 3 and 4, far from the epoch's end
    assert torch.equal(whole, weights("cut", 6, workers=2, resume="auto"))


class Windows(Dataset):
    """A user's data set: random (window,) waves with a speaker each, in one of the accepted formats."""

    def __init__(self, n=24, window=2048, style="dict", speakers=True):
        self.waves = torch.randn(n, window, generator=torch.Generator().manual_seed(0)) * 0.1
        self.labels = [i % 3 for i in range(n)]
        self.style = style
        if speakers:
            self.speakers = self.labels

    def __len__(self):
        return len(self.waves)

    def __getitem__(self, i):
        if self.style == "tuple":
            return self.waves[i], self.labels[i]
        if self.style == "wave":
            return self.waves[i].numpy()
        return {"wave": self.waves[i], "speaker": self.labels[i]}


class Stream(IterableDataset):
    def __iter__(self):
        yield from (Windows()[i] for i in range(24))


def test_a_user_dataset_dataloader_and_iterable_dataset_all_train(tmp_path):
    for name, data in [("Dataset", Windows()), ("IterableDataset", Stream()),
                       ("DataLoader", DataLoader(Windows(), batch_size=4, shuffle=True))]:
        run = audio.train(data, tmp_path / name, steps=2, negatives="group", **TINY)
        assert run.result.step == 2 and run.config["data"]["source"] == name
    assert run.config["data"] == {"source": "DataLoader", "type": "torch.utils.data.dataloader.DataLoader", "items": None,
                                  "data_mode": None}
    items = [checked(Windows(style=style), item_check(2048, style != "wave"))[5] for style in ("dict", "tuple", "wave")]
    assert all(torch.equal(item["wave"], items[0]["wave"]) for item in items)  # every accepted format, one item
    assert items[0]["speaker"] == items[1]["speaker"] == 2 and "speaker" not in items[2]


@pytest.mark.parametrize("data,negatives,match", [
    (Windows(window=1000), "batch", r"item \d+ of the Windows: the wave has shape \(1000,\); expected \(2048,\)"),
    (Windows(style="wave"), "group", r"item \d+ of the Windows has no speaker label, which negatives='group' needs"),
    (Windows(speakers=False), "speaker", "give Windows a `speakers` sequence"),
    (DataLoader([{"wave": torch.zeros(2048, dtype=torch.int16)}] * 4, batch_size=2), "batch", "must be a \\(B, N\\) float tensor"),
])
def test_users_data_in_a_wrong_format_is_a_clear_error(tmp_path, data, negatives, match):
    with pytest.raises((ValueError, TypeError), match=match):
        audio.train(data, tmp_path / "run", steps=1, negatives=negatives, num_workers=0, **TINY)
    with pytest.raises(ValueError, match="applies to folders of audio files"):
        audio.train(Windows(), tmp_path / "run2", steps=1, data_mode="stream", **TINY)
