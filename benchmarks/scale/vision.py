"""Vision at users' scale: a folder of 2,000 and one of 50,000 JPEGs (mixed sizes around 256-400 px).

For each folder, ``multissl vision train simclr FOLDER -o RUN --image-size 96 --steps 30``: seconds from the
command's start to its first step, peak memory (its own process and with its workers), steady images/s
and the share of time waiting for data. Beside it, the same SimCLR step fed by a plain torchvision
pipeline (benchmarks/scale/torchvision_reference.py) with as many workers; and ``torchrun
--nproc_per_node 2`` on the 50,000 folder (each rank's memory). Targets: time to the first step within
1.3x between the folders and under 30 s; peak RSS growth from 2k to 50k under 150 MB; images/s at least
0.9x the reference; under torchrun, the largest rank's peak grows by under 150 MB from 2k to 50k too.
"""
from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from .common import Section, data_wait_share, multissl_command, run_command, steady_samples_per_s

SIDE, STEPS = 96, 30
COUNTS = (2_000, 50_000)
CLASSES = 10


def _photo(args) -> None:
    """One generated photograph-like JPEG: a smooth colour field with texture, 256-400 px a side."""
    from PIL import Image

    path, seed = args
    rng = np.random.default_rng(seed)
    w, h = (int(v) for v in rng.integers(256, 401, 2))
    field = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).resize((w, h), Image.BICUBIC)
    pixels = np.asarray(field, np.float32) + rng.normal(0, 12, (h, w, 3))
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, quality=85)


def photo_folder(root: Path, count: int) -> Path:
    """``root`` with ``count`` generated JPEGs in 10 class folders (made once; reused when complete)."""
    folders = [root / f"class{c}" for c in range(CLASSES)]
    jobs = [(folders[i % CLASSES] / f"{i:06d}.jpg", i) for i in range(count)]
    missing = [job for job in jobs if not job[0].exists()]
    if missing:
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
        with ProcessPoolExecutor(2) as pool:
            list(pool.map(_photo, missing, chunksize=256))
    return root


def _train(folder: Path, out: Path, extra=(), launcher=None):
    cmd = multissl_command("vision", "train", "simclr", str(folder), "-o", str(out), "--image-size", str(SIDE),
                           "--steps", str(STEPS), "--overwrite", *extra)
    if launcher:
        cmd = [*launcher, *cmd[3:]]  # python -m torch.distributed.run ... -m multissl ARGS
    return run_command(cmd, out)


def _reference(folder: Path, workers: int) -> dict:
    script = Path(__file__).with_name("torchvision_reference.py")
    out = subprocess.run([sys.executable, str(script), str(folder), "--side", str(SIDE), "--steps", str(STEPS),
                          "--workers", str(workers)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(args, work: Path) -> Section:
    from multissl.engine.data import default_num_workers

    section = Section("vision")
    runs = {}
    for count in COUNTS:
        folder = photo_folder(work / f"photos-{count}", count)
        result = _train(folder, work / f"run-{count}")
        if result.returncode:
            raise RuntimeError(f"vision train on {count} images failed:\n{result.stderr_tail}")
        rate = steady_samples_per_s(work / f"run-{count}")
        runs[count] = (result, rate)
        section.rows.append({"run": f"multissl, {count} JPEGs", "first step (s)": result.first_step_s, "wall (s)": result.wall_s,
                             "peak RSS (MB)": result.peak_rss_mb, "with workers (MB)": result.peak_tree_mb,
                             "images/s": rate, "data wait": data_wait_share(work / f"run-{count}")})
    workers = default_num_workers(True)
    reference = _reference(work / f"photos-{COUNTS[-1]}", workers)
    section.rows.append({"run": f"torchvision reference, {COUNTS[-1]} JPEGs, {workers} worker(s)", "images/s": reference["images_per_s"],
                         "data wait": reference["data_wait"]})
    small, large = runs[COUNTS[0]][0], runs[COUNTS[-1]][0]
    ratio = large.first_step_s / small.first_step_s
    section.target("time to first step, 50k / 2k", round(ratio, 3), "<= 1.3", ratio <= 1.3)
    section.target("time to first step, 50k (s)", round(large.first_step_s, 1), "< 30", large.first_step_s < 30)
    growth = large.peak_tree_mb - small.peak_tree_mb
    section.target("peak RSS growth 2k -> 50k (MB, with workers)", round(growth, 1), "< 150", growth < 150)
    speed = runs[COUNTS[-1]][1] / reference["images_per_s"]
    section.target("images/s vs torchvision reference", round(speed, 3), ">= 0.9", speed >= 0.9)
    section.notes.append(f"{workers} DataLoader worker(s) per process on this machine (the default)")
    _scale_out(section, work)
    return section


def _scale_out(section: Section, work: Path) -> None:
    """torchrun --nproc_per_node 2 (gloo, CPU) on the 2k and the 50k folder: each rank's peak memory.

    The bound is the single-process one applied per rank: the largest rank's peak grows by under 150 MB
    from 2k to 50k images (a rank that held the data set would grow by gigabytes).
    """
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "multissl"]
    peaks = {}
    for count in COUNTS:
        out = work / f"run-torchrun-{count}"
        result = _train(work / f"photos-{count}", out, ("--steps", "3"), launcher=launcher)
        if result.returncode:
            raise RuntimeError(f"torchrun vision train on {count} images failed:\n{result.stderr_tail}")
        peaks[count] = result.peak_process_mb
        section.rows.append({"run": f"torchrun x2 ranks, {count} JPEGs, 3 steps", "first step (s)": result.first_step_s,
                             "wall (s)": result.wall_s, "peak RSS (MB)": result.peak_process_mb,
                             "with workers (MB)": result.peak_tree_mb})
    growth = peaks[COUNTS[-1]] - peaks[COUNTS[0]]
    section.target("torchrun: largest rank's peak RSS growth 2k -> 50k (MB)", round(growth, 1), "< 150", growth < 150)
