"""BYOL (Grill et al. 2020): online predictor against an EMA target, no negatives."""
from _common import parse_args, train_and_probe

from multissl.vision.tasks.byol import BYOLConfig

args = parse_args(__doc__)
train_and_probe("byol", BYOLConfig(tau_base=0.996, online_probe=True), args, batch_size=256)
