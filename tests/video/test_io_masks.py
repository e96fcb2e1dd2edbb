import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from multissl.video.dataset import ClipConfig, VideoFolder
from multissl.video.io import DecordReader, FrameFolderReader, PyAVReader, open_video, write_video
from multissl.video.masks import (davis_palette, heatmaps_to_keypoints, keypoints_to_heatmaps, mask_to_onehot,
                                  onehot_to_mask, read_mask, write_mask)


def _blocky_frames(t=8, h=48, w=64, seed=0):
    rng = np.random.default_rng(seed)
    small = (rng.random((t, h // 8, w // 8, 3)) * 255).astype(np.uint8)
    return np.repeat(np.repeat(small, 8, 1), 8, 2)


@pytest.fixture
def video(tmp_path):
    frames = _blocky_frames()
    return write_video(tmp_path / "clip.mp4", frames, fps=10, crf=0), frames


def test_decord_and_pyav_return_the_same_frames(video):
    path, frames = video
    a, b = DecordReader(path), PyAVReader(path)
    assert a.num_frames == b.num_frames == 8 and a.size == b.size == (48, 64)
    fa, fb = a.read([0, 3, 7]), b.read([0, 3, 7])
    assert fa.shape == (3, 48, 64, 3) and fa.dtype == np.uint8
    assert np.array_equal(fa, fb)
    assert np.abs(fa.astype(int) - frames[[0, 3, 7]]).mean() < 12  # yuv420 chroma subsampling of random blocks


def test_indices_are_clamped_to_the_real_frame_count(video):
    path, _ = video
    reader = open_video(path)
    assert np.array_equal(reader.read([-3, 100]), reader.read([0, 7]))


def test_frame_folder_reader_converts_gray_and_rgba(tmp_path):
    folder = tmp_path / "seq"
    folder.mkdir()
    rgb = _blocky_frames(3)
    Image.fromarray(rgb[0]).save(folder / "00000.png")
    Image.fromarray(rgb[1][..., 0]).save(folder / "00001.png")  # grayscale
    Image.fromarray(np.dstack([rgb[2], np.full(rgb[2].shape[:2], 128, np.uint8)])).save(folder / "00002.png")  # RGBA
    frames = FrameFolderReader(folder).read_all()
    assert frames.shape == (3, 48, 64, 3)
    assert np.array_equal(frames[1][..., 0], frames[1][..., 2]) and np.array_equal(frames[1][..., 0], rgb[1][..., 0])
    assert np.array_equal(frames[2], rgb[2])
    Image.fromarray(rgb[0][:40]).save(folder / "00003.png")
    with pytest.raises(ValueError, match="00003.png is 64x40 but"):
        FrameFolderReader(folder).read([3])


def test_unreadable_and_truncated_videos_are_skipped_with_one_warning(tmp_path):
    good = write_video(tmp_path / "good.mp4", _blocky_frames(10), fps=10)
    data = good.read_bytes()
    (tmp_path / "truncated.mp4").write_bytes(data[: len(data) // 2])
    (tmp_path / "garbage.mp4").write_bytes(b"not a video at all")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = VideoFolder(tmp_path, ClipConfig(crop=32, short_side=48, clips_per_video=3))
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2
    assert any("truncated.mp4" in m for m in messages) and any("garbage.mp4" in m for m in messages)
    assert len(ds) == 3 and ds[0].shape == (4, 3, 32, 32)


def test_short_videos_are_skipped_or_padded(tmp_path):
    write_video(tmp_path / "short.mp4", _blocky_frames(2), fps=10)
    write_video(tmp_path / "long.mp4", _blocky_frames(10), fps=10)
    with pytest.warns(RuntimeWarning, match="short.mp4: 2 frames, a clip needs 4"):
        ds = VideoFolder(tmp_path, ClipConfig(crop=32, short_side=48, clips_per_video=2))
    assert len(ds.videos) == 1
    padded = VideoFolder(tmp_path / "short.mp4", ClipConfig(crop=None, short_side=None, short_clips="pad", flip=False))
    clip = padded[0]
    assert clip.shape == (4, 3, 48, 64) and torch.equal(clip[2], clip[3])  # the last frame is repeated


def test_clip_sampling_is_seeded_and_respects_stride(video, tmp_path):
    path, _ = video
    ds = VideoFolder(path, ClipConfig(crop=32, short_side=48, stride=2, clip_len=3))
    torch.manual_seed(1)
    a = ds[0]
    torch.manual_seed(2)  # torch's generator plays no part
    assert torch.equal(a, ds[0])
    assert ds.span(ds.videos[0]) == 5


def test_palette_masks_round_trip(tmp_path):
    mask = np.zeros((20, 30), dtype=np.int64)
    mask[2:8, 3:9], mask[10:15, 20:28] = 1, 3
    write_mask(tmp_path / "m.png", mask)
    assert Image.open(tmp_path / "m.png").mode == "P"
    assert np.array_equal(read_mask(tmp_path / "m.png"), mask)
    assert davis_palette()[1].tolist() == [128, 0, 0] and davis_palette()[2].tolist() == [0, 128, 0]


def test_gray_and_colour_masks_are_read_as_ids(tmp_path):
    binary = np.zeros((10, 10), np.uint8)
    binary[2:5, 2:5] = 255
    Image.fromarray(binary).save(tmp_path / "b.png")
    assert set(np.unique(read_mask(tmp_path / "b.png"))) == {0, 1}
    rgb = np.zeros((10, 10, 3), np.uint8)
    rgb[:3] = davis_palette()[2]
    Image.fromarray(rgb).save(tmp_path / "c.png")
    assert set(np.unique(read_mask(tmp_path / "c.png"))) == {0, 2}
    with pytest.raises(FileNotFoundError, match="missing.png"):
        read_mask(tmp_path / "missing.png")


def test_onehot_and_empty_masks():
    mask = np.array([[0, 2], [5, 2]])
    onehot = mask_to_onehot(mask)
    assert onehot.shape == (3, 2, 2) and torch.equal(onehot.sum(0), torch.ones(2, 2))
    assert np.array_equal(onehot_to_mask(onehot, [2, 5]), mask)
    with pytest.raises(ValueError, match="holds no object"):
        mask_to_onehot(np.zeros((4, 4), int), name="first mask")


def test_keypoint_heatmaps_round_trip():
    points = np.array([[3, 4], [10, 1]])
    maps = keypoints_to_heatmaps(points, (12, 16), sigma=2)
    assert maps.shape == (2, 12, 16) and float(maps[0, 4, 3]) == 1.0
    assert np.array_equal(heatmaps_to_keypoints(maps), points)
