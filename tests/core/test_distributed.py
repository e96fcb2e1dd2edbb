"""DDP on 2 CPU processes (gloo): gathered negatives and the engine under torchrun."""
import socket
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from tests.core import ddp_workers
from multissl import losses

HERE = Path(__file__).parent


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_gathered_negatives_loss_equals_single_process_loss(tmp_path):
    world = 2
    mp.spawn(ddp_workers.gathered_loss_worker, args=(world, _free_port(), str(tmp_path)), nprocs=world, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(world)]
    z0, z1 = ddp_workers.global_batch()
    singles = {
        "nt_xent": lambda a, c: losses.nt_xent(a, c, temperature=0.3),
        "nt_xent_chunked": lambda a, c: losses.nt_xent(a, c, temperature=0.3, chunk_size=5),
        "info_nce": lambda a, c: losses.info_nce(a, c, temperature=0.3),
        "info_nce_chunked": lambda a, c: losses.info_nce(a, c, temperature=0.3, chunk_size=2),
    }
    for name, fn in singles.items():
        a, c = z0.clone().requires_grad_(), z1.clone().requires_grad_()
        loss = fn(a, c)
        ga, gc = torch.autograd.grad(loss, [a, c])
        dist_loss = sum(r[name][0] for r in ranks) / world
        assert torch.allclose(dist_loss, loss, atol=1e-12), name
        # each rank's gradient is that of the sum of rank losses = world x the global mean loss
        assert torch.allclose(torch.cat([r[name][1] for r in ranks]) / world, ga, atol=1e-12), name
        assert torch.allclose(torch.cat([r[name][2] for r in ranks]) / world, gc, atol=1e-12), name


def _train_on_two_ranks(out, kind="contrastive"):
    """Parameters of rank 0 and rank 1 after ``ddp_workers.train(kind=kind)`` under torchrun with 2 processes."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           str(HERE / "ddp_workers.py"), str(out), kind]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=HERE)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [torch.load(out / f"params_rank{r}.pt") for r in range(2)]


@pytest.mark.slow
def test_fit_under_torchrun_matches_single_process_training(tmp_path):
    p0, p1 = _train_on_two_ranks(tmp_path)
    for k in p0:
        assert torch.equal(p0[k], p1[k]), f"ranks diverged at {k}"
    assert (tmp_path / "checkpoints" / "last.pt").is_file()  # written by rank 0
    single = ddp_workers.train(str(tmp_path / "single"), batch_size=16)
    for k in single:
        assert torch.allclose(single[k], p0[k], atol=1e-5), k
    # the logged loss is the mean over both ranks: the single process's loss on the whole batch
    logged, alone = (json.loads((folder / "metrics.jsonl").read_text().splitlines()[-1]) for folder in (tmp_path, tmp_path / "single"))
    assert logged["step"] == alone["step"] == 3 and abs(logged["loss"] - alone["loss"]) < 1e-5
    start = ddp_workers.train(str(tmp_path / "none"), batch_size=16, steps=1)
    assert any(not torch.allclose(start[k], p0[k]) for k in start)


@pytest.mark.slow
def test_sparse_embeddings_exchange_their_rows_and_train_like_one_process(tmp_path):
    """A model with a sparse-gradient embedding is not wrapped in DDP (dense tables); the ranks average the
    touched rows themselves and end where one process with the whole batch does."""
    p0, p1 = _train_on_two_ranks(tmp_path, "sparse")
    single = ddp_workers.train(str(tmp_path / "single"), batch_size=16, kind="sparse")
    torch.manual_seed(0)
    start = ddp_workers.SparseRegression().state_dict()
    for k in single:
        assert torch.equal(p0[k], p1[k]), f"ranks diverged at {k}"
        assert torch.allclose(single[k], p0[k], atol=1e-6), k
    assert not torch.allclose(start["table.weight"], p0["table.weight"])


@pytest.mark.slow
def test_parameters_a_step_leaves_unused_and_metrics_of_one_rank(tmp_path):
    """A task with ``leaves_parameters_unused`` trains under DDP (find_unused_parameters) like one process; a metric
    logged by rank 0 alone is logged as rank 0's value, next to the loss averaged over both ranks."""
    p0, p1 = _train_on_two_ranks(tmp_path, "alternating")
    single = ddp_workers.train(str(tmp_path / "single"), batch_size=16, kind="alternating")
    for k in single:
        assert torch.equal(p0[k], p1[k]) and torch.allclose(single[k], p0[k], atol=1e-6), k
    logged = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    steps = [entry for entry in logged if "loss" in entry]
    alone = [json.loads(line) for line in (tmp_path / "single" / "metrics.jsonl").read_text().splitlines() if '"loss"' in line]
    assert [e["step"] for e in steps] == [1, 2, 3] and all(e["rank0_metric"] == 1.0 for e in steps)
    assert all(abs(a["loss"] - b["loss"]) < 1e-5 for a, b in zip(steps, alone))


@pytest.mark.slow
def test_ranks_leave_together_and_close_the_group(tmp_path):
    from multissl.distributed import leave_together

    leave_together()  # without a process group: nothing to do
    mp.spawn(ddp_workers.leave_together_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    assert [(tmp_path / f"left{r}").read_text() for r in range(2)] == ["False", "False"]


def _torchrun_resume_worker(out, steps, resume=False, nproc=2):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
           str(HERE / "ddp_resume_worker.py"), str(out), str(steps)] + (["resume"] if resume else [])
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=HERE)


def _ranks(out, steps):
    return [json.loads((out / f"rank{r}-{steps}.json").read_text()) for r in range(2)]


@pytest.mark.slow
def test_each_rank_draws_its_own_randomness_and_resume_continues_exactly(tmp_path):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    for out, steps, resume in ((straight, 6, False), (resumed, 3, False), (resumed, 6, True)):
        proc = _torchrun_resume_worker(out, steps, resume)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    whole, first, second = _ranks(straight, 6), _ranks(resumed, 3), _ranks(resumed, 6)
    assert whole[0]["draws"] != whole[1]["draws"]  # seeds derive from (seed, rank)
    assert whole[0]["params"] == whole[1]["params"]  # one model
    for rank in range(2):  # every rank's generators come back from the checkpoint: the same draws, the same weights
        assert first[rank]["draws"] + second[rank]["draws"] == whole[rank]["draws"]
        assert second[rank]["params"] == whole[rank]["params"]
    proc = _torchrun_resume_worker(resumed, 8, resume=True, nproc=1)
    assert proc.returncode != 0
    assert "written by a run of 2 process(es) and this run has 1" in proc.stdout + proc.stderr


def _torchrun_run_folder(out, mode):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           str(HERE / "ddp_run_folder.py"), str(out), mode]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=HERE)


@pytest.mark.slow
def test_ranks_never_race_on_the_run_folder(tmp_path):
    out = tmp_path / "run"
    for _ in range(2):  # a new folder, then the same folder replaced
        proc = _torchrun_run_folder(out, "overwrite")
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
        assert "rank 0 trained" in proc.stdout and "rank 1 trained" in proc.stdout
        names = sorted(p.name for p in out.iterdir())
        assert [n for n in names if not n.startswith("events.out.tfevents")] == ["checkpoints", "config.json", "metrics.jsonl"]
        assert len(names) == 4  # and one TensorBoard file, rank 0's, of the last run only
    proc = _torchrun_run_folder(out, "keep")  # neither resume nor overwrite: every rank refuses, none hangs
    assert proc.returncode != 0
    assert proc.stdout.count("FileExistsError") == 2 and "already holds a run" in proc.stdout
