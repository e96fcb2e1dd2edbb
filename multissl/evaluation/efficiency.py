"""Label-efficiency curves: accuracy against the amount of labels, one line per method.

:func:`label_efficiency` runs every *evaluator* (a function ``(indices, seed)
-> test accuracy`` that trains on the labelled examples ``indices`` of the
training pool) on nested, class-balanced label subsets, several subset seeds
where labels are scarce, and reports the mean and standard deviation of each.
The evaluators that come with the core are :func:`linear_evaluator` (a linear
probe on frozen features) and :func:`finetune_evaluator` (:func:`finetune`;
given a randomly initialised encoder it is the supervised baseline). A
modality composes them (vision: linear probe, fine-tune, supervised; audio:
CPC and MFCC linear probes, supervised CPC encoder).

Amounts are fractions of every class (``fractions=``, CPC v2's x axis) or
examples per class (``per_class=``; ``None`` = all of them).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from tqdm.auto import tqdm

from ..cliutils import write_json_file
from ..figures import colormap, new_figure, save_figure
from .finetune import FinetuneConfig, finetune
from .probes import linear_probe
from .subsets import _as_labels, check_fraction, label_subset

Evaluator = Callable[[np.ndarray, int], float]
SCARCE_FRACTION = 0.1  # at or below this share of labels, results are averaged over several subset seeds


@dataclass
class Amount:
    """One point of the x axis: a fraction of every class, or a count per class (``None``: all)."""

    fraction: Optional[float] = None
    per_class: Optional[int] = None

    @property
    def name(self) -> str:
        if self.fraction is not None:
            return f"{self.fraction:g}"
        return "all" if self.per_class is None else f"{self.per_class}"

    @property
    def scarce(self) -> bool:
        """True where one subset is not representative: several seeds are run."""
        if self.fraction is not None:
            return self.fraction <= SCARCE_FRACTION
        return self.per_class is not None

    def subset(self, labels, seed: int) -> np.ndarray:
        if self.fraction is not None:
            return label_subset(labels, fraction=self.fraction, seed=seed)
        if self.per_class is None:
            return np.arange(len(labels))
        return label_subset(labels, per_class=self.per_class, seed=seed)


def amounts_from(fractions: Optional[Sequence[float]] = None, per_class: Optional[Sequence[Optional[int]]] = None) -> List[Amount]:
    """The x axis from ``fractions`` (each in (0, 1]) or ``per_class`` counts (``None`` or ``"all"``: every example)."""
    if (fractions is None) == (per_class is None):
        raise ValueError("give exactly one of fractions= and per_class=")
    if fractions is not None:
        if not len(fractions):
            raise ValueError("fractions is empty")
        _refuse_repeats("fractions", [float(f) for f in fractions])
        return [Amount(fraction=check_fraction(f)) for f in sorted(fractions)]
    if not len(per_class):
        raise ValueError("per_class is empty")
    counts = [None if c in (None, "all") else int(c) for c in per_class]
    for c in counts:
        if c is not None and c < 1:
            raise ValueError(f"per-class label counts must be >= 1 (or 'all'), got {c}")
    _refuse_repeats("per_class", counts)
    return [Amount(per_class=c) for c in sorted(counts, key=lambda c: float("inf") if c is None else c)]


def _refuse_repeats(name: str, values: Sequence[Any]) -> None:
    """A ValueError naming the amounts given more than once (each would be computed again, to the same row)."""
    repeated = sorted({v for v in values if values.count(v) > 1}, key=lambda v: float("inf") if v is None else v)
    if repeated:
        shown = ", ".join("all" if v is None else f"{v:g}" for v in repeated)
        raise ValueError(f"{name} lists {shown} more than once; give each amount of labels once")


@dataclass
class EfficiencyResult:
    """Per amount of labels, every method's test accuracy per seed, with mean and std."""

    rows: List[Dict[str, Any]]
    methods: List[str]
    axis: str  # "fraction" or "per_class"
    settings: Dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> Dict[str, Any]:
        return {"axis": self.axis, "methods": self.methods, "settings": self.settings, "rows": self.rows,
                "by_amount": {row["amount"]: {m: row[m] for m in self.methods} for row in self.rows}}

    def write_json(self, path: Union[str, Path]) -> Path:
        """:meth:`as_dict` as indented JSON (parent folders created); returns the path."""
        return write_json_file(path, self.as_dict())

    def markdown(self) -> str:
        """A markdown table: one row per amount, ``mean ± std`` per method (std over the seeds)."""
        head = ["labels" if self.axis == "fraction" else "per class", "labelled examples", "seeds", *self.methods]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for row in self.rows:
            amount = f"{100 * row['fraction']:g} %" if self.axis == "fraction" else row["amount"]
            cells = [amount, str(row["labelled"]), self._seed_counts(row)]
            cells += [f"{row[m]['mean']:.4f} ± {row[m]['std']:.4f}" if len(row[m]["values"]) > 1 else f"{row[m]['mean']:.4f}"
                      for m in self.methods]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def _seed_counts(self, row: Dict[str, Any]) -> str:
        """How many subset seeds: one number, or the most with the methods that ran fewer in brackets."""
        counts = {m: len(row[m]["values"]) for m in self.methods}
        most = max(counts.values())
        fewer = ", ".join(f"{m}: {n}" for m, n in counts.items() if n != most)
        return f"{most} ({fewer})" if fewer else str(most)

    def figure(self, title: str = ""):
        """A :class:`matplotlib.figure.Figure`: accuracy against labels (log x), one line per method with ± std bars."""
        fig = new_figure(figsize=(6.2, 4.4))
        ax = fig.subplots()
        cmap = colormap("tab10")
        xs = [self._x(row) for row in self.rows]
        for i, method in enumerate(self.methods):
            means = [row[method]["mean"] for row in self.rows]
            stds = [row[method]["std"] for row in self.rows]
            ax.errorbar(xs, means, yerr=stds, marker="o", capsize=3, color=cmap(i % 10), label=method)
        ax.set_xscale("log")
        ax.set_xlabel("% of labels" if self.axis == "fraction" else "labelled examples per class")
        ax.set_ylabel("test accuracy")
        ax.set_xticks(xs)
        ax.set_xticklabels([f"{x:g}" for x in xs])
        ax.minorticks_off()
        ax.grid(True, alpha=0.3)
        ax.legend()
        ax.set_title(title or "label efficiency")
        return fig

    def plot(self, path: Union[str, Path], title: str = "") -> Path:
        """Write :meth:`figure` as PNG; returns the path."""
        return save_figure(self.figure(title), path, dpi=120)

    def _x(self, row: Dict[str, Any]) -> float:
        if self.axis == "fraction":
            return 100 * row["fraction"]
        return row["per_class"] if row["per_class"] is not None else row["labelled"] / max(1, row["classes"])


def _summary(values: List[float]) -> Dict[str, Any]:
    return {"mean": float(np.mean(values)), "std": float(np.std(values)), "values": [float(v) for v in values]}


def label_efficiency(
    evaluators: Dict[str, Evaluator],
    labels,
    fractions: Optional[Sequence[float]] = None,
    per_class: Optional[Sequence[Optional[int]]] = None,
    seeds: int = 3,
    verbose: bool = True,
    settings: Optional[Dict[str, Any]] = None,
) -> EfficiencyResult:
    """Run every evaluator on nested label subsets of the training pool.

    Args:
        evaluators: ``{method name: evaluator(indices (K,), seed) -> test accuracy}``.
        labels: (N,) class indices of the whole training pool.
        fractions / per_class: the amounts of labels (exactly one of the two).
        seeds: subset seeds 0..seeds-1 for scarce amounts (fractions <= 10 %,
            any per-class count); abundant amounts (more, or all) run seed 0 only.
    Returns:
        :class:`EfficiencyResult` with, per amount, ``{method: {mean, std, values}}``.
    """
    if not evaluators:
        raise ValueError("no evaluators given")
    if seeds < 1:
        raise ValueError(f"seeds must be >= 1, got {seeds}")
    y = _as_labels(labels)
    amounts = amounts_from(fractions, per_class)
    for amount in amounts:  # bad amounts fail before any training starts
        amount.subset(y, 0)
    jobs = [(a, s) for a in amounts for s in (range(seeds) if a.scarce else range(1))]
    bar = tqdm(total=len(jobs) * len(evaluators), desc="label efficiency", unit="fit", disable=None if verbose else True)
    rows = []
    for amount in amounts:
        seed_list = list(range(seeds)) if amount.scarce else [0]
        scores: Dict[str, List[float]] = {name: [] for name in evaluators}
        for seed in seed_list:
            indices = amount.subset(y, seed)
            for name, evaluate in evaluators.items():
                bar.set_postfix_str(f"{name} @ {amount.name}, seed {seed}")
                scores[name].append(float(evaluate(indices, seed)))
                bar.update(1)
        rows.append({"amount": amount.name, "fraction": amount.fraction, "per_class": amount.per_class,
                     "labelled": int(len(amount.subset(y, 0))), "classes": int(len(np.unique(y))), "seeds": seed_list,
                     **{name: _summary(values) for name, values in scores.items()}})
    bar.close()
    axis = "fraction" if fractions is not None else "per_class"
    return EfficiencyResult(rows, list(evaluators), axis, dict(settings or {}))


def linear_evaluator(train_features, train_labels, test_features, test_labels, max_iter: int = 200) -> Evaluator:
    """An evaluator: linear probe (L2 penalty chosen on held-out labelled data) on frozen (N, D) features."""
    xtr, xte = torch.as_tensor(train_features), torch.as_tensor(test_features)
    ytr, yte = torch.as_tensor(_as_labels(train_labels)), torch.as_tensor(_as_labels(test_labels))

    def evaluate(indices: np.ndarray, seed: int) -> float:
        idx = torch.as_tensor(indices, dtype=torch.long)
        auto = "auto" if len(idx) >= 50 else 1e-4  # too few examples to choose the penalty on a held-out fifth
        return linear_probe(xtr[idx], ytr[idx], xte, yte, weight_decay=auto, max_iter=max_iter, seed=seed).accuracy
    return evaluate


def finetune_evaluator(encoder: torch.nn.Module, inputs, labels, test_inputs, test_labels,
                       config: Optional[FinetuneConfig] = None, output: Optional[Union[str, Path]] = None,
                       **finetune_kwargs: Any) -> Evaluator:
    """An evaluator: :func:`finetune` of ``encoder`` on the subset (config seed = subset seed).

    With ``output``, each call trains in ``output/<labelled>-seed<seed>/``.
    ``finetune_kwargs`` go to :func:`finetune` (``train_transform``, ``eval_transform``, ``device``, ...).
    """
    config = config or FinetuneConfig()
    ytr, yte = torch.as_tensor(_as_labels(labels)), torch.as_tensor(_as_labels(test_labels))

    def evaluate(indices: np.ndarray, seed: int) -> float:
        run_config = FinetuneConfig(**{**config.__dict__, "seed": seed})
        folder = Path(output) / f"{len(indices)}-seed{seed}" if output is not None else None
        return finetune(encoder, inputs, ytr, test_inputs, yte, indices=indices, config=run_config, output=folder,
                        **finetune_kwargs).accuracy
    return evaluate


__all__ = ["Amount", "EfficiencyResult", "amounts_from", "finetune_evaluator", "label_efficiency", "linear_evaluator"]
