"""Batched view augmentations against torchvision."""
import pytest
import torch
import torchvision.transforms.v2.functional as TF

from multissl.vision.batch_augment import (
    ViewConfig, augment_views, color_jitter, crop_boxes, gaussian_blur, grayscale, hsv_to_rgb, jitter_parameters, jitter_with, resized_crop, rgb_to_hsv,
    simclr_views,
)


def test_crop_boxes_follow_torchvision_parameters():
    boxes = crop_boxes(2000, 32, 32, scale=(0.08, 1.0))
    top, left, h, w = boxes.unbind(1)
    assert (top >= 0).all() and (left >= 0).all() and (top + h <= 32).all() and (left + w <= 32).all()
    area = h * w / 1024
    assert area.min() >= 0.05 and area.max() <= 1.0
    aspect = w / h
    assert aspect.min() > 0.6 and aspect.max() < 1.7
    assert 0.3 < float(area.mean()) < 0.7


def test_resized_crop_equals_torchvision_inside_the_crop_and_flips():
    x = torch.rand(1, 3, 20, 20)
    box = torch.tensor([[3.0, 5.0, 10.0, 12.0]])
    ours = resized_crop(x, box, 20, torch.tensor([False]))
    ref = TF.resized_crop(x, 3, 5, 10, 12, [20, 20], antialias=False)
    assert torch.allclose(ours[..., 2:-2, 2:-2], ref[..., 2:-2, 2:-2], atol=1e-5)
    flipped = resized_crop(x, box, 20, torch.tensor([True]))
    assert torch.allclose(flipped, ours.flip(-1), atol=1e-5)


def test_colour_operations_match_torchvision():
    x = torch.rand(3, 3, 8, 8)
    hsv = rgb_to_hsv(x)
    assert torch.allclose(hsv_to_rgb(hsv), x, atol=1e-5)
    shifted = torch.stack([(hsv[:, 0] + 0.15) % 1.0, hsv[:, 1], hsv[:, 2]], 1)
    assert torch.allclose(hsv_to_rgb(shifted), TF.adjust_hue(x, 0.15), atol=1e-5)
    assert torch.allclose(grayscale(x), TF.rgb_to_grayscale(x), atol=2e-4)  # 0.299 vs 0.2989


def test_color_jitter_applies_only_where_asked_and_stays_in_range():
    x = torch.rand(8, 3, 6, 6)
    apply = torch.tensor([True, False] * 4)
    out = color_jitter(x, (0.4, 0.4, 0.4, 0.1), apply)
    assert torch.equal(out[~apply], x[~apply]) and not torch.allclose(out[apply], x[apply])
    assert out.min() >= 0 and out.max() <= 1


def test_jitter_parameters_draw_a_permutation_and_factors_per_sample():
    factors, order = jitter_parameters(500, (0.4, 0.3, 0.0, 0.1))
    assert torch.equal(order.sort(1).values, torch.arange(4).expand(500, 4))
    assert len(torch.unique(order, dim=0)) == 24  # all 4! orders occur in one batch, not one order per batch
    assert (factors[:, 0] >= 0.6).all() and (factors[:, 0] <= 1.4).all() and (factors[:, 1] >= 0.7).all()
    assert (factors[:, 2] == 1).all() and factors[:, 3].abs().max() <= 0.1


def test_jitter_with_applies_each_samples_order_like_torchvision():
    torch.manual_seed(3)
    x = torch.rand(6, 3, 8, 8)
    factors, order = jitter_parameters(6, (0.8, 0.8, 0.8, 0.2))
    ops = [TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue]
    out = jitter_with(x, factors, order)
    for i in range(6):
        ref = x[i]
        for op in order[i].tolist():
            ref = ops[op](ref, float(factors[i, op]))
        assert torch.allclose(out[i], ref, atol=2e-3), f"sample {i}, order {order[i].tolist()}"


def test_blur_smooths_and_keeps_mean():
    x = torch.rand(2, 3, 64, 64)
    out = gaussian_blur(x, torch.tensor([2.0, 2.0]), torch.tensor([True, False]))
    assert out[0].std() < 0.5 * x[0].std() and torch.equal(out[1], x[1])
    assert abs(float(out[0].mean() - x[0].mean())) < 0.01


def test_augment_views_shapes_randomness_and_errors():
    x = torch.rand(6, 3, 32, 32)
    torch.manual_seed(0)
    a = augment_views(x, simclr_views())
    torch.manual_seed(0)
    b = augment_views(x, simclr_views())
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, augment_views(x, simclr_views()))
    gray = augment_views(x, ViewConfig(grayscale_p=1.0, jitter_p=0.0))
    assert torch.allclose(gray[:, 0], gray[:, 1]) and torch.allclose(gray[:, 1], gray[:, 2])
    sol = augment_views(torch.full((2, 3, 16, 16), 0.8), ViewConfig(solarize_p=1.0, jitter_p=0.0, grayscale_p=0.0, min_scale=1.0))
    assert torch.allclose(sol, torch.full_like(sol, 0.2), atol=1e-5)
    assert augment_views(torch.rand(2, 1, 16, 16), simclr_views()).shape == (2, 1, 16, 16)
    with pytest.raises(ValueError, match="too small for the augmentation pipeline"):
        augment_views(torch.rand(2, 3, 6, 6), simclr_views())
