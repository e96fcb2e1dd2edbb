"""Clips decoded when drawn: reader pool, keyed randomness, workers, exact resume, broken files, users' data, data modes."""
import json
import warnings

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset

import multissl.video.dataset as dataset_module
from multissl.engine.data import EpochSampler, SampleKey
from multissl.video.clip_sampling import clip_rejection, thumbnails
from multissl.video.dataset import ClipConfig, VideoFolder, colour_frame_runs
from multissl.video.io import PyAVReader, write_video
from multissl.video.reader_pool import ReaderPool
from multissl.video.video_index import VideoFile

TINY = dict(width=4, conv3d_channels=8, conv3d_layers=0, embed_dim=8, backbone="resnet10", color_frames=8, verbose=False,
            batch_size=2, lr=1e-3)


def _panning(t=16, h=48, w=64, seed=0):
    """(t, h, w, 3) uint8: a blocky random texture panning 2 pixels per frame (every clip moves)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (h // 8 + 1, (w + 2 * t) // 8 + 2, 3)).astype(np.uint8)
    wide = np.repeat(np.repeat(small, 8, 0), 8, 1)[:h]
    return np.stack([wide[:, 2 * i : 2 * i + w] for i in range(t)])


@pytest.fixture
def videos(tmp_path):
    folder = tmp_path / "videos"
    for i in range(4):
        write_video(folder / f"v{i}.mp4", _panning(16, seed=i), fps=24)
    return folder


def _clips(**kwargs):
    return ClipConfig(**{**dict(crop=32, short_side=48, clips_per_video=6, data_mode="stream"), **kwargs})


def test_reader_pool_closes_the_least_recently_used():
    opened, closed = [], []

    class Reader:
        def __init__(self, key):
            self.key = key
            opened.append(key)

        def close(self):
            closed.append(self.key)

    pool = ReaderPool(Reader, capacity=2)
    a = pool.get("a")
    pool.get("b")
    assert pool.get("a") is a  # still open: "b" is now the least recently used
    pool.get("c")
    assert closed == ["b"] and pool.open_count == 2 and opened == ["a", "b", "c"]
    pool.close()
    assert sorted(closed) == ["a", "b", "c"] and pool.open_count == 0
    with pytest.raises(ValueError, match="at least 1 reader"):
        ReaderPool(Reader, capacity=0)


def test_lazy_clip_sampling_never_opens_more_readers_than_the_pool(videos, monkeypatch):
    live, most = set(), [0]
    real_open = dataset_module._open

    def counting_open(video):
        reader = real_open(video)
        real_close = reader.close

        def close():
            live.discard(id(reader))
            real_close()

        reader.close = close
        live.add(id(reader))
        most[0] = max(most[0], len(live))
        return reader

    monkeypatch.setattr(dataset_module, "_open", counting_open)
    data = VideoFolder(videos, _clips(), open_readers=2)
    assert most[0] == 0  # building the data set decodes nothing and keeps no reader
    keys = [SampleKey(i, 0, 5) for i in range(len(data))]
    clips = data.__getitems__(keys[:8]) + [data[k] for k in keys[8:]]
    assert len(clips) == len(data) == 24 and 0 < most[0] <= 2
    assert data._decode_threads().open_count() <= 2
    data.close()
    assert not live


def _batches(data, workers, seed=3):
    sampler = EpochSampler(len(data), seed=seed, keyed=True)
    sampler.set_epoch(1)
    loader = DataLoader(data, batch_size=4, sampler=sampler, num_workers=workers)
    return [b.clone() for b in loader]


def test_batches_with_0_and_2_workers_are_identical(videos):
    clips = _clips(max_gap=2, scale_jitter=0.5, brightness_jitter=0.3)
    streamed = VideoFolder(videos, clips)
    reference = _batches(streamed, 0)
    assert len(reference) == 6 and all(b.shape == (4, 4, 3, 32, 32) for b in reference)
    for batch, other in zip(reference, _batches(streamed, 2)):
        assert torch.equal(batch, other)
    in_memory = VideoFolder(videos, ClipConfig(**{**clips.as_dict(), "data_mode": "memory"}))
    for batch, other in zip(reference, _batches(in_memory, 2)):  # frames from memory or decoded: the same clips
        assert torch.equal(batch, other)
    assert not torch.equal(reference[0], _batches(streamed, 0, seed=4)[0])


def test_exact_resume_mid_epoch_with_2_workers(videos, tmp_path):
    from multissl import video

    settings = dict(TINY, crop=32, short_side=48, clips_per_video=3, num_workers=2, max_gap=2, checkpoint_every=2,
                    data_mode="stream")
    straight = video.train(videos, tmp_path / "straight", steps=4, **settings)
    video.train(videos, tmp_path / "resumed", steps=2, **settings)  # 6 batches an epoch: stops mid-epoch
    resumed = video.train(videos, tmp_path / "resumed", steps=4, resume="auto", **settings)
    assert resumed.result.step == straight.result.step == 4 and straight.result.epoch == 0
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def _broken_mp4(path):
    """An mp4 whose container reads fine but whose frames do not decode (the start of its media data overwritten)."""
    data = bytearray(write_video(path, _panning(16, seed=9), fps=24).read_bytes())
    box = data.find(b"mdat")
    size = int.from_bytes(data[box - 4 : box], "big")  # the box: 4 bytes of size, "mdat", then the frames
    data[box + 4 : box + size // 2] = b"\xff" * (size // 2 - 4)
    path.write_bytes(bytes(data))
    return path


def test_a_broken_mp4_among_good_ones_is_skipped_with_a_warning_naming_it(videos):
    _broken_mp4(videos / "v1.mp4")
    data = VideoFolder(videos, _clips())
    assert [v.path.name for v in data.videos] == ["v0.mp4", "v1.mp4", "v2.mp4", "v3.mp4"]  # its container reads fine
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clips = [data[SampleKey(i, 0, 0)] for i in range(8)]
    messages = [str(w.message) for w in caught]
    assert messages and all("v1.mp4" in m and "failed to decode" in m for m in messages)
    assert torch.equal(clips[1], data[SampleKey(2, 0, 0)])  # the next item took the broken video's place
    assert all(c.shape == (4, 3, 32, 32) for c in clips)


def test_static_clips_are_drawn_again(tmp_path):
    frames = _panning(24)
    frames[:12] = frames[0]  # the first half does not move
    write_video(tmp_path / "half.mp4", frames, fps=24, crf=0)
    data = VideoFolder(tmp_path, _clips(clips_per_video=40, crop=None, short_side=None, flip=False))
    static = VideoFolder(tmp_path, _clips(clips_per_video=40, crop=None, short_side=None, flip=False, min_motion=0))
    reasons = [clip_rejection(thumbnails(c), 0.5, 0) for c in (static[i] for i in range(40))]
    assert "static" in reasons  # without the check, static clips are drawn
    for i in range(40):
        assert clip_rejection(thumbnails(data[i]), 0.5, 0) is None


class _Clips(Dataset):
    """A user's data set: moving random clips (4, 3, 32, 32) in [0, 1]."""

    def __init__(self, count=12, shape=(4, 3, 32, 32)):
        self.count, self.shape = count, shape

    def __len__(self):
        return self.count

    def __getitem__(self, i):
        t, c, h, w = self.shape
        base = torch.rand(c, h, w + 2 * t, generator=torch.Generator().manual_seed(int(i)))
        return torch.stack([base[:, :, 2 * k : 2 * k + w] for k in range(t)])  # panning 2 pixels a frame


class _ClipStream(IterableDataset):
    def __iter__(self):
        return iter(_Clips()[i] for i in range(12))


@pytest.mark.parametrize("kind", ["dataset", "iterable", "loader"])
def test_users_own_clips_train(tmp_path, kind):
    from multissl import video

    data = {"dataset": _Clips(), "iterable": _ClipStream(), "loader": DataLoader(_Clips(), batch_size=2)}[kind]
    run = video.train(data, tmp_path / "run", steps=2, num_workers=0, **TINY)
    assert run.result.step == 2 and bool(run.model.quantizer.fitted)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["data"]["mode"] == "user data" and config["videos"] == []
    assert len(json.loads((tmp_path / "run" / "colour_clusters.json").read_text())) == 16


def test_users_clips_of_the_wrong_shape_are_named(tmp_path):
    from multissl import video

    with pytest.raises(ValueError, match=r"item 0 of the _Clips: expected a clip \(T, 3, H, W\).*shape \(4, 3, 30, 32\)"):
        video.train(_Clips(shape=(4, 3, 30, 32)), tmp_path / "a", steps=1, **TINY)
    with pytest.raises(ValueError, match=r"batch 0 of the DataLoader: expected a batch \(B, T, 3, H, W\).*\(2, 3, 32, 32\)"):
        video.train(DataLoader(_Clips(shape=(1, 3, 32, 32)), batch_size=2, collate_fn=lambda b: torch.cat(b)), tmp_path / "b",
                    steps=1, **TINY)
    with pytest.raises(ValueError, match="holdout needs a folder of videos"):
        video.train(_Clips(), tmp_path / "c", steps=1, holdout=1, **TINY)


def test_data_mode_choices(videos, tmp_path, monkeypatch, capsys):
    import multissl.streamed as streamed
    from multissl.cli import main

    assert VideoFolder(videos, _clips(data_mode="auto")).data_mode == "memory"  # 4 x 16 frames of 48 x 64: fits
    monkeypatch.setattr(streamed, "memory_budget", lambda: 1000)
    auto = VideoFolder(videos, _clips(data_mode="auto"))
    assert auto.data_mode == "stream" and "auto: 0.56 MB of frames at the training size exceed the 0.00095 MB memory budget" in auto.summary()
    assert VideoFolder(videos, _clips(data_mode="memory")).data_mode == "memory"  # chosen: held whatever its size
    with pytest.raises(ValueError, match="data_mode must be one of"):
        ClipConfig(data_mode="ram")
    with pytest.raises(ValueError, match="disagree"):
        ClipConfig(cache="yes", data_mode="stream")
    flags = ["--steps", "1", "--batch-size", "2", "--crop", "32", "--short-side", "48", "--width", "4", "--conv3d-layers", "0",
             "--embed-dim", "8", "--backbone", "resnet10", "--clips-per-video", "2", "--color-frames", "4", "--num-workers", "0"]
    assert main(["video", "train", str(videos), "-o", str(tmp_path / "run"), "--cache", "no", *flags]) == 0
    printed = capsys.readouterr()
    assert "--cache is deprecated and will be removed; use --data-mode stream" in printed.err
    assert "data stream (data_mode=stream" in printed.out  # the one line on the path taken
    record = json.loads((tmp_path / "run" / "config.json").read_text())
    assert record["data"]["mode"] == "stream" and record["recipe"]["clips"]["data_mode"] == "stream"


def test_colour_frames_come_from_keyframes_and_the_frames_after_them(videos):
    video = VideoFile(videos / "v0.mp4", "pyav", 300, 30.0, (720, 1280), (0, 250), None)
    assert colour_frame_runs(video, 22) == [list(range(0, 11)), list(range(250, 261))]
    many = video._replace(keyframes=tuple(range(0, 300, 10)))
    assert colour_frame_runs(many, 3) == [[0], [140], [290]] and colour_frame_runs(many, 1) == [[150]]
    data = VideoFolder(videos, _clips())
    frames = data.sample_frames(10, window=32)
    assert frames.shape == (10, 3, 32, 32) and 0 <= frames.min() and frames.max() <= 1
    assert torch.equal(frames, data.sample_frames(10, window=32))


def _encode(path, frames, gop):
    """H.264 with B-frames and a keyframe every ``gop`` frames (write_video keeps x264's default)."""
    import av

    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.codec_context.gop_size = gop
        stream.options = {"crf": "18", "preset": "veryfast", "bf": "2", "sc_threshold": "0"}
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return path


def test_seeking_reader_returns_the_frames_of_a_sequential_decode(tmp_path):
    import av

    path = _encode(tmp_path / "gop.mp4", _panning(40, seed=3), gop=8)
    with av.open(str(path)) as container:
        every = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
    reader = PyAVReader(path)
    assert reader.num_frames == 40 and len(reader.table.keyframes) >= 5
    wanted = [[6, 7, 8, 9], [15, 16], [0], [39], [3, 20, 21, 38], [33, 31, 31]]
    for indices in wanted + [[k - 1, k] for k in reader.table.keyframes if k]:
        assert np.array_equal(reader.read(indices), every[indices]), indices
    assert np.array_equal(np.concatenate(list(reader.iter_chunks(range(2, 40, 3), 4))), every[2:40:3])
    reader.close()
