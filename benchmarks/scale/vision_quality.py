"""The streamed path learns as well as the in-memory one: SimCLR on Tiny-ImageNet at 64 px, equal steps.

``multissl vision train simclr ../shared/data/tiny-imagenet-subset --steps N --data-mode memory`` and the
same with ``--data-mode stream`` (views cropped from the 64-px originals in worker processes instead of on
the training device), each probed on the 5,000 ``val/`` images (linear probe and kNN, no raw pixels).
Target: the streamed run's linear probe within 1 point of the in-memory run's.
"""
from __future__ import annotations

import json
from pathlib import Path

from .common import Section, multissl_command, run_command, steady_samples_per_s

STEPS = 150
DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "tiny-imagenet-subset"


def run(args, work: Path) -> Section:
    section = Section("vision_quality")
    if not DATA.is_dir():
        section.notes.append(f"skipped: {DATA} is not here")
        return section
    scores = {}
    for mode in ("memory", "stream"):
        out = work / f"simclr-{mode}"
        result = run_command(multissl_command("vision", "train", "simclr", str(DATA), "-o", str(out), "--steps", str(STEPS),
                                              "--data-mode", mode, "--overwrite"), out)
        if result.returncode:
            raise RuntimeError(f"training with --data-mode {mode} failed:\n{result.stderr_tail}")
        probe = work / f"probe-{mode}.json"
        done = run_command(multissl_command("vision", "probe", str(out), str(DATA), "--no-pixels", "--json", str(probe)), out)
        if done.returncode:
            raise RuntimeError(f"probing the {mode} run failed:\n{done.stderr_tail}")
        scores[mode] = json.loads(probe.read_text())
        section.rows.append({"data mode": mode, "steps": STEPS, "train (s)": result.wall_s,
                             "images/s": steady_samples_per_s(out), "peak RSS (MB)": result.peak_tree_mb,
                             "linear": scores[mode]["linear_acc"], "kNN": scores[mode]["knn_acc"],
                             "random linear / kNN": f"{scores[mode]['random_linear_acc']:.4f} / {scores[mode]['random_knn_acc']:.4f}"})
    gap = scores["memory"]["linear_acc"] - scores["stream"]["linear_acc"]
    section.target("linear probe, memory - stream (points)", round(100 * gap, 2), "<= 1", gap <= 0.01)
    return section
