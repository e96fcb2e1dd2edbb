"""Relative patch position (Doersch et al. 2015): 8-way classification of a neighbour's position."""
from _common import parse_args, train_and_probe

from multissl.vision.tasks.relative_patch import RelativePatchConfig

args = parse_args(__doc__)
train_and_probe("relative-patch", RelativePatchConfig(resize=64, patch_size=16, gap=3, jitter=2, color_drop=True), args)
