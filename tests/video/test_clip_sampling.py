
import numpy as np
import pytest
import torch
from PIL import Image

from multissl.video.clip_sampling import clip_offsets, crosses_cut, sampled_indices, thumbnails, valid_starts
from multissl.video.dataset import ClipConfig, VideoFolder
from multissl.video.heldout import evaluation_videos, split_holdout
from multissl.video.io import PyAVReader, list_videos, write_video


def _moving(t=20, h=48, w=64, seed=0, value_shift=0):
    """(t, h, w, 3) uint8: a smooth random texture panning 2 pixels per frame."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 200, (h // 8 + 1, (w + 2 * t) // 8 + 2, 3)).astype(np.uint8)
    wide = np.repeat(np.repeat(small, 8, 0), 8, 1)[:h]
    return np.stack([wide[:, 2 * i : 2 * i + w] for i in range(t)]) + np.uint8(value_shift)


def _frame_folder(folder, frames):
    folder.mkdir(parents=True)
    for i, f in enumerate(frames):
        Image.fromarray(f).save(folder / f"{i:05d}.png")
    return folder


def test_frame_rate_normalisation_offsets():
    assert clip_offsets(4, fps=12, source_fps=29.97).tolist() == [0, 2, 5, 7]
    assert clip_offsets(4, fps=12, source_fps=30).tolist() == [0, 3, 5, 8]
    assert clip_offsets(4, fps=12, source_fps=24).tolist() == clip_offsets(4, stride=2).tolist() == [0, 2, 4, 6]
    assert clip_offsets(4, fps=12, source_fps=6).tolist() == [0, 1, 2, 3]  # slower than the target: consecutive frames
    assert clip_offsets(3, stride=3, fps=None, source_fps=30).tolist() == [0, 3, 6]
    assert sampled_indices(10, fps=12, source_fps=24).tolist() == [0, 2, 4, 6, 8]
    assert sampled_indices(10, stride=3).tolist() == [0, 3, 6, 9]


def test_scene_cuts_and_static_segments_are_skipped():
    rng = np.random.default_rng(0)
    jumps = np.full(19, 2.0)
    jumps[9] = 90.0  # a cut between frames 9 and 10
    cut = crosses_cut(jumps, 4, 40.0)
    assert len(cut) == 17 and cut[7:10].all() and not cut[:7].any() and not cut[10:].any()
    assert not crosses_cut(np.full(19, 90.0), 4, 40.0).any()  # every frame jumps: motion, not cuts
    thumbs = torch.from_numpy(rng.uniform(0, 255, (20, 8, 8))).float()
    thumbs[:8] = thumbs[0]  # static first 8 frames
    starts = valid_starts(thumbs, np.arange(4), min_motion=0.5, scene_cut=0)
    assert starts.tolist() == list(range(5, 17))  # a clip touching frame 8 moves


def test_clips_never_span_a_scene_cut(tmp_path):
    frames = np.concatenate([_moving(12, seed=1), 255 - _moving(12, seed=2)])  # a cut between frames 11 and 12
    video = _frame_folder(tmp_path / "cut", frames)
    ds = VideoFolder(video, ClipConfig(clip_len=4, crop=None, short_side=None, flip=False, clips_per_video=50))
    starts = ds.usable_starts(0)  # what training draws from once a clip across the cut was drawn
    assert len(starts) == 24 - 4 + 1 - 3 and not np.isin([9, 10, 11], starts).any()
    for i in range(len(ds)):
        clip = ds[i]
        bright = clip.mean((1, 2, 3)) > 0.5  # the second scene is the brighter one
        assert bright.all() or not bright.any()


def test_static_videos_are_skipped_with_a_warning(tmp_path):
    _frame_folder(tmp_path / "static", np.repeat(_moving(1), 10, 0))
    _frame_folder(tmp_path / "moving", _moving(10))
    ds = VideoFolder(tmp_path, ClipConfig(crop=32, short_side=48, clips_per_video=2))
    assert [v.path.name for v in ds.videos] == ["moving", "static"]  # a static video shows when its clips are drawn
    with pytest.warns(RuntimeWarning, match="static: StaticVideoError: every clip of .*static is static"):
        clip = ds[1]  # item 1 is the static video's: item 2, the moving one's, takes its place
    assert torch.equal(clip, ds[2])
    kept = VideoFolder(tmp_path / "static", ClipConfig(crop=32, short_side=48, min_motion=0))
    assert len(kept.usable_starts(0)) == 7


def test_frame_cache_returns_the_same_crops(tmp_path):
    write_video(tmp_path / "a.mp4", _moving(16), fps=24)
    config = dict(crop=32, short_side=40, clip_len=3, fps=12.0, clips_per_video=4)
    cached = VideoFolder(tmp_path, ClipConfig(data_mode="memory", **config))
    plain = VideoFolder(tmp_path, ClipConfig(data_mode="stream", **config))
    assert cached.data_mode == "memory" and plain.data_mode == "stream"
    assert cached.cache_bytes == 16 * 3 * 40 * 56 and plain.cache_bytes == 0
    assert "data memory (data_mode=memory" in cached.summary() and "clips decoded when drawn" in plain.summary()
    streamed = cached.__getitems__(list(range(4)))  # a first batch, drawn before the frames are in memory
    assert cached._store.wait(timeout=60) and cached._store.filled(0)
    for i in range(4):
        a, b = cached[i], plain[i]
        assert a.shape == (3, 3, 32, 32) and a.dtype == torch.float32 and torch.equal(a, b) and torch.equal(a, streamed[i])
    with pytest.warns(FutureWarning, match="ClipConfig.cache is deprecated; use data_mode='stream'"):
        assert ClipConfig(cache="no").data_mode == "stream"


def test_videos_of_very_different_sizes_share_a_batch(tmp_path):
    write_video(tmp_path / "small.mp4", _moving(10, 36, 44), fps=30)  # 176x144 / 4
    write_video(tmp_path / "large.mp4", _moving(10, 180, 320), fps=24)  # 1280x720 / 4
    ds = VideoFolder(tmp_path, ClipConfig(crop=32, short_side=48, fps=12.0, clips_per_video=2))
    assert [ds.frame_size(v) for v in ds.videos] == [(48, 88), (48, 56)]  # large, small: short side 48
    batch = torch.utils.data.default_collate([ds[i] for i in range(len(ds))])
    assert batch.shape == (4, 4, 3, 32, 32)


def test_frame_folders_are_listed_but_label_folders_are_not(tmp_path):
    write_video(tmp_path / "b.mp4", _moving(6), fps=24)
    _frame_folder(tmp_path / "JPEGImages" / "480p" / "seq", _moving(3))
    masks = tmp_path / "Annotations" / "480p" / "seq"
    masks.mkdir(parents=True)
    for i in range(3):
        Image.fromarray(np.zeros((8, 8), np.uint8)).convert("P").save(masks / f"{i:05d}.png")
    labels = tmp_path / "labels"
    labels.mkdir()
    for i in range(3):
        Image.fromarray(np.zeros((8, 8), np.uint8)).convert("P").save(labels / f"{i:05d}.png")
    assert list_videos(tmp_path) == [tmp_path / "JPEGImages" / "480p" / "seq", tmp_path / "b.mp4"]
    assert list_videos(tmp_path, frame_folders=False) == [tmp_path / "b.mp4"]
    assert list_videos(tmp_path / "JPEGImages" / "480p" / "seq") == [tmp_path / "JPEGImages" / "480p" / "seq"]


def test_pyav_chunks_match_reads(tmp_path):
    path = write_video(tmp_path / "c.mp4", _moving(9), fps=24, crf=0)
    reader = PyAVReader(path)
    chunks = list(reader.iter_chunks([0, 2, 2, 5, 8], chunk=2))
    assert [len(c) for c in chunks] == [2, 2, 1]
    assert np.array_equal(np.concatenate(chunks), reader.read([0, 2, 2, 5, 8]))


def test_holdout_split_and_evaluation_videos(tmp_path):
    for name in ("c", "a", "b"):
        write_video(tmp_path / f"{name}.mp4", _moving(4), fps=24)
    train, held = split_holdout(tmp_path, 1)
    assert [p.name for p in train] == ["a.mp4", "b.mp4"] and [p.name for p in held] == ["c.mp4"]
    assert split_holdout(tmp_path, 0) == (list_videos(tmp_path), [])
    with pytest.raises(ValueError, match="holdout=3 leaves no training video"):
        split_holdout(tmp_path, 3)
    record = {"videos": [str(p) for p in train], "holdout_videos": [str(p) for p in held]}
    videos, note = evaluation_videos(record, tmp_path)
    assert videos == held and "held-out" in note
    assert evaluation_videos(record, tmp_path, all_videos=True)[0] == list_videos(tmp_path)
    videos, note = evaluation_videos({"videos": [str(p) for p in train]}, tmp_path)
    assert len(videos) == 3 and "2 of these 3 videos were used to train" in note
    assert evaluation_videos(record, tmp_path / "c.mp4") == ([tmp_path / "c.mp4"], None)


def test_thumbnails_shape():
    frames = torch.zeros(2, 3, 64, 128, dtype=torch.uint8)
    assert thumbnails(frames).shape == (2, 32, 64)
    with pytest.raises(ValueError, match=r"\(T, 3, H, W\)"):
        thumbnails(torch.zeros(2, 64, 64))


def _numbered_frames(t=40, h=32, w=32):
    """(t, h, w, 3) uint8 frames whose every pixel holds 5 x the frame number (so a clip tells its frame gaps)."""
    return np.stack([np.full((h, w, 3), 5 * i, dtype=np.uint8) for i in range(t)])


def test_frame_gaps_are_random_multiples_of_the_stride_up_to_max_gap(tmp_path):
    _frame_folder(tmp_path / "v", _numbered_frames())
    config = dict(crop=16, short_side=32, clip_len=3, stride=2, clips_per_video=64, min_motion=0, scene_cut=0, flip=False)
    gaps = set()
    for clip in VideoFolder(tmp_path, ClipConfig(max_gap=3, **config)):
        frame_numbers = torch.round(clip[:, 0, 0, 0] * 255 / 5)
        steps = set(torch.diff(frame_numbers).tolist())
        assert len(steps) == 1  # one gap per clip, never cut short by the end of the video
        gaps |= steps
    assert gaps == {2.0, 4.0, 6.0}
    plain = {float(torch.diff(torch.round(c[:, 0, 0, 0] * 255 / 5))[0]) for c in VideoFolder(tmp_path, ClipConfig(**config))}
    assert plain == {2.0}
    with pytest.raises(ValueError, match="max_gap"):
        ClipConfig(max_gap=0)


def test_scale_jitter_zooms_but_keeps_the_crop_size(tmp_path):
    write_video(tmp_path / "a.mp4", _moving(12, 96, 128), fps=24)
    data = VideoFolder(tmp_path, ClipConfig(crop=32, short_side=96, clip_len=2, clips_per_video=8, scale_jitter=1.0))
    clips = [data[i] for i in range(8)]
    assert all(c.shape == (2, 3, 32, 32) and 0 <= c.min() and c.max() <= 1 for c in clips)
    # a zoomed-out crop (s > 1) is smoothed by the resize: the high-frequency energy varies from clip to clip
    roughness = [float((c[0, :, :, 1:] - c[0, :, :, :-1]).abs().mean()) for c in clips]
    assert max(roughness) > 1.5 * min(roughness)


def test_brightness_jitter_changes_each_frame_differently_within_range():
    from multissl.video.dataset import jitter_brightness

    clip = torch.rand(4, 3, 16, 16) * 0.5 + 0.25
    torch.manual_seed(0)
    out = jitter_brightness(clip, 0.4)
    assert out.shape == clip.shape and 0 <= out.min() and out.max() <= 1
    means = out.mean(dim=(1, 2, 3)) - clip.mean(dim=(1, 2, 3))
    assert means.abs().max() <= 0.2 + 1e-6 and len(set(means.tolist())) == 4
    assert torch.equal(jitter_brightness(clip, 0.0), clip)
