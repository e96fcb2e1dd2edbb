"""The video part of ``multissl demo``: colorize to track, on a few synthetic clips.

Generates synthetic videos (seeded), propagates the first masks of 2
evaluation sequences with the shipped ``video-colorizer-synth`` colorizer
(:func:`build_pretrained`, ``multissl pretrained build video-colorizer-synth``,
trained on videos of other seeds), raw Lab pixels, the first mask copied and
the untrained network; trains a tiny colorizer live for a few seconds; and
writes the overlay and colourisation pictures.
"""
from __future__ import annotations

import json
from dataclasses import asdict
import time
from pathlib import Path

from multissl.demo import DemoSection
from multissl.engine import TrainConfig
from multissl.engine.data import SampleKey
from multissl.randomness import isolated_rng

from .colorizer import ColorizerConfig
from .dataset import ClipConfig, VideoFolder
from .davis import load_sequence
from .synthetic import SynthConfig, generate_benchmark
from .tracking import evaluate_davis, format_table, model_features, pixel_features, track_masks
from .training import train
from .visualize import plot_colorization, plot_tracking

TINY = ColorizerConfig(backbone="resnet10", width=8, conv3d_layers=0, embed_dim=32, coords=False,
                       normalize=True, temperature=0.05, rebalance=0.5)


PRETRAINED_NAME = "video-colorizer-synth"
PRETRAINED_STEPS = 3000
PRETRAINED_SEED_OFFSET = 1000  # the shipped model's videos are drawn with seeds the demo's (0, 1, ...) do not use


def build_pretrained(work_dir: Path, seed: int = 0) -> Path:
    """Train the shipped colorizer: ``cpu`` preset, :data:`PRETRAINED_STEPS` steps on the 12 training
    videos of the synthetic benchmark drawn with seed ``1000 + seed``; returns the run folder
    (``multissl pretrained build video-colorizer-synth``)."""
    work = Path(work_dir)
    if not (work / "bench" / "train").is_dir():
        generate_benchmark(work / "bench", videos=12, eval_videos=1, seed=PRETRAINED_SEED_OFFSET + seed)
    train(work / "bench" / "train", work / "run", "colorizer", preset="cpu", steps=PRETRAINED_STEPS, max_minutes=None, seed=seed,
          overwrite=True)
    return work / "run"


def run(out_dir: Path, quick: bool = False, seed: int = 0) -> DemoSection:
    """The video demo section; the caller's global random generators are left as they were."""
    with isolated_rng():
        return _run(Path(out_dir), quick, seed)


def _train_live(train_videos: Path, run_dir: Path, steps: int, seed: int):
    clips = ClipConfig(short_side=128, crop=64, stride=2, clips_per_video=200)
    start = time.perf_counter()
    run = train(train_videos, run_dir, "colorizer", preset="cpu", model=asdict(TINY), clips=asdict(clips), overwrite=True,
                train=TrainConfig(steps=steps, batch_size=8, seed=seed, verbose=False), lr=3e-3, color_frames=40)
    return run, time.perf_counter() - start


def _run(out_dir: Path, quick: bool, seed: int) -> DemoSection:
    from multissl.pretrained import describe, load_pretrained

    work = out_dir / "video-work"
    synth = SynthConfig(train_frames=24, eval_frames=12 if quick else 20)
    generate_benchmark(work / "bench", videos=2, eval_videos=2, seed=seed, config=synth, verbose=False)
    live, train_s = _train_live(work / "bench" / "train", work / "run", 25 if quick else 80, seed)
    shipped = load_pretrained(PRETRAINED_NAME)
    size, propagation = shipped.eval_short_side, shipped.propagation
    methods = {"colorizer shipped": model_features(shipped.model, size), "colorizer live": model_features(live.model.eval(), size),
               "pixels": pixel_features(size), "copy_first": None,
               "random init": model_features(shipped.initial, size, video_statistics=True)}
    results = evaluate_davis(work / "bench" / "eval", methods, propagation, verbose=False)
    seq = load_sequence(work / "bench" / "eval", "synth_000")
    masks = track_masks(seq.frames, seq.masks[0], methods["colorizer shipped"], propagation)
    overlay = plot_tracking(seq.frames, masks, out_dir / "video_tracking.png", seq.masks,
                            title="first mask propagated by the shipped colorizer's pointer")
    data = VideoFolder(work / "bench" / "train", ClipConfig(short_side=256, crop=128, stride=2, data_mode="stream"))
    shown = [data[SampleKey(i, 0, seed)] for i in range(2)]  # the clips' random crops and flips come from their keys
    data.close()
    colour = plot_colorization(shipped.model, shown, out_dir / "video_colorization.png",
                               title="colours copied from the references by the learned pointer")
    jf = {m: round(100 * float(r["JF_mean"]), 1) for m, r in results.items()}
    losses = [h["loss"] for h in live.result.history if "loss" in h]
    info = describe(PRETRAINED_NAME)
    markdown = _markdown(results, jf, info, live.result.step, train_s, losses, propagation.context)
    (work / "results.json").write_text(json.dumps(jf), encoding="utf-8")
    return DemoSection("Video: tracking emerges from colorization", markdown, [overlay.name, colour.name],
                       {"JF_mean": jf, "shipped_steps": info.get("step"), "live_steps": live.result.step,
                        "live_first_loss": losses[0], "live_last_loss": losses[-1]})


def _markdown(results, jf, info, live_steps, train_s, losses, context) -> str:
    shipped = jf["colorizer shipped"]
    beaten = [m for m in ("pixels", "copy_first", "random init") if shipped > jf[m]]
    headline = {m: results[m] for m in ("colorizer shipped", "pixels", "copy_first", "random init")}
    verdict = (f"The shipped colorizer's pointer tracks the objects better than raw Lab pixels ({shipped} vs {jf['pixels']} J&F): "
               "matching learned features, not colours, is what carries the masks." if len(beaten) == 3 else
               f"In this run the shipped colorizer does not beat every baseline (it beats: {', '.join(beaten) or 'none'}).")
    return (
        f"**Shipped**: the package's `{PRETRAINED_NAME}` colorizer ({info.get('step')} steps of the `cpu` preset on 12 other "
        f"synthetic videos, built by `{info.get('command')}`), asked to colour a gray frame by pointing to coloured reference "
        f"frames (Vondrick et al. 2018). Its embeddings propagate the first-frame masks of 2 synthetic sequences it never saw "
        f"(context {context} frames); J&F (DAVIS measures, x100):\n\n"
        f"{format_table(headline)}\n\n"
        "copy_first repeats the first mask; pixels propagates with raw Lab patches; random init with the same network untrained. "
        f"**Live**: a tiny colorizer trained now for {live_steps} steps ({train_s:.0f} s; loss {losses[0]:.3f} -> "
        f"{losses[-1]:.3f}) reaches J&F {jf['colorizer live']}: minutes of training, not seconds, make the pointer track.\n\n"
        f"{verdict}\n"
    )
