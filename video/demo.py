"""The video part of ``multissl demo``: colorize to track, on a few synthetic clips.

Generates small synthetic videos, trains a tiny colorizer briefly, propagates
the first mask of held-out sequences with the trained model and the
baselines, and writes the overlay and colourisation pictures.
"""
from __future__ import annotations

import json
from dataclasses import asdict
import time
from pathlib import Path

from multissl.demo import DemoSection
from multissl.engine import TrainConfig
from multissl.randomness import isolated_rng

from .colorizer import ColorizerConfig
from .dataset import ClipConfig, VideoFolder
from .davis import load_sequence
from .propagation import PropagationConfig
from .synthetic import SynthConfig, generate_benchmark
from .tracking import evaluate_davis, format_table, model_features, pixel_features, random_network, track_masks
from .training import train
from .visualize import plot_colorization, plot_tracking

TINY = ColorizerConfig(backbone="resnet10", width=8, conv3d_layers=0, embed_dim=32, coords=False,
                       normalize=True, temperature=0.05, rebalance=0.5)


def run(out_dir: Path, quick: bool = False, seed: int = 0) -> DemoSection:
    """The video demo section; the caller's global random generators are left as they were."""
    with isolated_rng():
        return _run(out_dir, quick, seed)


def _run(out_dir: Path, quick: bool, seed: int) -> DemoSection:
    out_dir = Path(out_dir)
    work = out_dir / "video-work"
    synth = SynthConfig(height=128, width=160, train_frames=24, eval_frames=12 if quick else 16, max_objects=3)
    generate_benchmark(work / "bench", videos=4, eval_videos=2, seed=seed, config=synth, verbose=False)
    clips = ClipConfig(short_side=128, crop=64, stride=2, clips_per_video=200)
    steps = 25 if quick else 80
    start = time.perf_counter()
    run = train(work / "bench" / "train", work / "run", "colorizer", "cpu", model=asdict(TINY), clips=asdict(clips), overwrite=True,
                train=TrainConfig(steps=steps, batch_size=8, seed=seed, verbose=False), lr=3e-3, color_frames=40)
    model, result = run.model, run.result
    train_s = time.perf_counter() - start
    model.eval()
    propagation = PropagationConfig(context=5, radius=8)
    methods = {"model": model_features(model, 128), "copy_first": None, "pixels": pixel_features(128),
               "random": model_features(random_network(TINY, seed), 128, video_statistics=True)}
    results = evaluate_davis(work / "bench" / "eval", methods, propagation, verbose=False)
    seq = load_sequence(work / "bench" / "eval", "synth_000")
    masks = track_masks(seq.frames, seq.masks[0], methods["model"], propagation)
    overlay = plot_tracking(seq.frames, masks, out_dir / "video_tracking.png", seq.masks,
                            title=f"first mask propagated by the colorizer after {result.step} steps")
    data = VideoFolder(work / "bench" / "train", clips)
    with isolated_rng(seed):  # the clips' random crops and flips
        shown = [data[i] for i in range(2)]
    colour = plot_colorization(model, shown, out_dir / "video_colorization.png",
                               title="colours copied from the references by the learned pointer")
    losses = [h["loss"] for h in result.history if "loss" in h]
    jf = {m: round(100 * float(r["JF_mean"]), 1) for m, r in results.items()}
    markdown = (
        f"A tiny colorization network (Vondrick et al. 2018) trained for {result.step} steps ({train_s:.0f} s) on 4 "
        f"synthetic videos to colour a gray frame from 3 coloured references (loss {losses[0]:.3f} -> {losses[-1]:.3f}); "
        f"its embeddings then propagate the first-frame masks of 2 held-out sequences. J&F (DAVIS measures, x100):\n\n"
        f"{format_table(results)}\n\n"
        "copy_first repeats the first mask; pixels propagates with raw Lab patches; random with an untrained network. "
        "A demo this short shows the pipeline, not the benchmark result (see benchmarks/video_tracking.py).\n"
    )
    (work / "results.json").write_text(json.dumps(jf), encoding="utf-8")
    return DemoSection("Video: tracking emerges from colorization", markdown, [overlay.name, colour.name],
                       {"JF_mean": jf, "steps": result.step, "first_loss": losses[0], "last_loss": losses[-1]})
