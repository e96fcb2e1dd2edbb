"""Train the colorizer on a folder of videos, evaluate it on a DAVIS-layout folder, draw pictures.

    python examples/video/colorize_to_track.py                       # synthetic data, 3 minutes of training
    python examples/video/colorize_to_track.py --videos my_videos/ --davis DAVIS/ --minutes 30

Without --videos/--davis it first writes the synthetic benchmark (as
``multissl video synth``). Writes RUN/ (the trained colorizer), eval.json,
colorization.png and tracking.png into --output.
"""
import argparse
import json
from pathlib import Path

from multissl.video import (ClipConfig, VideoFolder, evaluate_davis, format_table, generate_benchmark, list_sequences, load_run,
                            load_sequence, model_features, pixel_features, plot_colorization, plot_tracking, track_masks,
                            train)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", help="folder of training videos (default: synthetic)")
    parser.add_argument("--davis", help="DAVIS-layout folder to evaluate on (default: synthetic)")
    parser.add_argument("--minutes", type=float, default=3.0, help="training budget")
    parser.add_argument("--output", default="colorize-to-track", help="output folder")
    args = parser.parse_args()
    out = Path(args.output)
    if args.videos is None or args.davis is None:
        generate_benchmark(out / "bench", videos=12, eval_videos=6, seed=0)
    videos = args.videos or out / "bench" / "train"
    davis = args.davis or out / "bench" / "eval"

    train(videos, out / "run", preset="cpu", max_minutes=args.minutes, seed=0, overwrite=True)
    run = load_run(out / "run")

    methods = {"model": model_features(run.model, run.eval_short_side), "copy_first": None,
               "pixels": pixel_features(run.eval_short_side)}
    results = evaluate_davis(davis, methods, run.propagation)
    print(format_table(results))
    (out / "eval.json").write_text(json.dumps(results, indent=2))

    data = VideoFolder(videos, ClipConfig(**{**run.config["recipe"]["clips"], "data_mode": "stream"}))
    plot_colorization(run.model, [data[i] for i in range(3)], out / "colorization.png")  # items' crops come from their keys
    seq = load_sequence(davis, list_sequences(davis)[0])
    masks = track_masks(seq.frames, seq.masks[0], methods["model"], run.propagation)
    plot_tracking(seq.frames, masks, out / "tracking.png", seq.masks, title=seq.name)
    print(f"pictures and eval.json written to {out}")


if __name__ == "__main__":
    main()
