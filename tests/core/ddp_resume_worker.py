"""Run by test_distributed.py under torchrun: a task that draws random noise every step (an augmentation's stand-in)
trains for ``steps`` (resuming from the run folder's checkpoint with ``resume``); every rank writes its parameters
and the first noise value of each step it trained."""
import json
import os
import sys

import torch
import torch.distributed as dist

from multissl.engine import TrainConfig, fit


class NoisyRegression(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(4, 2)
        self.draws = []

    def forward(self, batch):
        x, target = batch
        noise = torch.randn_like(x)
        self.draws.append(float(noise[0, 0]))
        return ((self.layer(x + 0.1 * noise) - target) ** 2).mean()


def pairs(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.utils.data.TensorDataset(torch.randn(n, 4, generator=g), torch.randn(n, 2, generator=g))


def main(out, steps, resume):
    torch.manual_seed(0)
    task = NoisyRegression()
    config = TrainConfig(steps=steps, batch_size=4, seed=1, output_dir=out, checkpoint_every=1, verbose=False,
                         resume="auto" if resume else None)
    fit(task, pairs(), torch.optim.SGD(task.parameters(), lr=0.1), config)
    rank = dist.get_rank() if dist.is_initialized() else 0
    record = {"params": [p.detach().flatten().tolist() for p in task.parameters()], "draws": task.draws}
    with open(os.path.join(out, f"rank{rank}-{steps}.json"), "w") as f:
        json.dump(record, f)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3:] == ["resume"])
