"""Train SimCLR or BYOL with the lightly library (its losses, heads, momentum helpers and
per-sample transforms) on the same backbone, batch and epochs as multissl; print JSON.

Run by benchmarks/vision_contrastive.py with a Python that has lightly
installed (``pip install lightly``); not part of the library.
"""
from __future__ import annotations

import argparse
import copy
import json
import random
import time

import numpy as np

import torch
from torch.utils.data import DataLoader, Dataset


class _UInt8Images(Dataset):
    def __init__(self, images, transform):
        from torchvision.transforms import v2

        self.images, self.transform = images, transform
        self.to_pil = v2.ToPILImage()

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.transform(self.to_pil(self.images[i])), 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("method", choices=["simclr", "byol"])
    parser.add_argument("--data", required=True)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--proj-hidden", type=int, default=512)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--save", required=True, help="where to save the trained encoder state_dict")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from lightly.loss import NegativeCosineSimilarity, NTXentLoss
    from lightly.models.modules import BYOLPredictionHead, BYOLProjectionHead, SimCLRProjectionHead
    from lightly.models.utils import deactivate_requires_grad, update_momentum
    from lightly.transforms import BYOLTransform, BYOLView1Transform, BYOLView2Transform, SimCLRTransform
    from lightly.utils.scheduler import cosine_schedule

    from multissl.vision.data import load_images
    from multissl.vision.encoder import BackboneConfig, ImageEncoder

    # lightly's RandomSolarization draws from numpy's global RNG: seed it too, or BYOL runs are not repeatable
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    random.seed(args.seed)
    splits = load_images(args.data)
    encoder = ImageEncoder(BackboneConfig(arch=args.arch, width=args.width), 3)
    d = encoder.out_dim
    if args.method == "simclr":
        transform = SimCLRTransform(input_size=32, cj_strength=0.5, gaussian_blur=0.0, normalize=None)
        projector = SimCLRProjectionHead(d, args.proj_hidden, 128)
        model = torch.nn.ModuleDict({"encoder": encoder, "projector": projector})
        criterion = NTXentLoss(temperature=0.5)
    else:
        transform = BYOLTransform(
            view_1_transform=BYOLView1Transform(input_size=32, gaussian_blur=0.0, normalize=None),
            view_2_transform=BYOLView2Transform(input_size=32, gaussian_blur=0.0, normalize=None),
        )
        projector = BYOLProjectionHead(d, 1024, 256)
        predictor = BYOLPredictionHead(256, 1024, 256)
        model = torch.nn.ModuleDict({"encoder": encoder, "projector": projector, "predictor": predictor})
        target = torch.nn.ModuleDict({"encoder": copy.deepcopy(encoder), "projector": copy.deepcopy(projector)})
        deactivate_requires_grad(target)
        criterion = NegativeCosineSimilarity()
    loader = DataLoader(_UInt8Images(splits.x_train, transform), batch_size=args.batch_size, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(args.seed))
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    total = args.epochs * len(loader)
    step, images = 0, 0
    start = time.perf_counter()
    for epoch in range(args.epochs):
        for (x0, x1), _ in loader:
            if args.method == "simclr":
                h = encoder.features(torch.cat([x0, x1]))
                z0, z1 = projector(h).chunk(2)
                loss = criterion(z0, z1)
            else:
                tau = cosine_schedule(step, total, 0.996, 1.0)
                update_momentum(model["encoder"], target["encoder"], tau)
                update_momentum(model["projector"], target["projector"], tau)
                p0, p1 = predictor(projector(encoder.features(torch.cat([x0, x1])))).chunk(2)
                with torch.no_grad():
                    z0, z1 = target["projector"](target["encoder"].features(torch.cat([x0, x1]))).chunk(2)
                loss = 0.5 * (criterion(p0, z1) + criterion(p1, z0))
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            images += len(x0)
    seconds = time.perf_counter() - start
    torch.save(encoder.state_dict(), args.save)
    print(json.dumps({"method": args.method, "steps": step, "seconds": seconds, "images_per_s": images / seconds, "last_loss": float(loss)}))


if __name__ == "__main__":
    main()
