"""Jigsaw puzzles (Noroozi & Favaro 2016) with the library's defaults: 100 permutations of maximal Hamming distance,
14-pixel tiles in 21-pixel cells, per-tile colour jitter, probes on the averaged cell features."""
from _common import parse_args, train_and_probe

from multissl.vision.tasks.jigsaw import JigsawConfig

args = parse_args(__doc__)
train_and_probe("jigsaw", JigsawConfig(), args, batch_size=64)
