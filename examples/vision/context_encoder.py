"""Context encoder (Pathak et al. 2016): inpaint a hidden centre, optionally with the adversarial loss."""
from _common import parse_args, train_and_probe

from multissl.vision.tasks.context_encoder import ContextEncoderConfig

args = parse_args(__doc__)
config = ContextEncoderConfig(mask="center", coverage=0.25, overlap=2, overlap_weight=10.0, adversarial=False)
train_and_probe("context-encoder", config, args, picture=f"{args.out}/inpainting.png")
