"""The loss modules equal the functions they wrap, pass gradients and reject bad shapes clearly."""
import pytest
import torch
import torch.nn.functional as F

from multissl import losses as L


def _leaf(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64).requires_grad_()


def _check_grads_flow(loss, tensors):
    grads = torch.autograd.grad(loss.sum(), tensors)
    for g in grads:
        assert torch.isfinite(g).all() and g.abs().sum() > 0


KWARGS = [{}, {"temperature": 0.5, "normalize": False}, {"reduction": "none"}, {"reduction": "sum"}]


@pytest.mark.parametrize("negatives_shape, kwargs", [(n, kw) for n in (None, (6, 5, 4), (7, 4)) for kw in KWARGS]
                         + [(None, {"chunk_size": 2, "reduction": "none"})])
def test_info_nce_loss_module_equals_function(negatives_shape, kwargs):
    q, p = _leaf(6, 4, seed=1), _leaf(6, 4, seed=2)
    n = None if negatives_shape is None else _leaf(*negatives_shape, seed=3)
    criterion = L.InfoNCELoss(**kwargs)
    loss = criterion(q, p) if n is None else criterion(q, p, n)
    ref = L.info_nce(q, p, n, **{"temperature": 0.1, **kwargs})
    assert torch.allclose(loss, ref, atol=1e-12)
    _check_grads_flow(loss, [q, p] + ([n] if n is not None else []))


def test_info_nce_logits_are_what_info_nce_classifies():
    q, p, n = _leaf(6, 4, seed=1), _leaf(6, 4, seed=2), _leaf(6, 5, 4, seed=3)
    for normalize in (True, False):
        logits = L.info_nce_logits(q, p, n, temperature=0.3, normalize=normalize)
        assert logits.shape == (6, 6)
        ce = F.cross_entropy(logits, torch.zeros(6, dtype=torch.long))
        assert torch.allclose(ce, L.info_nce(q, p, n, temperature=0.3, normalize=normalize), atol=1e-12)


def test_nt_xent_module_equals_function():
    z0, z1 = _leaf(5, 4, seed=1), _leaf(5, 4, seed=2)
    loss = L.NTXentLoss(temperature=0.2)(z0, z1)
    assert torch.allclose(loss, L.nt_xent(z0, z1, temperature=0.2), atol=1e-12)
    _check_grads_flow(loss, [z0, z1])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_negative_sampling_module_equals_function(reduction):
    c, o, n = _leaf(6, 4, seed=1), _leaf(6, 4, seed=2), _leaf(6, 3, 4, seed=3)
    loss = L.NegativeSamplingLoss(reduction)(c, o, n)
    assert torch.allclose(loss, L.negative_sampling_loss(c, o, n, reduction), atol=1e-12)
    _check_grads_flow(loss, [c, o, n])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_byol_module_equals_function(reduction):
    p, z = _leaf(6, 4, seed=1), _leaf(6, 4, seed=2)
    loss = L.BYOLLoss(reduction)(p, z)
    assert torch.allclose(loss, L.byol_loss(p, z, reduction), atol=1e-12)
    _check_grads_flow(loss, [p, z])


@pytest.mark.parametrize("estimator", L.MI_ESTIMATORS)
def test_dim_module_equals_functions_in_every_layout(estimator):
    criterion = L.DIMLoss(estimator=estimator)
    local, glob = _leaf(4, 9, 5, seed=1), _leaf(4, 5, seed=2)
    loss = criterion(local, glob)
    assert torch.allclose(loss, L.local_global_mi_loss(local, glob, estimator), atol=1e-12)
    _check_grads_flow(loss, [local, glob])
    x, y = _leaf(4, 5, seed=3), _leaf(4, 5, seed=4)  # global pairs: scores x @ y.T, diagonal positive
    ref = L.mi_loss(x @ y.T, torch.arange(4), estimator)
    assert torch.allclose(criterion(x, y), ref, atol=1e-12)
    scores, positive = _leaf(6, 3, seed=5), torch.tensor([0, 1, 2, 0, 1, 2])
    assert torch.allclose(criterion(scores, positive), L.mi_loss(scores, positive, estimator), atol=1e-12)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: L.InfoNCELoss(temperature=0), r"temperature must be > 0"),
        (lambda: L.InfoNCELoss(reduction="avg"), r"reduction must be one of"),
        (lambda: L.InfoNCELoss(chunk_size=0), r"chunk_size must be > 0"),
        (lambda: L.InfoNCELoss()(torch.randn(4, 3), torch.randn(5, 3)), r"query and positive must have the same shape"),
        (lambda: L.InfoNCELoss()(torch.randn(4, 3), torch.randn(4, 3), torch.randn(4, 2, 2)), r"feature dimension D of query \(3\) and negatives \(2\)"),
        (lambda: L.NTXentLoss()(torch.randn(4), torch.randn(4)), r"z0 must have shape \(B, D\)"),
        (lambda: L.NegativeSamplingLoss(reduction="avg"), r"reduction must be one of"),
        (lambda: L.NegativeSamplingLoss()(torch.randn(4, 3), torch.randn(4, 3), torch.randn(4, 3)), r"negatives must have shape \(B, K, D\)"),
        (lambda: L.BYOLLoss()(torch.randn(4, 3), torch.randn(4, 2)), r"prediction and target must have the same shape"),
        (lambda: L.BYOLLoss(reduction="avg"), r"reduction must be one of"),
        (lambda: L.DIMLoss(estimator="mine"), r"estimator must be one of"),
        (lambda: L.DIMLoss()(torch.randn(4, 3, 2), torch.randn(5, 2)), r"batch size B of local \(4\) and global_ \(5\)"),
        (lambda: L.DIMLoss()(torch.randn(4), torch.randn(4)), r"DIMLoss expects"),
        (lambda: L.DIMLoss()(torch.randn(4, 3), torch.zeros(3, dtype=torch.long)), r"positive must have shape \(4,\)"),
    ],
)
def test_modules_reject_bad_arguments_clearly(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_modules_are_exported():
    for name in ("InfoNCELoss", "NTXentLoss", "BYOLLoss", "NegativeSamplingLoss", "DIMLoss", "info_nce_logits"):
        assert name in L.__all__ and hasattr(L, name)
    assert "estimator='dv'" in repr(L.DIMLoss("dv"))
