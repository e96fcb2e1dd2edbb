"""Train several vision methods with the same budget and print one table.

    python examples/vision/compare.py --methods rotation simclr byol --minutes 5
"""
import argparse
from pathlib import Path

from _common import SMOKE, add_arguments, finish, images

from multissl.vision import TASKS, probe_run, train

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
add_arguments(parser, out="runs/compare")
parser.add_argument("--methods", nargs="+", default=["rotation", "simclr", "moco-v2", "byol"], choices=list(TASKS))
args = finish(parser.parse_args(), out="runs/compare")

splits = images(args)
smoke = SMOKE if args.smoke else {}
print("| method | steps | kNN | linear | random kNN | random linear |\n|---|---|---|---|---|---|")
for name in args.methods:
    run = Path(args.out) / name
    result = train(splits, run, name, max_minutes=args.minutes, verbose=False, overwrite=True, **smoke).result
    s = probe_run(run, splits)
    print(f"| {name} | {result.step} | {s['knn_acc']:.3f} | {s['linear_acc']:.3f} | {s['random_knn_acc']:.3f} | {s['random_linear_acc']:.3f} |", flush=True)
