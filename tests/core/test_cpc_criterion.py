"""The core CPC criterion: audio (B, T, C) and vision grid (B, rows, cols, D) layouts, negatives, accuracies."""
import pytest
import torch
import torch.nn.functional as F
from einops import rearrange

from multissl.cpc import NEGATIVE_MODES, CPCCriterion, legacy_predictor_hook
from multissl.losses import info_nce, similarity_cross_entropy


def _audio(B=4, T=10, C=6, D=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, T, C, generator=g).requires_grad_(), torch.randn(B, T, D, generator=g).requires_grad_()


@pytest.mark.parametrize("mode", NEGATIVE_MODES)
def test_loss_is_finite_and_accuracies_are_per_step_shares(mode):
    c, z = _audio()
    criterion = CPCCriterion(6, 5, prediction_steps=3, num_negatives=7, negatives=mode)
    loss, metrics = criterion(c, z, groups=torch.tensor([0, 0, 1, 1]))
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert set(metrics) == {"acc", "acc_k1", "acc_k2", "acc_k3"}
    for value in metrics.values():
        assert value.ndim == 0 and 0 <= float(value) <= 1 and not value.requires_grad
    assert torch.isclose(metrics["acc"], sum(metrics[f"acc_k{k}"] for k in (1, 2, 3)) / 3)
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in criterion.parameters())
    assert c.grad.abs().sum() > 0 and z.grad.abs().sum() > 0


def test_steps_are_capped_by_the_sequence_length():
    c, z = _audio(T=3)
    _, metrics = CPCCriterion(6, 5, prediction_steps=5, num_negatives=4)(c, z)
    assert set(metrics) == {"acc", "acc_k1", "acc_k2"}


def test_sampled_mode_is_info_nce_of_each_step_with_shared_negatives():
    c, z = _audio()
    criterion = CPCCriterion(6, 5, prediction_steps=2, num_negatives=6, negatives="sequence", temperature=0.5)
    torch.manual_seed(3)
    loss, metrics = criterion(c, z)
    torch.manual_seed(3)
    index = criterion.negative_indices(z.shape[:2])  # (B, T, 1, N), the same draw
    negatives = z.reshape(-1, 5)[index[:, :, 0]]  # (B, T, N, D)
    ref, accs = [], []
    for k in (1, 2):
        pred = criterion.predict(c, k).reshape(-1, 5)
        pos, neg = z[:, k:].reshape(-1, 5), negatives[:, k:].reshape(-1, 6, 5)
        ref.append(info_nce(pred, pos, neg, temperature=0.5, normalize=False))
        accs.append(((pred * pos).sum(-1) > torch.einsum("md,mnd->mn", pred, neg).amax(-1)).float().mean())
    assert torch.allclose(loss, torch.stack(ref).mean(), atol=1e-6)
    assert torch.allclose(metrics["acc_k1"], accs[0]) and torch.allclose(metrics["acc_k2"], accs[1])


@pytest.mark.parametrize("mode", ["batch", "sequence", "group"])
def test_negatives_never_the_target_and_respect_groups(mode):
    B, T, W = 6, 5, 3
    groups = torch.tensor([0, 0, 1, 1, 2, 2])
    index = CPCCriterion(4, 4, 2, num_negatives=32, negatives=mode).negative_indices((B, T, W), groups)
    assert index.shape == (B, T, W, 32) and index.dtype == torch.long
    own = torch.arange(B * T * W).view(B, T, W, 1)
    assert not (index == own).any()
    seq, own_seq = index // (T * W), own // (T * W)
    if mode == "sequence":
        assert (seq == own_seq).all()
    if mode == "group":
        assert (groups[seq] == groups[own_seq]).all() and (seq != own_seq).any()
    if mode == "batch":
        assert (groups[seq] != groups[own_seq]).any()


def test_grid_layout_matches_cpc_v2s_full_softmax():
    """CPC v2: predict k rows below from a (B, rows, cols, D) grid against every patch of the batch."""
    B, G, D = 3, 4, 6
    g = torch.Generator().manual_seed(1)
    c, z = torch.randn(B, G, G, D, generator=g), torch.randn(B, G, G, D, generator=g)
    criterion = CPCCriterion(D, D, prediction_steps=2, negatives="all", temperature=0.7, bias=True)
    loss, metrics = criterion(c, z)
    keys = z.reshape(-1, D)
    index = torch.arange(B * G * G).view(B, G, G)
    ref = []
    for k in (1, 2):
        pred = criterion.predictors[k - 1](c[:, : G - k]).reshape(-1, D)
        target = index[:, k:].reshape(-1)
        ref.append(similarity_cross_entropy(pred, keys, target, temperature=0.7).mean())
        assert torch.isclose(metrics[f"acc_k{k}"], ((pred @ keys.T).argmax(1) == target).float().mean())
    assert torch.allclose(loss, torch.stack(ref).mean(), atol=1e-6)
    # the same class on the grid seen as one sequence over rows per column: same predictions and keys
    per_column, _ = criterion(rearrange(c, "b r w d -> (b w) r d"), rearrange(z, "b r w d -> (b w) r d"))
    assert torch.allclose(loss, per_column, atol=1e-6)


def test_grid_layout_with_sampled_negatives_from_the_same_image():
    g = torch.Generator().manual_seed(2)
    c, z = torch.randn(2, 5, 5, 8, generator=g), torch.randn(2, 5, 5, 4, generator=g)
    loss, metrics = CPCCriterion(8, 4, 3, num_negatives=10, negatives="sequence")(c, z)
    assert torch.isfinite(loss) and set(metrics) == {"acc", "acc_k1", "acc_k2", "acc_k3"}


@pytest.mark.parametrize("mode", ["batch", "sequence", "all"])
def test_perfectly_predictable_targets_are_learned(mode):
    """c_t holds z_{t+1} and z_{t+2} (unit vectors): after a few Adam steps each W_k picks its block and wins."""
    torch.manual_seed(0)
    B, T, D, K = 4, 12, 16, 2
    z = F.normalize(torch.randn(B, T + K, D), dim=-1)
    c = torch.cat([z[:, k : k + T] for k in range(1, K + 1)], dim=-1)  # (B, T, K*D)
    z = z[:, :T]
    criterion = CPCCriterion(K * D, D, prediction_steps=K, num_negatives=8, negatives=mode)
    opt = torch.optim.Adam(criterion.parameters(), lr=0.1)
    first, before = criterion(c, z)
    for _ in range(20):
        loss, _ = criterion(c, z)
        opt.zero_grad()
        loss.backward()
        opt.step()
    loss, metrics = criterion(c, z)
    assert loss < 0.2 * first
    assert before["acc"] < 0.5 and metrics["acc_k1"] > 0.95 and metrics["acc_k2"] > 0.95, metrics


def test_legacy_predictor_hook_renames_and_squeezes_1x1_convolutions():
    class Task(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.criterion = CPCCriterion(3, 3, 2, bias=True)
            self._register_load_state_dict_pre_hook(legacy_predictor_hook())

    old = {f"predictors.{k}.{p}": t for k in range(2)
           for p, t in (("weight", torch.randn(3, 3, 1, 1)), ("bias", torch.randn(3)))}
    task = Task()
    task.load_state_dict(old)
    assert torch.equal(task.criterion.predictors[1].weight, old["predictors.1.weight"].flatten(1))
    assert torch.equal(task.criterion.predictors[0].bias, old["predictors.0.bias"])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: CPCCriterion(4, 4, negatives="speakers"), r"negatives must be one of"),
        (lambda: CPCCriterion(4, 4, prediction_steps=0), r"prediction_steps must be > 0"),
        (lambda: CPCCriterion(4, 4, temperature=0.0), r"temperature must be > 0"),
        (lambda: CPCCriterion(4, 4)(torch.randn(2, 5), torch.randn(2, 5)), r"context must have shape \(B, T, \.\.\., features\)"),
        (lambda: CPCCriterion(4, 4)(torch.randn(2, 5, 4), torch.randn(2, 6, 4)), r"must share their \(B, T, \.\.\.\) positions"),
        (lambda: CPCCriterion(4, 4)(torch.randn(2, 5, 3), torch.randn(2, 5, 4)), r"context_dim=4"),
        (lambda: CPCCriterion(4, 4)(torch.randn(2, 5, 4), torch.randn(2, 5, 3)), r"target_dim=4"),
        (lambda: CPCCriterion(4, 4)(torch.randn(2, 1, 4), torch.randn(2, 1, 4)), r"at least 2 steps"),
        (lambda: CPCCriterion(4, 4, negatives="group")(torch.randn(2, 5, 4), torch.randn(2, 5, 4)), r"needs groups"),
        (lambda: CPCCriterion(4, 4, negatives="group")(torch.randn(2, 5, 4), torch.randn(2, 5, 4), torch.zeros(3)), r"groups must have shape \(2,\)"),
        (lambda: CPCCriterion(4, 4, negatives="all").negative_indices((2, 5)), r"no negative indices"),
        (lambda: CPCCriterion(4, 4)(torch.full((2, 5, 4), float("nan")), torch.randn(2, 5, 4)), r"context .* NaN"),
        (lambda: CPCCriterion(4, 4).predict(torch.randn(2, 5, 4), 13), r"k must be in 1..12"),
    ],
)
def test_bad_arguments_fail_clearly(call, message):
    with pytest.raises(ValueError, match=message):
        call()
