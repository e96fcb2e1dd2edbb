"""Every loss against a naive reference (values and gradients), chunked mode included."""
import math

import pytest
import torch
import torch.nn.functional as F

from multissl import losses as L


def _leaf(*shape, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=dtype).requires_grad_()


def _grads(loss, tensors):
    return torch.autograd.grad(loss, tensors)


def naive_info_nce(q, p, negatives, t):
    q, p = F.normalize(q, dim=-1), F.normalize(p, dim=-1)
    total = 0
    for i in range(len(q)):
        if negatives is None:
            keys = p
            pos = i
        else:
            n = negatives[i] if negatives.ndim == 3 else negatives
            keys = torch.cat([p[i : i + 1], F.normalize(n, dim=-1)])
            pos = 0
        e = torch.exp(keys @ q[i] / t)
        total = total - torch.log(e[pos] / e.sum())
    return total / len(q)


def naive_nt_xent(z0, z1, t):
    z = F.normalize(torch.cat([z0, z1]), dim=-1)
    n = len(z0)
    total = 0
    for i in range(2 * n):
        j = (i + n) % (2 * n)
        sims = torch.exp(z @ z[i] / t)
        denom = sims.sum() - sims[i]
        total = total - torch.log(sims[j] / denom)
    return total / (2 * n)


@pytest.mark.parametrize("chunk", [None, 3, 64])
def test_info_nce_in_batch_matches_naive(chunk):
    q, p = _leaf(10, 6, seed=1), _leaf(10, 6, seed=2)
    ours = L.info_nce(q, p, temperature=0.3, chunk_size=chunk)
    ref = naive_info_nce(q, p, None, 0.3)
    assert torch.allclose(ours, ref, atol=1e-10)
    for a, b in zip(_grads(ours, [q, p]), _grads(ref, [q, p])):
        assert torch.allclose(a, b, atol=1e-10)


@pytest.mark.parametrize("shared", [False, True])
def test_info_nce_explicit_negatives_matches_naive(shared):
    q, p = _leaf(7, 5, seed=1), _leaf(7, 5, seed=2)
    n = _leaf(11, 5, seed=3) if shared else _leaf(7, 4, 5, seed=3)
    ours = L.info_nce(q, p, n, temperature=0.2)
    ref = naive_info_nce(q, p, n, 0.2)
    assert torch.allclose(ours, ref, atol=1e-10)
    for a, b in zip(_grads(ours, [q, p, n]), _grads(ref, [q, p, n])):
        assert torch.allclose(a, b, atol=1e-10)


def test_info_nce_unnormalized_is_plain_dot_product_softmax():
    q, p = _leaf(5, 3, seed=4), _leaf(5, 3, seed=5)
    ours = L.info_nce(q, p, temperature=1.0, normalize=False)
    ref = F.cross_entropy(q @ p.T, torch.arange(5))
    assert torch.allclose(ours, ref, atol=1e-12)


@pytest.mark.parametrize("chunk", [None, 1, 5, 100])
def test_nt_xent_matches_naive_values_and_gradients(chunk):
    z0, z1 = _leaf(9, 8, seed=6), _leaf(9, 8, seed=7)
    ours = L.NTXentLoss(temperature=0.5, chunk_size=chunk)(z0, z1)
    ref = naive_nt_xent(z0, z1, 0.5)
    assert abs(float((ours - ref).detach())) < 1e-10
    for a, b in zip(_grads(ours, [z0, z1]), _grads(ref, [z0, z1])):
        assert torch.allclose(a, b, atol=1e-10)


def test_nt_xent_float32_chunked_within_1e5_of_naive():
    z0, z1 = _leaf(64, 16, seed=8, dtype=torch.float32), _leaf(64, 16, seed=9, dtype=torch.float32)
    ours = L.nt_xent(z0, z1, temperature=0.1, chunk_size=10)
    ref = naive_nt_xent(z0.double(), z1.double(), 0.1)
    assert abs(float(ours.detach()) - float(ref.detach())) < 1e-5
    g_ours = _grads(ours, [z0, z1])
    g_ref = _grads(naive_nt_xent(z0, z1, 0.1), [z0, z1])
    for a, b in zip(g_ours, g_ref):
        assert torch.allclose(a, b, atol=1e-5)


def test_nt_xent_stable_at_small_temperature_where_naive_overflows():
    z0 = _leaf(16, 8, seed=10, dtype=torch.float32)
    z1 = (z0.detach() + 0.01 * torch.randn(16, 8)).requires_grad_()
    naive = naive_nt_xent(z0, z1, 0.01)
    assert not torch.isfinite(naive)  # exp(1/0.01) overflows float32
    for chunk in (None, 4):
        ours = L.nt_xent(z0, z1, temperature=0.01, chunk_size=chunk)
        assert torch.isfinite(ours)
        ref = naive_nt_xent(z0.double(), z1.double(), 0.01)
        assert abs(float(ours.detach()) - float(ref.detach())) < 1e-3 * max(1.0, abs(float(ref.detach())))
        assert all(torch.isfinite(g).all() for g in _grads(ours, [z0, z1]))


def test_nt_xent_of_identical_views_is_lower_than_of_random_views():
    z = torch.randn(32, 16)
    assert L.nt_xent(z, z, 0.1) < L.nt_xent(z, torch.randn(32, 16), 0.1)


def test_negative_sampling_loss_matches_naive():
    c, o, n = _leaf(6, 4, seed=1), _leaf(6, 4, seed=2), _leaf(6, 3, 4, seed=3)
    ours = L.negative_sampling_loss(c, o, n)
    sig = lambda x: 1 / (1 + math.e ** (-x))  # noqa: E731
    ref = 0
    for i in range(6):
        ref = ref - torch.log(sig(c[i] @ o[i]))
        for k in range(3):
            ref = ref - torch.log(sig(-(c[i] @ n[i, k])))
    ref = ref / 6
    assert torch.allclose(ours, ref, atol=1e-10)
    for a, b in zip(_grads(ours, [c, o, n]), _grads(ref, [c, o, n])):
        assert torch.allclose(a, b, atol=1e-10)


def _naive_mi(scores, positive, estimator):
    n, c = scores.shape
    pos = torch.stack([scores[i, positive[i]] for i in range(n)])
    neg = torch.stack([scores[i, j] for i in range(n) for j in range(c) if j != positive[i]])
    if estimator == "jsd":
        sp = lambda x: torch.log(1 + torch.exp(x))  # noqa: E731
        return -((-sp(-pos)).mean() - sp(neg).mean())
    if estimator == "dv":
        return -(pos.mean() - torch.log(torch.exp(neg).mean()))
    rows = [-(scores[i, positive[i]] - torch.log(torch.exp(scores[i]).sum())) for i in range(n)]
    return torch.stack(rows).mean()


@pytest.mark.parametrize("estimator", ["jsd", "dv", "infonce"])
def test_mi_estimators_match_naive(estimator):
    scores = _leaf(12, 4, seed=11)
    positive = torch.tensor([0, 1, 2, 3] * 3)
    ours = L.mi_loss(scores, positive, estimator)
    ref = _naive_mi(scores, positive, estimator)
    assert torch.allclose(ours, ref, atol=1e-10)
    assert torch.allclose(_grads(ours, [scores])[0], _grads(ref, [scores])[0], atol=1e-10)


@pytest.mark.parametrize("estimator", ["jsd", "dv", "infonce"])
def test_local_global_mi_uses_own_image_as_positive(estimator):
    local, glob = _leaf(3, 4, 5, seed=12), _leaf(3, 5, seed=13)
    ours = L.local_global_mi_loss(local, glob, estimator)
    scores = torch.stack([local[b, n] @ glob.T for b in range(3) for n in range(4)])
    positive = torch.tensor([b for b in range(3) for _ in range(4)])
    assert torch.allclose(ours, _naive_mi(scores, positive, estimator), atol=1e-10)


def test_byol_loss_is_normalised_mse():
    p, z = _leaf(5, 7, seed=14), _leaf(5, 7, seed=15)
    ref = ((F.normalize(p, dim=-1) - F.normalize(z, dim=-1)) ** 2).sum(-1).mean()
    ours = L.byol_loss(p, z)
    assert torch.allclose(ours, ref, atol=1e-12)
    assert torch.allclose(_grads(ours, [p])[0], _grads(ref, [p])[0], atol=1e-12)
    assert float(L.byol_loss(p, 3 * p).detach()) == pytest.approx(0.0, abs=1e-12)


def test_chunked_mode_saves_memory_for_backward():
    """Chunked autograd keeps O(B·D) tensors for backward, not the (2B, 2B) logits."""
    z0, z1 = torch.randn(512, 8, requires_grad=True), torch.randn(512, 8, requires_grad=True)
    saved = []

    def pack(t):
        saved.append(t.numel())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        L.nt_xent(z0, z1, 0.5, chunk_size=64)
    assert max(saved) <= 1024 * 8
    saved.clear()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        L.nt_xent(z0, z1, 0.5)
    assert max(saved) >= 1024 * 1023


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: L.info_nce(torch.randn(4, 3), torch.randn(5, 3)), r"query and positive must have the same shape.*\(4, 3\).*\(5, 3\)"),
        (lambda: L.info_nce(torch.randn(4), torch.randn(4)), r"query must have shape \(B, D\), got \(4,\)"),
        (lambda: L.info_nce(torch.randn(4, 3), torch.randn(4, 3), temperature=0), r"temperature must be > 0"),
        (lambda: L.info_nce(torch.randn(4, 3), torch.randn(4, 3), torch.randn(5, 2, 3)), r"batch size B of query \(4\) and negatives \(5\)"),
        (lambda: L.info_nce(torch.randn(4, 3), torch.randn(4, 3), torch.randn(4, 2, 2)), r"feature dimension D of query \(3\) and negatives \(2\)"),
        (lambda: L.info_nce(torch.full((4, 3), float("nan")), torch.randn(4, 3)), r"query of shape \(4, 3\) contains 12 NaN"),
        (lambda: L.nt_xent(torch.randn(1, 3), torch.randn(1, 3)), r"at least 2 samples"),
        (lambda: L.NTXentLoss(temperature=-1.0), r"temperature must be > 0, got -1.0"),
        (lambda: L.negative_sampling_loss(torch.randn(4, 3), torch.randn(4, 3), torch.randn(4, 3)), r"negatives must have shape \(B, K, D\)"),
        (lambda: L.mi_loss(torch.randn(4, 3), torch.zeros(4, dtype=torch.long), "mine"), r"estimator must be one of"),
        (lambda: L.byol_loss(torch.randn(4, 3), torch.randn(4, 2)), r"prediction and target must have the same shape"),
        (lambda: L.info_nce(torch.randn(4, 3), torch.randn(4, 3), reduction="avg"), r"reduction must be one of"),
    ],
)
def test_bad_input_raises_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
