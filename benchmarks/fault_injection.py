"""Fault injection: kill real training processes at random moments and check that no run is ever lost.

    python benchmarks/fault_injection.py                       # >= 200 faults over vision, audio and text
    python benchmarks/fault_injection.py --faults 20 --modalities vision

For each modality a tiny run is first trained without interruption (the
reference). Then the same command, with ``--resume``, is started again and
again; at a random moment (a quarter during start-up, counted from the moment the
command starts importing torch, the rest while it trains) it
gets SIGINT, SIGTERM, SIGKILL or two signals 1-50 ms apart, and sometimes the newest checkpoint is truncated or zero-filled
before the next start (a damaged disk, not something the atomic writes
produce). This repeats until a start runs to the end. Reported per modality:
faults injected, checkpoints found unreadable and skipped, restarts from
scratch (a resume that found no checkpoint although one had been written),
steps lost per fault (the steps logged before the fault minus the step the
next start resumed from: at most the checkpoint interval), and whether the
final weights equal the reference run's (bit-identical: training on the CPU
with ``num_workers=0`` is deterministic, and resume restores every RNG).

Prints a markdown table and writes benchmarks/results/fault_injection.json.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

sys.path.insert(0, str(Path(__file__).parent))
from common import markdown_table, write_json  # noqa: E402

FAULTS = ("SIGINT", "SIGTERM", "SIGKILL", "double")


@dataclass
class Modality:
    """How to train one tiny run of a modality and read its progress and weights."""

    name: str
    args: List[str]                  # the training command after `multissl`, without -o/--resume
    checkpoint_every: int            # steps (text: epochs are checkpointed; its unit is the epoch)
    unit: str = "step"


@dataclass
class Report:
    modality: str
    faults: int = 0
    by_kind: Dict[str, int] = field(default_factory=dict)
    starts: int = 0
    corrupted_on_purpose: int = 0
    unreadable_skipped: int = 0
    restarts_from_scratch: int = 0
    runs_lost: int = 0
    steps_lost: List[int] = field(default_factory=list)
    final_equal: Optional[bool] = None
    completed_runs: int = 0
    seconds: float = 0.0

    def summary(self) -> Dict[str, object]:
        lost = self.steps_lost or [0]
        return {"modality": self.modality, "faults": self.faults, "starts": self.starts,
                "corrupted": self.corrupted_on_purpose, "unreadable skipped": self.unreadable_skipped,
                "restarts from scratch": self.restarts_from_scratch, "runs lost": self.runs_lost,
                "steps lost max": max(lost), "steps lost mean": round(sum(lost) / len(lost), 2),
                "completed runs": self.completed_runs, "final weights equal": self.final_equal, "seconds": round(self.seconds)}


def _command(args: List[str]) -> List[str]:
    return [sys.executable, "-m", "multissl", *args]


def _logged_step(run: Path, unit: str) -> int:
    """The last step (text: epoch) written to metrics.jsonl; 0 when none."""
    path = run / "metrics.jsonl"
    if not path.is_file():
        return 0
    last = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if unit == "epoch":
            last = max(last, int(entry.get("epoch", 0)))
        elif "loss" in entry:
            last = max(last, int(entry.get("step", 0)))
    return last


def _resumed_from(stderr: str, unit: str) -> Optional[int]:
    """The step (text: epochs) a start resumed from, or None when it started from scratch."""
    for line in stderr.splitlines():
        if unit == "step" and "resumed from" in line and " at step " in line:
            return int(line.split(" at step ")[1].split()[0])
        if unit == "epoch" and "resuming" in line and " after " in line:
            return int(line.split(" after ")[1].split()[0])
    return None


def _damage_newest(run: Path, rng: random.Random) -> bool:
    files = sorted((run / "checkpoints").glob("last.*"))
    files = [f for f in files if f.suffix in (".pt", ".npz")]
    if not files:
        return False
    target = files[0]
    size = target.stat().st_size
    if rng.random() < 0.5:
        os.truncate(target, rng.randrange(0, max(1, size // 2)))
    else:
        with open(target, "r+b") as f:
            f.seek(max(0, size - rng.randrange(64, 4096)))
            f.write(b"\0" * 4096)
    return True


def _weights(run: Path, unit: str):
    if unit == "epoch":
        import numpy as np

        with np.load(run / "checkpoints" / "last.npz") as data:
            return {k: data[k].copy() for k in ("syn0", "syn1neg") if k in data}
    import torch

    return torch.load(run / "checkpoints" / "last.pt", map_location="cpu", weights_only=False)["model"]


def _equal(a, b) -> bool:
    import numpy as np
    import torch

    if a.keys() != b.keys():
        return False
    for k in a:
        x, y = a[k], b[k]
        same = torch.equal(x, y) if isinstance(x, torch.Tensor) else np.array_equal(x, y)
        if not same:
            return False
    return True


def _train_reference(m: Modality, out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    subprocess.run(_command([*m.args, "-o", str(out)]), check=True, capture_output=True, text=True)


def _library_started(proc: subprocess.Popen, timeout: float = 120.0) -> float:
    """The moment the command's own start-up began: its process maps torch's libraries, which the CLI imports
    only after installing its SIGINT handler (multissl.interrupts). Before that a signal hits the Python
    interpreter's own start (site, runpy), which no program controls: a loaded machine can stretch it past
    the earliest start-up fault. Without /proc (not Linux): the moment the process was started."""
    started, maps = time.time(), Path(f"/proc/{proc.pid}/maps")
    while proc.poll() is None and time.time() - started < timeout:
        try:
            if "libtorch" in maps.read_text():
                break
        except OSError:
            break
        time.sleep(0.002)
    return time.time()


def _one_start(m: Modality, run: Path, rng: random.Random, report: Report, max_delay: float) -> bool:
    """Start the run with --resume, inject one fault at a random moment; True when it finished on its own."""
    before = _logged_step(run, m.unit)
    checkpoint_existed = any((run / "checkpoints").glob("last.*")) if (run / "checkpoints").is_dir() else False
    proc = subprocess.Popen(_command([*m.args, "-o", str(run), "--resume"]), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    report.starts += 1
    started = time.time()
    if rng.random() < 0.25:  # during start-up: imports, data loading, checkpoint loading
        deadline = _library_started(proc) + rng.uniform(0.05, 2.5)
    else:  # during training: once this start has logged a step, at a random moment
        metrics = run / "metrics.jsonl"
        while proc.poll() is None and time.time() - started < 120:
            if metrics.is_file() and metrics.stat().st_mtime > started:
                break
            time.sleep(0.01)
        deadline = time.time() + rng.uniform(0.0, max_delay)
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.005)
    kind = rng.choice(FAULTS)
    finished = proc.poll() is not None
    if not finished:
        if kind == "double":
            first, second = rng.choice([signal.SIGINT, signal.SIGTERM]), rng.choice([signal.SIGINT, signal.SIGTERM])
            proc.send_signal(first)
            time.sleep(rng.uniform(0.001, 0.05))
            if proc.poll() is None:
                proc.send_signal(second)
        else:
            proc.send_signal(getattr(signal, kind))
    out, err = proc.communicate()
    err = out + err  # the engine's messages go to stdout (tqdm.write), the CLI's to stderr
    report.unreadable_skipped += err.count("skipped checkpoint")
    resumed = _resumed_from(err, m.unit)
    if checkpoint_existed and "starting from scratch" in err:
        report.restarts_from_scratch += 1
        print(f"  restart from scratch although {run}/checkpoints held a checkpoint:\n{err[-600:]}", flush=True)
    if resumed is not None and report.faults:
        report.steps_lost.append(max(0, before - resumed))
    if finished and proc.returncode == 0:
        return True
    # 128+n: stopped by the library's handlers (130 also: Ctrl-C outside training); -n: SIGKILL, SIGTERM outside
    # training, or a signal before the CLI's handler was installed (-6, a KeyboardInterrupt inside torch's C++, is lost)
    if proc.returncode not in (0, 128 + signal.SIGINT, 128 + signal.SIGTERM, -signal.SIGKILL, -signal.SIGINT, -signal.SIGTERM):
        report.runs_lost += 1
        print(f"  unexpected exit {proc.returncode}: {err.strip().splitlines()[-1:]}", flush=True)
    report.faults += 1
    report.by_kind[kind] = report.by_kind.get(kind, 0) + 1
    if rng.random() < 0.2 and _damage_newest(run, rng):
        report.corrupted_on_purpose += 1
    return False


def run_modality(m: Modality, work: Path, faults: int, seed: int, max_delay: float) -> Report:
    rng = random.Random(seed)
    report, start = Report(m.name), time.perf_counter()
    reference, run = work / f"{m.name}-reference", work / f"{m.name}-faults"
    _train_reference(m, reference)
    completed: List[bool] = []
    for folder in (run,):
        if folder.exists():
            shutil.rmtree(folder)
    while True:
        if report.faults >= faults:  # enough faults: let the run finish
            existed = (run / "checkpoints").is_dir() and any((run / "checkpoints").glob("last.*"))
            proc = subprocess.run(_command([*m.args, "-o", str(run), "--resume"]), capture_output=True, text=True)
            report.starts += 1
            if existed and "starting from scratch" in proc.stdout + proc.stderr:
                report.restarts_from_scratch += 1
            if proc.returncode != 0:
                report.runs_lost += 1
            break
        if _one_start(m, run, rng, report, max_delay):
            completed.append(_equal(_weights(reference, m.unit), _weights(run, m.unit)))
            if report.faults < faults:  # finished before enough faults: start over with a fresh run
                shutil.rmtree(run)
    completed.append(_equal(_weights(reference, m.unit), _weights(run, m.unit)))
    report.completed_runs, report.final_equal = len(completed), all(completed)
    report.seconds = time.perf_counter() - start
    return report


def modality(name: str, work: Path, steps: int) -> Modality:
    """A tiny run: rotation on scikit-learn's digits, a small CPC on synthetic speech, word2vec on a made-up corpus."""
    every = max(2, steps // 10)
    common = ["--steps", str(steps), "--checkpoint-every", str(every), "--log-every", "1", "--seed", "3"]
    if name == "vision":
        return Modality("vision", ["vision", "train", "rotation", "digits", "--arch", "resnet10", "--width", "4",
                                   "--batch-size", "16", *common], every)
    if name == "audio":
        speech = work / "speech"
        if not (speech / "metadata.csv").exists():
            subprocess.run(_command(["audio", "synth", str(speech), "--speakers", "3", "--utterances", "3", "--quiet",
                                     "--no-phone-labels"]), check=True)
        return Modality("audio", ["audio", "train", str(speech), "--encoder-channels", "8", "--context-dim", "8",
                                  "--window", "2048", "--prediction-steps", "2", "--num-negatives", "4",
                                  "--batch-size", "4", *common], every)
    corpus = work / "corpus.txt"
    if not corpus.exists():
        rng = random.Random(0)
        words = [f"w{i}" for i in range(400)]
        corpus.write_text("\n".join(" ".join(rng.choice(words) for _ in range(15)) for _ in range(3000)), encoding="utf-8")
    return Modality("text", ["text", "train", str(corpus), "--epochs", "6", "--min-count", "1", "--workers", "1",
                             "--vector-size", "16", "--seed", "3", "--chunk-words", "5000"], 1, "epoch")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faults", type=int, default=70, help="faults per modality (default 70: 210 in all)")
    parser.add_argument("--modalities", nargs="+", default=["vision", "audio", "text"], choices=["vision", "audio", "text"])
    parser.add_argument("--steps", type=int, default=60, help="steps of each tiny run (vision, audio)")
    parser.add_argument("--max-delay", type=float, default=2.0,
                        help="latest moment of a fault after a start's first logged step (s); a quarter of the faults "
                             "hit the start-up instead")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", default="/tmp/multissl-fault-injection")
    parser.add_argument("--json", default=str(Path(__file__).parent / "results" / "fault_injection.json"))
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    reports = []
    for i, name in enumerate(args.modalities):
        print(f"{name}: {args.faults} faults ...", flush=True)
        reports.append(run_modality(modality(name, work, args.steps), work, args.faults, args.seed + i, args.max_delay))
        write_json(args.json, {"args": vars(args), "results": [asdict(r) for r in reports],
                               "table": [r.summary() for r in reports]})  # after each modality: nothing lost
        print(markdown_table([reports[-1].summary()], list(reports[-1].summary())), flush=True)
    rows = [r.summary() for r in reports]
    print(markdown_table(rows, list(rows[0])))
    write_json(args.json, {"args": vars(args), "results": [asdict(r) for r in reports], "table": rows})


if __name__ == "__main__":
    main()
