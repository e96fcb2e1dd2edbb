"""Jigsaw (Noroozi & Favaro 2016): permutation-set selection against brute force, per-tile shortcut
prevention, a 1000-permutation training step and config errors."""
from itertools import permutations

import numpy as np
import pytest
import torch

from multissl.vision.patches import (all_permutations, cell_color_jitter, extract_patches, grid_cells, hamming_permutations,
                                     mean_pairwise_hamming, min_pairwise_hamming, normalize_tiles, random_grayscale, selection_start,
                                     shifted_channel_patches)
from multissl.vision.tasks.jigsaw import JigsawConfig, JigsawTask

from .helpers import coordinate_image


def _hamming(a, b):
    return sum(x != y for x, y in zip(a, b))


def _reference_greedy(count, cells, seed, selection):
    """Algorithm 1 in pure Python: add the unchosen permutation with the largest min / summed distance."""
    pool = list(permutations(range(cells)))
    first, noise = selection_start(cells, seed)
    chosen = [first]
    reduce = min if selection == "max-min" else sum
    while len(chosen) < count:
        scores = [(reduce(_hamming(pool[j], pool[k]) for k in chosen) + noise[j], j) for j in range(len(pool)) if j not in chosen]
        chosen.append(max(scores, key=lambda t: (t[0], -t[1]))[1])  # first index among equal scores
    return np.array([pool[j] for j in chosen])


def _numpy_greedy(count, cells, seed, selection):
    """The same greedy by brute force: distances of every candidate to every chosen row (for 9 cells)."""
    pool = all_permutations(cells)[0]  # lexicographic, as itertools (checked on 4 cells above)
    first, noise = selection_start(cells, seed)
    chosen, rows = [first], []
    while len(chosen) < count:
        rows.append((pool != pool[chosen[-1]]).sum(1))  # distances to the newest chosen row, (N,)
        d = np.stack(rows)  # (K, N)
        score = (d.min(0) if selection == "max-min" else d.sum(0)) + noise
        score[chosen] = -1
        chosen.append(int(np.argmax(score)))
    return pool[chosen].astype(np.int64)


def _pairwise_python(perms):
    rows = [tuple(p) for p in perms.tolist()]
    return [_hamming(a, b) for i, a in enumerate(rows) for b in rows[i + 1:]]


@pytest.mark.parametrize("selection", ["max-avg", "max-min"])
def test_selection_matches_pure_python_on_four_cells(selection):
    for count in (5, 12, 24):
        perms = hamming_permutations(count, cells=4, seed=3, selection=selection)
        ref = _reference_greedy(count, 4, 3, selection)
        assert np.array_equal(perms, ref)
        d = _pairwise_python(ref)
        assert min_pairwise_hamming(perms) == min(d)
        assert mean_pairwise_hamming(perms) == pytest.approx(sum(d) / len(d))


@pytest.mark.parametrize("selection", ["max-avg", "max-min"])
def test_selection_matches_brute_force_on_nine_cells(selection):
    perms = hamming_permutations(10, cells=9, seed=1, selection=selection)
    assert np.array_equal(perms, _numpy_greedy(10, 9, 1, selection))
    d = _pairwise_python(perms)
    assert min_pairwise_hamming(perms) == min(d) and mean_pairwise_hamming(perms) == pytest.approx(sum(d) / len(d))


def test_selections_differ_and_max_min_keeps_larger_minimum():
    avg = hamming_permutations(100, selection="max-avg")
    mini = hamming_permutations(100, selection="max-min")
    assert not np.array_equal(avg, mini)
    assert min_pairwise_hamming(mini) >= 6 and min_pairwise_hamming(mini) >= min_pairwise_hamming(avg)
    assert mean_pairwise_hamming(avg) > 8.0  # above random permutations' expected 9 - 1


def test_thousand_permutations_are_valid_distinct_and_cached():
    perms = hamming_permutations(1000, seed=0, selection="max-avg")
    assert perms.shape == (1000, 9) and perms.dtype == np.int64
    assert (np.sort(perms, axis=1) == np.arange(9)).all()
    assert len({tuple(p) for p in perms.tolist()}) == 1000
    perms[0, 0] = 99  # callers get a copy, the cached set stays intact
    assert hamming_permutations(1000, seed=0, selection="max-avg")[0, 0] != 99


def test_cell_color_jitter_differs_per_cell_and_keeps_shapes():
    x = torch.full((2, 3, 30, 30), 0.5)
    x[:, 0] = 0.7
    out = cell_color_jitter(x, grid=3, strength=0.4, generator=torch.Generator().manual_seed(0))
    assert out.shape == x.shape and 0 <= float(out.min()) and float(out.max()) <= 1
    cells = out.view(2, 3, 3, 10, 3, 10).permute(0, 2, 4, 1, 3, 5).reshape(2, 9, 3, 100)
    assert torch.allclose(cells, cells[..., :1].expand_as(cells))  # uniform inside each cell
    colours = cells[..., 0]  # (2, 9, 3)
    assert len({tuple(c) for c in colours.reshape(-1, 3).mul(1e4).round().tolist()}) == 18  # every cell its own colour
    assert torch.equal(cell_color_jitter(x, 3, 0.0), x)


def test_grayscale_and_channel_shift():
    x = torch.rand(4, 3, 30, 30)
    gray = random_grayscale(x, 1.0)
    assert gray.shape == x.shape and torch.equal(gray[:, 0], gray[:, 1]) and torch.equal(gray[:, 1], gray[:, 2])
    assert torch.equal(random_grayscale(x, 0.0), x)
    img = coordinate_image(30).repeat(4, 1, 1, 1)
    tops = torch.tensor([[0, 10, 22]]).repeat(4, 1)
    lefts = torch.tensor([[0, 12, 22]]).repeat(4, 1)
    assert torch.equal(shifted_channel_patches(img, tops, lefts, 8, 0), extract_patches(img, tops, lefts, 8))
    tiles = shifted_channel_patches(img, tops, lefts, 8, 2, generator=torch.Generator().manual_seed(0))
    assert tiles.shape == (4, 3, 3, 8, 8)
    row_shift = tiles[:, :, 0, 0, 0] - tops  # channel 0 holds the row index: its own offset, inside the image
    col_shift = tiles[:, :, 1, 0, 0] - lefts
    assert row_shift.abs().max() <= 2 and col_shift.abs().max() <= 2 and (row_shift != 0).any()
    assert int(tiles[:, :, 0].max()) <= 29


def test_training_step_with_thousand_permutations(tiny_backbone):
    config = JigsawConfig(num_permutations=1000, resize=0, tile_size=8, color_jitter=0.4, grayscale_prob=0.3, channel_shift=1)
    task = JigsawTask(config, tiny_backbone, 3)
    assert task.permutations.shape == (1000, 9) and task.head(torch.zeros(2, 9 * task.encoder.out_dim)).shape == (2, 1000)
    images = (torch.rand(4, 3, 30, 30) * 255).to(torch.uint8)
    loss, metrics = task.training_loss(images, return_metrics=True)
    loss.backward()
    assert torch.isfinite(loss) and abs(loss.item() - np.log(1000)) < 2 and "accuracy" in metrics
    assert all(p.grad is not None for p in task.head.parameters())


@pytest.mark.parametrize("overrides, message", [
    ({"num_permutations": 400_000}, r"num_permutations must be in \[1, 362880\]"),
    ({"num_permutations": 0}, r"num_permutations must be in \[1, 362880\]"),
    ({"grid": 2, "num_permutations": 25}, r"num_permutations must be in \[1, 24\] for 4 tiles"),
    ({"permutation_selection": "max-sum"}, r"permutation_selection must be one of \['max-avg', 'max-min'\]"),
    ({"grayscale_prob": 1.5}, r"grayscale_prob must be in \[0, 1\]"),
    ({"color_jitter": -0.1}, r"color_jitter must be in \[0, 1\)"),
    ({"channel_shift": -1}, r"channel_shift must be >= 0"),
    ({"tile_hidden": -1}, r"tile_hidden must be >= 0"),
    ({"probe_stage": 0}, r"probe_stage counts from the last stage"),
    ({"probe_input": "cells"}, r"probe_input must be one of \['image', 'tiles'\]"),
    ({"probe_resize": 48}, r"probe_resize applies to probe_input 'image', got probe_input 'tiles'"),
])
def test_bad_config_errors(tiny_backbone, overrides, message):
    with pytest.raises(ValueError, match=message):
        JigsawTask(JigsawConfig(**overrides), tiny_backbone, 3)


def test_tile_layer_feeds_the_classifier_per_tile(tiny_backbone):
    """tile_hidden > 0 puts one shared layer on every tile (the paper's fc6) before the concatenation."""
    task = JigsawTask(JigsawConfig(num_permutations=5, resize=0, tile_size=8, tile_hidden=12), tiny_backbone, 3)
    assert task.head[0].in_features == 9 * 12 and task.tile_layer[0].in_features == task.encoder.out_dim
    loss = task.training_loss((torch.rand(4, 3, 30, 30) * 255).to(torch.uint8))
    loss.backward()
    assert task.tile_layer[0].weight.grad.abs().sum() > 0
    plain = JigsawTask(JigsawConfig(num_permutations=5, resize=0, tile_size=8), tiny_backbone, 3)
    assert isinstance(plain.tile_layer, torch.nn.Identity) and plain.head[0].in_features == 9 * plain.encoder.out_dim


def test_probe_resize_encodes_at_the_tile_scale(tiny_backbone):
    task = JigsawTask(JigsawConfig(num_permutations=5, probe_input="image", probe_resize=48, probe_stage=-1), tiny_backbone, 3).eval()
    x = torch.rand(2, 3, 32, 32)
    up = torch.nn.functional.interpolate(x, size=(48, 48), mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)
    assert torch.allclose(task.encode(x), task.encoder.probe_features(up))
    task.config.probe_resize = 0
    assert torch.allclose(task.encode(x), task.encoder.probe_features(x))


def test_grid_cells_are_the_whole_cells_row_by_row():
    x = torch.arange(2 * 3 * 10 * 11, dtype=torch.float32).view(2, 3, 10, 11)
    cells = grid_cells(x, 3)  # cells of 3: the last row and last two columns belong to none
    assert cells.shape == (2, 9, 3, 3, 3)
    assert torch.equal(cells[:, 5], x[:, :, 3:6, 6:9]) and torch.equal(cells[:, 8], x[:, :, 6:9, 6:9])
    with pytest.raises(ValueError, match="smaller than a 3x3 grid"):
        grid_cells(torch.rand(1, 3, 2, 8), 3)


def test_probes_average_the_features_of_the_normalised_cells_by_default(tiny_backbone):
    """probe_input tiles: the encoder sees what it trained on (normalised cells of the resized image), one cell at a time."""
    task = JigsawTask(JigsawConfig(num_permutations=5), tiny_backbone, 3).eval()
    x = torch.rand(2, 3, 32, 32)
    up = task.resized(x)
    cells = [normalize_tiles(up[:, :, r * 21:(r + 1) * 21, q * 21:(q + 1) * 21]) for r in range(3) for q in range(3)]
    expected = torch.stack([task.encoder.probe_features(c, 2, -2) for c in cells]).mean(0)
    assert task.encode(x, pool=2).shape == (2, task.encoder.stage_dims[-2] * 4)
    assert torch.allclose(task.encode(x, pool=2), expected, atol=1e-5)
    assert not torch.allclose(task.encode(x), task.encoder.probe_features(x, 1, -2))


def test_probes_read_the_stage_before_the_last_by_default(tiny_backbone):
    task = JigsawTask(JigsawConfig(num_permutations=5, probe_input="image"), tiny_backbone, 3).eval()
    x = torch.rand(2, 3, 32, 32)
    maps = task.encoder.stage_maps(x)
    expected = torch.nn.functional.adaptive_avg_pool2d(maps[-2], 2).flatten(1)
    assert task.encode(x, pool=2).shape == (2, task.encoder.stage_dims[-2] * 4)
    assert torch.allclose(task.encode(x, pool=2), expected)
    task.config.probe_stage = -99  # more stages than the backbone has: its earliest
    assert torch.allclose(task.encode(x), maps[0].mean(dim=(2, 3)))


def test_vector_backbones_are_probed_on_their_vector():
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    task = JigsawTask(JigsawConfig(num_permutations=5, resize=0, tile_size=8, probe_input="image"), net, 3).eval()
    x = torch.rand(2, 3, 32, 32)
    assert torch.allclose(task.encode(x), task.encoder.features(x))
    task.config.probe_input = "tiles"
    expected = task.encoder.features(normalize_tiles(grid_cells(x, 3)).flatten(0, 1)).view(2, 9, -1).mean(1)
    assert torch.allclose(task.encode(x), expected, atol=1e-6)
