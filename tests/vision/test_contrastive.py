"""SimCLR, MoCo, BYOL, DIM, CPC v2: losses against the core, queue, EMA, learning."""
import pytest
import torch

from multissl.losses import info_nce, nt_xent
from multissl.vision.batch_augment import augment_views
from multissl.vision.data import to_float
from multissl.vision.encoder import BackboneConfig
from multissl.vision.registry import TASKS, build_task
from multissl.vision.tasks.cpc_v2 import CPCv2, CPCv2Config, ContextNetwork

CONTRASTIVE = ["dim", "cpc-v2", "moco-v1", "moco-v2", "simclr", "byol"]
# cpc-v2 with batch norm here: with its default layer norm this smooth toy stays at chance for 40 steps
# (tests/vision/test_cpc_v2.py trains the layer-norm default on its own toy)
SMALL = {"moco-v1": {"queue_size": 64}, "moco-v2": {"queue_size": 64}, "cpc-v2": {"grid": 5, "patch_size": 8, "encoder_norm": "batch"},
         "simclr": {"proj_hidden": 32}, "byol": {"proj_hidden": 32, "proj_out": 16}, "dim": {"score_dim": 32}}


def _task(name, backbone, **kw):
    torch.manual_seed(0)
    return build_task(name, TASKS[name].config(**{**SMALL[name], **kw}), backbone, 3, 32, num_classes=4)


def test_simclr_loss_is_the_cores_nt_xent(images, tiny_backbone):
    task = _task("simclr", tiny_backbone)
    torch.manual_seed(5)
    loss, _ = task((images, torch.zeros(16, dtype=torch.long) - 1))
    torch.manual_seed(5)
    x = to_float(images)
    views = torch.cat([augment_views(x, task.views), augment_views(x, task.views)])
    z0, z1 = task.projector(task.encoder.features(views)).chunk(2)
    assert torch.allclose(loss, nt_xent(z0, z1, temperature=0.5), atol=1e-6)


def test_moco_loss_queue_and_positives(images, tiny_backbone):
    task = _task("moco-v2", tiny_backbone, queue_size=48)
    labels = torch.zeros(16, dtype=torch.long) - 1
    task((images, labels))  # fill the first 16 slots with real keys
    before = task.queue.queue.clone()
    pointer = int(task.queue.pointer)
    torch.manual_seed(7)
    loss, metrics = task((images, labels))
    torch.manual_seed(7)
    x = to_float(images)
    q_view, k_view = augment_views(x, task.views), augment_views(x, task.views)
    _, q = task.embed_queries(q_view)
    k = task.embed_keys(k_view)
    # the loss used the queue as it was before this batch, with the config's temperature
    assert torch.allclose(loss, info_nce(q, k, before, temperature=task.config.temperature, normalize=False), atol=1e-5)
    assert torch.cdist(k, before).min() > 1e-4  # the current positives were not among the negatives
    assert torch.allclose(task.queue.queue[pointer : pointer + 16], k, atol=1e-5)  # then enqueued, FIFO
    assert int(task.queue.pointer) == (pointer + 16) % 48
    assert torch.equal(task.queue.queue[:pointer], before[:pointer])


def test_moco_queue_must_divide_batch(images, tiny_backbone):
    task = _task("moco-v1", tiny_backbone, queue_size=50)
    with pytest.raises(ValueError, match=r"queue_size \(50\) must be a multiple of the global batch size \(16\)"):
        task((images, None))


def test_moco_key_encoder_follows_ema(images, tiny_backbone):
    task = _task("moco-v1", tiny_backbone, momentum=0.9)
    opt = torch.optim.SGD(task.parameters(), lr=0.5)
    key_before = [p.clone() for p in task.key.parameters()]
    loss, _ = task((images, None))
    opt.zero_grad()
    loss.backward()
    assert all(p.grad is None for p in task.key.parameters())
    opt.step()
    task.after_optimizer_step(1, 10)
    for old, new, online in zip(key_before, task.key.parameters(), task.query.parameters()):
        assert torch.allclose(new, 0.9 * old + 0.1 * online, atol=1e-6)


def test_byol_target_gets_no_gradient_and_follows_cosine_ema(images, tiny_backbone):
    task = _task("byol", tiny_backbone, tau_base=0.996)
    opt = torch.optim.SGD(task.parameters(), lr=0.1)
    loss, _ = task((images, None))
    opt.zero_grad()
    loss.backward()
    assert all(p.grad is None for p in task.target.parameters())
    assert all(not p.requires_grad for p in task.target.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in task.predictor.parameters())
    opt.step()
    before = [p.clone() for p in task.target.parameters()]
    task.after_optimizer_step(50, 100)  # halfway: tau = 0.998
    assert float(task.tau) == pytest.approx(0.998)
    for old, new, online in zip(before, task.target.parameters(), task.online.parameters()):
        assert torch.allclose(new, 0.998 * old + 0.002 * online, atol=1e-6)


def test_byol_predictor_learns_at_its_own_rate(tiny_backbone):
    from multissl.vision.training import OptimConfig, make_optimizer

    task = _task("byol", tiny_backbone, predictor_lr_scale=10.0)
    opt, scheduler = make_optimizer(task, OptimConfig(lr=1e-3, warmup=0), total_steps=10)
    by_group = {len(g["params"]): g["lr"] for g in opt.param_groups}
    predictor = len(list(task.predictor.parameters()))
    assert by_group[predictor] == pytest.approx(1e-2) and len(opt.param_groups) == 2
    trainable = [p for g in opt.param_groups for p in g["params"]]
    assert len(trainable) == len({id(p) for p in trainable}) == sum(p.requires_grad for p in task.parameters())
    with pytest.raises(ValueError, match="predictor_lr_scale must be > 0"):
        _task("byol", tiny_backbone, predictor_lr_scale=0.0)


def test_byol_crop_scale_reaches_both_views(tiny_backbone):
    task = _task("byol", tiny_backbone, crop_min_scale=0.3)
    assert [v.min_scale for v in task.views] == [0.3, 0.3]
    with pytest.raises(ValueError, match=r"crop_min_scale must be in \(0, 1\], got 0.0"):
        _task("byol", tiny_backbone, crop_min_scale=0.0)


def test_cpc_v2_context_is_causal_over_rows():
    net = ContextNetwork(4, 2)
    z = torch.randn(1, 4, 6, 6)
    changed = z.clone()
    changed[:, :, 3] += 1.0
    diff = (net(z) - net(changed)).abs().sum(dim=(0, 1, 3))
    assert (diff[:3] == 0).all() and (diff[3:] > 0).all()


def test_cpc_v2_patches_overlap(tiny_backbone):
    task = CPCv2(CPCv2Config(grid=5, patch_size=8), tiny_backbone, 3)
    x = torch.rand(2, 3, task.input_size, task.input_size)
    p = task.patches(x)
    assert p.shape == (2, 5, 5, 3, 8, 8) and task.input_size == 24
    assert torch.equal(p[0, 0, 1, :, :, :4], p[0, 0, 0, :, :, 4:])  # neighbours share half a patch
    with pytest.raises(ValueError, match="need grid >= 2 and 1 <= predict_steps < grid"):
        CPCv2(CPCv2Config(grid=3, predict_steps=3), tiny_backbone, 3)
    with pytest.raises(ValueError, match="patch_size must be at least 4"):
        CPCv2(CPCv2Config(patch_size=2), tiny_backbone, 3)


@pytest.mark.parametrize("stage, side", [(2, 16), (3, 8), (4, 4)])
def test_dim_local_features_come_from_the_chosen_stage(stage, side, images, tiny_backbone):
    """Local features are the chosen stage's map (8 x 8 at stage 3 on 32 x 32 images); the code is made from the last map."""
    task = _task("dim", tiny_backbone, local_stage=stage)
    seen = []
    task.local_proj.register_forward_hook(lambda module, inputs, output: seen.append(tuple(output.shape)))
    loss, _ = task((images[:4], None))
    assert torch.isfinite(loss) and seen == [(4, 32, side, side)]


def test_dim_local_stage_out_of_range(tiny_backbone):
    for stage in (0, 5):
        with pytest.raises(ValueError, match=f"local_stage must be between 1 and 4 .*got {stage}"):
            _task("dim", tiny_backbone, local_stage=stage)


@pytest.mark.parametrize("name", ["simclr", "byol", "dim"])
def test_batch_of_one_is_rejected(name, tiny_backbone):
    """In-batch-negative methods (and BYOL's batch norm) need two images; MoCo's negatives come from its queue."""
    task = _task(name, tiny_backbone)
    with pytest.raises(ValueError, match="batch"):
        task((torch.randint(0, 255, (1, 3, 32, 32), dtype=torch.uint8), None))


@pytest.mark.slow
@pytest.mark.parametrize("name", CONTRASTIVE)
def test_loss_drops_on_a_tiny_dataset(name, tiny_backbone):
    """64 images in 4 fixed batches; MoCo's queue (32) then always holds keys of other images."""
    g = torch.Generator().manual_seed(0)
    low = torch.rand(64, 3, 4, 4, generator=g)
    data = (torch.nn.functional.interpolate(low, size=(32, 32), mode="bilinear") * 255).to(torch.uint8)
    task = _task(name, tiny_backbone, queue_size=32) if name.startswith("moco") else _task(name, tiny_backbone)
    opt = torch.optim.Adam(task.parameters(), lr=2e-3)
    losses = []
    for step in range(40):
        torch.manual_seed(step % 4)
        loss, metrics = task((data[(step % 4) * 16 : (step % 4 + 1) * 16], None))
        opt.zero_grad()
        loss.backward()
        opt.step()
        task.after_optimizer_step(step + 1, 40) if hasattr(task, "after_optimizer_step") else None
        # DIM's total includes the prior-matching game (critic vs encoder), which need not fall: track its MI term
        losses.append(float(metrics.get("local_mi_loss", loss).detach()))
    first, last = sum(losses[4:8]) / 4, sum(losses[-4:]) / 4  # after MoCo's queue holds real keys
    assert last < first - 0.05 * abs(first), (name, first, last)


@pytest.mark.slow
def test_short_simclr_run_improves_knn_over_random_init(shared_data):
    """60 SimCLR steps on a quarter of the CIFAR-10 subset lift kNN accuracy clearly above the random initialisation.

    (On small synthetic image sets the random-init kNN baseline is already
    high and 80 steps do not beat it reliably; real images are the honest test.)
    """
    from multissl.engine import TrainConfig
    from multissl.evaluation import knn_accuracy
    from multissl.vision.data import ImageSplits, load_images
    from multissl.vision.probe import task_features
    from multissl.vision.training import OptimConfig, train

    s = load_images(str(shared_data / "cifar10-subset.npz"))
    splits = ImageSplits(s.x_train[::4], s.y_train[::4], s.x_test[::2], s.y_test[::2], s.classes)
    backbone = BackboneConfig(arch="resnet10", width=8)
    config = TASKS["simclr"].config(proj_hidden=64)
    torch.manual_seed(0)
    random_task = build_task("simclr", config, backbone, 3, 32)
    task = train(splits, None, "simclr", task=config, backbone=backbone, optim=OptimConfig(lr=3e-3, warmup=10),
                 train=TrainConfig(steps=60, batch_size=128, seed=0, verbose=False)).model

    def knn(model):
        return knn_accuracy(task_features(model, splits.x_train), splits.y_train, task_features(model, splits.x_test), splits.y_test)

    trained, random = knn(task), knn(random_task)
    assert trained > random + 0.03, (trained, random)
