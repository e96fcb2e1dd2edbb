"""Contrastive and self-supervised losses shared by every modality.

Shapes: ``B`` batch, ``D`` feature dimension, ``K`` negatives per query.

- :func:`info_nce` / :class:`InfoNCELoss` — InfoNCE / CPC loss with explicit or in-batch negatives.
- :func:`nt_xent` / :class:`NTXentLoss` — SimCLR's symmetric 2N-view loss.
- :func:`negative_sampling_loss` / :class:`NegativeSamplingLoss` — word2vec's logistic loss.
- :func:`mi_loss`, :func:`local_global_mi_loss` / :class:`DIMLoss` — Deep InfoMax
  estimators (JSD, DV, InfoNCE).
- :func:`byol_loss` / :class:`BYOLLoss` — BYOL's normalised MSE.

Each module wraps its function (no separate maths) and is called lightly-style,
``loss = criterion(z0, z1)``. CPC's k-step criterion is
:class:`multissl.cpc.CPCCriterion`.

The in-batch losses take ``chunk_size``: logits are then computed in blocks of
``chunk_size`` queries in the forward pass and recomputed in the backward pass,
so peak memory is O(B·D + chunk_size·B) instead of O(B²). Under
``torch.distributed`` the in-batch keys are gathered from every rank with
gradient (:func:`multissl.distributed.gather_with_grad`).
"""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from . import distributed as dist_utils
from .checks import (
    check_choice,
    check_dim_equal,
    check_finite,
    check_ndim,
    check_positive,
    check_same_shape,
)

MI_ESTIMATORS = ("jsd", "dv", "infonce")


# --------------------------------------------------------------------------- #
# Row-wise cross-entropy over similarity logits, optionally chunked.
# --------------------------------------------------------------------------- #
def _masked_logits(q: torch.Tensor, keys: torch.Tensor, exclude: Optional[torch.Tensor], temperature: float):
    """(M, D) x (N, D) -> (M, N) logits / temperature, with column ``exclude[i]`` of row i at -inf."""
    logits = q @ keys.T / temperature
    if exclude is not None:
        logits = logits.index_put((torch.arange(len(q), device=q.device), exclude), torch.tensor(-math.inf, dtype=logits.dtype, device=logits.device))
    return logits


class _ChunkedSimilarityCE(torch.autograd.Function):
    """Per-row loss ``logsumexp_j(q_i·k_j/t) - q_i·k_{target_i}/t`` with logits built chunk by chunk.

    Saves only the inputs and the (M,) log-sum-exp for backward, where the
    logits are recomputed chunk by chunk.
    """

    @staticmethod
    def forward(ctx, queries, keys, targets, exclude, temperature, chunk_size):
        lse = torch.empty(len(queries), dtype=queries.dtype, device=queries.device)
        pos = torch.empty_like(lse)
        for start in range(0, len(queries), chunk_size):
            stop = min(start + chunk_size, len(queries))
            ex = None if exclude is None else exclude[start:stop]
            logits = _masked_logits(queries[start:stop], keys, ex, temperature)
            lse[start:stop] = torch.logsumexp(logits, dim=1)
            pos[start:stop] = logits.gather(1, targets[start:stop, None]).squeeze(1)
        ctx.save_for_backward(queries, keys, targets, exclude if exclude is not None else torch.empty(0), lse)
        ctx.has_exclude = exclude is not None
        ctx.temperature = temperature
        ctx.chunk_size = chunk_size
        return lse - pos

    @staticmethod
    def backward(ctx, grad_rows):
        queries, keys, targets, exclude, lse = ctx.saved_tensors
        t, chunk = ctx.temperature, ctx.chunk_size
        grad_q = torch.empty_like(queries)
        grad_k = torch.zeros_like(keys)
        for start in range(0, len(queries), chunk):
            stop = min(start + chunk, len(queries))
            ex = exclude[start:stop] if ctx.has_exclude else None
            q = queries[start:stop]
            probs = torch.exp(_masked_logits(q, keys, ex, t) - lse[start:stop, None])
            rows = torch.arange(stop - start, device=q.device)
            probs[rows, targets[start:stop]] -= 1.0
            g = probs * (grad_rows[start:stop, None] / t)
            grad_q[start:stop] = g @ keys
            grad_k.addmm_(g.T, q)
        return grad_q, grad_k, None, None, None, None


def similarity_cross_entropy(
    queries: torch.Tensor,
    keys: torch.Tensor,
    targets: torch.Tensor,
    exclude: Optional[torch.Tensor] = None,
    temperature: float = 0.1,
    chunk_size: Optional[int] = None,
) -> torch.Tensor:
    """Per-row cross-entropy of softmax over dot products with all keys.

    Args:
        queries: (M, D).
        keys: (N, D).
        targets: (M,) index of each query's positive key.
        exclude: optional (M,) index of one key per query left out of the
            softmax (e.g. the query itself in NT-Xent).
        temperature: divides the logits.
        chunk_size: compute logits ``chunk_size`` rows at a time (memory
            O(M·D + chunk·N)); ``None`` builds the full (M, N) matrix.
    Returns:
        (M,) losses.
    """
    if chunk_size is None or chunk_size >= len(queries):
        with torch.autocast(device_type=queries.device.type, enabled=False):  # logits in float32, also under AMP
            logits = _masked_logits(_at_least_float32(queries), _at_least_float32(keys), exclude, temperature)
            return F.cross_entropy(logits, targets, reduction="none")
    check_positive("chunk_size", chunk_size)
    with torch.autocast(device_type=queries.device.type, enabled=False):
        return _ChunkedSimilarityCE.apply(
            _at_least_float32(queries), _at_least_float32(keys), targets, exclude, float(temperature), int(chunk_size)
        )


def _at_least_float32(x: torch.Tensor) -> torch.Tensor:
    return x if x.dtype in (torch.float32, torch.float64) else x.float()


def _reduce(losses: torch.Tensor, reduction: str) -> torch.Tensor:
    check_choice("reduction", reduction, ("mean", "sum", "none"))
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


# --------------------------------------------------------------------------- #
# InfoNCE and NT-Xent
# --------------------------------------------------------------------------- #
def info_nce(
    query: torch.Tensor,
    positive: torch.Tensor,
    negatives: Optional[torch.Tensor] = None,
    temperature: float = 0.1,
    normalize: bool = True,
    reduction: str = "mean",
    chunk_size: Optional[int] = None,
    gather_distributed: bool = True,
) -> torch.Tensor:
    """InfoNCE loss: classify each query's positive among negatives.

    Args:
        query: (B, D) anchors.
        positive: (B, D) the positive key of each anchor.
        negatives: ``None`` for in-batch negatives (the other rows of
            ``positive``, gathered from every rank under DDP); (B, K, D) for K
            negatives per query; or (K, D) for negatives shared by all queries
            (e.g. MoCo's queue).
        temperature: softmax temperature (> 0).
        normalize: L2-normalise the vectors first (cosine similarity). Set
            ``False`` for CPC-style dot-product scores.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` ((B,) losses).
        chunk_size: in-batch mode only: build logits this many queries at a
            time (see module docstring).
        gather_distributed: in-batch mode only: use keys from every rank.
    Returns:
        Scalar loss (or (B,) with ``reduction="none"``).
    """
    check_ndim("query", query, 2, "(B, D)")
    check_same_shape("query", query, "positive", positive)
    check_positive("temperature", temperature)
    check_finite("query", query)
    check_finite("positive", positive)
    if normalize:
        query, positive = F.normalize(query, dim=-1), F.normalize(positive, dim=-1)
    if negatives is None:
        if len(query) < 2 and not (gather_distributed and dist_utils.is_distributed()):
            raise ValueError(f"in-batch InfoNCE needs at least 2 samples (the other rows are the negatives), got query "
                             f"{tuple(query.shape)}; pass negatives explicitly")
        keys = dist_utils.gather_with_grad(positive) if gather_distributed else positive
        offset = dist_utils.rank() * len(query) if gather_distributed else 0
        targets = torch.arange(len(query), device=query.device) + offset
        losses = similarity_cross_entropy(query, keys, targets, None, temperature, chunk_size)
        return _reduce(losses, reduction)
    negatives = _check_negatives(query, negatives)
    if normalize:
        negatives = F.normalize(negatives, dim=-1)
    logits = _explicit_logits(query, positive, negatives, temperature)
    zeros = torch.zeros(len(query), dtype=torch.long, device=query.device)
    return _reduce(F.cross_entropy(logits, zeros, reduction="none"), reduction)


def _explicit_logits(query: torch.Tensor, positive: torch.Tensor, negatives: torch.Tensor, temperature: float) -> torch.Tensor:
    """(B, 1 + K) logits ``[q·p, q·n_1, ..., q·n_K] / temperature`` (no checks, no normalisation).

    Computed in float32 at least (also under autocast / for fp16 inputs): unnormalised half-precision dot
    products overflow."""
    query, positive, negatives = _at_least_float32(query), _at_least_float32(positive), _at_least_float32(negatives)
    with torch.autocast(device_type=query.device.type, enabled=False):
        pos_logit = (query * positive).sum(-1, keepdim=True)
        if negatives.ndim == 2:
            neg_logits = query @ negatives.T
        else:
            neg_logits = torch.einsum("bd,bkd->bk", query, negatives)
        return torch.cat([pos_logit, neg_logits], dim=1) / temperature


def info_nce_logits(
    query: torch.Tensor,
    positive: torch.Tensor,
    negatives: torch.Tensor,
    temperature: float = 0.1,
    normalize: bool = True,
) -> torch.Tensor:
    """The logits :func:`info_nce` classifies when given explicit negatives.

    ``info_nce(q, p, n, t, normalize) == F.cross_entropy(info_nce_logits(q, p, n, t, normalize), zeros)``,
    so a caller can report accuracies from the very logits it trains on
    (e.g. :class:`multissl.cpc.CPCCriterion`).

    Args:
        query, positive: (B, D).
        negatives: (B, K, D) per-query or (K, D) shared negatives.
    Returns:
        (B, 1 + K) logits; column 0 is the positive.
    """
    check_ndim("query", query, 2, "(B, D)")
    check_same_shape("query", query, "positive", positive)
    check_positive("temperature", temperature)
    check_finite("query", query)
    check_finite("positive", positive)
    negatives = _check_negatives(query, negatives)
    if normalize:
        query, positive, negatives = F.normalize(query, dim=-1), F.normalize(positive, dim=-1), F.normalize(negatives, dim=-1)
    return _explicit_logits(query, positive, negatives, temperature)


def _check_negatives(query: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
    if not isinstance(negatives, torch.Tensor) or negatives.ndim not in (2, 3):
        shape = tuple(negatives.shape) if isinstance(negatives, torch.Tensor) else type(negatives).__name__
        raise ValueError(f"negatives must have shape (B, K, D) or (K, D), got {shape}")
    check_dim_equal("query", query.shape[-1], "negatives", negatives.shape[-1], "feature dimension D")
    if negatives.ndim == 3:
        check_dim_equal("query", query.shape[0], "negatives", negatives.shape[0], "batch size B")
    if negatives.shape[-2] == 0:
        raise ValueError(f"negatives has K=0 negatives (shape {tuple(negatives.shape)}): InfoNCE needs at least one")
    check_finite("negatives", negatives)
    return negatives


def nt_xent(
    z0: torch.Tensor,
    z1: torch.Tensor,
    temperature: float = 0.5,
    normalize: bool = True,
    chunk_size: Optional[int] = None,
    gather_distributed: bool = True,
    reduction: str = "mean",
) -> torch.Tensor:
    """SimCLR's NT-Xent loss over 2B views (functional form of :class:`NTXentLoss`).

    Each of the 2B embeddings is a query whose positive is the other view of
    the same sample and whose negatives are the remaining 2B-2 embeddings (all
    ranks' under DDP). Logits form a 2B x (2B-1) matrix: the diagonal is
    masked out, and a stable log-sum-exp cross-entropy is used, so small
    temperatures (0.01) do not overflow.

    Args:
        z0, z1: (B, D) embeddings of the two views.
    Returns:
        Scalar loss (mean over the 2B queries), or (2B,) with ``reduction="none"``.
    """
    check_ndim("z0", z0, 2, "(B, D)")
    check_same_shape("z0", z0, "z1", z1)
    check_positive("temperature", temperature)
    check_finite("z0", z0)
    check_finite("z1", z1)
    if normalize:
        z0, z1 = F.normalize(z0, dim=-1), F.normalize(z1, dim=-1)
    gather = gather_distributed and dist_utils.is_distributed()
    if len(z0) < 2 and not gather:
        raise ValueError(f"NT-Xent needs a batch of at least 2 samples for negatives, got z0 {tuple(z0.shape)}")
    keys0 = dist_utils.gather_with_grad(z0) if gather else z0
    keys1 = dist_utils.gather_with_grad(z1) if gather else z1
    keys = torch.cat([keys0, keys1])
    b, n = len(z0), len(keys0)
    own = torch.arange(b, device=z0.device) + (dist_utils.rank() * b if gather else 0)
    queries = torch.cat([z0, z1])
    targets = torch.cat([own + n, own])
    exclude = torch.cat([own, own + n])
    losses = similarity_cross_entropy(queries, keys, targets, exclude, temperature, chunk_size)
    return _reduce(losses, reduction)


class NTXentLoss(nn.Module):
    """SimCLR's normalised temperature-scaled cross-entropy, called as ``loss(z0, z1)``.

    Args:
        temperature: 0.5 is SimCLR's CIFAR default (0.1 for ImageNet).
        chunk_size: build logits this many queries at a time (None: all at once).
        gather_distributed: use negatives from every rank under DDP.
    Shapes: ``z0``, ``z1``: (B, D) -> scalar.
    """

    def __init__(self, temperature: float = 0.5, chunk_size: Optional[int] = None, gather_distributed: bool = True):
        super().__init__()
        check_positive("temperature", temperature)
        self.temperature = temperature
        self.chunk_size = chunk_size
        self.gather_distributed = gather_distributed

    def forward(self, z0: torch.Tensor, z1: torch.Tensor) -> torch.Tensor:
        return nt_xent(z0, z1, self.temperature, True, self.chunk_size, self.gather_distributed)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, chunk_size={self.chunk_size}"


class InfoNCELoss(nn.Module):
    """InfoNCE as a module (wraps :func:`info_nce`), called as ``loss = criterion(query, positive[, negatives])``.

    Args:
        temperature: softmax temperature (> 0).
        normalize: cosine similarities (``False``: raw dot products, as CPC/MoCo with normalised features).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        chunk_size: in-batch mode only: build logits this many queries at a time.
        gather_distributed: in-batch mode only: use keys from every rank under DDP.
    Shapes: ``query``, ``positive``: (B, D); ``negatives``: ``None`` (in-batch:
    the other rows of ``positive``), (B, K, D) or (K, D) -> scalar, or (B,) with
    ``reduction="none"``.

    Example::

        criterion = InfoNCELoss(temperature=0.2)
        loss = criterion(q, k)            # in-batch negatives
        loss = criterion(q, k, queue)     # (K, D) shared negatives, e.g. MoCo's queue
    """

    def __init__(self, temperature: float = 0.1, normalize: bool = True, reduction: str = "mean",
                 chunk_size: Optional[int] = None, gather_distributed: bool = True):
        super().__init__()
        check_positive("temperature", temperature)
        check_choice("reduction", reduction, ("mean", "sum", "none"))
        if chunk_size is not None:
            check_positive("chunk_size", chunk_size)
        self.temperature = temperature
        self.normalize = normalize
        self.reduction = reduction
        self.chunk_size = chunk_size
        self.gather_distributed = gather_distributed

    def forward(self, query: torch.Tensor, positive: torch.Tensor, negatives: Optional[torch.Tensor] = None) -> torch.Tensor:
        return info_nce(query, positive, negatives, self.temperature, self.normalize, self.reduction,
                        self.chunk_size, self.gather_distributed)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, normalize={self.normalize}, reduction={self.reduction!r}"


# --------------------------------------------------------------------------- #
# word2vec
# --------------------------------------------------------------------------- #
def negative_sampling_loss(
    center: torch.Tensor,
    context: torch.Tensor,
    negatives: torch.Tensor,
    reduction: str = "mean",
) -> torch.Tensor:
    """word2vec's negative-sampling objective (Mikolov et al. 2013).

    ``-log σ(c·o) - Σ_k log σ(-c·n_k)`` per pair, with ``c`` the input vector
    of the centre word (skip-gram) or the mean of the context (CBOW), ``o``
    the output vector of the word to predict and ``n_k`` output vectors of K
    noise words.

    Args:
        center: (B, D).
        context: (B, D) output vectors of the true words.
        negatives: (B, K, D) output vectors of the noise words.
    Returns:
        Scalar (``"mean"``/``"sum"`` over pairs) or (B,) losses.
    """
    check_ndim("center", center, 2, "(B, D)")
    check_same_shape("center", center, "context", context)
    check_ndim("negatives", negatives, 3, "(B, K, D)")
    check_dim_equal("center", center.shape[0], "negatives", negatives.shape[0], "batch size B")
    check_dim_equal("center", center.shape[1], "negatives", negatives.shape[2], "feature dimension D")
    check_finite("center", center)
    pos = F.logsigmoid((center * context).sum(-1))
    neg = F.logsigmoid(-torch.einsum("bd,bkd->bk", center, negatives)).sum(-1)
    return _reduce(-(pos + neg), reduction)


class NegativeSamplingLoss(nn.Module):
    """word2vec's negative-sampling loss as a module (wraps :func:`negative_sampling_loss`).

    Called as ``loss = criterion(center, context, negatives)``.
    Shapes: ``center``, ``context``: (B, D); ``negatives``: (B, K, D) -> scalar,
    or (B,) with ``reduction="none"``.

    Example::

        criterion = NegativeSamplingLoss()
        loss = criterion(inputs(center_ids), outputs(context_ids), outputs(noise_ids))  # noise_ids (B, K)
    """

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        check_choice("reduction", reduction, ("mean", "sum", "none"))
        self.reduction = reduction

    def forward(self, center: torch.Tensor, context: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
        return negative_sampling_loss(center, context, negatives, self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


# --------------------------------------------------------------------------- #
# Deep InfoMax mutual-information estimators
# --------------------------------------------------------------------------- #
def mi_loss(scores: torch.Tensor, positive: torch.Tensor, estimator: str = "jsd") -> torch.Tensor:
    """Negative mutual-information lower bound from a score matrix (Hjelm et al. 2019).

    Row i scores one sample against C candidates; ``positive[i]`` is the
    column of its positive pair, every other column is a negative pair.

    - ``"jsd"``: Jensen-Shannon: ``E_pos[-sp(-s)] - E_neg[sp(s)]``.
    - ``"dv"``: Donsker-Varadhan: ``E_pos[s] - log E_neg[exp(s)]``.
    - ``"infonce"``: ``E_i[s_i,pos - logsumexp_j s_ij]`` (up to log C).

    Args:
        scores: (N, C) critic scores.
        positive: (N,) long, column of each row's positive.
    Returns:
        Scalar loss (the negated bound, to minimise).
    """
    check_ndim("scores", scores, 2, "(N, C)")
    check_choice("estimator", estimator, MI_ESTIMATORS)
    if positive.shape != scores.shape[:1]:
        raise ValueError(f"positive must have shape ({scores.shape[0]},), got {tuple(positive.shape)}")
    if scores.shape[1] < 2:
        raise ValueError(f"scores need at least 2 columns (a positive and a negative), got {tuple(scores.shape)}")
    check_finite("scores", scores)
    if estimator == "infonce":
        return F.cross_entropy(scores, positive)
    pos_mask = F.one_hot(positive, scores.shape[1]).bool()
    pos = scores[pos_mask]
    neg = scores[~pos_mask]
    if estimator == "jsd":
        return F.softplus(-pos).mean() + F.softplus(neg).mean()
    return -pos.mean() + torch.logsumexp(neg, dim=0) - math.log(neg.numel())


def local_global_mi_loss(local: torch.Tensor, global_: torch.Tensor, estimator: str = "jsd") -> torch.Tensor:
    """Deep InfoMax local-global objective.

    Every local feature of image b is paired with the global vector of every
    image; the pair with its own image is positive.

    Args:
        local: (B, N, D) local features (N = M·M positions).
        global_: (B, D) global features.
    Returns:
        Scalar loss.
    """
    check_ndim("local", local, 3, "(B, N, D)")
    check_ndim("global_", global_, 2, "(B, D)")
    check_dim_equal("local", local.shape[0], "global_", global_.shape[0], "batch size B")
    check_dim_equal("local", local.shape[2], "global_", global_.shape[1], "feature dimension D")
    b, n, _ = local.shape
    scores = torch.einsum("bnd,kd->bnk", local, global_).reshape(b * n, b)
    positive = torch.arange(b, device=local.device).repeat_interleave(n)
    return mi_loss(scores, positive, estimator)


class DIMLoss(nn.Module):
    """Deep InfoMax objective with the MI estimator as an argument (wraps :func:`local_global_mi_loss` / :func:`mi_loss`).

    Args:
        estimator: ``"jsd"`` (DIM's default), ``"dv"`` (Donsker-Varadhan) or ``"infonce"``.
    Called as ``loss = criterion(x, y)`` with one of three layouts (scalar result):

    - ``local`` (B, N, D), ``global_`` (B, D): local-global DIM; every local
      feature is scored against every image's global vector, its own is the positive;
    - ``x`` (B, D), ``y`` (B, D): global pairs; the scores are ``x @ y.T`` and
      the diagonal is positive (the N = 1 case of the above);
    - ``scores`` (N, C) float, ``positive`` (N,) integer column of each row's
      positive: a precomputed critic (:func:`mi_loss`).

    Example::

        criterion = DIMLoss(estimator="jsd")
        loss = criterion(local_features, global_code)          # (B, M*M, D), (B, D)
        loss = criterion(scores, torch.arange(len(scores)))    # (B, B) scores
    """

    def __init__(self, estimator: str = "jsd"):
        super().__init__()
        check_choice("estimator", estimator, MI_ESTIMATORS)
        self.estimator = estimator

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
            raise ValueError(f"DIMLoss takes two tensors, got {type(x).__name__} and {type(y).__name__}")
        if not y.is_floating_point():
            return mi_loss(x, y, self.estimator)
        if x.ndim == 3:
            return local_global_mi_loss(x, y, self.estimator)
        if x.ndim == 2 and y.ndim == 2:
            return local_global_mi_loss(x.unsqueeze(1), y, self.estimator)
        raise ValueError("DIMLoss expects (local (B, N, D), global (B, D)), (x (B, D), y (B, D)) or "
                         f"(scores (N, C), positive (N,) integer), got {tuple(x.shape)} and {tuple(y.shape)} {y.dtype}")

    def extra_repr(self) -> str:
        return f"estimator={self.estimator!r}"


# --------------------------------------------------------------------------- #
# BYOL
# --------------------------------------------------------------------------- #
def byol_loss(prediction: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """BYOL's normalised MSE ``||p/|p| - z/|z|||² = 2 - 2 cos(p, z)``.

    The caller applies stop-gradient to ``target`` (BYOL passes the target
    network's projection). Shapes: (B, D), (B, D) -> scalar (or (B,)).
    """
    check_ndim("prediction", prediction, 2, "(B, D)")
    check_same_shape("prediction", prediction, "target", target)
    check_finite("prediction", prediction)
    check_finite("target", target)
    losses = 2 - 2 * F.cosine_similarity(prediction, target, dim=-1)
    return _reduce(losses, reduction)


class BYOLLoss(nn.Module):
    """BYOL's normalised MSE as a module (wraps :func:`byol_loss`), called as ``loss = criterion(prediction, target)``.

    The target is used as given: pass the (no-grad) target network's
    projection. Shapes: (B, D), (B, D) -> scalar, or (B,) with ``reduction="none"``.

    Example::

        criterion = BYOLLoss()
        loss = criterion(p0, z1.detach()) + criterion(p1, z0.detach())  # symmetrised, as BYOL
    """

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        check_choice("reduction", reduction, ("mean", "sum", "none"))
        self.reduction = reduction

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return byol_loss(prediction, target, self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


__all__ = [
    "BYOLLoss",
    "DIMLoss",
    "InfoNCELoss",
    "MI_ESTIMATORS",
    "NTXentLoss",
    "NegativeSamplingLoss",
    "byol_loss",
    "info_nce",
    "info_nce_logits",
    "local_global_mi_loss",
    "mi_loss",
    "negative_sampling_loss",
    "nt_xent",
    "similarity_cross_entropy",
]
