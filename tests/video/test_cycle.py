import numpy as np
import pytest
import torch

from multissl.video.colorizer import ColorizerConfig
from multissl.color import kmeans
from multissl.video.cycle import (cycle_consistency, cycle_labels, cycle_scores, format_cycle_table, mean_iou,
                                  segment_frame)
from multissl.video.io import write_video
from multissl.video.propagation import PropagationConfig
from multissl.video.tracking import model_features, pixel_features, random_network

CONFIG = PropagationConfig(context=2, radius=6.0, topk=10)


def _sliding_texture(frames=30, width=256, seed=0):
    """(T, 64, width, 3) uint8: a window sliding one 8-pixel cell per frame over a noise texture."""
    texture = np.random.default_rng(seed).integers(0, 256, (64, width + 8 * frames, 3), dtype=np.uint8)
    return np.stack([texture[:, 8 * t : 8 * t + width] for t in range(frames)])


def test_static_video_scores_one():
    frames = np.repeat(_sliding_texture(1), 8, axis=0)
    assert cycle_consistency(frames, pixel_features(64), 3, CONFIG, segments=16) == 1.0
    net = random_network(ColorizerConfig(width=4, conv3d_layers=0, embed_dim=16, coords=False, normalize=True, backbone="resnet10"))
    assert cycle_consistency(frames, model_features(net, 64, video_statistics=True), 3, CONFIG, segments=16) == 1.0


def test_shuffled_frames_score_lower_than_ordered_ones():
    frames = _sliding_texture()
    features = pixel_features(64)
    ordered = cycle_consistency(frames, features, 3, CONFIG, segments=16)
    shuffled = []
    for seed in range(3):
        order = np.concatenate([[0], np.random.default_rng(seed).permutation(np.arange(1, len(frames)))])
        shuffled.append(cycle_consistency(frames[order], features, 3, CONFIG, segments=16))
    assert ordered > 0.75 and max(shuffled) < ordered - 0.3


def test_kmeans_segmentation_is_deterministic_with_the_seed():
    frame = _sliding_texture(1)[0]
    a = segment_frame(frame, (8, 32), segments=8, seed=3)
    b = segment_frame(frame, (8, 32), segments=8, seed=3)
    assert a.shape == (8, 32) and a.dtype == np.int64 and np.array_equal(a, b)
    assert set(np.unique(a)) == set(range(len(np.unique(a)))) and len(np.unique(a)) <= 8
    assert a[0, 0] == 0  # numbered in order of first appearance
    # position counts: the regions of a noise frame are compact blocks, left ones apart from right ones
    assert not set(np.unique(a[:, :4])) & set(np.unique(a[:, -4:]))
    points = np.random.default_rng(0).normal(size=(50, 3))
    points = torch.from_numpy(points)
    assert torch.equal(kmeans(points, 4, seed=1)[1], kmeans(points, 4, seed=1)[1])  # the core's k-means, which segment_frame uses


def test_mean_iou_and_cycle_labels_checks():
    target = np.array([[0, 0, 1, 1]])
    assert mean_iou(target, target) == 1.0
    assert mean_iou(np.array([[0, 0, 0, 1]]), target) == pytest.approx((2 / 3 + 1 / 2) / 2)
    feats = torch.randn(3, 4, 2, 4)
    with pytest.raises(ValueError, match=r"each n must lie in \[1, 2\]"):
        cycle_labels(feats, np.zeros((2, 4), np.int64), [3])
    with pytest.raises(ValueError, match="must share"):
        cycle_labels(feats, np.zeros((3, 4), np.int64), [1])
    with pytest.raises(ValueError, match="needs 4 frames"):
        cycle_consistency(np.zeros((3, 16, 16, 3), np.uint8), pixel_features(16), 3)


def test_cycle_scores_averages_clips_of_videos(tmp_path):
    static = np.repeat(_sliding_texture(1, width=64), 12, axis=0)
    write_video(tmp_path / "static.mp4", static, fps=10, crf=0)
    clips = []
    scores = cycle_scores([tmp_path / "static.mp4"], {"pixels": pixel_features(64)}, ns=(2, 4), config=CONFIG, segments=4,
                          clips_per_video=2, short_side=64, clips=clips)
    assert set(scores) == {"pixels"} and set(scores["pixels"]) == {2, 4}
    assert scores["pixels"][2] == pytest.approx(1.0) and scores["pixels"][4] == pytest.approx(1.0)
    assert len(clips) == 4 and {c["n"] for c in clips} == {2, 4}
    with pytest.warns(RuntimeWarning, match="static.mp4 for n=20"):
        short = cycle_scores([tmp_path / "static.mp4"], {"pixels": pixel_features(64)}, ns=(20,), config=CONFIG, short_side=64)
    assert np.isnan(short["pixels"][20])
    table = format_cycle_table(scores, {"pixels": "raw Lab pixels"})
    assert "| raw Lab pixels | 100.0 | 100.0 |" in table and "N=4" in table
