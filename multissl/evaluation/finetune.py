"""End-to-end fine-tuning on a labelled subset, and the supervised baseline.

:func:`finetune` copies an encoder (never the caller's), puts a linear head on
it and trains both with the core engine (:func:`multissl.engine.fit`:
checkpoints, resume, time budget, progress bar) on the labelled subset only.
A validation split carved from that subset (class by class) picks the
learning rate from ``config.lrs`` and the epoch: the weights of the best
validation epoch are the result, scored once on the test set. Without a
validation split (``val_fraction=0``, or a subset with one example per class)
the first learning rate trains the whole budget and the last weights are scored.

:func:`supervised_baseline` is the same procedure from a randomly initialised
encoder of the same architecture: same subset, same budget, same augmentation.

Shapes: inputs (N, ...) in whatever form ``train_transform`` / ``eval_transform``
take (e.g. uint8 images (N, C, H, W)); labels (N,) int64; the encoder maps a
transformed batch (B, ...) to features (B, D).
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from ..checks import shown
from ..engine import TrainConfig, fit
from ..engine.checkpoints import atomic_save, checkpoint_candidates
from ..engine.loop import guard_output_dir
from ..randomness import isolated_rng
from ..schedules import LRSchedule
from .subsets import _as_labels, validation_split

Transform = Callable[[torch.Tensor], torch.Tensor]
BEST_FILE = "best.pt"
FINGERPRINT_FILE = "finetune.json"


@dataclass
class FinetuneConfig:
    """How :func:`finetune` and :func:`supervised_baseline` train (both use the same settings)."""

    lrs: Tuple[float, ...] = field(default=(1e-3, 3e-3), metadata={"help": "learning rates tried; the validation split picks one"})
    encoder_lr_scale: float = field(default=1.0, metadata={"help": "the encoder's learning rate = lr x this (the head's is lr)"})
    weight_decay: float = field(default=5e-4, metadata={"help": "AdamW decoupled weight decay"})
    epochs: int = field(default=30, metadata={"help": "passes over the labelled fit split"})
    min_steps: int = field(default=300, metadata={"help": "at least this many optimizer steps (more epochs on tiny subsets)"})
    max_minutes: Optional[float] = field(default=None, metadata={"help": "wall-clock budget per learning rate (default: none)"})
    batch_size: int = field(default=64, metadata={"help": "examples per step (at most the fit split's size)"})
    warmup_steps: int = field(default=20, metadata={"help": "linear warm-up steps of the cosine schedule"})
    val_fraction: float = field(default=0.2, metadata={"help": "share of each class of the labelled subset held out for validation "
                                                                 "(0: none; the first of --lrs, last epoch)"})
    seed: int = field(default=0, metadata={"help": "seed of the validation split, the head and the data order"})

    def __post_init__(self):
        rates = self.lrs if isinstance(self.lrs, (list, tuple)) else (self.lrs,)
        self.lrs = tuple(dict.fromkeys(float(lr) for lr in rates))  # each rate once, in the order given
        if not self.lrs or min(self.lrs) <= 0:
            raise ValueError(f"lrs must be positive learning rates, got {shown(self.lrs)!r}")
        for name in ("epochs", "min_steps", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise ValueError(f"max_minutes must be > 0, got {self.max_minutes}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")


@dataclass
class FinetuneResult:
    """Test accuracy of the best validation epoch, and how it was chosen."""

    accuracy: float
    val_accuracy: float
    lr: float
    epoch: int
    steps: int
    seconds: float
    fit_size: int
    val_size: int
    model: Optional[nn.Module] = field(default=None, repr=False)

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "model"}


class Classifier(nn.Module):
    """``encoder`` + linear head: transformed inputs (B, ...) -> logits (B, num_classes)."""

    def __init__(self, encoder: nn.Module, feature_dim: int, num_classes: int):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(feature_dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x).flatten(1))


class _Objective(nn.Module):
    """What the engine trains: cross-entropy of the classifier on augmented inputs."""

    def __init__(self, classifier: Classifier, train_transform: Transform):
        super().__init__()
        self.classifier, self.train_transform = classifier, train_transform

    def forward(self, batch):
        x, y = batch
        logits = self.classifier(self.train_transform(x))
        return {"loss": F.cross_entropy(logits, y), "acc": (logits.argmax(1) == y).float().mean().detach()}


class _Labelled(Dataset):
    def __init__(self, inputs: torch.Tensor, labels: torch.Tensor, indices: np.ndarray):
        self.inputs, self.labels, self.indices = inputs, labels, torch.as_tensor(indices, dtype=torch.long)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int):
        j = self.indices[i]
        return self.inputs[j], self.labels[j]


@torch.no_grad()
def accuracy(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, transform: Transform, batch_size: int = 256) -> float:
    """Share of ``inputs`` (N, ...) whose argmax logit equals ``labels`` (N,), the model in eval mode."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    try:
        correct = sum(int((model(transform(x.to(device))).argmax(1).cpu() == y).sum())
                      for x, y in zip(inputs.split(batch_size), labels.split(batch_size)))
    finally:
        model.train(was_training)
    return correct / max(1, len(labels))


class _KeepBest:
    """Engine callback: validation accuracy after every epoch; keeps (and with a folder, saves) the best weights."""

    def __init__(self, classifier: Classifier, inputs, labels, transform: Transform, folder: Optional[Path]):
        self.classifier, self.inputs, self.labels, self.transform = classifier, inputs, labels, transform
        self.path = folder / BEST_FILE if folder is not None else None
        self.best_acc, self.best_epoch, self.best_state = -1.0, 0, None
        if self.path is not None and self.path.exists():  # a resumed run keeps the best epoch seen before
            saved = torch.load(self.path, map_location="cpu", weights_only=False)
            self.best_acc, self.best_epoch, self.best_state = saved["val_accuracy"], saved["epoch"], saved["model"]

    def on_epoch_end(self, state) -> Optional[dict]:
        if len(self.labels) == 0:  # no validation split: the last epoch's weights are the result
            self.best_acc, self.best_epoch = float("nan"), state.epoch + 1
            return None
        acc = accuracy(self.classifier, self.inputs, self.labels, self.transform)
        if acc > self.best_acc:
            self.best_acc, self.best_epoch = acc, state.epoch + 1
            self.best_state = {k: v.detach().cpu().clone() for k, v in self.classifier.state_dict().items()}
            if self.path is not None:
                self._save()
        return {"val_acc": acc}

    def _save(self) -> None:
        atomic_save({"val_accuracy": self.best_acc, "epoch": self.best_epoch, "model": self.best_state}, self.path)


def _feature_dim(encoder: nn.Module, sample: torch.Tensor, transform: Transform) -> int:
    was_training = encoder.training
    encoder.eval()
    try:
        with torch.no_grad():
            device = next(encoder.parameters()).device
            out = encoder(transform(sample[:2].to(device)))
    finally:
        encoder.train(was_training)
    if out.ndim < 2:
        raise ValueError(f"the encoder must map a batch (B, ...) to features (B, D), got shape {tuple(out.shape)}")
    return int(out.flatten(1).shape[1])


def _optimizer(classifier: Classifier, lr: float, config: FinetuneConfig):
    groups = [{"params": list(classifier.encoder.parameters()), "lr": lr * config.encoder_lr_scale},
              {"params": list(classifier.head.parameters()), "lr": lr}]
    optimizer = torch.optim.AdamW([g for g in groups if g["params"]], lr=lr, weight_decay=config.weight_decay)
    return optimizer, LRSchedule(optimizer, "cosine", config.warmup_steps)


def _epochs(config: FinetuneConfig, fit_size: int, batch_size: int) -> int:
    steps_per_epoch = max(1, fit_size // batch_size)
    return max(config.epochs, math.ceil(config.min_steps / steps_per_epoch))


def _fingerprint(lr: float, fit_idx: np.ndarray, val_idx: np.ndarray, config: FinetuneConfig, num_classes: int) -> dict:
    """What a fine-tuning folder was trained on: a resume with other labels or settings is refused."""
    digest = hashlib.sha256(np.ascontiguousarray(fit_idx).tobytes() + b"|" + np.ascontiguousarray(val_idx).tobytes()).hexdigest()
    return {"lr": lr, "subset_sha256": digest, "num_classes": num_classes,
            "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items()}}


def _prepare_folder(folder: Optional[Path], stamp: dict, resume: bool, overwrite: bool) -> None:
    if folder is None:
        return
    stamp_file = folder / FINGERPRINT_FILE
    if resume and stamp_file.exists() and json.loads(stamp_file.read_text()) != stamp:
        raise ValueError(f"{folder} holds a fine-tuning run of other labels or settings; resume it with those, "
                         "or use another folder (or --overwrite)")
    if not resume and (overwrite or not checkpoint_candidates(folder)):  # a fresh start: no best epoch of an older run
        (folder / BEST_FILE).unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    stamp_file.write_text(json.dumps(stamp, indent=2) + "\n")


def _train_one_lr(encoder, lr, data, config, num_classes, transforms, folder, device, verbose, resume, overwrite):
    inputs, labels, fit_idx, val_idx = data
    train_transform, eval_transform = transforms
    with isolated_rng(config.seed):  # the head's initialisation; the caller's RNG is left alone
        trunk = copy.deepcopy(encoder).requires_grad_(True)  # the caller's encoder (and its mode) is never touched
        classifier = Classifier(trunk, _feature_dim(trunk, inputs[fit_idx[:2]], eval_transform), num_classes)
    batch = min(config.batch_size, len(fit_idx))
    engine = TrainConfig(epochs=_epochs(config, len(fit_idx), batch), max_minutes=config.max_minutes, batch_size=batch,
                         seed=config.seed, device=device, output_dir=str(folder) if folder else None,
                         checkpoint_every=0, resume="auto" if resume and folder else None, overwrite=overwrite and not resume,
                         verbose=verbose, log_every=max(1, min(10, len(fit_idx) // batch)), amp=False)
    if folder is not None and not resume and not overwrite and checkpoint_candidates(folder):
        guard_output_dir(engine)  # the engine's "already holds checkpoints" error, before the folder is touched
    _prepare_folder(folder, _fingerprint(lr, fit_idx, val_idx, config, num_classes), resume, overwrite)
    keeper = _KeepBest(classifier, inputs[val_idx], labels[val_idx], eval_transform, folder)
    optimizer, schedule = _optimizer(classifier, lr, config)
    result = fit(_Objective(classifier, train_transform), _Labelled(inputs, labels, fit_idx), optimizer, engine,
                 scheduler=schedule, callbacks=[keeper], metadata={"evaluation": "finetune", "lr": lr})
    if len(val_idx) == 0:  # nothing validated: the last epoch's weights (also after a resume of a finished run)
        return classifier.cpu(), float("nan"), result.epoch, result.step
    if keeper.best_state is not None:
        classifier.load_state_dict(keeper.best_state)
    return classifier.cpu(), keeper.best_acc, keeper.best_epoch, result.step


def _split(labels: torch.Tensor, indices: np.ndarray, config: FinetuneConfig):
    """(fit, validation) indices; no validation with ``val_fraction=0`` or one example per class."""
    if config.val_fraction == 0 or len(validation_split(labels, indices, 0.5, config.seed)[1]) == 0:
        return np.sort(indices), indices[:0]
    return validation_split(labels, indices, config.val_fraction, config.seed)


def finetune(
    encoder: nn.Module,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    test_inputs: torch.Tensor,
    test_labels: torch.Tensor,
    indices: Optional[Sequence[int]] = None,
    config: Optional[FinetuneConfig] = None,
    train_transform: Optional[Transform] = None,
    eval_transform: Optional[Transform] = None,
    output: Optional[Union[str, Path]] = None,
    device: Optional[str] = None,
    verbose: bool = False,
    resume: bool = False,
    overwrite: bool = False,
) -> FinetuneResult:
    """Fine-tune a copy of ``encoder`` plus a linear head on the labelled examples ``indices`` of ``inputs``.

    Args:
        encoder: maps ``transform(batch)`` (B, ...) to (B, D); copied, never changed.
        inputs, labels: the labelled training pool (N, ...), (N,).
        test_inputs, test_labels: scored once, with the weights chosen on validation.
        indices: the labelled subset (default: all N); validation is carved from it.
        config: :class:`FinetuneConfig` (learning rates tried, budget, batch).
        train_transform: augmentation + preprocessing of a training batch (default: identity).
        eval_transform: preprocessing for validation and test (default: identity).
        output: a folder for the engine's checkpoints (one sub-folder per learning rate).
        resume: continue the runs in ``output`` from their last checkpoints.
        overwrite: replace runs already in ``output`` (without it or ``resume``, existing checkpoints are an error).
    Returns:
        :class:`FinetuneResult` (``.model`` is the chosen classifier).
    """
    config = config or FinetuneConfig()
    identity = (lambda x: x)
    train_transform, eval_transform = train_transform or identity, eval_transform or identity
    y = torch.as_tensor(_as_labels(labels))
    y_test = torch.as_tensor(_as_labels(test_labels))
    if len(inputs) != len(y) or len(test_inputs) != len(y_test):
        raise ValueError(f"inputs ({len(inputs)}) and labels ({len(y)}), test inputs ({len(test_inputs)}) and test labels "
                         f"({len(y_test)}) must have the same lengths")
    indices = np.arange(len(y)) if indices is None else np.asarray(indices, dtype=np.int64)
    fit_idx, val_idx = _split(y, indices, config)
    num_classes = int(max(y[torch.as_tensor(indices)].max(), y_test.max())) + 1
    start, best = time.perf_counter(), None
    for lr in config.lrs if len(val_idx) else config.lrs[:1]:  # nothing to choose with: the first rate, last epoch
        folder = Path(output) / f"lr-{lr:g}" if output is not None else None
        classifier, val_acc, epoch, steps = _train_one_lr(encoder, lr, (inputs, y, fit_idx, val_idx), config, num_classes,
                                                         (train_transform, eval_transform), folder, device, verbose, resume, overwrite)
        if best is None or val_acc > best[1]:
            best = (classifier, val_acc, lr, epoch, steps)
    classifier, val_acc, lr, epoch, steps = best
    test_acc = accuracy(classifier, test_inputs, y_test, eval_transform)
    result = FinetuneResult(test_acc, val_acc, lr, epoch, steps, time.perf_counter() - start, len(fit_idx), len(val_idx), classifier)
    if output is not None:
        (Path(output) / "result.json").write_text(json.dumps(result.as_dict(), indent=2) + "\n")
    return result


def supervised_baseline(initial_encoder: nn.Module, *args, **kwargs) -> FinetuneResult:
    """The supervised baseline: :func:`finetune` of a randomly initialised encoder (same architecture,
    same labelled subset, same budget and augmentation). Arguments as :func:`finetune`."""
    return finetune(initial_encoder, *args, **kwargs)


__all__ = ["Classifier", "FinetuneConfig", "FinetuneResult", "accuracy", "finetune", "supervised_baseline"]
