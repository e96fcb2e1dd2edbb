"""Readers and clip sampling on the shared real videos; skipped where the folder is absent."""
from pathlib import Path

import numpy as np
import pytest

from multissl.video.dataset import ClipConfig, VideoFolder
from multissl.video.io import DecordReader, PyAVReader, list_videos, open_video

NATURAL = Path("/work/shared/data/natural-video")
pytestmark = pytest.mark.skipif(not (NATURAL / "carphone_pristine.mp4").is_file(), reason=f"{NATURAL} is absent")


def test_decord_and_pyav_read_the_same_real_frames():
    path = NATURAL / "carphone_pristine.mp4"
    a, b = DecordReader(path), PyAVReader(path)
    assert a.size == b.size == (144, 176) and a.num_frames == b.num_frames and abs(a.fps - 29.97) < 0.01
    fa, fb = a.read([0, 40, 41]), b.read([0, 40, 41])
    assert fa.shape == (3, 144, 176, 3) and fa.dtype == np.uint8
    assert np.abs(fa.astype(int) - fb).mean() < 2  # same decoder underneath; colour conversion may differ by a level
    chunks = list(b.iter_chunks(range(0, 60, 3), chunk=8))
    assert [len(c) for c in chunks] == [8, 8, 4] and np.array_equal(chunks[1][0], b.read([24])[0])


def test_hd_video_and_frame_folder_are_listed_and_read():
    sources = list_videos(NATURAL)
    assert NATURAL / "tennis" in sources and NATURAL / "01_dog.mp4" in sources
    hd = open_video(NATURAL / "01_dog.mp4")
    assert hd.size == (720, 1280) and hd.read([0, 1]).shape == (2, 720, 1280, 3)
    tennis = open_video(NATURAL / "tennis")
    assert tennis.backend == "frames" and tennis.size == (480, 854)


def test_clips_of_a_176x144_video_and_a_frame_folder():
    ds = VideoFolder([NATURAL / "carphone_pristine.mp4", NATURAL / "tennis"],
                     ClipConfig(short_side=64, crop=48, fps=12.0, clips_per_video=2))
    assert [ds.frame_size(v) for v in ds.videos] == [(64, 80), (64, 112)]
    assert ds.offsets(ds.videos[0]).tolist() == [0, 2, 5, 7] and ds.offsets(ds.videos[1]).tolist() == [0, 2, 4, 6]
    assert ds[0].shape == ds[1].shape == (4, 3, 48, 48)
    assert ds.data_mode == "memory" and ds.cache_bytes == sum(v.num_frames * 3 * 64 * w for v, w in zip(ds.videos, (80, 112)))
