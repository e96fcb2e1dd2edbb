import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage import color as skcolor

from multissl.color import lab_to_rgb, rgb_to_lab
from multissl.video.colorizer import Colorizer, ColorizerConfig, lightness_input, pointer_colors
from multissl.video.tracking import model_features

TINY = ColorizerConfig(backbone="resnet10", width=4, conv3d_layers=2, conv3d_channels=8, embed_dim=16)


def test_pointer_with_identical_frames_copies_colours_exactly():
    # identical target and reference frames with distinct (orthonormal) embeddings per cell
    h, w, k = 4, 5, 16
    emb = torch.eye(h * w, 32)[:, :].T.reshape(32, h, w)[None]  # (1, D, h, w), one unit vector per cell
    colors = torch.randint(0, k, (1, 1, h, w))
    onehot = F.one_hot(colors, k).permute(0, 1, 4, 2, 3)
    probs = pointer_colors(emb, emb[:, None], onehot, temperature=0.01)
    assert torch.equal(probs.argmax(1), colors[:, 0])
    assert torch.allclose(probs, onehot[:, 0].float(), atol=1e-6)


def test_lab_input_and_colour_clusters_follow_scikit_image():
    rng = np.random.default_rng(0)
    planted = np.array([[40, 60], [-50, 30], [20, -60], [-10, -30]], float)  # ab cluster centres
    lab = np.zeros((64, 64, 3))
    lab[..., 0] = 60
    labels = rng.integers(0, 4, (64, 64))
    lab[..., 1:] = planted[labels] + rng.normal(0, 1.5, (64, 64, 2))
    rgb = torch.from_numpy(np.clip(skcolor.lab2rgb(lab), 0, 1)).permute(2, 0, 1).float()
    assert (rgb_to_lab(rgb) - torch.from_numpy(skcolor.rgb2lab(rgb.permute(1, 2, 0).double().numpy())).permute(2, 0, 1)).abs().max() < 1e-3
    assert (lab_to_rgb(rgb_to_lab(rgb)) - rgb).abs().max() < 1e-4
    assert torch.allclose(lightness_input(rgb[None]), rgb_to_lab(rgb[None])[:, :1] / 50 - 1)
    model = Colorizer(ColorizerConfig(**{**TINY.as_dict(), "num_colors": 4}))
    model.network.stride = 1  # cluster per pixel for this check
    model.fit_colors(rgb[None], seed=0)
    centres = model.quantizer.centers.numpy()
    ab = rgb_to_lab(rgb)[1:].permute(1, 2, 0).numpy()  # the planted clusters after clipping to sRGB
    for c in [ab[labels == i].mean(0) for i in range(4)]:  # every planted cluster is recovered by the fitted quantizer
        assert np.linalg.norm(centres - c, axis=1).min() < 1.0


def _moving_clips(n=8, t=4, size=32, seed=0):
    """Clips of a coloured textured pattern shifting by one pixel per frame."""
    g = torch.Generator().manual_seed(seed)
    clips = []
    for _ in range(n):
        base = F.interpolate(torch.rand(1, 3, 8, 16, generator=g), size=(size, 2 * size), mode="nearest")[0]
        clips.append(torch.stack([base[:, :, i * 2 : i * 2 + size] for i in range(t)]))
    return torch.stack(clips)


@pytest.mark.slow
def test_training_lowers_the_colorization_loss_and_state_is_saved():
    torch.manual_seed(0)
    clips = _moving_clips(n=6, t=3)
    model = Colorizer(TINY).fit_colors(clips[:, 0], seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(15):
        loss, metrics = model(clips)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]
    assert "color_accuracy" in metrics
    clone = Colorizer(TINY)
    clone.load_state_dict(model.state_dict())  # colour clusters travel in the state dict
    assert torch.equal(clone.quantizer.centers, model.quantizer.centers) and bool(clone.quantizer.fitted)


def test_network_shapes_and_video_embedding():
    model = Colorizer(TINY).eval()
    frames = (torch.rand(5, 40, 48, 3) * 255).to(torch.uint8).numpy()
    feats = model_features(model, short_side=40)(frames)
    assert feats.shape == (5, 16, 5, 6)
    with pytest.raises(ValueError, match=r"clips must have shape \(B, T, 3, H, W\)"):
        model(torch.rand(2, 4, 1, 32, 32))
    with pytest.raises(ValueError, match="multiple of the stride 8"):
        model(torch.rand(2, 4, 3, 30, 32))
    with pytest.raises(RuntimeError, match="not fitted"):
        model(torch.rand(2, 4, 3, 32, 32))


def test_colour_rebalancing_weights_rare_colours_more():
    torch.manual_seed(0)
    frames = torch.full((4, 3, 64, 64), 0.5)  # mostly gray ...
    frames[:, 0, :16, :16] = 1.0  # ... with a rare red patch and a rare green one
    frames[:, 1, 48:, 48:] = 0.9
    frames += 0.02 * torch.rand_like(frames)
    cfg = ColorizerConfig(**{**TINY.as_dict(), "num_colors": 3, "rebalance": 0.5})
    model = Colorizer(cfg)
    model.network.stride = 1
    model.fit_colors(frames, seed=0)
    colors = model.quantizer.encode(model.colors_lab(frames)[:, 1:])
    prior = torch.bincount(colors.flatten(), minlength=3).float() / colors.numel()
    assert float((prior * model.color_weights).sum()) == pytest.approx(1.0, abs=1e-5)
    common = int(prior.argmax())
    assert all(model.color_weights[c] > model.color_weights[common] for c in range(3) if c != common)
    assert torch.equal(Colorizer(TINY).fit_colors(frames).color_weights, torch.ones(16))  # off by default


def test_presets_follow_the_paper_and_the_cpu_budget():
    from multissl.engine import TrainConfig
    from multissl.video.training import recipe

    paper = recipe(preset="paper")
    assert (paper.model.backbone, paper.model.width, paper.model.conv3d_layers, paper.model.embed_dim, paper.model.num_colors) == ("resnet18", 64, 5, 64, 16)
    assert paper.clips.crop == 256 and paper.clips.clip_len == 4  # 3 references + 1 target, 32x32 features
    net = Colorizer(paper.model).network.eval()
    with torch.no_grad():
        emb = net(torch.zeros(1, 4, 1, 64, 64))
    assert emb.shape == (1, 4, 64, 8, 8)
    cpu = recipe(preset="cpu")
    assert cpu.clips.crop == 128 and cpu.model.width < paper.model.width
    # a partial TrainConfig keeps the preset's batch size (it used to be dropped)
    assert recipe(preset="cpu", train=TrainConfig(max_minutes=3)).train.batch_size == 8 == cpu.train.batch_size
    assert recipe(preset="paper", max_minutes=3).train.batch_size == 32
