"""Rotation prediction (Gidaris et al. 2018): all four rotations of every image in the batch."""
from _common import parse_args, train_and_probe

from multissl.vision.tasks.rotation import RotationConfig

args = parse_args(__doc__)
train_and_probe("rotation", RotationConfig(online_probe=True), args)
