"""Video benchmark: speed of feature extraction and label propagation on 854 x 480 frames.

    python benchmarks/video_propagation_speed.py                 # 30 frames, context 20, 2 threads
    python benchmarks/video_propagation_speed.py --frames 8      # smoke run

A synthetic clip (``generate_video`` with ``SynthConfig(height=480, width=854)``, three
objects) is encoded and its first mask (background + 3 objects) propagated through it,
exactly as ``multissl video track`` does (``track_masks``), with the ``cpu`` preset's
propagation settings (top-10, radius 12, temperature 0.05) and ``--context`` frames of
context (default 20), for two encoders:

- ``model``: the ``cpu``-preset colorizer (ResNet-18 of width 8, 64-d embeddings) at random
  init (``random_network``; speed does not depend on the weights), ``model_features``;
- ``pixels``: raw Lab pixels (``pixel_features``: 8 x 8 Lab patches, 192 numbers per cell).

Frames are resized to ``--short-side`` (default 480: the native size, features 107 x 60 at
stride 8; runs evaluate at 256 by default, 57 x 32 features). Each encoder runs in its own
process (``--threads`` torch threads, default 2) so that its peak memory is its own; timed:
(a) feature extraction of the clip, (b) propagation of frames 1..T-1 on the feature grid,
(c) the masks (labels upsampled to 854 x 480, argmax). Prints a markdown table of frames/s
and writes benchmarks/results/video_propagation_speed.json.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import current_rss_mb, markdown_table, peak_rss_mb, reset_peak_rss, run_worker, write_json  # noqa: E402

METHODS = ("model", "pixels")
HEIGHT, WIDTH = 480, 854


def synthetic_clip(frames: int, seed: int):
    """(T, 480, 854, 3) uint8 frames and the (480, 854) first mask (ids 1..3)."""
    from multissl.video.synthetic import SynthConfig, generate_video

    video, masks = generate_video(seed, frames, SynthConfig(height=HEIGHT, width=WIDTH, min_objects=3, max_objects=3))
    return video, masks[0]


def worker(method: str, frames: int, context: int, short_side: int, seed: int) -> dict:
    """Time one encoder and the propagation with its features, in this process."""
    import numpy as np
    import torch

    from multissl.video.masks import mask_to_onehot, object_ids, onehot_to_mask
    from multissl.video.propagation import PropagationConfig, labels_to_image, propagate_labels
    from multissl.video.tracking import model_features, pixel_features, random_network
    from multissl.video.training import EVALUATION, recipe

    video, first = synthetic_clip(frames, seed)
    ids = object_ids(first)
    onehot = mask_to_onehot(first, ids)
    config = PropagationConfig(**{**EVALUATION["cpu"]["propagation"], "context": context})
    if method == "model":
        encode = model_features(random_network(recipe(preset="cpu").model, seed), short_side)
    else:
        encode = pixel_features(short_side)
    encode(video[:2])  # warm-up
    base = current_rss_mb()
    reset_peak_rss()
    start = time.perf_counter()
    feats = encode(video)  # (T, D, h, w)
    features_s = time.perf_counter() - start
    start = time.perf_counter()
    soft = propagate_labels(feats, onehot, config.context, config.topk, config.radius, config.temperature, config.normalize,
                            upsample=False)
    propagation_s = time.perf_counter() - start
    start = time.perf_counter()
    masks = np.stack([onehot_to_mask(labels_to_image(soft[t], (HEIGHT, WIDTH)), ids) for t in range(1, frames)])
    masks_s = time.perf_counter() - start
    total_s = features_s + propagation_s + masks_s
    return {
        "method": method, "frames": frames, "objects": len(ids), "feature_grid": list(feats.shape[-2:]),
        "feature_dim": int(feats.shape[1]), "context": context, "propagation": config.as_dict(),
        "features_s": features_s, "propagation_s": propagation_s, "masks_s": masks_s, "total_s": total_s,
        "features_fps": frames / features_s, "propagation_fps": (frames - 1) / propagation_s,
        "masks_fps": (frames - 1) / masks_s, "total_fps": frames / total_s,
        "peak_extra_mb": peak_rss_mb() - base, "torch_threads": torch.get_num_threads(),
        "tracked_pixels_last_frame": int((masks[-1] > 0).sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=30, help="frames of the synthetic clip (default: 30)")
    parser.add_argument("--context", type=int, default=20, help="context frames besides the first (default: 20)")
    parser.add_argument("--short-side", type=int, default=HEIGHT,
                        help=f"frames resized to this short side before encoding (default: {HEIGHT}, the native size)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads per process (default: 2; 0: torch's choice)")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS, help="encoders (default: both)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=None, help="JSON path (default: benchmarks/results/video_propagation_speed.json)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.frames < 2:
        parser.error("--frames must be >= 2")
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # for the worker processes
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.worker:
        print(json.dumps(worker(args.worker, args.frames, args.context, args.short_side, args.seed)))
        return
    load = os.getloadavg()[0]
    print(f"machine load average at start: {load:.1f} on {os.cpu_count()} cores; torch threads per process: "
          f"{args.threads or 'torch default'}", flush=True)
    common = ["--frames", str(args.frames), "--context", str(args.context), "--short-side", str(args.short_side),
              "--threads", str(args.threads), "--seed", str(args.seed)]
    rows = []
    for method in args.methods:
        row = run_worker(__file__, ["--worker", method, *common])
        rows.append(row)
        print(f"{method}: features {row['features_fps']:.2f} frames/s, propagation {row['propagation_fps']:.2f} frames/s, "
              f"total {row['total_fps']:.2f} frames/s", flush=True)
    grid = rows[0]["feature_grid"]
    print(f"\n## Feature extraction and label propagation at {WIDTH}x{HEIGHT} ({args.frames} frames, features {grid[1]}x{grid[0]}, "
          f"context {args.context}, top-10, radius 12, {args.threads or 'default'} threads)\n")
    print(markdown_table(rows, ["method", "feature_dim", "features_fps", "propagation_fps", "masks_fps", "total_fps",
                                "peak_extra_mb"]), flush=True)
    payload = {"rows": rows, "frame_size": [HEIGHT, WIDTH], "frames": args.frames, "context": args.context,
               "short_side": args.short_side, "threads": args.threads, "load_average_at_start": load,
               "measured_at": time.strftime("%Y-%m-%d %H:%M:%S"),
               "note": "frames/s: features = T / seconds, propagation and masks = (T - 1) / seconds (frame 0 is given), "
                       "total = T / (features + propagation + masks); peak_extra_mb: peak resident memory above the worker's "
                       "after the warm-up, over encoding, propagation and masks (the features included)"}
    path = write_json("video_propagation_speed", payload, args.output)
    print(f"\nresults written to {path}")


if __name__ == "__main__":
    main()
