"""Corruptions, masks, patches, permutations and rotations, checked exactly."""
import math

import numpy as np
import pytest
import torch

from multissl.vision.corruptions import corrupt, gaussian_noise, masking_noise, salt_and_pepper, weighted_reconstruction_loss
from multissl.vision.masks import center_mask, overlap_ring, random_block_mask, random_region_mask
from multissl.vision.patches import drop_color_channels, extract_patches, hamming_permutations, min_pairwise_hamming, normalize_tiles
from multissl.vision.tasks.rotation import rotate_batch


def test_masking_noise_zeroes_exact_fraction_per_sample():
    x = torch.rand(5, 3, 10, 10) + 0.1  # no zeros to begin with
    noisy, mask = masking_noise(x, 0.3)
    assert mask.reshape(5, -1).sum(1).tolist() == [90] * 5
    assert (noisy[mask] == 0).all() and torch.equal(noisy[~mask], x[~mask])


def test_salt_and_pepper_sets_extremes_only_on_mask():
    x = torch.full((4, 1, 20, 20), 0.5)
    noisy, mask = salt_and_pepper(x, 0.25, generator=torch.Generator().manual_seed(1))
    assert mask.reshape(4, -1).sum(1).tolist() == [100] * 4
    assert set(noisy[mask].unique().tolist()) == {0.0, 1.0}
    assert (noisy[~mask] == 0.5).all()
    assert 0.4 < float((noisy[mask] == 1).float().mean()) < 0.6


def test_gaussian_noise_statistics_and_full_mask():
    x = torch.zeros(8, 3, 32, 32)
    noisy, mask = gaussian_noise(x, 0.2)
    assert mask.all()
    assert abs(float(noisy.std()) - 0.2) < 0.01 and abs(float(noisy.mean())) < 0.01


def test_corruptions_are_seeded():
    x = torch.rand(2, 3, 8, 8)
    a = corrupt(x, "masking", 0.5, torch.Generator().manual_seed(3))[0]
    b = corrupt(x, "masking", 0.5, torch.Generator().manual_seed(3))[0]
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="corruption must be one of"):
        corrupt(x, "blur", 0.5)
    with pytest.raises(ValueError, match=r"fraction in \[0, 1\], got 1.5"):
        corrupt(x, "masking", 1.5)


def test_weighted_dae_loss_equals_hand_computation():
    out = torch.tensor([[0.0, 1.0, 0.5, 0.2]])
    target = torch.tensor([[1.0, 1.0, 0.0, 0.0]])
    mask = torch.tensor([[True, False, True, False]])
    # alpha on corrupted: (1-0)^2 + (0.5-0)^2 = 1.25; beta on clean: 0 + 0.04
    expected = (2.0 * 1.25 + 0.5 * 0.04) / 4
    assert float(weighted_reconstruction_loss(out, target, mask, alpha=2.0, beta=0.5)) == pytest.approx(expected)


def test_center_mask_location_and_fraction():
    m = center_mask(2, 32, 32, 0.5)
    assert m.shape == (2, 1, 32, 32) and int(m[0].sum()) == 256
    assert m[0, 0, 8:24, 8:24].all() and not m[0, 0, :8].any()


def test_region_mask_exact_coverage_and_block_mask_reaches_coverage():
    g = torch.Generator().manual_seed(0)
    regions = random_region_mask(6, 32, 32, 0.25, generator=g)
    assert regions.reshape(6, -1).sum(1).tolist() == [256] * 6
    assert not torch.equal(regions[0], regions[1])
    blocks = random_block_mask(6, 32, 32, 0.25, generator=g)
    covered = blocks.reshape(6, -1).float().mean(1)
    assert (covered >= 0.25).all() and (covered < 0.25 + 0.375**2 + 1e-6).all()


def test_overlap_ring_is_the_visible_border():
    m = torch.zeros(1, 1, 7, 7, dtype=torch.bool)
    m[0, 0, 3, 3] = True
    ring = overlap_ring(m, 1)
    assert int(ring.sum()) == 8 and not ring[0, 0, 3, 3]
    assert int(overlap_ring(m, 2).sum()) == 24


def test_extract_patches_reads_the_right_pixels():
    from tests.vision.helpers import coordinate_image

    img = coordinate_image(20).repeat(2, 1, 1, 1)
    tops, lefts = torch.tensor([[0, 5], [7, 2]]), torch.tensor([[1, 3], [4, 10]])
    p = extract_patches(img, tops, lefts, 6)
    assert p.shape == (2, 2, 3, 6, 6)
    assert p[1, 0, 0, 0, 0] == 7 and p[1, 0, 1, 0, 0] == 4 and p[1, 1, 0, 5, 5] == 7 and p[1, 1, 1, 5, 5] == 15
    with pytest.raises(ValueError, match="do not fit images of size 20x20"):
        extract_patches(img, tops + 15, lefts, 6)


def test_color_drop_keeps_exactly_one_channel():
    patches = torch.rand(50, 2, 3, 5, 5)
    dropped = drop_color_channels(patches, noise_std=0.0)
    kept = (dropped == patches).all(dim=(-2, -1))  # (50, 2, 3)
    assert (kept.sum(-1) == 1).all()
    assert (dropped[~kept] == 0.5).all()


def test_tile_normalisation():
    tiles = torch.rand(4, 9, 3, 8, 8) * 0.3 + 0.2
    n = normalize_tiles(tiles)
    assert torch.allclose(n.mean(dim=(-3, -2, -1)), torch.full((4, 9), 0.5), atol=1e-5)
    assert torch.allclose(n.std(dim=(-3, -2, -1)), torch.full((4, 9), 0.25), atol=1e-3)


def test_hamming_permutation_set():
    perms = hamming_permutations(100, seed=0)
    assert perms.shape == (100, 9)
    assert all(sorted(p) == list(range(9)) for p in perms.tolist())
    assert len({tuple(p) for p in perms.tolist()}) == 100
    rng = np.random.default_rng(0)
    random_set = np.array([rng.permutation(9) for _ in range(100)])
    assert min_pairwise_hamming(perms) >= 6 > min_pairwise_hamming(random_set)
    assert np.array_equal(perms, hamming_permutations(100, seed=0))
    assert not np.array_equal(perms, hamming_permutations(100, seed=1))
    small = hamming_permutations(24, cells=4)
    assert len({tuple(p) for p in small.tolist()}) == 24  # all of 4!
    with pytest.raises(ValueError, match=r"num_permutations must be in \[1, 362880\] for 9 tiles"):
        hamming_permutations(math.factorial(9) + 1)


def test_rotation_batch_labels_and_inverse():
    x = torch.rand(3, 2, 6, 6)
    rotated, labels = rotate_batch(x)
    assert labels.tolist() == [0] * 3 + [1] * 3 + [2] * 3 + [3] * 3
    for i in range(12):
        back = torch.rot90(rotated[i], -int(labels[i]), dims=(-2, -1))
        assert torch.equal(back, x[i % 3])
    with pytest.raises(ValueError, match="rotation needs square images, got 6x5"):
        rotate_batch(torch.rand(1, 1, 6, 5))
