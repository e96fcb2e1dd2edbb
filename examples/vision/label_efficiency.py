"""Label efficiency (CPC v2's figure): a self-supervised run fine-tuned on 1 %, 10 % and 100 % of the labels
vs the same network trained from scratch on them, next to a linear probe; then a transfer table.

    python examples/vision/label_efficiency.py --out runs/simclr --minutes 10
"""
from _common import SMOKE, images, parse_args

from multissl.evaluation import FinetuneConfig
from multissl.vision import efficiency_run, train, transfer_run

args = parse_args(__doc__)
data, smoke = (images(args), SMOKE) if args.smoke else (args.data, {})
train(data, args.out, "simclr", max_minutes=args.minutes, overwrite=True, **smoke)
seeds, finetune = (1, FinetuneConfig(epochs=1, min_steps=2, lrs=(1e-3,))) if args.smoke else (3, FinetuneConfig(epochs=15))
result = efficiency_run(args.out, data, fractions=(0.01, 0.1, 1.0), seeds=seeds, config=finetune)
print(result.markdown())
print("curve:", result.plot(f"{args.out}/label_efficiency.png"))
print(transfer_run(args.out, [data]).markdown())
