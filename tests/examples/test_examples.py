"""Every script under examples/ runs end to end with --smoke (tiny models, a few steps, generated or shipped data, no
network), prints what it should and writes its files; a new script without an entry in CASES fails
test_every_example_has_a_case.

The runs are subprocesses, as many at a time as there are CPU cores (one thread each), all started when the first of
these tests asks for its result (under pytest-xdist each test runs its own, as xdist runs tests side by side).
"""
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
TIMEOUT = 600  # seconds for one run, far above what --smoke takes

VISION_SCORES = tuple(rf"(?m)^{name} +[\d.]+$" for name in ("linear_acc", "knn_acc", "random_linear_acc", "random_knn_acc",
                                                               "pixels_linear_acc"))
VISION_RUN = ("run/config.json", "run/checkpoints/last.pt")
COMPARED = ("rotation", "simclr", "moco-v2", "byol")  # compare.py's default methods

# script (relative to examples/): (arguments after --smoke, with {tmp} the test's folder (also the script's TMPDIR);
# what its output must contain (a regular expression each); files it must have written (glob patterns under {tmp}))
CASES = {
    "audio/speaker_clustering_demo.py": (
        ["{tmp}"], [r"CPC: NMI", r"MFCC: NMI", r"random init: NMI", r"wrote .*speaker_clusters\.png"],
        ["corpus/metadata.csv", "run/config.json", "speaker_clusters.png"]),
    "audio/train_cpc_librispeech.py": (
        [], [r"trained 2 steps \(steps\)", r'"cpc": \{', r'"mfcc": \{', r'"random": \{', r'"speaker_acc_utterance"',
             r'"phone_acc"'],
        ["multissl-example-*/corpus/metadata.csv", "multissl-example-*/run/config.json",
         "multissl-example-*/run/checkpoints/last.pt"]),
    "text/compare_sg_cbow.py": (
        [], [r"\| model \| seconds \|", r"\| skip-gram \| [\d.]+ \| [\d.]+ \|", r"\| CBOW \| [\d.]+ \| [\d.]+ \|"], []),
    "text/gensim_tutorial.py": (
        [], [r"vocabulary: \d+ words", r"'firefighters' known: True", r"3CosMul", r"ranks of related words",
             r"WordSim-353: Spearman"], []),
    "text/train_word2vec.py": (
        ["--out", "{tmp}/vectors.bin"], [r"epoch 1: mean loss \d", r"'analogy_accuracy'", r"'ws353_spearman'"],
        ["vectors.bin", "multissl-example-*/lee.txt"]),
    "video/colorize_to_track.py": (
        ["--output", "{tmp}"], [r"\| model \| [\d.]+ \|", r"\| copy_first \| [\d.]+ \|", r"\| pixels \| [\d.]+ \|",
                                r"pictures and eval.json written"],
        ["run/config.json", "eval.json", "colorization.png", "tracking.png"]),
    "vision/byol.py": (["--out", "{tmp}/run"], VISION_SCORES, VISION_RUN),
    "vision/compare.py": (
        ["--out", "{tmp}/compare"], [rf"\| {name} \| 3 \| [\d.]+ \| [\d.]+ \|" for name in COMPARED],
        [f"compare/{name}/config.json" for name in COMPARED]),
    "vision/context_encoder.py": (["--out", "{tmp}/run"], (*VISION_SCORES, r"picture: "), (*VISION_RUN, "run/inpainting.png")),
    "vision/cpc_v2.py": (["--out", "{tmp}/run"], VISION_SCORES, VISION_RUN),
    "vision/dae.py": (["--out", "{tmp}/run"], (*VISION_SCORES, r"picture: "), (*VISION_RUN, "run/denoising.png")),
    "vision/dim.py": (["--out", "{tmp}/run"], VISION_SCORES, VISION_RUN),
    "vision/jigsaw.py": (["--out", "{tmp}/run"], VISION_SCORES, VISION_RUN),
    "vision/label_efficiency.py": (
        ["--out", "{tmp}/run"], [r"\| 1 % \| \d+ \| 1 \|", r"\| 100 % \| \d+ \| 1 \|", r"curve: .*label_efficiency\.png",
                                 r"\| shapes \| 10 \| \d+ \| \d+ \|"],
        (*VISION_RUN, "run/label_efficiency.png")),
    "vision/moco.py": (["--out", "{tmp}/run"], (r"MoCo v2: ", r"MoCo v1: ", *VISION_SCORES), (*VISION_RUN, "run-v1/config.json")),
    "vision/relative_patch.py": (["--out", "{tmp}/run"], VISION_SCORES, VISION_RUN),
    "vision/rotation.py": (["--out", "{tmp}/run"], VISION_SCORES, VISION_RUN),
    "vision/simclr.py": (["--out", "{tmp}/run"], VISION_SCORES, VISION_RUN),
    "vision/split_brain.py": (["--out", "{tmp}/run"], (*VISION_SCORES, r"picture: "), (*VISION_RUN, "run/colourisation.png")),
}


def example_scripts():
    """Every script under examples/ (modules whose name starts with ``_`` are imported by the scripts, not run)."""
    return sorted(p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.rglob("*.py") if not p.name.startswith("_"))


def test_every_example_has_a_case():
    scripts = example_scripts()
    assert sorted(CASES) == scripts, (f"examples without a case in CASES: {sorted(set(scripts) - set(CASES))}; "
                                      f"cases without a script: {sorted(set(CASES) - set(scripts))}")


def run_example(script: str, folder: Path) -> subprocess.CompletedProcess:
    args = [a.format(tmp=folder) for a in CASES[script][0]]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg",
           "TMPDIR": str(folder)}  # what a script puts in a temporary folder stays in the test's
    command = [sys.executable, "-W", "always::DeprecationWarning", str(EXAMPLES / script), "--smoke", *args]
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=TIMEOUT)


@pytest.fixture(scope="module")
def smoke_runs(request, tmp_path_factory):
    """{script: (its folder, the future of its run)} for the scripts of the tests pytest selected, started together."""
    selected = [] if os.environ.get("PYTEST_XDIST_WORKER") else [
        item.callspec.params["script"] for item in request.session.items if getattr(item, "function", None) is test_example_runs]
    folders = {script: tmp_path_factory.mktemp(Path(script).stem) for script in selected}
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    pool = ThreadPoolExecutor(max_workers=max(1, min(cores, len(selected))))
    yield {script: (folders[script], pool.submit(run_example, script, folders[script])) for script in selected}
    pool.shutdown(cancel_futures=True)


@pytest.mark.parametrize("script", sorted(CASES))
def test_example_runs(script, smoke_runs, tmp_path):
    if script in smoke_runs:
        folder, future = smoke_runs[script]
        done = future.result()
    else:
        folder, done = tmp_path, run_example(script, tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{script} --smoke failed (exit code {done.returncode}):\n{output[-6000:]}"
    _, printed, files = CASES[script]
    missing = [pattern for pattern in printed if not re.search(pattern, done.stdout)]
    assert not missing, f"{script} did not print {missing}; its output:\n{done.stdout[-6000:]}"
    absent = [name for name in files if not any(path.is_file() and path.stat().st_size for path in folder.glob(name))]
    assert not absent, f"{script} did not write {absent} under {folder}"
    # the examples use the library's current names: no DeprecationWarning from the examples or the library
    ours = [line for line in done.stderr.splitlines() if "DeprecationWarning" in line and line.startswith(str(ROOT))]
    assert not ours, f"{script} uses deprecated names:\n" + "\n".join(ours)
