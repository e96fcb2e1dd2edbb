"""Train the colorizer on a folder of videos, evaluate it on a DAVIS-layout folder, draw pictures.

    python examples/video/colorize_to_track.py                       # synthetic data, 3 minutes of training
    python examples/video/colorize_to_track.py --videos my_videos/ --davis DAVIS/ --minutes 30
    python examples/video/colorize_to_track.py --smoke               # seconds: tiny videos and network, 2 steps

Without --videos/--davis it first writes the synthetic benchmark (as
``multissl video synth``). Writes RUN/ (the trained colorizer), eval.json,
colorization.png and tracking.png into --output.
"""
import argparse
import json
import tempfile
from pathlib import Path

from multissl.video import (ClipConfig, SynthConfig, VideoFolder, evaluate_davis, format_table, generate_benchmark,
                            list_sequences, load_run, load_sequence, model_features, pixel_features, plot_colorization,
                            plot_tracking, track_masks, train)

# --smoke: a few tiny synthetic videos and a tiny network trained for 2 steps (a check that the script runs, in seconds)
SMOKE_VIDEOS = SynthConfig(height=64, width=80, train_frames=8, eval_frames=5, max_objects=2)
SMOKE_SETTINGS = dict(steps=2, batch_size=2, crop=32, short_side=64, clips_per_video=4, color_frames=8, backbone="resnet10",
                      width=4, conv3d_layers=0, embed_dim=8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", help="folder of training videos (default: synthetic)")
    parser.add_argument("--davis", help="DAVIS-layout folder to evaluate on (default: synthetic)")
    parser.add_argument("--minutes", type=float, default=3.0, help="training budget")
    parser.add_argument("--output", help="output folder (default: colorize-to-track; with --smoke a temporary folder)")
    parser.add_argument("--smoke", action="store_true", help="tiny synthetic data and network, 2 training steps")
    args = parser.parse_args()
    out = Path(args.output or (tempfile.mkdtemp(prefix="multissl-example-") if args.smoke else "colorize-to-track"))
    if args.videos is None or args.davis is None:
        if args.smoke:
            generate_benchmark(out / "bench", videos=2, eval_videos=1, seed=0, config=SMOKE_VIDEOS, verbose=False)
        else:
            generate_benchmark(out / "bench", videos=12, eval_videos=6, seed=0)
    videos = args.videos or out / "bench" / "train"
    davis = args.davis or out / "bench" / "eval"

    smoke = SMOKE_SETTINGS if args.smoke else {}
    train(videos, out / "run", preset="cpu", max_minutes=args.minutes, seed=0, overwrite=True, **smoke)
    run = load_run(out / "run")
    short_side = 64 if args.smoke else run.eval_short_side  # the frame size the tracker sees

    methods = {"model": model_features(run.model, short_side), "copy_first": None, "pixels": pixel_features(short_side)}
    results = evaluate_davis(davis, methods, run.propagation)
    print(format_table(results))
    (out / "eval.json").write_text(json.dumps(results, indent=2))

    data = VideoFolder(videos, ClipConfig(**{**run.recipe["clips"], "data_mode": "stream"}))
    plot_colorization(run.model, [data[i] for i in range(3)], out / "colorization.png")  # items' crops come from their keys
    seq = load_sequence(davis, list_sequences(davis)[0])
    masks = track_masks(seq.frames, seq.masks[0], methods["model"], run.propagation)
    plot_tracking(seq.frames, masks, out / "tracking.png", seq.masks, title=seq.name)
    print(f"pictures and eval.json written to {out}")


if __name__ == "__main__":
    main()
