"""Hyper-parameter checks for the vision methods: train one variant for a fixed number of steps, probe it.

    python benchmarks/vision_sweep.py byol --steps 687 --set predictor_lr_scale=10 --optim lr=4e-3 --device cuda
    python benchmarks/vision_sweep.py --table benchmarks/results/vision_sweep.jsonl

A time budget gives a method as many steps as it makes in that time on the
machine at hand; fixing ``--steps`` to what a method makes in 15 minutes on the
2-core CPU (rotation 1023, SimCLR 910, MoCo v2 1340, BYOL 687, DIM 3311 with
the default batches) lets a GPU test many variants of the CPU benchmark in a
few minutes, several processes at a time. Each run appends one JSON line
(task, settings, steps, linear/kNN accuracy vs random init) to ``--jsonl``;
``--table`` prints the collected lines as a markdown table.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import markdown_table  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10-subset.npz"
DEFAULT_JSONL = Path(__file__).parent / "results" / "vision_sweep.jsonl"


def parse_settings(pairs) -> dict:
    """``["a=1", "b=x"]`` -> ``{"a": 1, "b": "x"}`` (values read as JSON where they parse)."""
    settings = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set/--optim take key=value, got {pair!r}")
        try:
            settings[key] = json.loads(value)
        except json.JSONDecodeError:
            settings[key] = value
    return settings


def run_variant(args) -> dict:
    from multissl.engine import TrainConfig
    from multissl.vision.data import load_images
    from multissl.vision.encoder import BackboneConfig
    from multissl.vision.probe import probe_run
    from multissl.vision.registry import task_spec
    from multissl.vision.training import train

    spec = task_spec(args.task)
    task_settings, optim_settings = parse_settings(args.set), parse_settings(args.optim)
    splits = load_images(args.data)
    batch = args.batch_size or spec.defaults.get("batch_size", 128)
    out = Path(args.out) / (args.name or args.task)
    cfg = TrainConfig(steps=args.steps, batch_size=batch, seed=args.seed, device=args.device, amp=args.cpu_amp, keep_freed_memory=True,
                      cpu_amp=args.cpu_amp, verbose=False, output_dir=str(out), checkpoint_every=0, log_every=50)
    start = time.perf_counter()
    train(splits, out, args.task, overwrite=True, task=task_settings, backbone=BackboneConfig(arch=args.arch, width=args.width),
          optim=optim_settings, train=cfg)
    train_s = time.perf_counter() - start
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    scores = probe_run(out, splits, device=device)
    return {"name": args.name or args.task, "task": args.task, "set": task_settings, "optim": optim_settings,
            "batch": batch, "steps": args.steps, "seed": args.seed, "device": str(device), "cpu_amp": args.cpu_amp,
            "train_s": train_s, **scores}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", nargs="?", help="vision task name (multissl vision train --help lists them)")
    parser.add_argument("--steps", type=int, default=687)
    parser.add_argument("--set", action="append", help="task config field=value (repeatable)")
    parser.add_argument("--optim", action="append", help="optimiser field=value: lr, weight_decay, schedule, ...")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the task's")
    parser.add_argument("--name", help="row name (default: the task)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--cpu-amp", action="store_true", help="mixed precision: the engine's amp and cpu_amp (bf16 on CPU; CUDA amp on a GPU); "
                        "off: fp32 on every device")
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--out", default="/tmp/multissl-vision-sweep", help="run folders")
    parser.add_argument("--jsonl", default=str(DEFAULT_JSONL), help="append the result line here")
    parser.add_argument("--table", help="print the rows of this .jsonl as a table and exit")
    args = parser.parse_args()
    if args.table:
        rows = [json.loads(line) for line in Path(args.table).read_text().splitlines() if line.strip()]
        for row in rows:
            row["settings"] = " ".join(f"{k}={v}" for k, v in {**row.get("set", {}), **row.get("optim", {})}.items())
        print(markdown_table(rows, ["name", "task", "settings", "batch", "steps", "seed", "linear_acc", "knn_acc",
                                    "random_linear_acc", "random_knn_acc", "device"]))
        return
    if not args.task:
        parser.error("give a task, or --table FILE")
    row = run_variant(args)
    line = json.dumps(row)
    print(line, flush=True)
    Path(args.jsonl).parent.mkdir(parents=True, exist_ok=True)
    with open(args.jsonl, "a") as f:
        f.write(line + "\n")


if __name__ == "__main__":
    main()
