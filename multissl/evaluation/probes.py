"""What did the representation learn? Probes, clustering scores and pictures.

- :func:`extract_features` runs a frozen encoder over data (:mod:`.features`).
- :func:`linear_probe` trains a multinomial logistic regression on frozen
  features and reports test accuracy: full-batch L-BFGS on small sets,
  minibatches (:mod:`.logistic`) when L-BFGS's copies would pass
  :data:`~multissl.evaluation.logistic.FULL_BATCH_MEMORY`.
- :func:`knn_classify` is the weighted cosine kNN classifier of Wu et al. (2018),
  computed block by block with a running top-k (:mod:`.knn`).
- :func:`clustering_scores` runs k-means and reports NMI, ARI and silhouette;
  it refuses (:class:`TooFewToCluster`) fewer than 2 items per cluster.
- :func:`plot_embedding` draws a t-SNE (or PCA) scatter coloured by label;
  :func:`project_2d` gives its 2-D coordinates.

Features are (N, D) float arrays or tensors, labels (N,) integers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F

from ..checks import shown
from ..figures import colormap, new_figure, save_figure
from . import logistic
from .features import extract_features
from .knn import knn_classify
from .validate import Array, check_same_dim, features_of as _features, labels_of as _labels


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
    ``solver``: ``"lbfgs"`` or ``"minibatch"``, the one that fitted it.
    """

    accuracy: float
    train_accuracy: float
    test_log_probs: Optional[torch.Tensor] = field(default=None, repr=False)
    solver: str = field(default="lbfgs", compare=False)

    def as_dict(self) -> Dict[str, float]:
        return {"accuracy": self.accuracy, "train_accuracy": self.train_accuracy}


WEIGHT_DECAY_GRID = logistic.WEIGHT_DECAY_GRID
SOLVERS = ("auto", "lbfgs", "minibatch")


def linear_probe(
    train_features: Array,
    train_labels: Array,
    test_features: Array,
    test_labels: Array,
    weight_decay: Union[float, str] = 1e-4,
    max_iter: int = 200,
    seed: int = 0,
    keep_log_probs: bool = False,
    solver: str = "auto",
    device: Optional[Union[str, torch.device]] = None,
) -> ProbeResult:
    """Multinomial logistic regression on standardised frozen features.

    Minimises mean cross-entropy + ``weight_decay * ||W||²`` (deterministic for
    a given seed). ``solver="auto"``: full-batch L-BFGS (``max_iter``
    iterations) when its standardised copies and logits need at most
    :data:`~multissl.evaluation.logistic.FULL_BATCH_MEMORY` (1 GiB) beyond the
    features (:func:`~multissl.evaluation.logistic.full_batch_bytes`), else the
    minibatch recipe of :mod:`multissl.evaluation.logistic` on ``device``
    (default CPU; the features are never copied, batches are standardised on
    the fly); ``"lbfgs"`` / ``"minibatch"`` force one.
    ``weight_decay="auto"`` picks the penalty on a held-out fifth of the
    training set from :data:`WEIGHT_DECAY_GRID` (minibatch: with fits of a
    quarter of the epochs), then refits on all of it. Features: (N, D); labels: (N,) ints.
    ``keep_log_probs``: also return the test items' class log-probabilities.
    """
    xtr, xte = _features("train_features", train_features), _features("test_features", test_features)
    ytr = _labels("train_labels", train_labels, len(xtr), "train_features")
    yte = _labels("test_labels", test_labels, len(xte), "test_features")
    check_same_dim(xtr, xte)
    if not (weight_decay == "auto" or (not isinstance(weight_decay, str) and weight_decay >= 0)):
        raise ValueError(f"weight_decay must be >= 0 or 'auto', got {shown(weight_decay)!r}")
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    classes = int(max(ytr.max(), yte.max())) + 1
    if solver == "auto":
        needed = logistic.full_batch_bytes(len(xtr), len(xte), xtr.shape[1], classes, weight_decay == "auto")
        solver = "lbfgs" if needed <= logistic.FULL_BATCH_MEMORY else "minibatch"
    if solver == "minibatch":
        return _fit_minibatch(xtr, ytr, xte, yte, classes, weight_decay, seed, keep_log_probs, device)
    if weight_decay == "auto":
        weight_decay = _select_weight_decay(xtr, ytr, max_iter, seed)
    return _fit_logistic(xtr, ytr, xte, yte, float(weight_decay), max_iter, seed, keep_log_probs)


def _fit_minibatch(xtr, ytr, xte, yte, classes: int, weight_decay: Union[float, str], seed: int, keep_log_probs: bool,
                   device) -> ProbeResult:
    device = torch.device(device) if device is not None else torch.device("cpu")
    epochs = logistic.epochs_for(len(xtr))
    if weight_decay == "auto":
        weight_decay = logistic.select_weight_decay(xtr, ytr, classes, epochs, seed, device)
    mean, std = logistic.moments(xtr)
    train = logistic.Standardized(xtr, mean, std, device)
    weight, bias = logistic.fit_minibatch(train, ytr, torch.arange(len(xtr)), classes, float(weight_decay), epochs, seed)
    test = logistic.Standardized(xte, mean, std, device)
    return ProbeResult(logistic.accuracy_of(test, yte, weight, bias), logistic.accuracy_of(train, ytr, weight, bias),
                       logistic.log_probs(test, weight, bias) if keep_log_probs else None, solver="minibatch")


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


def knn_accuracy(train_features: Array, train_labels: Array, test_features: Array, test_labels: Array, k: int = 20,
                 temperature: float = 0.07, device: Optional[Union[str, torch.device]] = None) -> float:
    """Accuracy of :func:`knn_classify` on the test set (blocks compared on ``device``, default CPU)."""
    pred = knn_classify(train_features, train_labels, test_features, k, temperature, device=device)
    yte = _labels("test_labels", test_labels, len(pred), "test_features")
    return float((pred == yte).float().mean())


MIN_ITEMS_PER_CLUSTER = 2


class TooFewToCluster(ValueError):
    """k-means asked for ``clusters`` clusters of ``items`` items: fewer than :data:`MIN_ITEMS_PER_CLUSTER` per cluster
    on average, where any features, even random ones, score NMI and ARI near 1 (one item per cluster: exactly 1).
    ``reason`` is the short form a report prints instead of the scores: ``"not scored: 251 items for 251 clusters"``."""

    def __init__(self, items: int, clusters: int, unit: str = "items"):
        self.items, self.clusters, self.unit = items, clusters, unit
        self.reason = f"not scored: {items} {unit} for {clusters} clusters"
        super().__init__(f"{self.reason}: clustering scores need at least {MIN_ITEMS_PER_CLUSTER} {unit} per cluster on "
                         f"average ({MIN_ITEMS_PER_CLUSTER * clusters} here); with about one per cluster any features "
                         "score NMI and ARI near 1")


def clustering_scores(features: Array, labels: Array, n_clusters: Optional[int] = None, seed: int = 0,
                      unit: str = "items") -> Dict[str, float]:
    """k-means on L2-normalised features against the true labels.

    Returns ``{"nmi", "ami", "ari", "silhouette"}``: normalised and adjusted
    (for chance) mutual information and adjusted Rand index of the k-means
    partition (k = number of labels unless given), and the silhouette of the
    true labels (cosine distance). With many clusters of few items NMI has a
    high floor (251 speakers, 2.3 items each: 0.76 for random features);
    AMI and ARI are near 0 for random features whatever the sizes.
    Features (N, D), labels (N,). Raises :class:`TooFewToCluster` (a
    ValueError; ``unit`` names the items in its message) when N < 2k: with
    about one item per cluster k-means is perfect whatever the features.
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score, normalized_mutual_info_score, silhouette_score

    x = F.normalize(_features("features", features), dim=1).numpy()
    y = _labels("labels", labels, len(x), "features").numpy()
    k = n_clusters or len(np.unique(y))
    if k < 2:
        raise ValueError(f"need n_clusters >= 2, got n_clusters={k} for N={len(x)}")
    if len(x) < MIN_ITEMS_PER_CLUSTER * k:
        raise TooFewToCluster(len(x), k, unit)
    pred = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(x)
    sil = float(silhouette_score(x, y, metric="cosine")) if len(np.unique(y)) >= 2 else float("nan")
    return {
        "nmi": float(normalized_mutual_info_score(y, pred)),
        "ami": float(adjusted_mutual_info_score(y, pred)),
        "ari": float(adjusted_rand_score(y, pred)),
        "silhouette": sil,
    }


def clustering_report(features: Array, labels: Array, unit: str = "items", n_clusters: Optional[int] = None,
                      seed: int = 0) -> Dict[str, Any]:
    """:func:`clustering_scores` for a report that must not fail: ``{"nmi", "ami", "ari", "silhouette", "clustered",
    "cluster_items", "clusters", "not_scored"}`` where ``clustered`` is ``unit`` (what was clustered, e.g.
    ``"utterances"``), and, when there are too few items (:class:`TooFewToCluster`), the three scores are None
    and ``not_scored`` holds the reason (``"not scored: 251 utterances for 251 clusters"``; else None)."""
    n = len(features)
    k = n_clusters or len(np.unique(np.asarray(labels)))
    record: Dict[str, Any] = {"clustered": unit, "cluster_items": int(n), "clusters": int(k), "not_scored": None}
    try:
        record.update(clustering_scores(features, labels, n_clusters, seed, unit))
    except TooFewToCluster as refused:
        record.update(nmi=None, ami=None, ari=None, silhouette=None, not_scored=refused.reason)
    return record


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
    xy = project_2d(x, method, seed)
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


def project_2d(x: np.ndarray, method: str = "tsne", seed: int = 0) -> np.ndarray:
    """(N, 2) coordinates of ``x`` (N, D): ``"tsne"`` (scikit-learn's t-SNE on cosine distances, perplexity
    scaled to N) or ``"pca"``; PCA also for fewer than 5 points, where t-SNE has nothing to work with."""
    if method == "pca" or len(x) < 5:
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(x)
    if method != "tsne":
        raise ValueError(f"method must be 'tsne' or 'pca', got {method!r}")
    from sklearn.manifold import TSNE

    perplexity = float(min(30, max(2, (len(x) - 1) // 3)))
    return TSNE(n_components=2, perplexity=perplexity, metric="cosine", init="pca", random_state=seed).fit_transform(x)


__all__ = [
    "MIN_ITEMS_PER_CLUSTER",
    "ProbeResult",
    "SOLVERS",
    "TooFewToCluster",
    "WEIGHT_DECAY_GRID",
    "clustering_report",
    "clustering_scores",
    "extract_features",
    "knn_accuracy",
    "knn_classify",
    "linear_probe",
    "standardized",
    "plot_embedding",
    "project_2d",
]
