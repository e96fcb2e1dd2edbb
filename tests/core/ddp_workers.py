"""Code run inside worker processes by test_distributed.py (importable by spawn)."""
import os
import sys

import torch
import torch.distributed as dist

from multissl import losses


def global_batch(seed=0, n=12, d=5):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64), torch.randn(n, d, generator=g, dtype=torch.float64)


def gathered_loss_worker(rank, world, port, out_dir):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        z0, z1 = global_batch()
        b = len(z0) // world
        results = {}
        for name, fn in {
            "nt_xent": lambda a, c: losses.nt_xent(a, c, temperature=0.3),
            "nt_xent_chunked": lambda a, c: losses.nt_xent(a, c, temperature=0.3, chunk_size=5),
            "info_nce": lambda a, c: losses.info_nce(a, c, temperature=0.3),
            "info_nce_chunked": lambda a, c: losses.info_nce(a, c, temperature=0.3, chunk_size=2),
        }.items():
            a = z0[rank * b : (rank + 1) * b].clone().requires_grad_()
            c = z1[rank * b : (rank + 1) * b].clone().requires_grad_()
            loss = fn(a, c)
            ga, gc = torch.autograd.grad(loss, [a, c])
            results[name] = (loss.detach(), ga, gc)
        torch.save(results, os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def fixed_pairs(n=64, d=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    x0 = torch.randn(n, d, generator=g)
    return torch.utils.data.TensorDataset(x0, x0 + 0.3 * torch.randn(n, d, generator=g))


class SparseRegression(torch.nn.Module):
    """A sparse-gradient embedding (as word2vec's) and a dense layer, fitted to fixed targets: the loss is a mean."""

    def __init__(self, words=20, dim=4):
        super().__init__()
        self.table = torch.nn.Embedding(words, dim, sparse=True)
        self.head = torch.nn.Linear(dim, 3)

    def forward(self, batch):
        ids, target = batch
        return ((self.head(self.table(ids)) - target) ** 2).mean()


class AlternatingLayers(torch.nn.Module):
    """Trains one of two layers per step (parameters left unused, as the stacked DAE's) and logs a metric on rank 0
    only (as the online probe's accuracy, absent on a batch without labels)."""

    leaves_parameters_unused = True

    def __init__(self):
        super().__init__()
        self.first, self.second = torch.nn.Linear(6, 1), torch.nn.Linear(6, 1)
        self.calls = 0

    def forward(self, batch):
        x, y = batch
        layer = self.first if self.calls % 2 == 0 else self.second
        self.calls += 1
        loss = ((layer(x) - y.sum(1, keepdim=True)) ** 2).mean()
        rank = dist.get_rank() if dist.is_initialized() else 0
        return loss, ({"rank0_metric": torch.tensor(float(rank + 1))} if rank == 0 else {})


def word_targets(n=64, words=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.utils.data.TensorDataset(torch.randint(0, words, (n,), generator=g), torch.randn(n, 3, generator=g))


def train(out_dir, batch_size, steps=3, kind="contrastive"):
    """Train the toy NT-Xent task (``kind="sparse"``: :class:`SparseRegression`, ``"alternating"``:
    :class:`AlternatingLayers`) with SGD; return its parameters."""
    from multissl.engine import TrainConfig, fit
    from multissl.toy import ToyContrastiveTask

    torch.manual_seed(0)
    if kind == "sparse":
        task, data = SparseRegression(), word_targets()
    elif kind == "alternating":
        task, data = AlternatingLayers(), fixed_pairs()
    else:
        task, data = ToyContrastiveTask(6, hidden=16, out_dim=8, temperature=0.5), fixed_pairs()
    opt = torch.optim.SGD(task.parameters(), lr=0.5)
    cfg = TrainConfig(steps=steps, batch_size=batch_size, seed=1, output_dir=out_dir, verbose=False, log_every=1)
    fit(task, data, opt, cfg)
    return {k: v.detach().cpu() for k, v in task.state_dict().items()}


if __name__ == "__main__":  # launched by torchrun
    out = sys.argv[1]
    params = train(out, batch_size=8, kind=sys.argv[2] if len(sys.argv) > 2 else "contrastive")
    torch.save(params, os.path.join(out, f"params_rank{dist.get_rank()}.pt"))
    dist.destroy_process_group()


def leave_together_worker(rank, world, port, out_dir):
    """Every rank leaves together: after ``leave_together`` the process group is closed on this rank."""
    from multissl.distributed import leave_together

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    leave_together()
    with open(os.path.join(out_dir, f"left{rank}"), "w") as f:
        f.write(str(dist.is_initialized()))
