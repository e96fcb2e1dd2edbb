"""Vision II benchmark: Deep InfoMax, CPC v2, MoCo v1/v2, SimCLR, BYOL on the CIFAR-10 subset.

    python benchmarks/vision_contrastive.py                          # everything (about 3 hours on 2 cores)
    python benchmarks/vision_contrastive.py --parts methods --minutes 15 --cpu-amp
    python benchmarks/vision_contrastive.py --parts methods --methods rotation simclr moco-v2 byol \
        --data ../shared/data/tiny-imagenet-subset --minutes 15        # the 64px recipes, probed on its val/ split
    python benchmarks/vision_contrastive.py --parts lightly --epochs 3 --seeds 2 --lightly-python /path/to/venv/bin/python
    python benchmarks/vision_contrastive.py --parts memory

Parts:
- ``methods``: every method (and rotation, the Vision I reference) trained for
  ``--minutes`` with the same backbone; kNN and linear-probe accuracy on the
  2,000 test images vs random init and raw pixels. Target: SimCLR, MoCo v2
  and BYOL beat rotation and random init. ``--cpu-amp`` trains every method
  with bf16 autocast (the engine's ``cpu_amp``; 1.5-1.8x the steps in
  the same time on an AVX512-BF16 CPU).
- ``lightly``: SimCLR and BYOL trained by multissl and by the lightly library
  (its losses, heads, momentum helpers and per-sample transforms, in a plain
  PyTorch loop) with the same backbone, batch, epochs and optimiser, over
  ``--seeds`` seeds; accuracy (target: mean within 1 point of lightly's) and
  training throughput (target: >= lightly's). lightly runs in a subprocess with ``--lightly-python`` (a Python
  where ``pip install lightly`` was done; it is not a dependency of multissl).
- ``memory``: peak memory of one SimCLR training step with NT-Xent unchunked
  at batch B and chunked at batch 4B (target: chunked 4B fits in the memory
  of unchunked B).
Prints markdown tables and writes benchmarks/results/vision_contrastive.json.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import current_rss_mb, markdown_table, peak_rss_mb, reset_peak_rss, run_worker, write_json  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10-subset.npz"
METHODS = ["rotation", "dim", "cpc-v2", "moco-v1", "moco-v2", "simclr", "byol"]


def _train_and_probe(name, splits, train_cfg, backbone, optim=None, task_config=None, size_recipe="auto"):
    """Train ``name`` (image-size recipe ``size_recipe``), probe it: (FitResult, seconds, scores including the recipe used)."""
    from multissl.vision.probe import probe_run
    from multissl.vision.training import train

    start = time.perf_counter()
    run = train(splits, train_cfg.output_dir, name, task=task_config, backbone=backbone, optim=optim, train=train_cfg, overwrite=True,
                size_recipe=size_recipe)
    seconds = time.perf_counter() - start
    scores = probe_run(train_cfg.output_dir, splits)
    return run.result, seconds, {"size_recipe": run.config.get("size_recipe"), **scores}


def methods_part(args, splits, backbone) -> dict:
    from multissl.engine import TrainConfig
    from multissl.vision.registry import task_spec

    rows = []
    for name in args.methods:
        print(f"training {name} for {args.minutes} minutes ...", flush=True)
        bs = task_spec(name).defaults.get("batch_size", 128)
        cfg = TrainConfig(epochs=10_000, max_minutes=args.minutes, batch_size=bs, seed=args.seed, verbose=False, keep_freed_memory=True,
                          output_dir=str(Path(args.out) / name), checkpoint_every=0, log_every=25, cpu_amp=args.cpu_amp)
        result, seconds, scores = _train_and_probe(name, splits, cfg, backbone, size_recipe=args.size_recipe)
        row = {"method": name, "steps": result.step, "batch": bs, "images_per_s": result.step * bs / seconds, **scores}
        rows.append(row)
        print(markdown_table([row], ["method", "steps", "images_per_s", "knn_acc", "linear_acc", "random_knn_acc", "random_linear_acc"]), flush=True)
    by = {r["method"]: r for r in rows}
    checks = {}
    if "rotation" in by:
        for m in ("simclr", "moco-v2", "byol"):
            if m in by:
                checks[f"{m}_beats_rotation_and_random"] = (
                    by[m]["linear_acc"] > max(by["rotation"]["linear_acc"], by[m]["random_linear_acc"])
                    and by[m]["knn_acc"] > max(by["rotation"]["knn_acc"], by[m]["random_knn_acc"])
                )
    return {"rows": rows, "checks": checks}


def _probe_lightly_encoder(state_path, splits, backbone):
    from multissl.vision.probe import evaluate
    from multissl.vision.registry import TASKS, build_task

    torch.manual_seed(0)
    shell = build_task("simclr", TASKS["simclr"].config(), backbone, 3, 32)
    shell.encoder.load_state_dict(torch.load(state_path))
    random_shell = build_task("simclr", TASKS["simclr"].config(), backbone, 3, 32)
    return evaluate(shell, random_shell, splits, pixels=False)


def _ours_vs_lightly(method, seed, args, splits, backbone) -> list:
    """One seed of ``method``: a multissl row and a lightly row (same backbone, batch, epochs, optimiser)."""
    from multissl.engine import TrainConfig
    from multissl.vision.registry import TASKS
    from multissl.vision.training import OptimConfig

    optim = OptimConfig(lr=args.lr, weight_decay=1e-4, warmup=0)
    print(f"{method}, seed {seed}: multissl, {args.epochs} epochs ...", flush=True)
    cfg = TrainConfig(epochs=args.epochs, batch_size=256, seed=seed, verbose=False, checkpoint_every=0, keep_freed_memory=True,
                      output_dir=str(Path(args.out) / f"ours-{method}-{seed}"))
    # lightly's loop has one learning rate for all parameters: so does BYOL here (predictor_lr_scale 1)
    same_recipe = {"proj_hidden": 512} if method == "simclr" else {"proj_hidden": 1024, "tau_base": 0.996, "predictor_lr_scale": 1.0}
    result, seconds, scores = _train_and_probe(method, splits, cfg, backbone, optim, TASKS[method].config(**same_recipe))
    ours = {"method": method, "library": "multissl", "seed": seed, "steps": result.step, "seconds": seconds,
            "images_per_s": result.step * 256 / seconds, "knn_acc": scores["knn_acc"], "linear_acc": scores["linear_acc"]}
    print(f"{method}, seed {seed}: lightly, {args.epochs} epochs ...", flush=True)
    state = Path(args.out) / f"lightly-{method}-{seed}.pt"
    cmd = [args.lightly_python, str(Path(__file__).parent / "lightly_runner.py"), method, "--data", args.data,
           "--epochs", str(args.epochs), "--batch-size", "256", "--lr", str(args.lr), "--arch", backbone.arch,
           "--width", str(backbone.width), "--seed", str(seed), "--save", str(state)]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"lightly run failed (is lightly installed for {args.lightly_python}?):\n{out.stderr[-3000:]}")
    info = json.loads(out.stdout.strip().splitlines()[-1])
    scores = _probe_lightly_encoder(state, splits, backbone)
    theirs = {"method": method, "library": "lightly", "seed": seed, "steps": info["steps"], "seconds": info["seconds"],
              "images_per_s": info["images_per_s"], "knn_acc": scores["knn_acc"], "linear_acc": scores["linear_acc"]}
    print(markdown_table([ours, theirs], ["method", "library", "seed", "steps", "images_per_s", "knn_acc", "linear_acc"]), flush=True)
    return [ours, theirs]


def lightly_part(args, splits, backbone) -> dict:
    """Every method x seed for both libraries; the targets are checked on the means over seeds."""
    rows = [row for method in args.lightly_methods for seed in range(args.seed, args.seed + args.seeds)
            for row in _ours_vs_lightly(method, seed, args, splits, backbone)]
    means, checks = [], {}
    for method in args.lightly_methods:
        mean = {}
        for library in ("multissl", "lightly"):
            mine = [r for r in rows if r["method"] == method and r["library"] == library]
            mean[library] = {"method": method, "library": library, "seed": f"mean of {len(mine)}", "steps": mine[0]["steps"],
                             **{k: sum(r[k] for r in mine) / len(mine) for k in ("seconds", "images_per_s", "knn_acc", "linear_acc")}}
            means.append(mean[library])
        ours, theirs = mean["multissl"], mean["lightly"]
        checks[f"{method}_linear_within_1pt"] = ours["linear_acc"] >= theirs["linear_acc"] - 0.01
        checks[f"{method}_knn_within_1pt"] = ours["knn_acc"] >= theirs["knn_acc"] - 0.01
        checks[f"{method}_throughput_ge_lightly"] = ours["images_per_s"] >= theirs["images_per_s"]
    return {"rows": rows, "means": means, "checks": checks}


def memory_worker(batch: int, chunk: int) -> dict:
    """Peak memory of one SimCLR step at ``batch``, chunked if chunk > 0.

    A deliberately small encoder (ResNet-10 of width 2 on 8x8 images) keeps
    activation memory low so that, as at the large batches contrastive
    training uses, the (2B)^2 logits of NT-Xent dominate the step's memory.
    """
    from multissl.vision.encoder import BackboneConfig
    from multissl.vision.registry import TASKS, build_task

    torch.manual_seed(0)
    task = build_task("simclr", TASKS["simclr"].config(proj_hidden=32, chunk_size=chunk or None),
                      BackboneConfig(arch="resnet10", width=2), 3, 8)
    opt = torch.optim.SGD(task.parameters(), lr=0.1)
    images = torch.randint(0, 256, (batch, 3, 8, 8), dtype=torch.uint8)
    warm = images[:64]
    loss, _ = task((warm, None))
    loss.backward()
    opt.zero_grad()
    rss = current_rss_mb()
    reset_peak_rss()
    start = time.perf_counter()
    loss, _ = task((images, None))
    loss.backward()
    opt.step()
    return {"batch": batch, "chunk": chunk or None, "peak_mb": peak_rss_mb() - rss, "seconds": time.perf_counter() - start}


def memory_part(args) -> dict:
    script = str(Path(__file__).resolve())
    b = args.memory_batch
    unchunked = run_worker(script, ["--memory-worker", str(b), "0"])
    chunked = run_worker(script, ["--memory-worker", str(4 * b), str(args.chunk)])
    rows = [{"mode": "unchunked", **unchunked}, {"mode": f"chunked ({args.chunk})", **chunked}]
    return {"rows": rows, "checks": {"chunked_4x_batch_fits_unchunked_memory": chunked["peak_mb"] <= unchunked["peak_mb"]}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--parts", nargs="+", default=["methods", "lightly", "memory"], choices=["methods", "lightly", "memory"])
    parser.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    parser.add_argument("--minutes", type=float, default=15.0, help="training budget per method (methods part)")
    parser.add_argument("--size-recipe", default="auto", choices=["auto", "32px", "64px"],
                        help="image-size recipe of every method (auto: 64px for 64-pixel data such as tiny-imagenet-subset)")
    parser.add_argument("--cpu-amp", action="store_true", help="bf16 autocast on CPU for every method (methods part)")
    parser.add_argument("--pixels", action=argparse.BooleanOptionalAction, default=True,
                        help="also probe raw pixels (methods part; minutes at 64x64x3 = 12288 dimensions)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs of the lightly comparison")
    parser.add_argument("--lr", type=float, default=2e-3, help="AdamW learning rate of the lightly comparison")
    parser.add_argument("--seeds", type=int, default=2, help="seeds of the lightly comparison (targets on the means)")
    parser.add_argument("--lightly-methods", nargs="+", default=["simclr", "byol"], choices=["simclr", "byol"], help="methods of the lightly comparison")
    parser.add_argument("--lightly-python", default=sys.executable, help="a Python with lightly installed")
    parser.add_argument("--memory-batch", type=int, default=4096, help="unchunked batch of the memory part")
    parser.add_argument("--chunk", type=int, default=256)
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="/tmp/multissl-vision-contrastive")
    parser.add_argument("--json", help="default benchmarks/results/vision_contrastive.json")
    parser.add_argument("--memory-worker", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.memory_worker:
        print(json.dumps(memory_worker(*args.memory_worker)))
        return

    from multissl.vision.data import load_images
    from multissl.vision.encoder import BackboneConfig
    from multissl.vision.probe import pixel_scores

    backbone = BackboneConfig(arch=args.arch, width=args.width)
    payload = {"settings": {**vars(args), "backbone": asdict(backbone)}}
    needs_data = {"methods", "lightly"} & set(args.parts)
    splits = load_images(args.data) if needs_data else None
    if "methods" in args.parts:
        payload["methods"] = methods_part(args, splits, backbone)
        if args.pixels:
            payload["methods"]["pixels"] = pixel_scores(splits)
    if "lightly" in args.parts:
        payload["lightly"] = lightly_part(args, splits, backbone)
    if "memory" in args.parts:
        payload["memory"] = memory_part(args)

    if "methods" in payload:
        print(f"\n## Methods: {args.arch} width {args.width}, {args.minutes} minutes each on {Path(args.data).name}\n")
        print(markdown_table(payload["methods"]["rows"], ["method", "size_recipe", "steps", "batch", "images_per_s", "knn_acc", "linear_acc", "random_knn_acc", "random_linear_acc"]))
        px = payload["methods"].get("pixels")
        if px:
            print(f"\nraw pixels: kNN {px['knn_acc']:.4f}, linear {px['linear_acc']:.4f}")
    if "lightly" in payload:
        print(f"\n## multissl vs lightly: same backbone, batch 256, {args.epochs} epochs, AdamW lr {args.lr}\n")
        cols = ["method", "library", "seed", "steps", "seconds", "images_per_s", "knn_acc", "linear_acc"]
        print(markdown_table(payload["lightly"]["rows"] + payload["lightly"]["means"], cols))
    if "memory" in payload:
        print(f"\n## SimCLR step memory: unchunked batch {args.memory_batch} vs chunked batch {4 * args.memory_batch}\n")
        print(markdown_table(payload["memory"]["rows"], ["mode", "batch", "chunk", "peak_mb", "seconds"]))
    checks = {k: v for part in ("methods", "lightly", "memory") if part in payload for k, v in payload[part]["checks"].items()}
    payload["checks"] = checks
    print("\n" + "\n".join(f"- {k}: {'met' if v else 'NOT met'}" for k, v in checks.items()))
    path = write_json("vision_contrastive", payload, args.json)
    print(f"\nJSON written to {path}")


if __name__ == "__main__":
    main()
