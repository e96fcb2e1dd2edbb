"""MoCo v2 (Chen et al. 2020) and v1 (He et al. 2020): momentum key encoder and a queue of negatives."""
from argparse import Namespace

from _common import parse_args, train_and_probe

from multissl.vision.tasks.moco import MoCoConfig, MoCoV1Config

args = parse_args(__doc__)
print("MoCo v2: MLP head, blur; the authors' CIFAR-10 recipe (momentum 0.99, temperature 0.1)")
train_and_probe("moco-v2", MoCoConfig(queue_size=4096, temperature=0.1, momentum=0.99), args, batch_size=256)
print("MoCo v1: linear head, temperature 0.07")
train_and_probe("moco-v1", MoCoV1Config(queue_size=4096), Namespace(**{**vars(args), "out": args.out + "-v1"}), batch_size=256)
