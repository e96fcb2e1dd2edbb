"""Transfer tables: one representation probed on several labelled data sets.

:func:`transfer` probes each *feature set* (a function mapping inputs
(N, ...) to frozen features (N, D): the trained encoder, the same encoder at
its random initialisation, raw inputs ...) with a linear probe on every data
set's train split and scores it on its test split; optionally an extra
per-data-set scorer (e.g. fine-tuning) adds a column. A data set is anything
with ``x_train, y_train, x_test, y_test`` (e.g. vision's ``ImageSplits``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Union

import torch
from tqdm.auto import tqdm

from ..cliutils import write_json_file
from .probes import linear_probe
from .subsets import check_same_classes

FeatureFn = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class TransferResult:
    """One row per data set: ``{prefix}linear_acc`` per feature set (+ extra columns)."""

    rows: List[Dict[str, Any]]
    columns: List[str]
    settings: Dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> Dict[str, Any]:
        return {"settings": self.settings, "columns": self.columns, "rows": self.rows,
                "by_dataset": {row["dataset"]: {c: row[c] for c in self.columns} for row in self.rows}}

    def write_json(self, path: Union[str, Path]) -> Path:
        """:meth:`as_dict` as indented JSON (parent folders created); returns the path."""
        return write_json_file(path, self.as_dict())

    def markdown(self) -> str:
        head = ["data set", "classes", "train", "test", *self.columns]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for row in self.rows:
            cells = [row["dataset"], str(row["classes"]), str(row["train"]), str(row["test"])]
            lines.append("| " + " | ".join(cells + [f"{row[c]:.4f}" for c in self.columns]) + " |")
        return "\n".join(lines)


def _check_dataset(name: str, data: Any) -> int:
    for attr in ("x_train", "y_train", "x_test", "y_test"):
        if not hasattr(data, attr):
            raise ValueError(f"data set {name!r} has no {attr}: a transfer data set needs labelled train and test splits")
    if len(data.y_train) == 0 or len(data.y_test) == 0:
        raise ValueError(f"data set {name!r} has no labels (train {len(data.y_train)}, test {len(data.y_test)})")
    return check_same_classes(data.y_train, data.y_test, f"data set {name!r}")


def transfer(
    feature_sets: Dict[str, FeatureFn],
    datasets: Dict[str, Any],
    extra: Optional[Dict[str, Callable[[Any], float]]] = None,
    seed: int = 0,
    verbose: bool = True,
    settings: Optional[Dict[str, Any]] = None,
) -> TransferResult:
    """Linear-probe every feature set on every data set.

    Args:
        feature_sets: ``{prefix: features(inputs (N, ...)) -> (N, D)}``; the
            column is ``f"{prefix}linear_acc"`` (prefix ``""`` for the trained
            representation, ``"random_"``, ``"pixels_"`` ...).
        datasets: ``{name: data with x_train, y_train, x_test, y_test}``.
        extra: ``{column: scorer(data) -> accuracy}``, e.g. ``{"finetune_acc": ...}``.
    Returns:
        :class:`TransferResult`.
    """
    if not feature_sets:
        raise ValueError("no feature sets given")
    if not datasets:
        raise ValueError("no data sets given")
    classes = {name: _check_dataset(name, data) for name, data in datasets.items()}  # fail before any work
    extra = dict(extra or {})
    columns = [f"{prefix}linear_acc" for prefix in feature_sets] + list(extra)
    rows = []
    for name, data in tqdm(datasets.items(), desc="transfer", unit="data set", disable=None if verbose else True):
        row: Dict[str, Any] = {"dataset": name, "classes": classes[name], "train": len(data.y_train), "test": len(data.y_test)}
        for prefix, features in feature_sets.items():
            train, test = features(data.x_train), features(data.x_test)
            row[f"{prefix}linear_acc"] = linear_probe(train, data.y_train, test, data.y_test, weight_decay="auto", seed=seed).accuracy
        for column, scorer in extra.items():
            row[column] = float(scorer(data))
        rows.append(row)
    return TransferResult(rows, columns, dict(settings or {}))


__all__ = ["TransferResult", "transfer"]
