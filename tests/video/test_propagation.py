import numpy as np
import pytest
import torch

from multissl.video.masks import heatmaps_to_keypoints, keypoints_to_heatmaps, mask_to_onehot
from multissl.video.metrics import jaccard
from multissl.video.propagation import attend, context_indices, propagate_labels
from multissl.video.tracking import check_first_mask, pixel_features, track_masks


def naive_attend(q, k, v, topk, temperature, radius):
    """Every query against every key, keys beyond radius dropped: the reference."""
    d, h, w = q.shape
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    pos = torch.stack([ys.flatten(), xs.flatten()], 1).float()
    near = torch.cdist(pos, pos) <= (radius if radius is not None else 1e9)  # (hw, hw)
    aff = q.flatten(1).T @ k.flatten(2).permute(1, 0, 2).reshape(d, -1)  # (hw, n*hw)
    aff = aff.view(h * w, len(k), h * w).masked_fill(~near[:, None], float("-inf")).flatten(1)
    top, idx = aff.topk(topk, dim=1)
    weights = torch.softmax(top / temperature, 1)
    vals = v.permute(0, 2, 3, 1).reshape(-1, v.shape[1])[idx]  # (hw, topk, C)
    return (weights[..., None] * vals).sum(1).T.reshape(-1, h, w)


@pytest.mark.parametrize("h, w, radius", [(13, 21, 2.5), (13, 21, 6.0), (70, 72, 5.0), (9, 9, None)])
def test_attend_equals_naive_reference(h, w, radius):
    g = torch.Generator().manual_seed(0)
    q, k, v = torch.randn(8, h, w, generator=g), torch.randn(3, 8, h, w, generator=g), torch.rand(3, 4, h, w, generator=g)
    ours = attend(q, k, v, topk=5, temperature=0.5, radius=radius)
    assert torch.allclose(ours, naive_attend(q, k, v, 5, 0.5, radius), atol=1e-5)


def test_context_is_first_frame_plus_recent_frames():
    assert context_indices(1, 3) == [0]
    assert context_indices(7, 3) == [0, 4, 5, 6]
    assert context_indices(3, 20) == [0, 1, 2]


def _translating_square(frames=10, size=64, side=24, speed=8, seed=0):
    """A textured, coloured square moving right over a textured gray background."""
    rng = np.random.default_rng(seed)
    background = rng.integers(60, 120, (size, size + frames, 1)).repeat(3, 2).astype(np.uint8)
    texture = rng.integers(0, 255, (side, side, 3)).astype(np.uint8)
    texture[..., 0] = 230  # red-ish object
    video = np.empty((frames, size, size, 3), np.uint8)
    masks = np.zeros((frames, size, size), np.int64)
    for t in range(frames):
        video[t] = background[:, t : t + size]  # the background pans too
        x = speed * t
        video[t, 16 : 16 + side, x : x + side] = texture
        masks[t, 16 : 16 + side, x : x + side] = 1
    return video, masks


def test_propagation_tracks_a_translating_object():
    video, masks = _translating_square(frames=6, size=64, side=24, speed=8)  # one feature cell per frame
    pred = track_masks(video, masks[0], pixel_features(short_side=64))
    scores = [jaccard(pred[t] == 1, masks[t] == 1) for t in range(1, len(video))]
    assert min(scores) > 0.9
    copied = track_masks(video, masks[0], None)
    assert np.mean([jaccard(copied[t] == 1, masks[t] == 1) for t in range(1, len(video))]) < 0.2
    slow_video, slow_masks = _translating_square(frames=8, size=64, side=24, speed=3)  # motion below a cell
    slow = track_masks(slow_video, slow_masks[0], pixel_features(short_side=64))
    assert np.mean([jaccard(slow[t] == 1, slow_masks[t] == 1) for t in range(1, 8)]) > 0.7


def test_keypoints_follow_the_object():
    video, masks = _translating_square(frames=5, size=64, side=24, speed=8)
    point = np.array([[12.0, 28.0]])  # (x, y) inside the square
    heat = keypoints_to_heatmaps(point, (64, 64), sigma=6)
    out = propagate_labels(pixel_features(64)(video), heat, context=3, radius=6)
    found = heatmaps_to_keypoints(out[-1])
    assert abs(found[0, 0] - (12 + 8 * 4)) <= 4 and abs(found[0, 1] - 28) <= 4


def test_output_shapes_and_first_frame_kept():
    feats = torch.randn(5, 16, 8, 10)
    first = mask_to_onehot(np.pad(np.ones((20, 20), int), ((10, 34), (20, 40))))  # (2, 64, 80)
    out = propagate_labels(feats, first, context=2)
    assert out.shape == (5, 2, 64, 80) and torch.equal(out[0], first)
    assert torch.allclose(out.sum(1), torch.ones(5, 64, 80), atol=1e-4)  # still a distribution
    assert propagate_labels(feats, first, upsample=False).shape == (5, 2, 8, 10)


def test_bad_inputs_have_clear_errors():
    feats = torch.randn(4, 8, 8, 8)
    with pytest.raises(ValueError, match=r"features must be a tensor of shape \(T, D, h, w\)"):
        propagate_labels(torch.randn(8, 8, 8), torch.ones(2, 64, 64))
    with pytest.raises(ValueError, match="different aspect ratios"):
        propagate_labels(feats, torch.ones(2, 64, 200))
    with pytest.raises(ValueError, match="topk must be >= 1"):
        propagate_labels(feats, torch.ones(2, 64, 64), topk=0)
    with pytest.raises(ValueError, match="is 30x20 pixels but the frames are 64x48"):
        check_first_mask(np.ones((20, 30), int), (48, 64))
    with pytest.raises(ValueError, match="holds no object"):
        track_masks(np.zeros((3, 16, 16, 3), np.uint8), np.zeros((16, 16), int), None)
