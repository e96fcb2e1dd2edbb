"""Split-brain's in-gamut ab bins, soft-encoding, dense prediction and checkpoints."""
import math

import pytest
import torch

from multissl.color import rgb_to_lab
from multissl.color_bins import GamutBins
from multissl.vision.encoder import BackboneConfig
from multissl.vision.tasks.split_brain import SplitBrainAutoencoder, SplitBrainConfig

TINY = BackboneConfig(arch="resnet10", width=4)


def _images(n=12, size=8, seed=0):
    """Images with few, saturated colours: a small gamut."""
    g = torch.Generator().manual_seed(seed)
    palette = torch.tensor([[0.9, 0.1, 0.1], [0.1, 0.7, 0.2], [0.2, 0.3, 0.9], [0.5, 0.5, 0.5]])
    idx = torch.randint(len(palette), (n, size, size), generator=g)
    x = palette[idx].permute(0, 3, 1, 2) + 0.05 * torch.rand(n, 3, size, size, generator=g)
    return (x.clamp(0, 1) * 255).to(torch.uint8)


def _ab(images):
    return rgb_to_lab(images.float() / 255)[:, 1:]


def test_gamut_estimate_equals_brute_force_histogram():
    images = _images()
    q = GamutBins(grid=10.0).fit_images(images, rgb_to_lab, cache=False)
    ab = _ab(images).permute(0, 2, 3, 1).reshape(-1, 2)
    counts = torch.zeros(23, 23)
    for a, b in ab.tolist():  # centres on multiples of 10: the bin is the nearest multiple
        counts[min(22, max(0, math.floor((a + 5) / 10) + 11)), min(22, max(0, math.floor((b + 5) / 10) + 11))] += 1
    assert torch.equal(q.counts.view(23, 23).float(), counts)
    assert torch.equal(q.mask, counts.flatten() > 0) and bool(q.frozen)
    assert 0 < q.num_kept < 23 * 23
    again = GamutBins(grid=10.0).fit_images(images, rgb_to_lab)  # cached in memory by the data
    assert torch.equal(GamutBins(grid=10.0).fit_images(images, rgb_to_lab).mask, again.mask)
    assert GamutBins(min_fraction=0.2).fit_images(images, rgb_to_lab, cache=False).num_kept < q.num_kept


def test_quantiser_round_trips_in_gamut_colours_and_maps_out_of_gamut_to_nearest_kept_bin():
    images = _images()
    q = GamutBins().fit_images(images, rgb_to_lab, cache=False)
    ab = _ab(images)
    pos = q.encode_hard(ab)
    assert q.mask[q.kept_index[pos]].all()  # every colour of the data lands in a kept bin
    assert (q.decode(pos) - ab).abs().max() <= 5.0 + 1e-4  # within half a bin of its centre
    probs = torch.nn.functional.one_hot(pos, q.num_kept).permute(0, 3, 1, 2).float()
    assert torch.allclose(q.decode_distribution(probs), q.decode(pos))
    far = torch.tensor([[-100.0, 100.0], [300.0, -300.0]]).T.reshape(1, 2, 1, 2)  # out of gamut and out of range
    kept_centres = q.centres[q.kept_index]
    got = q.decode(q.encode_hard(far))[0].reshape(2, -1).T
    cells = q.centres[q.cell_index(far).flatten()]
    assert torch.equal(got, kept_centres[torch.cdist(cells, kept_centres).argmin(1)])


def test_soft_encoding_matches_brute_force_nearest_neighbours():
    q = GamutBins().fit_images(_images(), rgb_to_lab, cache=False)
    ab = _ab(_images(2, seed=1))
    pos, weight = q.encode_soft(ab, k=5, sigma=5.0)
    assert pos.shape == (2, 5, 8, 8) and torch.allclose(weight.sum(1), torch.ones(2, 8, 8))
    flat = ab.permute(0, 2, 3, 1).reshape(-1, 2)
    d2 = torch.cdist(flat, q.centres[q.kept_index]) ** 2
    brute = torch.softmax(-d2 / 50.0, dim=1)
    got = torch.zeros_like(brute).scatter_add_(1, pos.permute(0, 2, 3, 1).reshape(-1, 5), weight.permute(0, 2, 3, 1).reshape(-1, 5))
    top = brute.topk(5, dim=1)
    assert (got.gather(1, top.indices) - top.values / top.values.sum(1, keepdim=True)).abs().max() < 0.08


def test_lazy_gamut_freezes_after_the_configured_batches_and_restricts_the_softmax():
    torch.manual_seed(0)
    task = SplitBrainAutoencoder(SplitBrainConfig(gamut_batches=2, augment=False), TINY, 3, image_size=8)
    assert task.ab_head.out_channels == 23 * 23 and not bool(task.ab_quantizer.frozen)
    images = _images()
    for i in range(3):
        loss, metrics = task((images[4 * i: 4 * i + 4], None))
    assert bool(task.ab_quantizer.frozen) and int(task.gamut_batches_seen) == 2
    expected = GamutBins().fit_images(images[:8], rgb_to_lab, cache=False)
    assert torch.equal(task.ab_quantizer.mask, expected.mask)
    assert metrics["ab_classes"] == task.num_ab_classes == expected.num_kept


@pytest.mark.parametrize("overrides", [{}, {"dense": True}, {"soft_neighbours": 1}, {"ab_bins": "grid"},
                                       {"mode": "regression", "dense": True}])
def test_training_step_is_finite_and_dense_logits_have_the_input_resolution(overrides):
    torch.manual_seed(0)
    task = SplitBrainAutoencoder(SplitBrainConfig(**overrides), TINY, 3, image_size=16)
    x = torch.rand(4, 3, 16, 16)
    loss, metrics = task((x, None))
    loss.backward()
    assert torch.isfinite(loss) and all(torch.isfinite(v) for v in metrics.values())
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in task.parameters())
    ab_pred, l_pred = task._predict(*task.split_lab(x))
    expected_ab = 2 if overrides.get("mode") == "regression" else task.num_ab_classes
    assert ab_pred.shape[:2] == (4, expected_ab)
    if overrides.get("dense"):
        assert ab_pred.shape[-2:] == l_pred.shape[-2:] == (16, 16)
    assert task.colorize(x).shape == x.shape


def test_grid_mode_keeps_the_unrestricted_484_bins():
    task = SplitBrainAutoencoder(SplitBrainConfig(ab_bins="grid"), TINY, 3, image_size=8)
    assert task.ab_head.out_channels == task.num_ab_classes == 484 and bool(task.ab_quantizer.frozen)


def test_checkpoints_carry_the_bin_set(tmp_path):
    task = SplitBrainAutoencoder(SplitBrainConfig(), TINY, 3, image_size=8).fit_gamut(_images())
    torch.save(task.state_dict(), tmp_path / "model.pt")
    fresh = SplitBrainAutoencoder(SplitBrainConfig(), TINY, 3, image_size=8)
    assert fresh.num_ab_classes == 23 * 23
    fresh.load_state_dict(torch.load(tmp_path / "model.pt"))
    assert torch.equal(fresh.ab_quantizer.mask, task.ab_quantizer.mask) and bool(fresh.ab_quantizer.frozen)
    assert fresh.num_ab_classes == task.num_ab_classes < 23 * 23
    x = _images(2).float() / 255
    assert torch.allclose(fresh.eval().colorize(x), task.eval().colorize(x))
