"""Large frames: bounded float conversion, fast exact argmax, compact masks at the frames' size."""
import numpy as np
import pytest
import torch

from multissl.video.dataset import frames_to_tensor
from multissl.video.masks import channel_argmax, mask_dtype, onehot_to_mask
from multissl.video.tracking import pixel_features, track_masks


def test_frames_to_tensor_does_not_depend_on_the_chunk():
    frames = np.random.default_rng(0).integers(0, 256, (5, 30, 44, 3), dtype=np.uint8)
    whole = frames_to_tensor(frames, (16, 24), chunk=100)
    assert whole.shape == (5, 3, 16, 24)
    assert torch.equal(frames_to_tensor(frames, (16, 24), chunk=2), whole)
    assert torch.equal(frames_to_tensor(frames, None, chunk=3), frames_to_tensor(frames, None, chunk=5))
    with pytest.raises(ValueError, match="chunk"):
        frames_to_tensor(frames, None, chunk=0)


def test_channel_argmax_matches_argmax_with_ties():
    scores = torch.randint(0, 3, (4, 9, 11)).float()  # many ties: the first maximal channel wins, as argmax
    assert torch.equal(channel_argmax(scores), scores.argmax(0))
    assert mask_dtype([1, 255]) == np.uint8 and mask_dtype([256]) == np.uint16 and mask_dtype([70000]) == np.int64
    assert onehot_to_mask(torch.rand(3, 4, 5), [2, 300]).dtype == np.uint16


def test_tracked_masks_come_back_at_the_frame_size_in_uint8():
    frames = np.random.default_rng(0).integers(0, 256, (4, 50, 70, 3), dtype=np.uint8)  # not multiples of 8
    first = np.zeros((50, 70), np.int64)
    first[10:30, 20:50], first[0:4, 0:4] = 3, 255  # an object and void pixels
    masks = track_masks(frames, first, pixel_features(short_side=24), progress=False)
    assert masks.shape == (4, 50, 70) and masks.dtype == np.uint8
    assert np.array_equal(masks[0], first) and set(np.unique(masks[1:])) <= {0, 3}
    copied = track_masks(frames, first, None)
    assert copied.dtype == np.uint8 and np.array_equal(copied[3], first)
