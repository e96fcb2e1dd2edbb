"""What did the representation learn? Probes, clustering scores and pictures.

- :func:`extract_features` runs a frozen encoder over data.
- :func:`linear_probe` trains a multinomial logistic regression on frozen
  features and reports test accuracy.
- :func:`knn_classify` is the weighted cosine kNN classifier of Wu et al. (2018).
- :func:`clustering_scores` runs k-means and reports NMI, ARI and silhouette.
- :func:`plot_embedding` draws a t-SNE (or PCA) scatter coloured by label.

Features are (N, D) float arrays or tensors, labels (N,) integers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..checks import check_positive
from ..figures import colormap, new_figure, save_figure

Array = Union[np.ndarray, torch.Tensor]


def _features(name: str, x: Array) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x).detach().cpu()
    if t.ndim != 2:
        raise ValueError(f"{name} must have shape (N, D), got {tuple(t.shape)}")
    if len(t) == 0:
        raise ValueError(f"{name} is empty")
    t = t.float()
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} of shape {tuple(t.shape)} contains NaN or Inf")
    return t


def _labels(name: str, y: Array, n: int, features_name: str) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y).detach().cpu()
    if t.ndim != 1 or len(t) != n:
        raise ValueError(f"{name} must have shape ({n},) to match {features_name}, got {tuple(t.shape)}")
    if t.is_floating_point():
        raise ValueError(f"{name} must hold integer class labels, got dtype {t.dtype}")
    return t.long()


@torch.no_grad()
def extract_features(
    encoder: Callable[[torch.Tensor], torch.Tensor],
    data: Union[torch.Tensor, Iterable],
    batch_size: int = 256,
    device: Optional[Union[str, torch.device]] = None,
    verbose: bool = False,
) -> torch.Tensor:
    """Run ``encoder`` over ``data`` in eval mode and stack the outputs.

    Args:
        encoder: maps a batch (B, ...) to features (B, D) (an ``nn.Module`` is
            put in eval mode for the call and restored afterwards).
        data: a tensor (N, ...) or an iterable of batches (tensors, or tuples
            whose first element is the input).
    Returns:
        (N, D) float32 CPU tensor.
    """
    check_positive("batch_size", batch_size)
    was_training = getattr(encoder, "training", None)
    if was_training is not None:
        encoder.eval()
    if device is None and isinstance(encoder, torch.nn.Module):
        param = next(encoder.parameters(), None)
        device = param.device if param is not None else "cpu"
    batches = data.split(batch_size) if isinstance(data, torch.Tensor) else data
    out = []
    try:
        for batch in tqdm(batches, desc="features", disable=None if verbose else True, leave=False):
            x = batch[0] if isinstance(batch, (tuple, list)) else batch
            out.append(encoder(x.to(device)).float().flatten(1).cpu())
    finally:
        if was_training:
            encoder.train()
    if not out:
        raise ValueError("no data to extract features from")
    return torch.cat(out)


def standardized(x: torch.Tensor) -> torch.Tensor:
    """(N, D) with every dimension at mean 0 and standard deviation 1 over the N rows (constant dimensions left at 0)."""
    std = x.std(0, correction=0)
    return (x - x.mean(0)) / torch.where(std > 0, std, torch.ones_like(std))


def _standardize(train: torch.Tensor, test: torch.Tensor):
    mean, std = train.mean(0), train.std(0).clamp_min(1e-6)
    return (train - mean) / std, (test - mean) / std


@dataclass
class ProbeResult:
    """Accuracy of a probe; ``train_accuracy`` shows under/over-fitting.

    ``test_log_probs`` (N_test, C): the class log-probabilities of every test
    item, kept only when the probe is asked for them (``keep_log_probs=True``).
    """

    accuracy: float
    train_accuracy: float
    test_log_probs: Optional[torch.Tensor] = field(default=None, repr=False)

    def as_dict(self) -> Dict[str, float]:
        return {"accuracy": self.accuracy, "train_accuracy": self.train_accuracy}


WEIGHT_DECAY_GRID = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)


def linear_probe(
    train_features: Array,
    train_labels: Array,
    test_features: Array,
    test_labels: Array,
    weight_decay: Union[float, str] = 1e-4,
    max_iter: int = 200,
    seed: int = 0,
    keep_log_probs: bool = False,
) -> ProbeResult:
    """Multinomial logistic regression on standardised frozen features.

    Full-batch L-BFGS with an L2 penalty ``weight_decay`` (deterministic for
    a given seed). ``weight_decay="auto"`` picks the penalty from
    :data:`WEIGHT_DECAY_GRID` on a held-out fifth of the training set, then
    refits on all of it. Features: (N, D); labels: (N,) ints.
    ``keep_log_probs``: also return the test items' class log-probabilities.
    """
    xtr, xte = _features("train_features", train_features), _features("test_features", test_features)
    ytr = _labels("train_labels", train_labels, len(xtr), "train_features")
    yte = _labels("test_labels", test_labels, len(xte), "test_features")
    if xtr.shape[1] != xte.shape[1]:
        raise ValueError(f"train_features {tuple(xtr.shape)} and test_features {tuple(xte.shape)} differ in D")
    if weight_decay == "auto":
        weight_decay = _select_weight_decay(xtr, ytr, max_iter, seed)
    elif isinstance(weight_decay, str) or weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0 or 'auto', got {weight_decay!r}")
    return _fit_logistic(xtr, ytr, xte, yte, float(weight_decay), max_iter, seed, keep_log_probs)


def _select_weight_decay(x: torch.Tensor, y: torch.Tensor, max_iter: int, seed: int) -> float:
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    n_val = max(1, len(x) // 5)
    val, fit = order[:n_val], order[n_val:]
    scores = [_fit_logistic(x[fit], y[fit], x[val], y[val], wd, max_iter, seed).accuracy for wd in WEIGHT_DECAY_GRID]
    return WEIGHT_DECAY_GRID[int(np.argmax(scores))]


def _fit_logistic(xtr, ytr, xte, yte, weight_decay: float, max_iter: int, seed: int, keep_log_probs: bool = False) -> ProbeResult:
    xtr, xte = _standardize(xtr, xte)
    num_classes = int(max(ytr.max(), yte.max())) + 1
    g = torch.Generator().manual_seed(seed)
    weight = (torch.randn(xtr.shape[1], num_classes, generator=g) * 0.01).requires_grad_()
    bias = torch.zeros(num_classes, requires_grad=True)
    opt = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=max_iter, history_size=20, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(xtr @ weight + bias, ytr) + weight_decay * weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        train_acc = float(((xtr @ weight + bias).argmax(1) == ytr).float().mean())
        test_logits = xte @ weight + bias
        test_acc = float((test_logits.argmax(1) == yte).float().mean())
    return ProbeResult(test_acc, train_acc, F.log_softmax(test_logits, 1) if keep_log_probs else None)


def knn_classify(
    train_features: Array,
    train_labels: Array,
    test_features: Array,
    k: int = 20,
    temperature: float = 0.07,
    batch_size: int = 1024,
) -> torch.Tensor:
    """Predict labels by a similarity-weighted vote of the k nearest (cosine) neighbours.

    Each neighbour votes ``exp(cos / temperature)`` for its class (Wu et al.
    2018). Returns (N_test,) predicted labels.
    """
    xtr, xte = _features("train_features", train_features), _features("test_features", test_features)
    ytr = _labels("train_labels", train_labels, len(xtr), "train_features")
    check_positive("k", k)
    check_positive("temperature", temperature)
    if xtr.shape[1] != xte.shape[1]:
        raise ValueError(f"train_features {tuple(xtr.shape)} and test_features {tuple(xte.shape)} differ in D")
    k = min(k, len(xtr))
    xtr, xte = F.normalize(xtr, dim=1), F.normalize(xte, dim=1)
    num_classes = int(ytr.max()) + 1
    preds = []
    for chunk in xte.split(batch_size):
        sims, idx = (chunk @ xtr.T).topk(k, dim=1)
        votes = torch.zeros(len(chunk), num_classes).scatter_add_(1, ytr[idx], (sims / temperature).exp())
        preds.append(votes.argmax(1))
    return torch.cat(preds)


def knn_accuracy(train_features: Array, train_labels: Array, test_features: Array, test_labels: Array, k: int = 20, temperature: float = 0.07) -> float:
    """Accuracy of :func:`knn_classify` on the test set."""
    pred = knn_classify(train_features, train_labels, test_features, k, temperature)
    yte = _labels("test_labels", test_labels, len(pred), "test_features")
    return float((pred == yte).float().mean())


def clustering_scores(features: Array, labels: Array, n_clusters: Optional[int] = None, seed: int = 0) -> Dict[str, float]:
    """k-means on L2-normalised features against the true labels.

    Returns ``{"nmi", "ari", "silhouette"}``: normalised mutual information
    and adjusted Rand index of the k-means partition (k = number of labels
    unless given), and the silhouette of the true labels (cosine distance).
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, silhouette_score

    x = F.normalize(_features("features", features), dim=1).numpy()
    y = _labels("labels", labels, len(x), "features").numpy()
    k = n_clusters or len(np.unique(y))
    if not 2 <= k <= len(x):
        raise ValueError(f"need 2 <= n_clusters <= N, got n_clusters={k} for N={len(x)}")
    pred = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(x)
    sil = float(silhouette_score(x, y, metric="cosine")) if 2 <= len(np.unique(y)) < len(x) else float("nan")
    return {
        "nmi": float(normalized_mutual_info_score(y, pred)),
        "ari": float(adjusted_rand_score(y, pred)),
        "silhouette": sil,
    }


def plot_embedding(
    features: Array,
    labels: Array,
    path: Union[str, Path],
    method: str = "tsne",
    title: Optional[str] = None,
    label_names: Optional[Sequence[str]] = None,
    seed: int = 0,
) -> Path:
    """Write a 2-D scatter of ``features`` (N, D), one colour per label, as PNG.

    ``method``: ``"tsne"`` (scikit-learn's t-SNE on cosine distances) or
    ``"pca"``. Returns the written path.
    """
    x = _features("features", features).numpy()
    y = _labels("labels", labels, len(x), "features").numpy()
    xy = _project_2d(x, method, seed)
    classes = np.unique(y)
    cmap = colormap("tab20" if len(classes) > 10 else "tab10")
    fig = new_figure(figsize=(6.5, 6))
    ax = fig.subplots()
    for i, c in enumerate(classes):
        m = y == c
        name = label_names[c] if label_names is not None and c < len(label_names) else str(c)
        ax.scatter(xy[m, 0], xy[m, 1], s=14, color=cmap(i % cmap.N), label=name, alpha=0.85, edgecolors="none")
    if len(classes) <= 24:
        ax.legend(fontsize=7, markerscale=1.5, loc="best", ncol=2 if len(classes) > 12 else 1)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title or f"{method.upper()} of {len(x)} embeddings")
    return save_figure(fig, path, dpi=120)


def _project_2d(x: np.ndarray, method: str, seed: int) -> np.ndarray:
    if method == "pca" or len(x) < 5:
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(x)
    if method != "tsne":
        raise ValueError(f"method must be 'tsne' or 'pca', got {method!r}")
    from sklearn.manifold import TSNE

    perplexity = float(min(30, max(2, (len(x) - 1) // 3)))
    return TSNE(n_components=2, perplexity=perplexity, metric="cosine", init="pca", random_state=seed).fit_transform(x)


__all__ = [
    "ProbeResult",
    "clustering_scores",
    "extract_features",
    "knn_accuracy",
    "knn_classify",
    "linear_probe",
    "standardized",
    "plot_embedding",
]
