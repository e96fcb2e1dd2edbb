"""The probes section of benchmarks/data_scale.py: linear probe and kNN on 200,000 x 512 features.

In a fresh process: 200,000 training and 10,000 test features of 512 dimensions (float32, a
seeded mixture of 100 Gaussian classes, written in blocks into preallocated arrays), then
``linear_probe(..., weight_decay="auto")`` (above the full-batch bound: the minibatch recipe)
and ``knn_accuracy`` (k = 20). Reported: wall seconds, accuracy, and the peak RSS beyond the
features (the kernel's peak mark, reset once the features exist, minus the RSS at that moment).
Target: under 2 GB beyond the features for each.

Soundness of the minibatch recipe: on 10,000-row sets (the same mixture; the CIFAR-10 subset's
pixels at 16 x 16 when ../shared/data is present; scikit-learn's 1,797 digits) the minibatch
probe and L-BFGS, at ``weight_decay=1e-4`` and ``"auto"``. Target: within 1 point.

    python benchmarks/data_scale.py --only probes
    python benchmarks/scale/probes.py large|small     # one child, prints its JSON
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.common import current_rss_mb, peak_rss_mb, reset_peak_rss, run_worker  # noqa: E402
from benchmarks.scale.common import Section  # noqa: E402

TRAIN, TEST, DIM, CLASSES = 200_000, 10_000, 512, 100
SPREAD = 0.15  # class centres ~ N(0, SPREAD²) per dimension, unit noise: overlapping classes, accuracy below 1
SMALL = 10_000
TARGET_MB = 2048
CIFAR = ROOT.parent / "shared" / "data" / "cifar10-subset.npz"


def mixture(n_train: int, n_test: int, dim: int = DIM, classes: int = CLASSES, seed: int = 0, block: int = 10_000):
    """(x_train, y_train, x_test, y_test) float32 / int64 arrays, generated block by block into preallocated arrays."""
    import numpy as np

    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((classes, dim), dtype=np.float32) * SPREAD
    out = []
    for n in (n_train, n_test):
        x, y = np.empty((n, dim), dtype=np.float32), rng.integers(0, classes, n)
        for start in range(0, n, block):
            part = slice(start, min(n, start + block))
            x[part] = rng.standard_normal((part.stop - start, dim), dtype=np.float32)
            x[part] += centres[y[part]]
        out += [x, y]
    return tuple(out)


def _measured(fn):
    """(result, wall seconds, peak RSS in MiB above the RSS when called)."""
    import gc

    gc.collect()
    base = current_rss_mb()
    reset_peak_rss()
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start, peak_rss_mb() - base


def large_child() -> dict:
    from multissl.evaluation import knn_accuracy, linear_probe, logistic

    xtr, ytr, xte, yte = mixture(TRAIN, TEST)
    features_mb = (xtr.nbytes + xte.nbytes) / 2**20
    probe, probe_s, probe_mb = _measured(lambda: linear_probe(xtr, ytr, xte, yte, weight_decay="auto"))
    knn, knn_s, knn_mb = _measured(lambda: knn_accuracy(xtr, ytr, xte, yte, k=20))
    lbfgs_mb = logistic.full_batch_bytes(TRAIN, TEST, DIM, CLASSES, select=True) / 2**20
    return {"features_mb": features_mb, "rss_with_features_mb": current_rss_mb(), "lbfgs_estimate_mb": lbfgs_mb,
            "probe": {"solver": probe.solver, "accuracy": probe.accuracy, "train_accuracy": probe.train_accuracy,
                      "wall_s": probe_s, "beyond_features_mb": probe_mb, "epochs": logistic.epochs_for(TRAIN)},
            "knn": {"accuracy": knn, "wall_s": knn_s, "beyond_features_mb": knn_mb}}


def _small_sets():
    import numpy as np

    sets = {f"mixture {SMALL // 1000}k x {DIM}, {CLASSES} classes": mixture(SMALL, 2_000)}
    if CIFAR.is_file():
        import torch

        data = np.load(CIFAR)
        pixels = [torch.nn.functional.avg_pool2d(torch.from_numpy(data[k]).permute(0, 3, 1, 2).float() / 255, 2).flatten(1).numpy()
                  for k in ("x_train", "x_test")]
        sets["CIFAR-10 subset pixels 16x16 (10k x 768)"] = (pixels[0], data["y_train"], pixels[1], data["y_test"])
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.default_rng(0).permutation(len(digits.target))
    x, y = digits.data[order].astype(np.float32), digits.target[order]
    sets["scikit-learn digits (1400 x 64)"] = (x[:1400], y[:1400], x[1400:], y[1400:])
    return sets


def small_child() -> dict:
    from multissl.evaluation import linear_probe

    rows = []
    for name, (xtr, ytr, xte, yte) in _small_sets().items():
        for wd in (1e-4, "auto"):
            row = {"data": name, "weight_decay": wd}
            for solver in ("lbfgs", "minibatch"):
                start = time.perf_counter()
                result = linear_probe(xtr, ytr, xte, yte, weight_decay=wd, solver=solver)
                row[solver], row[f"{solver}_s"] = result.accuracy, time.perf_counter() - start
            rows.append(row)
    return {"rows": rows}


def run(args, work: Path) -> Section:
    import os

    section = Section("probes")
    section.notes.append(f"load average at the start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    large = run_worker(__file__, ["large"])
    section.notes.append(f"{TRAIN} x {DIM} train + {TEST} test features, {CLASSES} classes: {large['features_mb']:.0f} MiB; "
                         f"full-batch L-BFGS would have needed about {large['lbfgs_estimate_mb']:.0f} MiB beyond them")
    section.notes.append("kNN is weak on this mixture by construction: 512 dimensions of unit noise dominate the cosine "
                         "distances, while the class means stay linearly separable")
    for name, key in ((f"linear probe, weight_decay auto ({large['probe']['solver']}, {large['probe']['epochs']} epochs)", "probe"),
                      ("kNN, k = 20", "knn")):
        r = large[key]
        section.rows.append({"what": name, "rows": f"{TRAIN} x {DIM}", "wall_s": round(r["wall_s"], 1),
                             "accuracy": round(r["accuracy"], 4), "peak_beyond_features_mb": round(r["beyond_features_mb"])})
        section.target(f"{key}: peak RSS beyond the features (MiB)", round(r["beyond_features_mb"]), f"< {TARGET_MB}",
                       r["beyond_features_mb"] < TARGET_MB)
    small = run_worker(__file__, ["small"])
    for r in small["rows"]:
        gap = 100 * (r["minibatch"] - r["lbfgs"])
        section.rows.append({"what": f"minibatch vs L-BFGS, weight_decay {r['weight_decay']}", "rows": r["data"],
                             "wall_s": f"{r['minibatch_s']:.1f} vs {r['lbfgs_s']:.1f}",
                             "accuracy": f"{r['minibatch']:.4f} vs {r['lbfgs']:.4f} ({gap:+.2f} points)"})
        section.target(f"minibatch within 1 point of L-BFGS: {r['data']}, wd {r['weight_decay']}", round(gap, 2), "|gap| <= 1",
                       abs(gap) <= 1.0)
    section.notes.append(f"load average at the end: {os.getloadavg()[0]:.1f}")
    return section


if __name__ == "__main__":
    print(json.dumps({"large": large_child, "small": small_child}[sys.argv[1]]()))
