"""Each task: its geometry, its loss dropping on a tiny batch, its bad-input errors."""
import pytest
import torch

from tests.vision.helpers import coordinate_image
from multissl.vision.registry import TASKS, build_task
from multissl.vision.tasks.context_encoder import ContextEncoder, ContextEncoderConfig
from multissl.vision.tasks.dae import DAEConfig, DenoisingAutoencoder
from multissl.vision.tasks.jigsaw import JigsawConfig, JigsawTask
from multissl.vision.tasks.relative_patch import NEIGHBOURS, RelativePatchConfig, RelativePatchTask
from multissl.vision.tasks.split_brain import SplitBrainAutoencoder, SplitBrainConfig

FAST_CONFIGS = {
    "jigsaw": {"num_permutations": 24, "resize": 48, "tile_size": 12},
    "relative-patch": {"resize": 48, "patch_size": 12, "gap": 2, "jitter": 1},
    "dae": {},
    "context-encoder": {},
    "split-brain": {},
    "rotation": {},
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FAST_CONFIGS))
def test_loss_drops_on_a_tiny_batch(name, images, tiny_backbone):
    torch.manual_seed(0)
    spec = TASKS[name]
    task = build_task(name, spec.config(augment=False, **FAST_CONFIGS[name]), tiny_backbone, 3, 32)
    opt = torch.optim.Adam(task.parameters(), lr=3e-3)
    losses = []
    for step in range(30):
        torch.manual_seed(step % 4)  # a few fixed draws of the random geometry, so the batch can be fit
        loss, metrics = task((images, torch.zeros(16)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    first, last = sum(losses[:4]) / 4, sum(losses[-4:]) / 4
    assert last < 0.8 * first, (name, first, last)


def test_relative_patch_geometry(tiny_backbone):
    task = RelativePatchTask(RelativePatchConfig(resize=0, patch_size=8, gap=2, jitter=1, color_drop=False), tiny_backbone, 3)
    img = coordinate_image(40).repeat(64, 1, 1, 1)
    centre, neighbour, labels = task.sample_pairs(img)
    dr = neighbour[:, 0, 0, 0] - centre[:, 0, 0, 0]
    dc = neighbour[:, 1, 0, 0] - centre[:, 1, 0, 0]
    expected = torch.tensor(NEIGHBOURS)[labels] - 1  # offsets in cells
    cell = 8 + 2
    assert ((dr - expected[:, 0] * cell).abs() <= 2).all() and ((dc - expected[:, 1] * cell).abs() <= 2).all()
    assert len(labels.unique()) == 8


def test_relative_patch_too_small_image_error(tiny_backbone):
    task = RelativePatchTask(RelativePatchConfig(resize=0, patch_size=12, gap=3, jitter=2), tiny_backbone, 3)
    with pytest.raises(ValueError, match=r"images of 32x32 are too small .*need at least 46x46"):
        task.sample_pairs(torch.rand(2, 3, 32, 32))


def test_jigsaw_tiles_follow_the_permutation(tiny_backbone):
    task = JigsawTask(JigsawConfig(resize=0, tile_size=8, num_permutations=10, normalize_tiles=False), tiny_backbone, 3)
    img = coordinate_image(30).repeat(20, 1, 1, 1)
    tiles, labels = task.make_puzzles(img)
    assert tiles.shape == (20, 9, 3, 8, 8)
    cell_of_tile = (tiles[:, :, 0, 4, 4] // 10) * 3 + tiles[:, :, 1, 4, 4] // 10  # which cell each shown tile came from
    assert torch.equal(cell_of_tile.long(), task.permutations[labels])


def test_jigsaw_errors(tiny_backbone):
    with pytest.raises(ValueError, match=r"num_permutations must be in \[1, 362880\]"):
        JigsawTask(JigsawConfig(num_permutations=400_000), tiny_backbone, 3)
    task = JigsawTask(JigsawConfig(resize=0, tile_size=12, num_permutations=5), tiny_backbone, 3)
    with pytest.raises(ValueError, match=r"images of 30x30 give 3x3 cells of 10 pixels, smaller than tiles of 12"):
        task.make_puzzles(torch.rand(1, 3, 30, 30))


def test_split_brain_halves_see_only_their_channels(tiny_backbone):
    task = SplitBrainAutoencoder(SplitBrainConfig(), tiny_backbone, 3).eval()
    x = torch.rand(2, 3, 32, 32)
    l_in, ab_in = task.split_lab(x)
    ab_from_l = task.ab_head(task.l_encoder.feature_map(l_in))
    other_ab = torch.rand_like(ab_in)
    assert torch.equal(task.ab_head(task.l_encoder.feature_map(l_in)), ab_from_l)
    l_from_ab = task.l_head(task.ab_encoder.feature_map(ab_in))
    assert not torch.allclose(task.l_head(task.ab_encoder.feature_map(other_ab)), l_from_ab)
    assert task.l_encoder.in_channels == 1 and task.ab_encoder.in_channels == 2
    feats = task.encode(x)
    assert feats.shape == (2, task.l_encoder.out_dim + task.ab_encoder.out_dim)
    assert task.colorize(x).shape == x.shape


def test_colour_tasks_reject_grayscale(tiny_backbone):
    with pytest.raises(ValueError, match=r"split-brain needs colour \(3-channel RGB\) images, got 1 channel"):
        SplitBrainAutoencoder(SplitBrainConfig(), tiny_backbone, 1)
    task = build_task("rotation", TASKS["rotation"].config(), tiny_backbone, 3, 32)
    with pytest.raises(ValueError, match=r"rotation expects images \(B, 3, H, W\), got \(2, 1, 32, 32\)"):
        task((torch.rand(2, 1, 32, 32), None))


def test_stacked_dae_trains_layer_by_layer(tiny_backbone):
    torch.manual_seed(0)
    task = DenoisingAutoencoder(DAEConfig(variant="mlp", hidden=(32, 16), steps_per_layer=3, augment=False), tiny_backbone, 1, image_size=8)
    x = torch.rand(8, 1, 8, 8)
    opt = torch.optim.SGD(task.parameters(), lr=0.5)
    first_layer = None
    for step in range(1, 7):
        loss, metrics = task((x, None))
        opt.zero_grad()
        loss.backward()
        opt.step()
        task.after_optimizer_step(step, 6)
        if step == 3:
            first_layer = task.layers[0].encode.weight.clone()
            assert int(task.active_layer) == 1
    assert torch.equal(task.layers[0].encode.weight, first_layer)  # frozen while layer 2 trains
    assert task.encode(x).shape == (8, 16)


def test_context_encoder_adversarial_terms_reach_only_their_network(tiny_backbone):
    torch.manual_seed(0)
    task = ContextEncoder(ContextEncoderConfig(adversarial=True, augment=False, dropout=0.0), tiny_backbone, 3)
    x = torch.rand(4, 3, 32, 32)
    torch.manual_seed(1)
    loss, metrics = task((x, None))
    loss.backward()
    d_grads = [p.grad.clone() for p in task.discriminator.parameters()]
    task.zero_grad()
    # the discriminator's gradient must come from its own loss alone
    torch.manual_seed(1)
    task((x, None))
    mask = task.masks(x)
    fake = torch.where(mask, task.inpaint(x, mask), x).detach()
    real_l, fake_l = task.discriminator(x), task.discriminator(fake)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    (bce(real_l, torch.ones_like(real_l)) + bce(fake_l, torch.zeros_like(fake_l))).backward()
    for g, p in zip(d_grads, task.discriminator.parameters()):
        assert torch.allclose(g, p.grad, atol=1e-6)


def test_context_encoder_loss_weights_ring(tiny_backbone):
    task = ContextEncoder(ContextEncoderConfig(overlap=2, overlap_weight=10.0), tiny_backbone, 3)
    mask = task.masks(torch.rand(1, 3, 32, 32))
    w = task.loss_weights(mask)
    assert int((w == 1).sum()) == 256 and int((w == 10).sum()) == 20 * 20 - 256
    with pytest.raises(ValueError, match="built for 32x32 images, got 16x16"):
        task.masks(torch.rand(1, 3, 16, 16))
