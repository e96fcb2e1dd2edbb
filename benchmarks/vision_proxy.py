"""Vision benchmark: every task with the same backbone and CPU budget on the CIFAR-10 subset.

    python benchmarks/vision_proxy.py                       # all twelve tasks, 10 minutes each
    python benchmarks/vision_proxy.py --tasks dae context-encoder split-brain relative-patch jigsaw rotation
    python benchmarks/vision_proxy.py --minutes 2 --tasks rotation jigsaw

By default it runs the six Vision I proxy tasks and the six Vision II methods
(Deep InfoMax, CPC v2, MoCo v1/v2, SimCLR, BYOL), so that one table holds them
all side by side.

For each task: train on the 10,000 training images for ``--minutes`` of wall
clock (or ``--steps``), then freeze the encoder and report linear-probe and
kNN accuracy on the 2,000 test images, side by side with the same network at
its random initialisation and with raw pixels (all in this run), plus the
training throughput in images/s (source images per second; rotation sees
each image 4 times, jigsaw 9 tiles, relative-patch 2 patches).
Target: every task beats its random initialisation on linear-probe accuracy.
Prints a markdown table and writes benchmarks/results/vision_proxy.json.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import markdown_table, write_json  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10-subset.npz"


def run_task(name: str, splits, minutes: float, steps, batch_size, backbone, pool: int, out_dir: Path, seed: int) -> dict:
    from multissl.engine import TrainConfig
    from multissl.vision.probe import probe_run
    from multissl.vision.training import recipe, train

    bs = batch_size or recipe(name).train.batch_size
    cfg = TrainConfig(epochs=None if steps else 1000, steps=steps, max_minutes=minutes, batch_size=bs, seed=seed, keep_freed_memory=True,
                      output_dir=str(out_dir / name), verbose=False, log_every=25, checkpoint_every=0)
    start = time.perf_counter()
    run = train(splits, out_dir / name, name, backbone=backbone, train=cfg, overwrite=True)
    train_s = time.perf_counter() - start
    scores = probe_run(out_dir / name, splits, pool=pool)
    return {"task": name, "steps": run.result.step, "train_minutes": train_s / 60, "images_per_s": run.result.step * bs / train_s,
            **scores, "beats_random": scores["linear_acc"] > scores["random_linear_acc"],
            "beats_random_knn": scores["knn_acc"] > scores["random_knn_acc"], "task_config": run.config["recipe"]["task"]}


def main() -> None:
    from multissl.vision.data import load_images
    from multissl.vision.encoder import BackboneConfig
    from multissl.vision.probe import pixel_scores
    from multissl.vision.registry import TASKS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="the CIFAR-10 subset .npz (default: ../shared/data)")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--minutes", type=float, default=10.0, help="training budget per task (default 10)")
    parser.add_argument("--steps", type=int, default=None, help="train this many steps instead of a time budget")
    parser.add_argument("--batch-size", type=int, default=None, help="default: each task's (128; jigsaw 64)")
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--pool", type=int, default=1, help="probe on the last map pooled to pool x pool")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="/tmp/multissl-vision-proxy", help="run folders")
    parser.add_argument("--json", help="output path (default benchmarks/results/vision_proxy.json)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    splits = load_images(args.data)
    backbone = BackboneConfig(arch=args.arch, width=args.width)
    rows = []
    pixels = pixel_scores(splits)
    rows.append({"task": "raw pixels", "linear_acc": pixels["linear_acc"], "knn_acc": pixels["knn_acc"]})
    for name in args.tasks:
        print(f"training {name} ...", flush=True)
        row = run_task(name, splits, args.minutes, args.steps, args.batch_size, backbone, args.pool, Path(args.out), args.seed)
        rows.append(row)
        print(markdown_table([row], ["task", "steps", "images_per_s", "linear_acc", "random_linear_acc", "knn_acc", "random_knn_acc"]), flush=True)

    print(f"\n## Vision proxy tasks on {Path(args.data).name}: {args.arch} width {args.width}, "
          f"{args.steps or args.minutes} {'steps' if args.steps else 'minutes'} each, probe pool {args.pool}\n")
    cols = ["task", "steps", "train_minutes", "images_per_s", "linear_acc", "random_linear_acc", "knn_acc", "random_knn_acc", "beats_random"]
    print(markdown_table(rows, cols))
    met = all(r["beats_random"] for r in rows if "beats_random" in r)
    path = write_json("vision_proxy", {"settings": {**vars(args), "backbone": asdict(backbone)}, "rows": rows,
                                       "all_tasks_beat_random": met}, args.json)
    print(f"\nevery task beats random init (linear probe): {met}; JSON written to {path}")


if __name__ == "__main__":
    main()
