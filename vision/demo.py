"""The vision part of ``multissl demo``: rotation prediction, probed against its random
initialisation, and a context-encoder inpainting picture.

Data: the CIFAR-10 subset when it can be found (``$MULTISSL_DATA`` or the
``shared/data`` folder beside the repository), else scikit-learn's digits
(which ship with a dependency). The inpainting picture uses crops of the
photographs in scikit-image's wheel.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import torch

from multissl.demo import DemoSection

from .data import ImageSplits, load_images
from .encoder import BackboneConfig
from .pictures import save_task_picture
from .probe import evaluate
from .run import load_run
from .training import train

CIFAR_SUBSET = "cifar10-subset.npz"


def find_cifar_subset() -> Optional[Path]:
    candidates = []
    if os.environ.get("MULTISSL_DATA"):
        candidates.append(Path(os.environ["MULTISSL_DATA"]) / CIFAR_SUBSET)
    candidates.append(Path(__file__).resolve().parents[1].parent / "shared" / "data" / CIFAR_SUBSET)
    return next((p for p in candidates if p.is_file()), None)


def _subset(splits: ImageSplits, n_train: int, n_test: int) -> ImageSplits:
    return ImageSplits(splits.x_train[:n_train], splits.y_train[:n_train], splits.x_test[:n_test], splits.y_test[:n_test],
                       splits.classes, splits.name)


def run(out_dir: Path, quick: bool = False, seed: int = 0) -> DemoSection:
    cifar = find_cifar_subset()
    splits = load_images(str(cifar)) if cifar else load_images("digits", image_size=16)
    name = "the CIFAR-10 subset" if cifar else "scikit-learn's digits (16x16)"
    backbone = BackboneConfig(arch="resnet10", width=16)
    minutes = 0.2 if quick else 0.75
    run_dir = out_dir / "vision-rotation-run"
    splits.name = name
    result = train(splits, run_dir, "rotation", backbone=backbone, max_minutes=minutes, batch_size=128, seed=seed, overwrite=True,
                   verbose=False, checkpoint_every=0).result
    trained = load_run(run_dir)
    task, random_task = trained.model, trained.initial
    scores = evaluate(task, random_task, _subset(splits, 1000, 500) if quick else _subset(splits, 2000, 1000), pixels=True)

    photos = load_images("skimage", image_size=32, seed=seed)
    ce_dir = out_dir / "vision-context-encoder-run"
    train(photos, ce_dir, "context-encoder", backbone=backbone, max_minutes=minutes / 2, batch_size=64, seed=seed, overwrite=True,
          verbose=False, checkpoint_every=0)
    inpainter = load_run(ce_dir).model
    picture = save_task_picture(inpainter, photos.x_train[torch.randperm(len(photos.x_train), generator=torch.Generator().manual_seed(seed))[:8]],
                                out_dir / "vision_inpainting.png", "context encoder: masked -> inpainted (scikit-image photo crops)")
    rows = [("rotation-trained encoder", scores["linear_acc"], scores["knn_acc"]),
            ("same encoder at random init", scores["random_linear_acc"], scores["random_knn_acc"]),
            ("raw pixels", scores["pixels_linear_acc"], scores["pixels_knn_acc"])]
    table = "\n".join(f"| {r[0]} | {r[1]:.3f} | {r[2]:.3f} |" for r in rows)
    markdown = (
        f"Rotation prediction (Gidaris et al. 2018) trained for {result.step} steps ({result.elapsed_s:.0f} s) on {name}, "
        f"then a frozen-feature probe on its labels:\n\n| features | linear probe | kNN |\n|---|---|---|\n{table}\n\n"
        f"A context encoder (Pathak et al. 2016) trained for {minutes * 30:.0f} s on crops of scikit-image's photos fills in the hidden centre."
    )
    return DemoSection("Vision: rotation prediction and inpainting", markdown, [p.name for p in picture],
                       {"data": name, "steps": result.step, **scores})
