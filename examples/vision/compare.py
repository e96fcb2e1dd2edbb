"""Train several vision methods with the same budget and print one table.

    python examples/vision/compare.py --methods rotation simclr byol --minutes 5
"""
import argparse
from pathlib import Path

from _common import DEFAULT_DATA

from multissl.vision import TASKS, load_images, probe_run, train

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--data", default=str(DEFAULT_DATA) if DEFAULT_DATA.is_file() else "digits")
parser.add_argument("--methods", nargs="+", default=["rotation", "simclr", "moco-v2", "byol"], choices=list(TASKS))
parser.add_argument("--minutes", type=float, default=5.0)
parser.add_argument("--out", default="runs/compare")
args = parser.parse_args()

splits = load_images(args.data, image_size=32)
print("| method | steps | kNN | linear | random kNN | random linear |\n|---|---|---|---|---|---|")
for name in args.methods:
    run = Path(args.out) / name
    result = train(splits, run, name, max_minutes=args.minutes, verbose=False, overwrite=True).result
    s = probe_run(run, splits)
    print(f"| {name} | {result.step} | {s['knn_acc']:.3f} | {s['linear_acc']:.3f} | {s['random_knn_acc']:.3f} | {s['random_linear_acc']:.3f} |", flush=True)
