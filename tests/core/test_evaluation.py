import numpy as np
import pytest
import torch

from multissl.evaluation import clustering_scores, extract_features, knn_accuracy, knn_classify, linear_probe, plot_embedding


def _blobs(n=600, classes=4, dim=10, spread=0.5, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(classes, dim)) * 3
    y = rng.integers(0, classes, n)
    return (centers[y] + rng.normal(size=(n, dim)) * spread).astype(np.float32), y


def test_linear_probe_separable_and_linearly_inseparable_features():
    x, y = _blobs()
    assert linear_probe(x[:400], y[:400], x[400:], y[400:]).accuracy > 0.98
    # XOR labels: no linear probe beats chance by much, a kNN does
    rng = np.random.default_rng(1)
    pts = rng.uniform(-1, 1, size=(800, 2)).astype(np.float32)
    xor = ((pts[:, 0] > 0) ^ (pts[:, 1] > 0)).astype(int)
    assert linear_probe(pts[:600], xor[:600], pts[600:], xor[600:]).accuracy < 0.7


def test_linear_probe_reproduces_known_accuracy_on_label_noise():
    """Separable features with 20% of test labels flipped: accuracy is exactly 0.8."""
    x, y = _blobs(500, classes=2, spread=0.1)
    y_test = y[400:].copy()
    y_test[:20] = 1 - y_test[:20]
    assert linear_probe(x[:400], y[:400], x[400:], y_test).accuracy == pytest.approx(0.8)


def test_linear_probe_auto_weight_decay_is_chosen_on_held_out_training_data():
    from multissl.evaluation.probes import WEIGHT_DECAY_GRID, _select_weight_decay

    x, y = _blobs(300, classes=3, dim=40, spread=3.0, seed=5)
    chosen = _select_weight_decay(torch.from_numpy(x[:200]), torch.from_numpy(y[:200]), 200, 0)
    # the choice is the best held-out accuracy over the grid, on the same 80/20 split
    order = torch.randperm(200, generator=torch.Generator().manual_seed(0))
    val, fit = order[:40].numpy(), order[40:].numpy()
    held_out = [linear_probe(x[fit], y[fit], x[val], y[val], weight_decay=wd).accuracy for wd in WEIGHT_DECAY_GRID]
    assert chosen == WEIGHT_DECAY_GRID[int(np.argmax(held_out))]
    auto = linear_probe(x[:200], y[:200], x[200:], y[200:], weight_decay="auto")
    assert auto == linear_probe(x[:200], y[:200], x[200:], y[200:], weight_decay=chosen)
    with pytest.raises(ValueError, match="weight_decay must be >= 0 or 'auto'"):
        linear_probe(x, y, x, y, weight_decay="best")


def test_knn_matches_brute_force_majority_vote():
    x, y = _blobs(300, classes=3, spread=2.0, seed=3)
    pred = knn_classify(x[:200], y[:200], x[200:], k=5, temperature=1e6)  # ~uniform weights
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    sims = xn[200:] @ xn[:200].T
    top = np.argsort(-sims, axis=1)[:, :5]
    brute = np.array([np.bincount(y[:200][t], minlength=3).argmax() for t in top])
    assert (pred.numpy() == brute).mean() > 0.97  # ties may break differently
    assert knn_accuracy(x[:200], y[:200], x[200:], y[200:], k=5) > 0.6


def test_clustering_scores_perfect_and_random():
    x, y = _blobs(300, classes=3, spread=0.1)
    good = clustering_scores(x, y)
    assert good["nmi"] > 0.99 and good["ari"] > 0.99 and good["silhouette"] > 0.5
    noise = np.random.default_rng(0).normal(size=(300, 10))
    bad = clustering_scores(noise, y)
    assert bad["nmi"] < 0.1


def test_plot_embedding_writes_png(tmp_path):
    x, y = _blobs(120)
    path = plot_embedding(x, y, tmp_path / "sub" / "e.png", label_names=["a", "b", "c", "d"])
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert plot_embedding(x, y, tmp_path / "p.png", method="pca").stat().st_size > 1000


def test_extract_features_eval_mode_and_batches():
    enc = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Dropout(0.9))
    enc.train()
    x = torch.randn(50, 4)
    f1, f2 = extract_features(enc, x, batch_size=7), extract_features(enc, x, batch_size=50)
    assert f1.shape == (50, 3) and torch.allclose(f1, f2)  # dropout off
    assert enc.training  # restored
    loader = [(x[:20], 0), (x[20:], 0)]
    assert torch.allclose(extract_features(enc, loader), f1)


def test_bad_input():
    x, y = _blobs(50)
    with pytest.raises(ValueError, match=r"train_labels must have shape \(40,\) to match train_features, got \(39,\)"):
        linear_probe(x[:40], y[:39], x[40:], y[40:])
    with pytest.raises(ValueError, match=r"differ in D"):
        knn_accuracy(x[:40], y[:40], x[40:, :3], y[40:])
    with pytest.raises(ValueError, match=r"features must have shape \(N, D\), got \(50,\)"):
        clustering_scores(x[:, 0], y)
    with pytest.raises(ValueError, match="NaN or Inf"):
        linear_probe(np.full((10, 2), np.nan), np.zeros(10, int), x[:5, :2], y[:5])
    with pytest.raises(ValueError, match="integer class labels"):
        knn_accuracy(x, y.astype(float), x, y)


def test_clustering_refuses_about_one_item_per_cluster_and_random_features_score_low():
    from multissl.evaluation import TooFewToCluster, clustering_report

    rng = np.random.default_rng(0)
    with pytest.raises(TooFewToCluster, match=r"not scored: 20 items for 20 clusters") as refused:
        clustering_scores(rng.normal(size=(20, 8)), np.arange(20))  # one item per class: k-means is perfect on anything
    assert (refused.value.items, refused.value.clusters) == (20, 20) and isinstance(refused.value, ValueError)
    with pytest.raises(TooFewToCluster, match="39 windows for 20 clusters"):
        clustering_scores(rng.normal(size=(39, 8)), np.arange(39) % 20, unit="windows")
    assert clustering_scores(rng.normal(size=(40, 8)), np.arange(40) % 20)["nmi"] >= 0  # two per cluster: scored
    # many items per class: random features score near zero, structured ones near one
    y = np.repeat(np.arange(5), 40)
    noise = clustering_scores(rng.normal(size=(200, 16)), y)
    assert noise["nmi"] < 0.1 and abs(noise["ami"]) < 0.05 and abs(noise["ari"]) < 0.05 and noise["silhouette"] < 0.05
    x, labels = _blobs(200, classes=5, dim=16, spread=0.3)
    structured = clustering_scores(x, labels)
    assert structured["nmi"] > 0.9 and structured["ami"] > 0.9 and structured["ari"] > 0.9
    # many clusters of few items: NMI keeps a high floor for random features, AMI does not
    few = clustering_scores(rng.normal(size=(120, 16)), np.arange(120) % 50)
    assert few["nmi"] > 0.5 and abs(few["ami"]) < 0.1
    report = clustering_report(rng.normal(size=(251, 8)), np.arange(251), "utterances")
    assert report == {"clustered": "utterances", "cluster_items": 251, "clusters": 251, "nmi": None, "ami": None, "ari": None,
                      "silhouette": None, "not_scored": "not scored: 251 utterances for 251 clusters"}
    assert clustering_report(x, labels, "windows")["not_scored"] is None
