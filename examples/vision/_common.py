"""Shared by the example scripts: command-line data/budget options, training and probing one task."""
import argparse
from pathlib import Path

from multissl.vision import evaluate, load_images, load_run, train

DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cifar10-subset.npz"


def parse_args(description: str):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", default=str(DEFAULT_DATA) if DEFAULT_DATA.is_file() else "digits",
                        help="an .npz with x_train/y_train/x_test/y_test, an ImageFolder, or 'digits'")
    parser.add_argument("--minutes", type=float, default=5.0, help="training budget")
    parser.add_argument("--out", default="runs/example", help="run folder")
    return parser.parse_args()


def train_and_probe(name, config, args, batch_size=128, picture=None):
    splits = load_images(args.data, image_size=32)
    train(splits, args.out, name, task=config, max_minutes=args.minutes, batch_size=batch_size, overwrite=True)
    run = load_run(args.out)
    task, random_task = run.model, run.initial
    scores = evaluate(task, random_task, splits)
    for key, value in scores.items():
        print(f"{key:20s} {value:.4f}")
    if picture:
        from multissl.vision.pictures import save_task_picture

        print("picture:", save_task_picture(task, splits.x_test[:8], picture)[0])
    return scores
