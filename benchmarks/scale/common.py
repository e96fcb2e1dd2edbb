"""What the data-scale sections share: timing a command to its first training step, its peak memory, results."""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple


@dataclass
class Section:
    """One section's results: table rows and the targets it checks (``{"name", "value", "target", "met"}``)."""

    name: str
    rows: List[Dict[str, Any]] = field(default_factory=list)
    targets: List[Dict[str, Any]] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    def target(self, name: str, value: Any, target: str, met: bool) -> None:
        self.targets.append({"section": self.name, "name": name, "value": value, "target": target, "met": bool(met)})


@dataclass
class CommandRun:
    """A command run to its end: wall seconds, seconds to its first step (from metrics.jsonl), peak memory (MiB).

    ``peak_rss_mb``: the command's own process (its high-water mark, from ``wait4``);
    ``peak_tree_mb``: the largest sum of RSS over the process and its children (DataLoader workers, torchrun's
    ranks), sampled every 0.1 s: forked workers' pages shared with their parent count once per process there;
    ``peak_tree_pss_mb``: the same sum of proportional set sizes (a page shared by n processes counts 1/n in each:
    the memory the tree takes from the machine); ``peak_process_mb``: the largest single process, sampled.
    """

    wall_s: float
    first_step_s: Optional[float]
    peak_rss_mb: float
    peak_tree_mb: float
    peak_process_mb: float
    returncode: int
    stderr_tail: str
    peak_tree_pss_mb: float = 0.0


def _pss_bytes(pid: int) -> int:
    """Proportional set size of process ``pid`` (Linux ``smaps_rollup``; 0 when it cannot be read)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _tree_rss_mb(proc: "psutil.Process", with_pss: bool) -> Tuple[float, float, float]:
    """(sum of RSS, largest RSS, sum of PSS or 0) in MiB over ``proc`` and its descendants."""
    import psutil

    sizes, shares = [], []
    for p in [proc, *proc.children(recursive=True)]:
        try:
            sizes.append(p.memory_info().rss)
        except psutil.Error:
            continue
        if with_pss:
            shares.append(_pss_bytes(p.pid))
    return sum(sizes) / 2**20, max(sizes, default=0) / 2**20, sum(shares) / 2**20


def run_command(cmd: Sequence[str], run_dir: Path, env: Optional[Dict[str, str]] = None, timeout: float = 3600,
                pss_every_s: Optional[float] = None) -> CommandRun:
    """Run ``cmd`` (a multissl command writing run folder ``run_dir``) and measure it (:class:`CommandRun`).

    It runs in the run folder's parent, so that ``python -m multissl`` imports the library installed in that
    Python (a checkout in the working directory would come first on ``sys.path``). RSS is sampled every 0.1 s,
    PSS only with ``pss_every_s`` (at most that often): reading it walks each process's page tables, which
    costs a process of 10 GB tens of milliseconds of CPU time each time (its timings would suffer)."""
    import psutil

    start = time.perf_counter()
    Path(run_dir).parent.mkdir(parents=True, exist_ok=True)
    err_file = Path(run_dir).parent / f".{Path(run_dir).name}.stderr"
    with open(err_file, "w") as err:
        popen = subprocess.Popen(list(cmd), stdout=subprocess.DEVNULL, stderr=err, env={**os.environ, **(env or {})},
                                 cwd=Path(run_dir).parent)
        proc, tree_peak, process_peak, pss_peak = psutil.Process(popen.pid), 0.0, 0.0, 0.0
        pss_read = float("-inf")
        while True:
            pid, status, usage = os.wait4(popen.pid, os.WNOHANG)  # this child's own rusage, not every child's
            if pid:
                break
            try:
                with_pss = pss_every_s is not None and time.perf_counter() - pss_read >= pss_every_s
                pss_read = time.perf_counter() if with_pss else pss_read
                total, largest, shared = _tree_rss_mb(proc, with_pss)
                tree_peak, process_peak, pss_peak = max(tree_peak, total), max(process_peak, largest), max(pss_peak, shared)
            except psutil.Error:
                pass
            if time.perf_counter() - start > timeout:
                popen.kill()
            time.sleep(0.1)
    popen.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    return CommandRun(wall, first_step_seconds(run_dir), usage.ru_maxrss / 1024, tree_peak, process_peak, popen.returncode,
                      err_file.read_text()[-3000:], pss_peak)


def first_step_seconds(run_dir: Path) -> Optional[float]:
    """Seconds from the process start to the first training step (the engine's ``first_step`` event)."""
    metrics = Path(run_dir) / "metrics.jsonl"
    if not metrics.is_file():
        return None
    for line in metrics.read_text().splitlines():
        entry = json.loads(line)
        if entry.get("event") == "first_step":
            return entry.get("process_s")
    return None


def multissl_command(*args: str) -> List[str]:
    return [sys.executable, "-m", "multissl", *args]


def steady_samples_per_s(run_dir: Path, skip_steps: int = 10) -> Optional[float]:
    """Mean samples/s of the metrics.jsonl windows logged after step ``skip_steps`` (warm-up excluded), weighted by steps."""
    metrics = Path(run_dir) / "metrics.jsonl"
    if not metrics.is_file():
        return None
    entries = [json.loads(line) for line in metrics.read_text().splitlines()]
    windows = [e for e in entries if "samples_per_s" in e and e["step"] > skip_steps]
    if not windows:
        return None
    seconds = samples = 0.0
    previous = skip_steps
    for e in windows:
        steps = e["step"] - previous
        seconds += steps / e["samples_per_s"]
        samples += steps
        previous = e["step"]
    return samples / seconds  # the batch is constant: sum(steps) / sum(steps / rate) is the rate over all those steps


def data_wait_share(run_dir: Path, skip_steps: int = 10) -> Optional[float]:
    """Mean share of time spent waiting for data over the windows logged after step ``skip_steps``."""
    metrics = Path(run_dir) / "metrics.jsonl"
    if not metrics.is_file():
        return None
    values = [e["data_wait"] for e in map(json.loads, metrics.read_text().splitlines()) if "data_wait" in e and e["step"] > skip_steps]
    return sum(values) / len(values) if values else None
