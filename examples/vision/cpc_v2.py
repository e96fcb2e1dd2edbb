"""CPC v2 (Henaff et al. 2020): predict patch embeddings rows below with a masked-conv context network."""
from _common import parse_args, train_and_probe

from multissl.vision.tasks.cpc_v2 import CPCv2Config

args = parse_args(__doc__)
train_and_probe("cpc-v2", CPCv2Config(grid=7, patch_size=8, predict_steps=3), args, batch_size=32)
