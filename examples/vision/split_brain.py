"""Split-brain autoencoder (Zhang et al. 2017): L predicts ab, ab predicts L, as classification over bins."""
from _common import parse_args, train_and_probe

from multissl.vision.tasks.split_brain import SplitBrainConfig

args = parse_args(__doc__)
train_and_probe("split-brain", SplitBrainConfig(mode="classification", ab_grid=10.0, l_bins=20), args,
                picture=f"{args.out}/colourisation.png")
