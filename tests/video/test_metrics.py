import math

import numpy as np
import pytest

from multissl.video.metrics import boundary_map, boundary_tolerance, f_measure, jaccard, score_sequence, statistics, summarize


def test_jaccard_hand_computed():
    a = np.zeros((4, 4), bool)
    b = np.zeros((4, 4), bool)
    a[0:2, 0:2] = True  # 4 pixels
    b[1:3, 1:3] = True  # 4 pixels, overlap 1
    assert jaccard(a, b) == pytest.approx(1 / 7)
    assert jaccard(np.zeros((3, 3)), np.zeros((3, 3))) == 1.0
    assert jaccard(a, np.zeros((4, 4))) == 0.0


def test_boundary_map_hand_computed():
    m = np.zeros((4, 4), bool)
    m[1:3, 1:3] = True
    expected = np.array([[1, 1, 1, 0],   # above-left neighbours differ below / below-right
                         [1, 0, 1, 0],
                         [1, 1, 1, 0],
                         [0, 0, 0, 0]], bool)
    assert np.array_equal(boundary_map(m), expected)


def test_boundary_tolerance_is_davis():
    assert boundary_tolerance((480, 854)) == math.ceil(0.008 * math.hypot(480, 854)) == 8
    assert boundary_tolerance((10, 10)) == 1


def test_f_measure_hand_computed():
    true = np.zeros((10, 10), bool)
    true[2:6, 2:6] = True
    assert f_measure(true, true) == 1.0
    # tolerance 1 pixel on a 10x10 image: a 1-pixel shift is fully matched, a 3-pixel one is not
    assert f_measure(np.roll(true, 1, axis=1), true) == 1.0
    # a 3-pixel shift, worked out by hand: both boundaries have 16 pixels, 9 of each lie within
    # the 1-pixel tolerance (a plus-shaped disk) of the other, so precision = recall = F = 9/16
    far = np.roll(true, 3, axis=1)
    assert boundary_map(far).sum() == boundary_map(true).sum() == 16
    assert f_measure(far, true) == pytest.approx(9 / 16)
    assert f_measure(np.zeros((10, 10)), np.zeros((10, 10))) == 1.0
    assert f_measure(np.zeros((10, 10)), true) == 0.0


def test_statistics_mean_recall_decay():
    s = statistics([1.0, 1.0, 0.8, 0.8, 0.4, 0.4, 0.2, 0.2])
    assert s["mean"] == pytest.approx(0.6)
    assert s["recall"] == pytest.approx(4 / 8)
    # DAVIS bin edges round(linspace(1, 8, 5)) - 1 = [0, 2, 3, 5, 7]: first bin x[0:3], last bin x[5:8]
    assert s["decay"] == pytest.approx((1.0 + 1.0 + 0.8) / 3 - (0.4 + 0.2 + 0.2) / 3)
    assert statistics([0.7])["decay"] == 0.0


def test_score_sequence_leaves_out_first_and_last_frames():
    true = np.zeros((4, 6, 6), int)
    true[:, 1:4, 1:4] = 1
    pred = true.copy()
    pred[0] = 0  # wrong on the first and last frames: not scored
    pred[3] = 0
    pred[2, 1:4, 1:3] = 0  # frame 2: IoU 3/9
    scores = score_sequence(pred, true, "toy")
    assert scores.J.shape == (1, 2)
    assert scores.J[0].tolist() == pytest.approx([1.0, 1 / 3])
    summary = summarize([scores])
    assert summary["J_mean"] == pytest.approx(2 / 3)
    assert summary["JF_mean"] == pytest.approx((summary["J_mean"] + summary["F_mean"]) / 2)
    assert set(summary["sequences"]["toy"]) >= {"J_mean", "F_mean", "JF_mean"}


def test_score_errors():
    with pytest.raises(ValueError, match="differ in shape"):
        score_sequence(np.zeros((3, 4, 4)), np.zeros((3, 4, 5)))
    with pytest.raises(ValueError, match="holds no object"):
        score_sequence(np.zeros((3, 4, 4)), np.zeros((3, 4, 4)))
