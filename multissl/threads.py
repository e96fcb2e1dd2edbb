"""torch's thread count, narrowed for work made of many tiny operations.

k-means on ~10^5 2-D points, a linear probe with small steps, a few CPC steps in a demo: each is
hundreds of operations too small to split, which more OpenMP threads only synchronise (each waits
for the others: many times slower on a machine busy with other work).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """torch on one thread inside the block; the caller's thread count after it."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


__all__ = ["one_torch_thread"]
