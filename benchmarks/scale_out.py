"""Scale-out check: ``torchrun`` (gloo, CPU) trains every method into one run folder, again and again, with no race.

    python benchmarks/scale_out.py                                  # 4 processes, 20 steps, 10 times each (long)
    python benchmarks/scale_out.py --nproc 2 --repeats 2 --only vision:simclr audio:group

Every case is ``torchrun --standalone --nproc_per_node N -m multissl <modality> train ... --steps S --overwrite``
on tiny generated data (images, espeak speech, synthetic videos, a text corpus), run R times into the same
folder. A run passes when the command exits 0, the folder holds one ``config.json``, rank 0's checkpoint
``last.pt`` at step S, and ``metrics.jsonl`` ends at step S (text: ``vectors.bin``, ``checkpoints/last.npz`` and one
metrics line for its one epoch); a failed run's whole output is kept in ``WORK/failures/``. Then one kill: a SIGTERM to one rank of a
running vision run must stop every rank with a checkpoint, and ``--resume`` must finish the run.

Prints a markdown table and writes benchmarks/results/scale_out.json.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

sys.path.insert(0, str(Path(__file__).parent))
from common import markdown_table, write_json  # noqa: E402

VISION_METHODS = ("dae", "context-encoder", "split-brain", "relative-patch", "jigsaw", "rotation", "dim", "cpc-v2",
                  "moco-v1", "moco-v2", "simclr", "byol")
SMALL_VISION = ["--arch", "resnet10", "--width", "4", "--batch-size", "8", "--image-size", "32"]
SMALL_AUDIO = ["--encoder-channels", "8", "--context-dim", "8", "--window", "4096", "--num-negatives", "4",
               "--prediction-steps", "2", "--batch-size", "8", "--max-minutes", "5"]
SMALL_VIDEO = ["--crop", "32", "--short-side", "64", "--width", "4", "--conv3d-layers", "0", "--embed-dim", "8",
               "--backbone", "resnet10", "--clips-per-video", "8", "--batch-size", "2", "--color-frames", "8"]


def make_data(work: Path) -> Dict[str, Path]:
    """Tiny data sets for every modality (made once under ``work``)."""
    import numpy as np
    from PIL import Image

    data = {"vision": work / "photos", "audio": work / "speech", "video": work / "videos", "text": work / "corpus.txt"}
    if not data["vision"].exists():
        rng = np.random.default_rng(0)
        for i in range(96):
            folder = data["vision"] / f"class{i % 2}"
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    if not (data["audio"] / "metadata.csv").exists():
        from multissl.audio import synthesize_corpus

        synthesize_corpus(data["audio"], num_speakers=4, utterances_per_speaker=4, seed=0, verbose=False)
    if not data["video"].exists():
        from multissl import video

        config = video.SynthConfig(height=64, width=80, train_frames=8, eval_frames=5, max_objects=2)
        video.generate_benchmark(data["video"], videos=4, eval_videos=1, seed=0, config=config, verbose=False)
    if not data["text"].exists():
        words = [f"w{i}" for i in range(50)]
        rng = np.random.default_rng(0)
        data["text"].write_text("\n".join(" ".join(rng.choice(words, 12)) for _ in range(400)) + "\n", encoding="utf-8")
    return data


def cases(data: Dict[str, Path]) -> Dict[str, List[str]]:
    """Case name -> the ``multissl`` arguments before ``-o``."""
    out = {f"vision:{m}": ["vision", "train", m, str(data["vision"]), *SMALL_VISION, *(["--queue-size", "64"] if "moco" in m else [])]
           for m in VISION_METHODS}
    out["vision:dae-mlp"] = ["vision", "train", "dae", str(data["vision"]), *SMALL_VISION, "--variant", "mlp", "--hidden", "64", "64",
                             "--steps-per-layer", "5"]  # one layer trained at a time: parameters unused at a step
    for negatives in ("batch", "sequence", "group"):
        out[f"audio:{negatives}"] = ["audio", "train", str(data["audio"]), *SMALL_AUDIO, "--negatives", negatives]
    out["video:colorizer"] = ["video", "train", str(data["video"] / "train"), *SMALL_VIDEO]
    out["text:torch"] = ["text", "train", str(data["text"]), "--backend", "torch", "--min-count", "1", "--epochs", "1", "--batch-size", "256"]
    return out


def torchrun(nproc: int, args: List[str]) -> List[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", "-m", "multissl", *args]


def last_step(run: Path) -> int:
    steps = [json.loads(line).get("step", -1) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return max(steps, default=-1)


def check(run: Path, steps: int, text: bool) -> str:
    """'' when the run folder is whole, else what is wrong."""
    if not (run / "config.json").is_file():
        return "no config.json"
    if text:  # one epoch: one metrics line (written by rank 0 alone), the vectors and the checkpoint
        if not (run / "vectors.bin").is_file() or not (run / "checkpoints" / "last.npz").is_file():
            return "no vectors.bin or checkpoints/last.npz"
        lines = [line for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
        return "" if len(lines) == 1 else f"{len(lines)} metrics lines for one epoch"
    if not (run / "checkpoints" / "last.pt").is_file():
        return "no checkpoints/last.pt"
    step = last_step(run)
    return "" if step == steps else f"metrics end at step {step}"


def error_line(output: str) -> str:
    """The line that says what failed: the library's one-line error, else a Python exception, else the last line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for marker in ("multissl: error", "Error:", "error:"):
        hits = [line for line in lines if marker in line]
        if hits:
            return hits[0][:300]
    return lines[-1][:300] if lines else ""


def run_case(name: str, args: List[str], work: Path, nproc: int, steps: int, repeats: int) -> Dict:
    run, text = work / "runs" / name.replace(":", "-"), name.startswith("text")
    limit = [] if text else ["--steps", str(steps)]
    failures, seconds = [], []
    for attempt in range(repeats):
        start = time.perf_counter()
        proc = subprocess.run(torchrun(nproc, [*args, "-o", str(run), "--overwrite", *limit]), capture_output=True, text=True)
        seconds.append(time.perf_counter() - start)
        problem = f"exit {proc.returncode}: {error_line(proc.stderr + proc.stdout)}" if proc.returncode else check(run, steps, text)
        if problem:
            failures.append(f"run {attempt + 1}: {problem}")
            log = work / "failures" / f"{run.name}-run{attempt + 1}.log"  # the whole output, to read what failed
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr, encoding="utf-8")
    print(f"{name}: {repeats - len(failures)}/{repeats} clean" + (f" ({failures[0]})" if failures else ""), flush=True)
    return {"case": name, "runs": repeats, "clean": repeats - len(failures), "median s": round(sorted(seconds)[len(seconds) // 2], 1),
            "first failure": failures[0] if failures else ""}


def kill_one_rank(args: List[str], work: Path, nproc: int) -> Dict:
    """SIGTERM to one worker of a running run: every rank stops with a checkpoint, and --resume finishes the run."""
    run, steps = work / "runs" / "kill", 400
    shutil.rmtree(run, ignore_errors=True)  # a metrics.jsonl of an earlier run would look like this one's progress
    proc = subprocess.Popen(torchrun(nproc, [*args, "-o", str(run), "--overwrite", "--steps", str(steps), "--checkpoint-every",
                                            "5", "--log-every", "1"]), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = run / "metrics.jsonl"
    while proc.poll() is None and not (metrics.is_file() and last_step(metrics.parent) >= 3):
        time.sleep(0.2)
    ranks = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    if ranks:
        subprocess.run(["kill", "-TERM", ranks[-1]])
    proc.communicate(timeout=600)
    stopped_at = last_step(run) if metrics.is_file() else -1
    saved = (run / "checkpoints" / "last.pt").is_file()
    resumed = subprocess.run(torchrun(nproc, [*args, "-o", str(run), "--resume", "--steps", str(stopped_at + 5)]),
                             capture_output=True, text=True)
    return {"killed rank": ranks[-1] if ranks else None, "exit": proc.returncode, "stopped at step": stopped_at,
            "checkpoint": saved, "resume exit": resumed.returncode, "resumed to": last_step(run)}


def main(argv=None) -> Dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nproc", type=int, default=4)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--only", nargs="*", default=None, help="case names (vision:simclr, audio:group, video:colorizer, text:torch)")
    parser.add_argument("--work", default="/tmp/multissl-scale-out")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    work = Path(args.work)
    all_cases = cases(make_data(work))
    chosen = {k: v for k, v in all_cases.items() if not args.only or k in args.only}
    rows = [run_case(name, case, work, args.nproc, args.steps, args.repeats) for name, case in chosen.items()]
    kill = kill_one_rank(all_cases["vision:simclr"], work, args.nproc)
    print(markdown_table(rows, list(rows[0])) + "\n\nkill one rank: " + json.dumps(kill))
    payload = {"nproc": args.nproc, "steps": args.steps, "repeats": args.repeats, "table": rows, "kill_one_rank": kill}
    write_json("scale_out", payload, args.json)
    return payload


if __name__ == "__main__":
    main()
