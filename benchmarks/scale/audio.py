"""Audio at scale: time to the first CPC step and peak memory on 20 and 400 utterances of 30 s.

Generates two LibriSpeech-layout folders of 16 kHz FLAC (20 speakers; harmonics with a
wandering pitch, a formant-like tilt and a noise floor: speech-like enough for CPC to train
on), then runs ``multissl audio train FOLDER -o RUN --steps 5`` on each with the default
``data_mode`` (auto), ``--data-mode stream`` and ``--data-mode memory``, every run with an
empty file index (its own ``MULTISSL_CACHE``: the headers are read, as on a first run), and
once more streamed with the index kept from the run before; each run three times (the
fastest first step and the largest peak memory are reported). Targets, on the streamed runs:
time to the first step within 1.3x from 20 to 400 utterances, and peak memory (the process
and its DataLoader workers) growing by less than 200 MB.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Dict, List

import numpy as np

from .common import Section, multissl_command, run_command

SIZES = (20, 400)
SECONDS = 30.0
RATE = 16000
SPEAKERS = 20
STEPS = 5
REPEATS = 3
FIRST_STEP_RATIO = 1.3
RSS_GROWTH_MB = 200.0


def speech_like(seconds: float, rate: int, speaker: int, seed: int) -> np.ndarray:
    """(N,) float32: a voice of its own per speaker (pitch range, harmonic tilt) with syllable-like loudness."""
    rng = np.random.default_rng([speaker, seed])
    t = np.arange(int(seconds * rate)) / rate
    base = 90 + 7 * speaker
    pitch = base * (1 + 0.15 * np.sin(2 * np.pi * rng.uniform(0.2, 0.6) * t + rng.uniform(0, 6)))
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    tilt = 0.5 + 0.04 * speaker
    voiced = sum(np.sin(k * phase) * tilt ** k for k in range(1, 12))
    syllables = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(3, 5) * t) ** 2
    wave = 0.08 * voiced * syllables + 0.005 * rng.standard_normal(len(t))
    return wave.astype(np.float32)


def make_folder(root: Path, utterances: int) -> Path:
    """``utterances`` files of :data:`SECONDS` s in LibriSpeech layout ``<speaker>/1/<speaker>-1-<n>.flac`` (kept if there)."""
    import soundfile as sf

    done = root / "done"
    if done.is_file() and int(done.read_text()) == utterances:
        return root
    for n in range(utterances):
        speaker = 100 + n % SPEAKERS
        path = root / str(speaker) / "1" / f"{speaker}-1-{n:04d}.flac"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, speech_like(SECONDS, RATE, speaker, n), RATE)
    done.write_text(str(utterances))
    return root


def _train(folder: Path, run_dir: Path, cache: Path, mode: str) -> Dict:
    cmd = multissl_command("audio", "train", str(folder), "-o", str(run_dir), "--steps", str(STEPS), "--overwrite",
                           *(["--data-mode", mode] if mode != "auto" else []))
    result = run_command(cmd, run_dir, env={"MULTISSL_CACHE": str(cache)}, pss_every_s=0.1)  # ~1 GB processes: cheap to read
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stderr_tail}")
    data = json.loads((run_dir / "config.json").read_text())["data"]
    return {"first_step_s": result.first_step_s, "wall_s": round(result.wall_s, 1), "peak_rss_mb": round(result.peak_rss_mb),
            "peak_tree_mb": round(result.peak_tree_mb), "peak_tree_pss_mb": round(result.peak_tree_pss_mb),
            "data_mode": data["data_mode"], "why": data["data_mode_reason"]}


def _ratio_and_growth(rows: List[Dict], mode: str, index: str):
    small, large = (next(r for r in rows if r["utterances"] == n and r["asked"] == mode and r["index"] == index)
                    for n in SIZES)
    return (large["first_step_s"] / small["first_step_s"], large["peak_tree_pss_mb"] - small["peak_tree_pss_mb"],
            large["peak_tree_mb"] - small["peak_tree_mb"])


def _best_of(row: Dict, runs: List[Dict]) -> Dict:
    """One table row of :data:`REPEATS` runs: the fastest first step (the machine is shared), the largest peak memory."""
    fastest = min(runs, key=lambda r: r["first_step_s"])
    return {**row, **fastest, "first_step_s_runs": [r["first_step_s"] for r in runs],
            "peak_rss_mb": max(r["peak_rss_mb"] for r in runs), "peak_tree_mb": max(r["peak_tree_mb"] for r in runs),
            "peak_tree_pss_mb": max(r["peak_tree_pss_mb"] for r in runs)}


def _measure_once(work: Path, n: int, mode: str) -> Dict[str, Dict]:
    """One run of one size and mode with an empty file index (streamed: once more with the index kept): {index: run}."""
    folder, cache = make_folder(work / f"utterances-{n}", n), work / "cache" / f"{n}-{mode}"
    shutil.rmtree(cache, ignore_errors=True)
    done = {"built": _train(folder, work / "runs" / f"{n}-{mode}", cache, mode)}
    if mode == "stream":
        done["reused"] = _train(folder, work / "runs" / f"{n}-{mode}-again", cache, mode)
    return done


def setup_seconds(folder: Path, cache: Path) -> Dict[str, float]:
    """Seconds of the streamed set-up in this process, without the noise of a whole command: the folder with an
    empty and with a kept file index, the split and windows, and 16 windows read by seeking."""
    import os
    import time

    from multissl.audio.folder import AudioFolder
    from multissl.audio.windows import RandomWindows, split_segments
    from multissl.engine.data import SampleKey

    shutil.rmtree(cache, ignore_errors=True)
    os.environ["MULTISSL_CACHE"] = str(cache)
    out, start = {}, time.perf_counter()
    for index in ("built", "reused"):
        audio = AudioFolder(folder, RATE, data_mode="stream")
        out[f"folder_index_{index}_s"] = round(time.perf_counter() - start, 3)
        start = time.perf_counter()
    windows = RandomWindows(audio, split_segments(audio, 0.2).train, 20480)
    out["split_and_windows_s"] = round(time.perf_counter() - start, 3)
    start = time.perf_counter()
    for i in range(16):
        windows[SampleKey(i * 7919 % len(windows), 0, 0)]
    out["16_windows_s"] = round(time.perf_counter() - start, 3)
    return out


def run(args, work: Path) -> Section:
    section = Section("audio")
    (work / "runs").mkdir(parents=True, exist_ok=True)
    runs: Dict[tuple, List[Dict]] = {}
    for repeat in range(REPEATS):  # the sizes alternate, so that a busier minute of the machine does not favour one
        for n in SIZES:
            for mode in ("auto", "stream", "memory"):
                for index, result in _measure_once(work, n, mode).items():
                    runs.setdefault((n, mode, index), []).append(result)
                    print(f"audio: run {repeat + 1}, {n} utterances, {mode}, index {index}: {result}", flush=True)
    for (n, mode, index), done in runs.items():
        row = {"utterances": n, "hours": round(n * SECONDS / 3600, 2), "asked": mode, "index": index}
        section.rows.append(_best_of(row, done))
    for mode, index in (("stream", "built"), ("stream", "reused"), ("auto", "built")):
        ratio, growth, rss_growth = _ratio_and_growth(section.rows, mode, index)
        section.target(f"{mode} (index {index}): time to first step, 400 / 20 utterances", round(ratio, 2),
                       f"<= {FIRST_STEP_RATIO}", ratio <= FIRST_STEP_RATIO)
        section.target(f"{mode} (index {index}): peak memory (PSS of the process tree) growth 20 -> 400 utterances (MB)",
                       round(growth), f"< {RSS_GROWTH_MB:.0f}", growth < RSS_GROWTH_MB)
        section.notes.append(f"{mode} (index {index}): the summed RSS of the tree grows {rss_growth:.0f} MB (forked "
                             "workers' shared pages counted once per process)")
    for n in SIZES:
        section.notes.append(f"streamed set-up in process, {n} utterances: "
                             f"{setup_seconds(work / f'utterances-{n}', work / 'cache' / f'setup-{n}')}")
    for row in section.rows:
        if row["asked"] == "auto":
            section.notes.append(f"auto on {row['utterances']} utterances: {row['data_mode']} ({row['why']})")
    return section
