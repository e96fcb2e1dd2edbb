"""Video benchmark on real video: the colorizer trained on natural clips, checked without masks.

    python benchmarks/video_natural.py                  # train 20 minutes on ../shared/data/natural-video, then check
    python benchmarks/video_natural.py --run RUN        # check an existing run (trained with --holdout)
    python benchmarks/video_natural.py --max-gap 2 --scale-jitter 0.5 --brightness-jitter 0.3   # with augmentation

1. Train the ``cpu`` preset of ``multissl video train`` on the natural clips with
   the last ``--holdout`` videos (sorted by name) kept out.
2. Palindrome cycle consistency on the held-out videos (label-free,
   :mod:`multissl.video.cycle`): k-means regions of frame 0 propagated N
   sampled frames forward and back, mIoU of what comes home, for N = 10 and
   20; trained model vs raw Lab pixels vs random init. Colour accuracy on
   clips of the same videos (trained, initial weights, copying the previous
   frame's colours).
3. The synthetic DAVIS-layout benchmark (12 training + 6 evaluation videos of
   ``multissl.video.synthetic``, seed 0; the model never trained on them):
   J&F of the natural-video colorizer vs raw pixels and random init.

Targets: the colorizer beats raw pixels on the cycle check for N = 10 and 20
on held-out clips, and on the synthetic benchmark. Writes
benchmarks/results/video_natural.json after every step. Run it alone.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import markdown_table, write_json  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "natural-video"
RESULTS = Path(__file__).parent / "results"
NAMES = {"model": "trained model", "pixels": "raw Lab pixels", "random": "random init"}


def train_run(data: Path, out: Path, minutes: float, holdout: int, augment: dict) -> None:
    from multissl.video.training import train

    train(data, out, max_minutes=minutes, holdout=holdout, overwrite=True, **augment)


def run_summary(run) -> dict:
    """How the checked run was trained: its clip settings and its last logged step (from metrics.jsonl)."""
    import json

    lines = (run.path / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    logged = [r for r in map(json.loads, lines) if "loss" in r]
    clips = run.config["recipe"]["clips"]
    return {"steps": logged[-1]["step"], "seconds": round(logged[-1].get("elapsed_s", 0.0), 1), "last_loss": logged[-1]["loss"],
            "last_color_accuracy": logged[-1].get("color_accuracy"),
            "augmentation": {k: clips.get(k) for k in ("max_gap", "scale_jitter", "brightness_jitter")}}


def cycle_check(run, data: Path, ns, clips_per_video: int) -> dict:
    from multissl.video.probe_run import baseline_methods
    from multissl.video.cycle import cycle_scores
    from multissl.video.dataset import ClipConfig
    from multissl.video.heldout import colorization_accuracy, evaluation_videos

    clips = ClipConfig(**run.config["recipe"]["clips"])
    videos, note = evaluation_videos(run.config, data)
    methods = baseline_methods(run, list(NAMES), run.eval_short_side)
    records: list = []
    start = time.perf_counter()
    scores = cycle_scores(videos, methods, ns, run.propagation, 8, clips_per_video, clips.stride, clips.fps,
                          run.eval_short_side, clips.scene_cut, 0, clips=records)
    cycle_s = time.perf_counter() - start
    colour = colorization_accuracy({"trained model": run.model, "initial weights": run.initial}, videos, clips, 16)
    return {"videos": [Path(v).name for v in videos], "note": note, "cycle_miou": scores, "clips": len(records),
            "cycle_seconds": round(cycle_s, 1), "color_accuracy": colour}


def synthetic_check(run, work: Path) -> dict:
    from multissl.video.probe_run import baseline_methods
    from multissl.video.synthetic import generate_benchmark
    from multissl.video.tracking import evaluate_davis, format_table

    bench = work / "synthetic-bench"
    if not (bench / "eval").is_dir():
        generate_benchmark(bench, videos=12, eval_videos=6, seed=0, verbose=False)
    methods = baseline_methods(run, ["model", "pixels", "pixels_lab", "random"], run.eval_short_side)
    start = time.perf_counter()
    results = evaluate_davis(bench / "eval", methods, run.propagation, verbose=False)
    return {"table": format_table(results), "JF_mean": {m: 100 * float(r["JF_mean"]) for m, r in results.items()},
            "eval_seconds": round(time.perf_counter() - start, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", help="check this run folder instead of training one")
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--holdout", type=float, default=2, help="videos kept out: a share below 1 or a number")
    parser.add_argument("--n", type=int, nargs="+", default=[10, 20])
    parser.add_argument("--clips-per-video", type=int, default=3)
    parser.add_argument("--work", default="/tmp/multissl-video-natural")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default=str(RESULTS / "video_natural.json"))
    parser.add_argument("--max-gap", type=int, default=1, help="training augmentation (see `multissl video train --help`)")
    parser.add_argument("--scale-jitter", type=float, default=0.0)
    parser.add_argument("--brightness-jitter", type=float, default=0.0)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from multissl.video.training import load_run

    work, data = Path(args.work), Path(args.data)
    run_dir = Path(args.run) if args.run else work / "col"
    payload: dict = {"data": str(data), "threads": args.threads, "run": str(run_dir)}
    if not args.run:
        augment = {"max_gap": args.max_gap, "scale_jitter": args.scale_jitter, "brightness_jitter": args.brightness_jitter}
        train_run(data, run_dir, args.minutes, args.holdout, augment)
    run = load_run(run_dir)
    payload["train"] = run_summary(run)
    write_json("video_natural", payload, args.json)
    payload["cycle"] = cycle = cycle_check(run, data, args.n, args.clips_per_video)
    write_json("video_natural", payload, args.json)
    payload["synthetic"] = synthetic = synthetic_check(run, work)
    miou, jf = cycle["cycle_miou"], synthetic["JF_mean"]
    payload["targets"] = {
        **{f"cycle N={n}: model > pixels": miou["model"][n] > miou["pixels"][n] for n in args.n},
        "synthetic J&F: model > pixels": jf["model"] > jf["pixels"],
    }
    write_json("video_natural", payload, args.json)

    print(f"\n## Cycle consistency on held-out videos ({', '.join(cycle['videos'])}; {cycle['clips']} clips), mIoU x100\n")
    print(markdown_table([{"features": NAMES[k], **{f"N={n}": 100 * v[n] for n in args.n}} for k, v in miou.items()],
                         ["features", *[f"N={n}" for n in args.n]]))
    print("\ncolour accuracy: " + ", ".join(f"{k} {100 * v:.1f}%" for k, v in cycle["color_accuracy"].items()))
    print("\n## Synthetic DAVIS-layout benchmark (6 evaluation videos), J&F x100\n")
    print(synthetic["table"])
    print("\n## Targets\n")
    print(markdown_table([{"target": k, "met": v} for k, v in payload["targets"].items()], ["target", "met"]))
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
