"""``multissl video ...`` commands: tracking emerging from video colorization.

  synth OUT               write the synthetic benchmark (OUT/train mp4, OUT/eval DAVIS layout)
  train [colorizer] VIDEOS -o RUN  train the colorizer on a folder of videos (`train-colorizer`: deprecated alias)
  eval RUN DAVIS_ROOT     J/F of the trained model and the baselines on a DAVIS-layout folder
  track RUN SOURCE        propagate a first mask through a frame folder or a video file
  cycle RUN VIDEOS        label-free tracking score on real videos (palindrome cycle consistency)
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from multissl.cliutils import (add_command_group, add_dataclass_arguments, add_deprecated_command, add_recipe_arguments,
                               recipe_overrides, write_json_file)


def register(subparsers) -> None:
    sub = add_command_group(subparsers, "video", "tracking emerging from video colorization", __doc__)
    _add_synth(sub)
    _add_train(sub)
    add_deprecated_command(sub, "train-colorizer", "multissl video train", _add_train)
    _add_eval(sub)
    _add_track(sub)
    _add_cycle(sub)


def _add_threads(p) -> None:
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: torch's choice; 1 is often faster on a machine shared with other jobs)")


def _set_threads(args: argparse.Namespace) -> None:
    import os
    import sys

    import torch

    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)
    elif torch.get_num_threads() > 1 and hasattr(os, "getloadavg") and os.getloadavg()[0] > (os.cpu_count() or 1):
        print(f"multissl: the machine is busy (load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores); "
              "--threads 1 may run several times faster", file=sys.stderr)


def _unset_defaults(cls) -> dict:
    return {f.name: None for f in dataclasses.fields(cls)}


def _overrides(args: argparse.Namespace, cls) -> dict:
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if getattr(args, f.name, None) is not None}


# ----------------------------------------------------------------------------- synth
def _add_synth(sub) -> None:
    from .synthetic import SynthConfig

    p = sub.add_parser("synth", help="write the synthetic tracking benchmark",
                       description="Write OUT/train/*.mp4 (training videos) and OUT/eval (DAVIS layout with masks).")
    p.add_argument("output", help="output folder")
    p.add_argument("--videos", type=int, default=12, help="training videos (default: 12)")
    p.add_argument("--eval-videos", type=int, default=6, help="evaluation sequences (default: 6)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    add_dataclass_arguments(p, SynthConfig, title="synthetic video options")
    p.set_defaults(func=_cmd_synth)


def _cmd_synth(args: argparse.Namespace) -> int:
    from multissl.cliutils import dataclass_from_args

    from .synthetic import SynthConfig, generate_benchmark

    config = dataclass_from_args(SynthConfig, args)
    train, names = generate_benchmark(args.output, args.videos, args.eval_videos, args.seed, config)
    print(f"wrote {len(train)} training videos to {Path(args.output) / 'train'} and {len(names)} evaluation "
          f"sequences to {Path(args.output) / 'eval'} (DAVIS layout)")
    return 0


# ----------------------------------------------------------------------------- train
def _add_train(sub, name: str = "train", help_text: str = "train the colorization tracker on a folder of videos"):
    from .training import DEFAULT_PRESET, METHODS, PRESETS, recipe

    p = sub.add_parser(name, help=help_text,
                       description="Train the colorizer (Vondrick et al. 2018) on every video under VIDEOS; flags left "
                                   "out take the preset's values (the defaults shown are the cpu preset's).")
    p.add_argument("method", nargs="?", choices=METHODS, default="colorizer", help="the method (colorizer, the only video method)")
    p.add_argument("videos", help="folder of video files (searched recursively) or one video file")
    p.add_argument("-o", "--output", required=True, help="run folder (config.json, checkpoints, metrics.jsonl)")
    p.add_argument("--preset", default=DEFAULT_PRESET, choices=sorted(PRESETS),
                   help="cpu: small and fast; paper: 256x256, ResNet-18 (default: cpu)")
    add_recipe_arguments(p, recipe(preset=DEFAULT_PRESET), {"model": "model", "clips": "clips", "options": "optimiser and data",
                                                     "train": "training loop"})
    _add_threads(p)
    p.set_defaults(func=_cmd_train)
    return p


def recipe_from_args(args: argparse.Namespace):
    """The recipe a parsed ``video train`` command trains with (the same call as the Python API)."""
    from .training import recipe

    return recipe(preset=args.preset, **recipe_overrides(args, recipe(preset=args.preset)))


def _cmd_train(args: argparse.Namespace) -> int:
    import sys

    from .training import recipe, train

    _set_threads(args)
    overrides = recipe_overrides(args, recipe(preset=args.preset))
    if "cache" in overrides:  # the deprecated spelling of --data-mode
        mode = {"yes": "memory", "no": "stream", "auto": "auto"}[overrides.pop("cache")]
        print(f"multissl: warning: --cache is deprecated and will be removed; use --data-mode {mode}", file=sys.stderr)
        overrides.setdefault("data_mode", mode)
    run = train(args.videos, args.output, args.method, preset=args.preset, **overrides)
    result = run.result
    losses = [h["loss"] for h in result.history if "loss" in h]
    summary = f"loss {losses[0]:.3f} -> {losses[-1]:.3f}, " if losses else ""
    print(f"trained {result.step} steps ({result.stop_reason}, {result.elapsed_s:.0f} s), {summary}run in {args.output}")
    return 0


# ----------------------------------------------------------------------------- eval
def _add_propagation_arguments(p) -> None:
    from .propagation import PropagationConfig

    add_dataclass_arguments(p, PropagationConfig, defaults=_unset_defaults(PropagationConfig),
                            title="label propagation (default: the run's)")
    p.add_argument("--short-side", type=int, default=None, help="resize frames to this short side before encoding (default: the run's)")
    _add_threads(p)


def _propagation(args, run):
    from .propagation import PropagationConfig

    return dataclasses.replace(run.propagation, **_overrides(args, PropagationConfig))


def _add_eval(sub) -> None:
    p = sub.add_parser("probe", aliases=["eval"], help="J/F of a trained run and the baselines on a DAVIS-layout folder",
                       description="Propagate each sequence's first mask with the trained model and the baselines "
                                   "(copy_first, pixels, random) and print the DAVIS J/F table.")
    p.add_argument("run", help="run folder written by `multissl video train`")
    p.add_argument("davis_root", help="DAVIS-layout folder (JPEGImages/480p, Annotations/480p, optional ImageSets; "
                                      "see --resolution)")
    p.add_argument("--split", default=None, help="ImageSets split to evaluate, e.g. val (default: every sequence)")
    p.add_argument("--resolution", default=None,
                   help="resolution folder under JPEGImages/ and Annotations/, e.g. 480p or Full-Resolution; '' for the flat "
                        "JPEGImages/<seq> layout (default: 480p, Full-Resolution or 1080p, whichever exists, else flat)")
    p.add_argument("--methods", nargs="+", default=["model", "copy_first", "pixels", "random"],
                   choices=["model", "copy_first", "pixels", "pixels_lab", "random"],
                   help="what to evaluate (default: model copy_first pixels random; random: the run's network at its "
                        "initial weights)")
    p.add_argument("--json", default=None, help="also write the results to this JSON file")
    _add_propagation_arguments(p)
    _add_progress(p)
    p.set_defaults(func=_cmd_eval)


def _add_progress(p) -> None:
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bars on stderr with frames/s and ETA (default: when stderr is a terminal)")


def _cmd_eval(args: argparse.Namespace) -> int:
    from .probe_run import probe_run
    from .propagation import PropagationConfig
    from .tracking import format_table

    _set_threads(args)
    results = probe_run(args.run, args.davis_root, methods=args.methods, short_side=args.short_side,
                        split=args.split, resolution=args.resolution, progress=args.progress,
                        **_overrides(args, PropagationConfig))
    print(format_table(results))
    skipped = next(iter(results.values()), {}).get("skipped", {})
    if skipped:
        print(f"not scored ({len(skipped)}): " + ", ".join(skipped))
    if args.json:
        write_json_file(args.json, results)
        print(f"results written to {args.json}")
    return 0


# ----------------------------------------------------------------------------- track
def _add_track(sub) -> None:
    p = sub.add_parser("track", help="propagate a first-frame mask through a video",
                       description="Propagate MASK.png (palette, grayscale or colour PNG; 0 = background) through a "
                                   "frame folder or a video file; write one palette PNG per frame and overlay.png.")
    p.add_argument("run", help="run folder written by `multissl video train`")
    p.add_argument("source", help="frame folder (e.g. DAVIS JPEGImages/480p/<seq>) or video file")
    p.add_argument("--first-mask", required=True, help="mask of the first frame (PNG)")
    p.add_argument("-o", "--output", required=True, help="output folder (masks/*.png, overlay.png)")
    _add_propagation_arguments(p)
    _add_progress(p)
    p.set_defaults(func=_cmd_track)


def _cmd_track(args: argparse.Namespace) -> int:
    from .io import FrameFolderReader, open_video
    from .masks import read_mask, write_mask
    from .tracking import model_features, track_masks
    from .training import load_run
    from .visualize import plot_tracking

    _set_threads(args)
    run = load_run(args.run)
    reader = open_video(args.source)
    frames = reader.read_all()
    first = read_mask(args.first_mask)
    masks = track_masks(frames, first, model_features(run.model, args.short_side or run.eval_short_side), _propagation(args, run), verbose=True,
                        name=f"first mask {args.first_mask}", progress=args.progress)
    out = Path(args.output)
    names = [f.stem for f in reader.files] if isinstance(reader, FrameFolderReader) else [f"{t:05d}" for t in range(len(frames))]
    for name, mask in zip(names, masks):
        write_mask(out / "masks" / f"{name}.png", mask)
    picture = plot_tracking(frames, masks, out / "overlay.png", title=f"{Path(args.source).name}: mask propagated by {args.run}")
    print(f"wrote {len(masks)} masks to {out / 'masks'} and {picture}")
    return 0


# ----------------------------------------------------------------------------- cycle
CYCLE_ROWS = {"model": "trained model", "pixels": "raw Lab pixels", "random": "random init"}


def _add_cycle(sub) -> None:
    p = sub.add_parser("cycle", help="label-free tracking score on real videos: palindrome cycle consistency",
                       description="Cut frame 0 of a few clips of every video into k-means regions (Lab colour + position), "
                                   "propagate them N sampled frames forward and back to frame 0 with the trained model, raw "
                                   "Lab pixels and the run's network at its initial weights, and print the mean IoU of the "
                                   "regions that come back (100: all of them), plus the colorization accuracy on clips of the "
                                   "same videos. Frames are sampled at the run's clip rate. When VIDEOS is the run's training "
                                   "data and the run held videos out (--holdout), only those are evaluated.")
    p.add_argument("run", help="run folder written by `multissl video train`")
    p.add_argument("videos", help="folder of videos and frame folders (searched recursively), one video or one frame folder")
    p.add_argument("--n", type=int, nargs="+", default=[10, 20], help="cycle lengths in sampled frames (default: 10 20)")
    p.add_argument("--segments", type=int, default=8, help="k-means regions of frame 0 (default: 8)")
    p.add_argument("--clips-per-video", type=int, default=3, help="clips per video, spread over it (default: 3)")
    p.add_argument("--all-videos", action="store_true", help="evaluate every video, also those the run trained on")
    p.add_argument("--color-clips", type=int, default=16,
                   help="clips per video for the colorization accuracy (default: 16; 0: skip it)")
    p.add_argument("--seed", type=int, default=0, help="seed of the k-means and the clips (default: 0)")
    p.add_argument("--json", default=None, help="also write the results to this JSON file")
    _add_propagation_arguments(p)
    p.set_defaults(func=_cmd_cycle)


def _cmd_cycle(args: argparse.Namespace) -> int:
    from .cycle import cycle_scores, format_cycle_table
    from .dataset import ClipConfig
    from .heldout import colorization_accuracy, evaluation_videos
    from .probe_run import baseline_methods
    from .training import load_run

    if min(args.n) < 1 or args.segments < 1 or args.clips_per_video < 1:
        raise ValueError(f"--n, --segments and --clips-per-video must be >= 1, got {args.n}, {args.segments}, {args.clips_per_video}")
    _set_threads(args)
    run = load_run(args.run)
    short_side = args.short_side or run.eval_short_side
    clips = ClipConfig(**run.config.get("recipe", {}).get("clips", run.config.get("clips", {})))
    videos, note = evaluation_videos(run.config, args.videos, args.all_videos)
    if note:
        print(note)
    methods = baseline_methods(run, list(CYCLE_ROWS), short_side)
    records: list = []
    scores = cycle_scores(videos, methods, args.n, _propagation(args, run), args.segments, args.clips_per_video, clips.stride,
                          clips.fps, short_side, clips.scene_cut, args.seed, clips=records)
    rate = f"{clips.fps:g} frames/s" if clips.fps else f"every {clips.stride} frame(s)"
    scored = len({r["video"] for r in records})
    print(f"cycle consistency on {scored} of {len(videos)} videos ({len(records)} clips over all N, frames sampled at {rate}): "
          f"mIoU (%) of {args.segments} k-means regions of frame 0 after N frames forward and back")
    print(format_cycle_table(scores, CYCLE_ROWS))
    accuracy = None
    if args.color_clips > 0:
        accuracy = colorization_accuracy({"trained model": run.model, "initial weights": run.initial}, videos, clips,
                                         args.color_clips, seed=args.seed)
        names = {"copy_previous": "copying the previous frame's colours"}
        print(f"colour accuracy on {args.color_clips} clips per video: "
              + ", ".join(f"{names.get(name, name)} {100 * value:.1f}%" for name, value in accuracy.items()))
    if args.json:
        write_json_file(args.json, {"run": str(args.run), "videos": [str(v) for v in videos], "note": note, "n": args.n,
                                    "segments": args.segments, "cycle_miou": scores, "clips": records, "color_accuracy": accuracy})
        print(f"results written to {args.json}")
    return 0
