"""Jigsaw puzzles (Noroozi & Favaro 2016) with a maximal-Hamming-distance permutation set."""
from _common import parse_args, train_and_probe

from multissl.vision.tasks.jigsaw import JigsawConfig

args = parse_args(__doc__)
train_and_probe("jigsaw", JigsawConfig(num_permutations=100, tile_size=18, resize=64), args, batch_size=64)
