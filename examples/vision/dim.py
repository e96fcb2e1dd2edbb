"""Deep InfoMax (Hjelm et al. 2019): local-global MI with the JSD estimator and prior matching."""
from _common import parse_args, train_and_probe

from multissl.vision.tasks.dim import DIMConfig

args = parse_args(__doc__)
train_and_probe("dim", DIMConfig(estimator="jsd", alpha=0.0, beta=1.0, gamma=0.1), args)
