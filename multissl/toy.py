"""A synthetic two-view data set for smoke tests, demos and engine checks.

Samples belong to ``num_classes`` classes. Each sample is a fixed point
(its class prototype plus a per-sample offset) in ``signal_dim`` informative
dimensions, followed by ``noise_dim`` nuisance dimensions that are redrawn
with large variance every time the sample is viewed. Two views of a sample
share the informative part and differ in the nuisance part, so a contrastive
objective must learn to ignore the nuisance dimensions: raw features and a
random encoder classify poorly, a trained one well.
"""
from __future__ import annotations

from typing import Tuple

import torch
from torch.utils.data import Dataset


class ToyViews(Dataset):
    """``dataset[i] -> (view0 (D,), view1 (D,), label)`` with D = signal_dim + noise_dim.

    Views are random (drawn from torch's global generator); the fixed part is
    seeded by ``seed``. ``clean(i)`` is the noise-free input of sample i and
    ``labels`` is the (N,) class tensor.
    """

    def __init__(self, num_samples: int = 2000, num_classes: int = 8, signal_dim: int = 8, noise_dim: int = 24,
                 class_spread: float = 2.0, sample_spread: float = 0.6, noise_scale: float = 2.5, seed: int = 0):
        if num_samples <= 0 or num_classes <= 1 or signal_dim <= 0 or noise_dim < 0:
            raise ValueError(
                f"need num_samples > 0, num_classes > 1, signal_dim > 0, noise_dim >= 0; got "
                f"{num_samples}, {num_classes}, {signal_dim}, {noise_dim}"
            )
        g = torch.Generator().manual_seed(seed)
        prototypes = torch.randn(num_classes, signal_dim, generator=g) * class_spread
        self.labels = torch.randint(num_classes, (num_samples,), generator=g)
        self.signal = prototypes[self.labels] + torch.randn(num_samples, signal_dim, generator=g) * sample_spread
        self.noise_dim, self.noise_scale = noise_dim, noise_scale
        self.dim = signal_dim + noise_dim

    def __len__(self) -> int:
        return len(self.labels)

    def view(self, i: int) -> torch.Tensor:
        jitter = torch.randn(self.signal.shape[1]) * 0.1
        return torch.cat([self.signal[i] + jitter, torch.randn(self.noise_dim) * self.noise_scale])

    def clean(self, i: int) -> torch.Tensor:
        return torch.cat([self.signal[i], torch.zeros(self.noise_dim)])

    def __getitem__(self, i: int) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.view(i), self.view(i), self.labels[i]

    def one_view_each(self, seed: int = 0) -> torch.Tensor:
        """(N, D) one random view of every sample (seeded), for evaluation."""
        g = torch.Generator().manual_seed(seed)
        noise = torch.randn(len(self), self.noise_dim, generator=g) * self.noise_scale
        return torch.cat([self.signal, noise], dim=1)


class ToyContrastiveTask(torch.nn.Module):
    """A small MLP encoder trained with NT-Xent on :class:`ToyViews` batches.

    ``forward((view0 (B, D), view1 (B, D), labels))`` returns the loss;
    ``encode(x (B, D)) -> (B, hidden)`` gives the representation.
    """

    def __init__(self, in_dim: int, hidden: int = 64, out_dim: int = 32, temperature: float = 0.2, chunk_size=None):
        super().__init__()
        from .heads import MLPHead
        from .losses import NTXentLoss

        self.encoder = torch.nn.Sequential(
            torch.nn.Linear(in_dim, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, hidden), torch.nn.ReLU()
        )
        self.projector = MLPHead([hidden, hidden, out_dim], batch_norm=False)
        self.loss = NTXentLoss(temperature, chunk_size=chunk_size)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, batch):
        view0, view1 = batch[0], batch[1]
        return self.loss(self.projector(self.encoder(view0)), self.projector(self.encoder(view1)))
