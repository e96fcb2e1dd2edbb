"""The plain torchvision pipeline a streamed SimCLR run is compared with, on the same folder, cores and step.

``ImageFolder`` + ``DataLoader(num_workers=N)`` + two ``RandomResizedCrop(side, scale=(0.08, 1))`` +
``RandomHorizontalFlip`` views per image (uint8 tensors), fed to the same SimCLR task (its colour half
on the training process, as multissl's streamed path does), optimiser and batch as
``multissl vision train simclr FOLDER --image-size SIDE``. Prints one JSON line:
``{"images_per_s", "steps", "data_wait"}`` (steps after ``--skip`` warm-up steps).

    python benchmarks/scale/torchvision_reference.py FOLDER --side 96 --steps 30 --workers 1
"""
from __future__ import annotations

import argparse
import json
import time

import torch
import torchvision
from torchvision import transforms


class TwoCrops:
    def __init__(self, side: int):
        self.view = transforms.Compose([transforms.RandomResizedCrop(side, scale=(0.08, 1.0), antialias=True),
                                        transforms.RandomHorizontalFlip(), transforms.PILToTensor()])

    def __call__(self, img):
        return torch.stack([self.view(img), self.view(img)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--side", type=int, default=96)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--skip", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    from multissl.vision.registry import build_task, size_recipe_for
    from multissl.vision.training import make_optimizer, recipe

    settings = recipe("simclr", size_recipe=size_recipe_for(args.side))
    torch.manual_seed(0)
    task = build_task("simclr", settings.task, settings.backbone, 3, args.side, 0)
    optimizer, _ = make_optimizer(task, settings.optim)
    data = torchvision.datasets.ImageFolder(args.folder, transform=TwoCrops(args.side))
    loader = torch.utils.data.DataLoader(data, batch_size=settings.train.batch_size, shuffle=True, drop_last=True,
                                         num_workers=args.workers, persistent_workers=args.workers > 0)
    batches = iter(loader)
    waited = 0.0
    for step in range(args.steps):
        if step == args.skip:
            start, waited = time.perf_counter(), 0.0
        asked = time.perf_counter()
        views, labels = next(batches)
        waited += time.perf_counter() - asked
        loss, _ = task((views, labels))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    elapsed = time.perf_counter() - start
    done = args.steps - args.skip
    print(json.dumps({"images_per_s": done * settings.train.batch_size / elapsed, "steps": done, "data_wait": waited / elapsed}))


if __name__ == "__main__":
    main()
