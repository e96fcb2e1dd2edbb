"""``multissl demo``: a small end-to-end pass of every modality, with a report.

Each modality contributes a part through ``multissl.<modality>.demo.run(out_dir,
quick, seed) -> DemoSection``; a modality without that module has no demo yet
and is listed as such. The core adds its own part (contrastive learning on a
synthetic two-view data set) so the engine, losses and evaluation are shown
working even before any modality exists. The report folder holds
``report.md``, ``metrics.json`` and the PNG pictures.
"""
from __future__ import annotations

import argparse
import importlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from . import MODALITIES


@dataclass
class DemoSection:
    """One part of the demo report."""

    title: str
    markdown: str
    pictures: List[str] = field(default_factory=list)
    metrics: Dict[str, object] = field(default_factory=dict)
    seconds: float = 0.0


def core_demo(out_dir: Path, quick: bool = False, seed: int = 0) -> DemoSection:
    """Train a small encoder with NT-Xent on :class:`~multissl.toy.ToyViews`; compare kNN accuracy.

    Reproducible from ``seed``; the caller's global random generators are left as they were.
    """
    from .randomness import isolated_rng

    with isolated_rng(seed):
        return _core_demo(out_dir, quick, seed)


def _core_demo(out_dir: Path, quick: bool, seed: int) -> DemoSection:
    import torch

    from .engine import TrainConfig, fit
    from .evaluation import knn_accuracy, plot_embedding
    from .toy import ToyContrastiveTask, ToyViews

    train, test = ToyViews(2000, seed=seed), ToyViews(2000, seed=seed)
    test.labels, test.signal = train.labels[1500:], train.signal[1500:]
    train.labels, train.signal = train.labels[:1500], train.signal[:1500]
    task = ToyContrastiveTask(train.dim)
    random_task = ToyContrastiveTask(train.dim)
    random_task.load_state_dict(task.state_dict())
    optimizer = torch.optim.Adam(task.parameters(), lr=3e-3)
    steps = 150 if quick else 400
    result = fit(task, train, optimizer, TrainConfig(steps=steps, batch_size=128, seed=seed, output_dir=str(out_dir / "core-run"), verbose=False,
                                                      overwrite=True))  # the demo replaces its own run

    def accuracy(encode) -> float:
        with torch.no_grad():
            return knn_accuracy(encode(train.one_view_each(1)), train.labels, encode(test.one_view_each(2)), test.labels)

    scores = {
        "raw inputs": accuracy(lambda x: x),
        "random encoder": accuracy(random_task.eval().encode),
        "trained encoder": accuracy(task.eval().encode),
    }
    with torch.no_grad():
        picture = plot_embedding(task.encode(test.one_view_each(2)), test.labels, out_dir / "core_embedding.png",
                                 title="NT-Xent encoder on synthetic views (t-SNE, colour = class)", seed=seed)
    losses = [h["loss"] for h in result.history if "loss" in h]
    rows = "\n".join(f"| {name} | {acc:.3f} |" for name, acc in scores.items())
    markdown = (
        f"A 2-layer MLP trained for {result.step} steps with NT-Xent (the core engine and loss) on a synthetic "
        f"two-view data set: 8 classes, 8 informative and 24 nuisance dimensions. Loss {losses[0]:.3f} -> {losses[-1]:.3f}.\n\n"
        f"| features | kNN accuracy (8 classes, chance 0.125) |\n|---|---|\n{rows}\n\n"
        + _core_verdict(scores)
    )
    return DemoSection("Core: contrastive learning on synthetic views", markdown, [picture.name],
                       {"knn_accuracy": scores, "first_loss": losses[0], "last_loss": losses[-1], "steps": result.step})


def _core_verdict(scores: Dict[str, float]) -> str:
    trained, best_baseline = scores["trained encoder"], max(scores["raw inputs"], scores["random encoder"])
    if trained > best_baseline:
        return (f"The trained encoder classifies by neighbours better than the raw inputs and the untrained network "
                f"({trained:.3f} vs {best_baseline:.3f}): agreeing across two views taught it to drop the nuisance dimensions.")
    return f"In this run the trained encoder does not beat its baselines ({trained:.3f} vs {best_baseline:.3f})."


def _modality_demo(name: str) -> Optional[Callable[..., DemoSection]]:
    try:
        module = importlib.import_module(f"multissl.{name}.demo")
    except ModuleNotFoundError as err:
        if err.name == f"multissl.{name}.demo":
            return None
        raise
    return module.run


def run_demo(out_dir, parts: Sequence[str] = ("core", *MODALITIES), quick: bool = False, seed: int = 0, verbose: bool = True) -> Path:
    """Run the demo parts and write ``out_dir/report.md``; returns its path."""
    from .randomness import isolated_rng

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    unknown = [p for p in parts if p not in ("core", *MODALITIES)]
    if unknown:
        raise ValueError(f"unknown demo part(s) {unknown}; choose from {['core', *MODALITIES]}")
    sections: List[DemoSection] = []
    missing: List[str] = []
    for part in parts:
        runner = core_demo if part == "core" else _modality_demo(part)
        if runner is None:
            missing.append(part)
            continue
        if verbose:
            print(f"[multissl demo] running {part} ...", flush=True)
        start = time.perf_counter()
        with isolated_rng(seed):  # each part starts seeded; the caller's generators are kept
            section = runner(out_dir, quick=quick, seed=seed)
        section.seconds = time.perf_counter() - start
        sections.append(section)
        if verbose:
            print(f"[multissl demo] {part} done in {section.seconds:.0f} s", flush=True)
    report = _write_report(out_dir, sections, missing)
    if verbose:
        print(report.read_text(encoding="utf-8"))
        print(f"[multissl demo] report written to {report}")
    return report


def _write_report(out_dir: Path, sections: List[DemoSection], missing: List[str]) -> Path:
    from . import __version__

    lines = [f"# multissl {__version__} demo report", ""]
    for s in sections:
        lines += [f"## {s.title}", "", s.markdown.strip(), ""]
        lines += [f"![{p}]({p})" for p in s.pictures]
        lines += ["", f"_{s.seconds:.0f} s_", ""]
    if missing:
        lines += ["## Not yet available", "", "No demo part yet for: " + ", ".join(missing) + ".", ""]
    report = out_dir / "report.md"
    report.write_text("\n".join(lines), encoding="utf-8")
    metrics = {s.title: {**s.metrics, "seconds": s.seconds} for s in sections}
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str), encoding="utf-8")
    return report


def register(subparsers) -> None:
    parser = subparsers.add_parser("demo", help="run a small end-to-end pass of every modality and write a report",
                                   description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", default="multissl-demo", help="report folder (default: multissl-demo)")
    parser.add_argument("--parts", nargs="+", default=["core", *MODALITIES], choices=["core", *MODALITIES],
                        help="which parts to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="shorter training everywhere (for tests)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.set_defaults(func=_cmd_demo)


def _cmd_demo(args: argparse.Namespace) -> int:
    run_demo(args.output, args.parts, args.quick, args.seed)
    return 0
