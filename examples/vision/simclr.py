"""SimCLR (Chen et al. 2020): NT-Xent on two augmented views, temperature 0.5 on CIFAR."""
from _common import parse_args, train_and_probe

from multissl.vision.tasks.simclr import SimCLRConfig

args = parse_args(__doc__)
train_and_probe("simclr", SimCLRConfig(temperature=0.5, chunk_size=256, online_probe=True), args, batch_size=256)
