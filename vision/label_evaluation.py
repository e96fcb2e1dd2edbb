"""Evaluate a vision run as the papers do: few-label fine-tuning, label-efficiency curves, transfer.

The core procedures (:mod:`multissl.evaluation`) applied to a vision run:

- :func:`finetune_run`: the run's encoder + a linear head fine-tuned end to
  end on a class-balanced labelled subset (validation carved from it), next to
  a linear probe on the same subset and, optionally, the supervised baseline;
- :func:`efficiency_run`: linear probe, fine-tuning and the supervised
  baseline (the same network from the run's own random initialisation, same
  subset, budget and augmentation) on nested subsets -> table, JSON, picture;
- :func:`transfer_run`: the run linear-probed on several data sets next to its
  random initialisation and raw pixels (images are resized to the run's
  training size, bilinear).

Images are uint8 (N, C, H, W); training batches get the standard augmentation
(random horizontal flip and a random translation by up to 1/8 of the side).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Union

import numpy as np
import torch

from multissl.evaluation import (EfficiencyResult, FinetuneConfig, TransferResult, finetune, finetune_evaluator, label_efficiency,
                                 check_same_classes, label_subset, linear_evaluator, transfer)
from multissl.run import Run, as_run

from .augment import flip_and_translate
from .data import ImageSplits, describe_splits, to_float
from .probe import check_probe_labels, task_features
from .run import load_for_run

RunLike = Union[str, Path, Run]


def encoder_of(task: torch.nn.Module, method: str) -> torch.nn.Module:
    """A task's image encoder (images (B, C, H, W) in [0, 1] -> (B, D)), the network fine-tuning trains."""
    encoder = getattr(task, "encoder", None)
    if not isinstance(encoder, torch.nn.Module):
        raise ValueError(f"method {method!r} has no single image encoder to fine-tune; "
                         "its representation can be linear-probed (efficiency --methods linear, transfer)")
    return encoder


def train_transform(x: torch.Tensor) -> torch.Tensor:
    """uint8 (B, C, H, W) -> augmented floats in [0, 1]: random flip + translation by up to side/8."""
    return flip_and_translate(to_float(x), padding=max(1, x.shape[-1] // 8))


def eval_transform(x: torch.Tensor) -> torch.Tensor:
    """uint8 (B, C, H, W) -> floats in [0, 1]."""
    return to_float(x)


def check_splits(run: Run, splits: ImageSplits) -> None:
    """Labelled train and test splits of the same classes, else a ValueError."""
    check_probe_labels(splits)
    check_same_classes(splits.y_train, splits.y_test, f"data set {splits.name!r}")


def load_splits(run: Run, data: Union[str, ImageSplits], root: Optional[str] = None, image_size: Optional[int] = None,
                verbose: bool = False) -> ImageSplits:
    """``data`` loaded at the run's training image size (or ``image_size``) with the run's channels
    (:func:`~multissl.vision.run.load_for_run`) and checked; ``verbose``: one line on stderr says what was loaded."""
    splits = load_for_run(run, data, root, image_size)
    if verbose:
        print(f"data {describe_splits(splits)}", file=sys.stderr, flush=True)
    check_splits(run, splits)
    return splits


def finetune_run(run: RunLike, data: Union[str, ImageSplits], fraction: Optional[float] = None, per_class: Optional[int] = None,
                 seed: int = 0, config: Optional[FinetuneConfig] = None, supervised: bool = False,
                 output: Optional[Union[str, Path]] = None, root: Optional[str] = None, device: Optional[str] = None,
                 verbose: bool = True, resume: bool = False, overwrite: bool = False) -> Dict[str, Any]:
    """Fine-tune the run's encoder on a labelled subset of ``data``'s train split; score on its test split.

    Returns ``{"labels", "labelled", "finetune_acc", "linear_acc", "lr", "epoch", ...}`` and, with
    ``supervised``, ``"supervised_acc"`` of the same network trained from its random initialisation.
    """
    run = as_run(run, "vision")
    splits = load_splits(run, data, root, verbose=verbose)
    if fraction is None and per_class is None:
        fraction = 1.0
    indices = label_subset(splits.y_train, fraction=fraction, per_class=per_class, seed=seed)
    config = FinetuneConfig(**{**(config or FinetuneConfig()).__dict__, "seed": seed})
    common = dict(indices=indices, config=config, train_transform=train_transform, eval_transform=eval_transform, device=device,
                  verbose=verbose, resume=resume, overwrite=overwrite)
    folder = Path(output) if output is not None else None
    tuned = finetune(encoder_of(run.model, run.method), splits.x_train, splits.y_train, splits.x_test, splits.y_test,
                     output=folder / "finetune" if folder else None, **common)
    subset = torch.as_tensor(indices)
    probe = linear_evaluator(task_features(run.model, splits.x_train[subset]), splits.y_train[subset],
                             task_features(run.model, splits.x_test), splits.y_test)
    linear_acc = probe(np.arange(len(subset)), seed)
    scores = {"method": run.method, "dataset": splits.name, "fraction": fraction, "per_class": per_class, "seed": seed,
              "labelled": int(len(indices)), "finetune_acc": tuned.accuracy, "linear_acc": linear_acc,
              **{f"finetune_{k}": v for k, v in tuned.as_dict().items() if k != "accuracy"}}
    if supervised:
        baseline = finetune(encoder_of(run.initial, run.method), splits.x_train, splits.y_train, splits.x_test, splits.y_test,
                            output=folder / "supervised" if folder else None, **common)
        scores.update({"supervised_acc": baseline.accuracy, "supervised_lr": baseline.lr, "supervised_epoch": baseline.epoch})
    return scores


def efficiency_run(run: RunLike, data: Union[str, ImageSplits], fractions: Sequence[float] = (0.01, 0.1, 1.0), seeds: int = 3,
                   config: Optional[FinetuneConfig] = None, methods: Sequence[str] = ("linear", "finetune", "supervised"),
                   output: Optional[Union[str, Path]] = None, root: Optional[str] = None, device: Optional[str] = None,
                   verbose: bool = True, overwrite: bool = False) -> EfficiencyResult:
    """Label-efficiency curve of a run: ``methods`` (of linear, finetune, supervised) at each fraction of labels.

    Fractions <= 10 % run ``seeds`` label-subset seeds (mean ± std), larger ones seed 0.
    """
    unknown = sorted(set(methods) - {"linear", "finetune", "supervised"})
    if unknown or not methods:
        raise ValueError(f"methods must be among linear, finetune, supervised; got {list(methods)}")
    run = as_run(run, "vision")
    splits = load_splits(run, data, root, verbose=verbose)
    config = config or FinetuneConfig()
    folder = Path(output) if output is not None else None
    tune = dict(train_transform=train_transform, eval_transform=eval_transform, device=device, verbose=False, overwrite=overwrite)
    evaluators = {}
    if "linear" in methods:
        evaluators["linear"] = linear_evaluator(task_features(run.model, splits.x_train), splits.y_train,
                                                task_features(run.model, splits.x_test), splits.y_test)
    for name, model in (("finetune", run.model), ("supervised", run.initial)):
        if name in methods:
            encoder = encoder_of(model, run.method)
            evaluators[name] = finetune_evaluator(encoder, splits.x_train, splits.y_train, splits.x_test, splits.y_test, config,
                                                  output=folder / name if folder else None, **tune)
    settings = {"run": str(run.path), "method": run.method, "dataset": splits.name, "train_images": len(splits.y_train),
                "test_images": len(splits.y_test), "image_size": splits.image_size[0], "finetune": config.__dict__ | {"lrs": list(config.lrs)},
                "augmentation": "random flip + translation by up to side/8", "seeds_for_fractions_up_to": 0.1}
    return label_efficiency(evaluators, splits.y_train, fractions=fractions, seeds=seeds, verbose=verbose, settings=settings)


def transfer_run(run: RunLike, datasets: Sequence[Union[str, ImageSplits]], root: Optional[str] = None, pixels: bool = True,
                 finetune_config: Optional[FinetuneConfig] = None, device: Optional[str] = None, verbose: bool = True) -> TransferResult:
    """The run linear-probed on every data set (resized to its training size), vs its random init and raw pixels.

    With ``finetune_config``, also ``finetune_acc``: the run fine-tuned on each data set's whole train split.
    """
    run = as_run(run, "vision")
    loaded = {}
    for data in datasets:
        splits = load_splits(run, data, root, verbose=verbose)
        name = splits.name if isinstance(data, ImageSplits) else str(data)
        loaded[name] = splits
    feature_sets = {"": lambda x: task_features(run.model, x), "random_": lambda x: task_features(run.initial, x)}
    if pixels:
        feature_sets["pixels_"] = lambda x: to_float(x).flatten(1)
    extra = {}
    if finetune_config is not None:
        encoder = encoder_of(run.model, run.method)
        extra["finetune_acc"] = lambda s: finetune(encoder, s.x_train, s.y_train, s.x_test, s.y_test, config=finetune_config,
                                                   train_transform=train_transform, eval_transform=eval_transform, device=device).accuracy
    settings = {"run": str(run.path), "method": run.method, "image_size": run.config.get("image_size"),
                "resize": f"bilinear (antialiased) to the run's {run.config.get('image_size')}x{run.config.get('image_size')} training size"}
    return transfer(feature_sets, loaded, extra=extra, verbose=verbose, settings=settings)


__all__ = ["efficiency_run", "encoder_of", "eval_transform", "finetune_run", "load_splits", "train_transform", "transfer_run"]
