"""Denoising autoencoder (Vincent et al. 2010) with masking noise and the emphasised loss."""
from _common import parse_args, train_and_probe

from multissl.vision.tasks.dae import DAEConfig

args = parse_args(__doc__)
config = DAEConfig(corruption="masking", level=0.25, alpha=1.0, beta=0.5)  # variant="mlp" for the stacked DAE
train_and_probe("dae", config, args, picture=f"{args.out}/denoising.png")
