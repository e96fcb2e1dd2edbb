"""Runs survive signals, torn checkpoints and mistaken output folders (issue: never lose a run)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from multissl.cli import main
from multissl.engine import TrainConfig, TrainingInterrupted, fit, load_checkpoint
from multissl.engine.checkpoints import CheckpointError, Checkpointer, load_newest_readable, read_manifest

TINY = ["--arch", "resnet10", "--width", "4", "--batch-size", "16", "--no-verbose", "--log-every", "1"]


def _cli(*args):
    return [sys.executable, "-m", "multissl", *args]


def _wait_for_steps(run: Path, steps: int, proc, timeout: float = 120.0) -> None:
    metrics, start = run / "metrics.jsonl", time.time()
    while time.time() - start < timeout:
        if proc.poll() is not None:
            raise AssertionError(f"training exited early: {proc.communicate()}")
        if metrics.is_file() and sum(1 for line in metrics.read_text().splitlines() if '"loss"' in line) >= steps:
            return
        time.sleep(0.05)
    raise AssertionError("training did not reach its first steps in time")


@pytest.fixture
def sigint_as_in_a_terminal():
    """Python's own SIGINT handler in this process and SIG_DFL in its children, as when pytest runs in a terminal
    (a shell's background job, ``nohup pytest &``, starts with SIGINT ignored, which these tests must not inherit)."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)  # preexec_fn for subprocesses
    finally:
        signal.signal(signal.SIGINT, before)


def _steps_logged(run: Path):
    return [json.loads(x)["step"] for x in (run / "metrics.jsonl").read_text().splitlines() if '"loss"' in x]


@pytest.mark.slow
@pytest.mark.parametrize("signals", [[signal.SIGTERM], [signal.SIGINT, signal.SIGINT], [signal.SIGHUP]])
def test_a_signal_writes_a_checkpoint_and_resume_continues(tmp_path, signals, sigint_as_in_a_terminal):
    run = tmp_path / "r"
    proc = subprocess.Popen(_cli("vision", "train", "rotation", "digits", "-o", str(run), "--steps", "100000",
                                 "--checkpoint-every", "100000", *TINY), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=sigint_as_in_a_terminal)
    _wait_for_steps(run, 3, proc)
    for sig in signals:
        proc.send_signal(sig)
        time.sleep(0.02)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signals[0], err
    assert f"stopped by {signal.Signals(signals[0]).name}" in err and "--resume" in err
    reached = load_checkpoint(run)["step"]
    assert reached >= 3
    assert main(["vision", "train", "rotation", "digits", "-o", str(run), "--steps", str(reached + 2), "--resume", *TINY]) == 0
    assert load_checkpoint(run)["step"] == reached + 2
    steps = _steps_logged(run)
    assert steps == sorted(set(steps)), "metrics.jsonl has duplicate or unordered steps after the resume"


class _ToyTask(torch.nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, batch):
        return self.net(batch).pow(2).mean()


def _toy_task():
    """(a one-layer task, its 64 x 4 inputs), the same every call."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = torch.nn.Linear(4, 1)
        inputs = torch.randn(64, 4)
    return _ToyTask(net), inputs


def _toy_run(tmp_path, steps, **kw):
    task, inputs = _toy_task()
    data = torch.utils.data.TensorDataset(inputs)
    collate = lambda items: torch.stack([x[0] for x in items])  # noqa: E731
    config = TrainConfig(steps=steps, batch_size=8, verbose=False, output_dir=str(tmp_path), **kw)
    return fit(task, data, torch.optim.SGD(task.parameters(), lr=0.1), config, collate_fn=collate), task


def test_resume_skips_a_truncated_or_zeroed_last_checkpoint(tmp_path):
    _toy_run(tmp_path, 6, checkpoint_every=3, keep_checkpoints=2)
    last = tmp_path / "checkpoints" / "last.pt"
    os.truncate(last, 100)
    found = load_newest_readable(tmp_path)
    assert found.path.name == "step_000000006.pt" and found.skipped[0][0] == last
    with pytest.warns(RuntimeWarning, match="skipped last.pt"):
        assert load_checkpoint(tmp_path)["step"] == 6
    last.write_bytes(b"\0" * 5000)
    result, _ = _toy_run(tmp_path, 9, checkpoint_every=3, resume="auto")
    assert result.step == 9 and load_checkpoint(tmp_path)["step"] == 9


def test_every_checkpoint_unreadable_is_one_clear_error(tmp_path):
    _toy_run(tmp_path, 4, checkpoint_every=2, keep_checkpoints=1)
    for f in (tmp_path / "checkpoints").glob("*.pt"):
        os.truncate(f, 10)
    with pytest.raises(CheckpointError, match="no readable checkpoint .*last.pt: 10 bytes"):
        load_newest_readable(tmp_path)
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "checkpoints" / "last.pt")


def test_a_kill_at_any_point_of_a_save_leaves_a_verifiable_checkpoint(tmp_path, monkeypatch):
    _toy_run(tmp_path, 2, checkpoint_every=0, keep_checkpoints=0)  # only last.pt: no numbered fallback
    checkpointer = Checkpointer(str(tmp_path), keep=0)
    real_replace = os.replace

    def killed(src, dst):
        if str(dst).endswith("last.pt"):
            raise KeyboardInterrupt  # as if killed between the manifest update and the rename
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        checkpointer.save({"model": {}, "step": 3})
    monkeypatch.setattr(os, "replace", real_replace)
    assert len(read_manifest(tmp_path / "checkpoints")["last.pt"]) == 2  # old and new bytes accepted
    assert load_newest_readable(tmp_path).checkpoint["step"] == 2  # the old file, still verified
    assert not list((tmp_path / "checkpoints").glob(".*tmp"))


def test_training_into_a_run_folder_needs_resume_or_overwrite(tmp_path, capsys):
    run = tmp_path / "r"
    args = ["vision", "train", "rotation", "digits", "-o", str(run), "--steps", "2", *TINY]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already holds a run" in err and "--resume" in err and "--overwrite" in err
    assert main(args + ["--overwrite"]) == 0
    assert load_checkpoint(run)["step"] == 2 and _steps_logged(run) == [1, 2]
    assert main(["vision", "train", "jigsaw", "digits", "-o", str(run), "--steps", "4", "--resume", *TINY]) == 2
    assert "it is a vision rotation run, not vision jigsaw" in capsys.readouterr().err
    assert main(args[:-len(TINY)] + ["--resume", "--arch", "resnet10", "--width", "8", "--batch-size", "16", "--no-verbose"]) == 2
    assert "backbone.width 4 -> 8" in capsys.readouterr().err


def test_fit_into_a_folder_with_checkpoints_needs_resume_or_overwrite(tmp_path):
    _toy_run(tmp_path, 2)
    with pytest.raises(FileExistsError, match="already holds checkpoints"):
        _toy_run(tmp_path, 2)
    (tmp_path / "checkpoints" / "notes.txt").write_text("the user's own file")
    with pytest.warns(RuntimeWarning, match=r"removed the run's checkpoints but kept 1 other file\(s\) .*: notes\.txt"):
        result, _ = _toy_run(tmp_path, 3, overwrite=True)
    assert result.step == 3 and _steps_logged(tmp_path)[-1] == 3
    assert (tmp_path / "checkpoints" / "notes.txt").read_text() == "the user's own file"


def test_output_files_are_checked_before_training(tmp_path, capsys):
    corpus = tmp_path / "c.txt"
    corpus.write_text("a b c d\n" * 50)
    (tmp_path / "dir.npz").mkdir()
    assert main(["text", "train", str(corpus), "-o", str(tmp_path / "run"), "--save-model", str(tmp_path / "dir.npz"),
                 "--min-count", "1", "--epochs", "1"]) == 2
    assert "is a folder" in capsys.readouterr().err and not (tmp_path / "run").exists()
    (tmp_path / "afile").write_text("x")
    assert main(["text", "train", str(corpus), "-o", str(tmp_path / "afile"), "--min-count", "1", "--epochs", "1"]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert main(["text", "train", str(corpus), "-o", str(tmp_path / "new" / "deep" / "v.bin"), "--min-count", "1",
                 "--epochs", "1", "--no-verbose"]) == 0
    assert (tmp_path / "new" / "deep" / "v.bin").is_file()


@pytest.mark.slow
def test_text_train_interrupted_then_resumed_completes(tmp_path):
    corpus = tmp_path / "c.txt"
    words = [f"w{i}" for i in range(300)]
    import random

    rng = random.Random(0)
    corpus.write_text("\n".join(" ".join(rng.choice(words) for _ in range(20)) for _ in range(4000)))
    out = tmp_path / "v.bin"
    args = ["text", "train", str(corpus), "-o", str(out), "--epochs", "400", "--min-count", "1", "--workers", "1"]
    proc = subprocess.Popen(_cli(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run = tmp_path / "v.bin.run"
    start = time.time()
    while not (run / "checkpoints" / "last.npz").is_file() and time.time() - start < 120 and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "stopped by SIGTERM" in err and (run / "checkpoints" / "last.npz").is_file()
    assert main(args[:-4] + ["--epochs", "3", "--min-count", "1", "--workers", "1", "--resume", "--no-verbose"]) == 0
    from gensim.models import KeyedVectors

    assert len(KeyedVectors.load_word2vec_format(str(out), binary=True)) == 300


def test_resume_without_a_checkpoint_is_the_same_fresh_start(tmp_path):
    _, a = _toy_run(tmp_path / "a", 3)
    _, b = _toy_run(tmp_path / "b", 3, resume="auto")
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


@pytest.mark.slow
def test_the_demo_runs_twice_into_the_same_folder(tmp_path):
    from multissl.demo import run_demo

    for _ in range(2):
        run_demo(tmp_path, parts=("core",), quick=True, verbose=False)


# Ctrl-C must never raise inside torch's C++. Python's default SIGINT handler raises KeyboardInterrupt in whatever
# Python code runs next, also code that C++ calls back into; torch's import-time initialisers (_c10d_init,
# _multiprocessing_init, ...) import Python modules and cannot pass that exception on: std::terminate, SIGABRT (-6).
_SIGINT_INSIDE_TORCH_INIT = """
import signal, sys
from multissl.cli import main  # imports no torch: the command's SIGINT handler is installed first

TARGETS = {"_multiprocessing_init", "_c10d_init"}
calls = []

def inject(frame, event, arg):  # SIGINT while Python code runs inside one of torch's C++ initialisers
    if event == "c_call":
        calls.append(getattr(arg, "__name__", ""))
    elif event in ("c_return", "c_exception") and calls:
        calls.pop()
    elif event == "call" and calls and calls[-1] in TARGETS:
        sys.setprofile(None)
        print("injected in", calls[-1], file=sys.stderr, flush=True)
        signal.raise_signal(signal.SIGINT)

sys.setprofile(inject)
sys.exit(main(["vision", "methods"]))
"""


def test_ctrl_c_inside_torchs_cpp_start_up_exits_130_not_abort(sigint_as_in_a_terminal):
    """Deterministic: a SIGINT delivered while torch's C++ start-up runs Python code (a plain ``import torch``
    aborts there with -6); the command ends with 130 and one line, nothing thrown through C++."""
    done = subprocess.run([sys.executable, "-c", _SIGINT_INSIDE_TORCH_INIT], capture_output=True, text=True,
                          timeout=300, preexec_fn=sigint_as_in_a_terminal)
    if "injected in" not in done.stderr:
        pytest.skip("this torch runs no Python code inside _multiprocessing_init / _c10d_init")
    assert done.returncode == 130, done.stderr[-2000:]
    assert "terminate called" not in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert done.stderr.rstrip().endswith("multissl: interrupted")


def test_the_commands_ctrl_c_handler_exits_outside_training_and_waits_once_training_stopped(monkeypatch,
                                                                                             sigint_as_in_a_terminal):
    from multissl import interrupts
    from multissl.engine import StopSignals

    exits = []
    monkeypatch.setattr(interrupts.os, "_exit", lambda status: exits.append(status))  # instead of ending pytest
    before = signal.getsignal(signal.SIGINT)
    with interrupts.ExitOnInterrupt() as guard:
        assert signal.getsignal(signal.SIGINT) is guard
        signal.raise_signal(signal.SIGINT)  # outside training: exit 130 at once, raising nothing
        assert exits == [130]
        with StopSignals(verbose=False) as stop:  # training: the flag only
            signal.raise_signal(signal.SIGINT)
        assert stop.signum == signal.SIGINT and exits == [130]
        signal.raise_signal(signal.SIGINT)  # TrainingInterrupted on its way to the command: only noted
        assert exits == [130] and guard.stopping == signal.SIGINT
    assert signal.getsignal(signal.SIGINT) is before
    with StopSignals(verbose=False, raise_first=True) as outer:  # text training around fit: SIGTERM stops the inner
        with StopSignals(verbose=False) as inner:
            signal.raise_signal(signal.SIGTERM)
        signal.raise_signal(signal.SIGINT)  # only noted: the outer one must not raise a second KeyboardInterrupt
    assert inner.signum == outer.signum == signal.SIGTERM and outer.count == 1
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a background job's ignored SIGINT stays ignored
    try:
        with interrupts.ExitOnInterrupt():
            assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)


def test_the_executable_ignores_ctrl_c_once_a_signal_stopped_training_while_main_restores_the_handler(
        sigint_as_in_a_terminal):
    """A second Ctrl-C that lands after the stop message (the run is saved) must not turn the executable's exit
    status 130 into a death by SIGINT; main() called in-process gives the caller's handler back."""
    from multissl import interrupts
    from multissl.engine import StopSignals

    before = signal.getsignal(signal.SIGINT)
    try:
        for ignore_after_stop, expected in ((True, signal.SIG_IGN), (False, before)):
            with interrupts.ExitOnInterrupt(ignore_after_stop=ignore_after_stop):
                with StopSignals(verbose=False):
                    signal.raise_signal(signal.SIGINT)
            assert signal.getsignal(signal.SIGINT) == expected
            signal.signal(signal.SIGINT, before)
        with interrupts.ExitOnInterrupt(ignore_after_stop=True):  # no signal: the previous handler comes back
            pass
        assert signal.getsignal(signal.SIGINT) is before
    finally:
        signal.signal(signal.SIGINT, before)


class _SignalWhenSized(torch.utils.data.Dataset):
    """A dataset that sends SIGINT to its process when fit first asks its length (building the loader, before step 1)."""

    def __init__(self, inputs, send: bool):
        self.inputs, self.send = inputs, send

    def __len__(self):
        if self.send:
            self.send = False
            signal.raise_signal(signal.SIGINT)
        return len(self.inputs)

    def __getitem__(self, i):
        return self.inputs[i]


def test_ctrl_c_during_fits_set_up_stops_before_step_1_and_resumes_identically(tmp_path):
    def run(folder, steps, send=False, **kw):
        task, inputs = _toy_task()
        config = TrainConfig(steps=steps, batch_size=8, verbose=False, output_dir=str(folder), **kw)
        fit(task, _SignalWhenSized(inputs, send), torch.optim.SGD(task.parameters(), lr=0.1), config,
            collate_fn=torch.stack)
        return task

    reference = run(tmp_path / "ref", 5)
    before = signal.getsignal(signal.SIGINT)
    try:
        run(tmp_path / "r", 5, send=True)
        pytest.fail("the SIGINT did not stop training")
    except TrainingInterrupted as stop:
        assert "stopped by SIGINT after step 0" in str(stop) and stop.exit_status == 130
    except KeyboardInterrupt:  # not a pytest interrupt: the regression this test is for
        pytest.fail("a SIGINT in fit's set-up raised KeyboardInterrupt where it landed")
    assert signal.getsignal(signal.SIGINT) is before
    assert load_checkpoint(tmp_path / "r")["step"] == 0
    resumed = run(tmp_path / "r", 5, resume="auto")
    assert all(torch.equal(a, b) for a, b in zip(reference.state_dict().values(), resumed.state_dict().values()))


def test_a_garbage_manifest_is_named_in_a_warning_not_ignored_in_silence(tmp_path):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    assert read_manifest(folder) == {}  # none yet: nothing to say
    (folder / "manifest.json").write_text("{not json")
    with pytest.warns(RuntimeWarning, match=r"manifest\.json is unreadable \(JSONDecodeError.*without its size and hash checks"):
        assert read_manifest(folder) == {}
    (folder / "manifest.json").write_text("[1, 2]")
    with pytest.warns(RuntimeWarning, match=r"manifest\.json is unreadable \(AttributeError"):
        assert read_manifest(folder) == {}
