"""Shared by the example scripts: command-line data/budget options, training and probing one task.

Every script takes ``--smoke``: a run of seconds that checks the script works (its numbers mean nothing): 3 steps of a
ResNet-10 of width 4 on 32 generated images (``shapes``, :mod:`multissl.vision.shapes`), written to a temporary folder
unless --out is given.
"""
import argparse
import tempfile
from pathlib import Path

from multissl.vision import evaluate, load_images, load_run, train
from multissl.vision.shapes import make_shapes

DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cifar10-subset.npz"
SMOKE = {"steps": 3, "batch_size": 16, "arch": "resnet10", "width": 4}  # training settings of --smoke
SMOKE_IMAGES = (32, 16)  # training and test images of --smoke


def parse_args(description: str):
    parser = argparse.ArgumentParser(description=description)
    add_arguments(parser, out="runs/example")
    return finish(parser.parse_args(), out="runs/example")


def add_arguments(parser: argparse.ArgumentParser, out: str) -> None:
    parser.add_argument("--data", help="an .npz with x_train/y_train/x_test/y_test, an ImageFolder, or 'digits' "
                                       "(default: ../shared/data/cifar10-subset.npz when present, else digits)")
    parser.add_argument("--minutes", type=float, default=5.0, help="training budget")
    parser.add_argument("--out", help=f"run folder (default: {out})")
    parser.add_argument("--smoke", action="store_true", help="a few steps of a tiny network on a few generated images (a "
                                                             "quick check; --data does not apply)")


def finish(args, out: str):
    """Fill in the defaults of --data and --out (--smoke: a temporary folder)."""
    if args.data is None:
        args.data = str(DEFAULT_DATA) if DEFAULT_DATA.is_file() else "digits"
    if args.out is None:
        args.out = tempfile.mkdtemp(prefix="multissl-example-") if args.smoke else out
    return args


def images(args):
    """The data at 32 x 32 pixels (with --smoke, a few generated shapes)."""
    return make_shapes(*SMOKE_IMAGES) if args.smoke else load_images(args.data, image_size=32)


def train_and_probe(name, config, args, batch_size=128, picture=None):
    splits = images(args)
    settings = SMOKE if args.smoke else {"batch_size": batch_size}
    train(splits, args.out, name, task=config, max_minutes=args.minutes, overwrite=True, **settings)
    run = load_run(args.out)
    task, random_task = run.model, run.initial
    scores = evaluate(task, random_task, splits)
    for key, value in scores.items():
        print(f"{key:20s} {value:.4f}")
    if picture:
        from multissl.vision.pictures import save_task_picture

        print("picture:", save_task_picture(task, splits.x_test[:8], picture)[0])
    return scores
