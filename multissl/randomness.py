"""Seeded randomness that leaves the caller's global random generators alone.

Library functions take a ``seed`` and must not reseed Python's ``random``,
NumPy's global generator or torch's default generators as a side effect:
:func:`isolated_rng` runs a block with those generators seeded and puts the
caller's states back afterwards.
"""
from __future__ import annotations

import random
from contextlib import contextmanager
from typing import Iterator, Optional

import numpy as np
import torch


@contextmanager
def isolated_rng(seed: Optional[int] = None, cuda: Optional[bool] = None) -> Iterator[None]:
    """Run a block with the global generators seeded with ``seed``, then restore them.

    Saves the states of Python's ``random``, NumPy's global generator and
    torch's CPU generator (and the CUDA generators, see ``cuda``), seeds them
    with ``seed`` when given (as ``torch.manual_seed`` would), and restores
    the saved states on exit, also on error. Randomness inside the block is
    therefore reproducible from ``seed``, and the caller's streams continue
    as if the block had not run.

    ``cuda``: also save, seed and restore the CUDA generators of every
    device. ``None`` (default) does so only when CUDA is already initialised,
    so that a CPU-only block does not initialise CUDA; ``True`` initialises
    it if available.
    """
    if cuda is None:
        cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
    cuda = bool(cuda) and torch.cuda.is_available()
    python_state = random.getstate()
    numpy_state = np.random.get_state()
    torch_state = torch.get_rng_state()
    cuda_states = torch.cuda.get_rng_state_all() if cuda else None
    try:
        if seed is not None:
            random.seed(seed)
            np.random.seed(seed % 2**32)
            torch.default_generator.manual_seed(seed)  # not torch.manual_seed: it would queue a CUDA reseed
            if cuda:
                torch.cuda.manual_seed_all(seed)
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
        torch.set_rng_state(torch_state)
        if cuda_states is not None:
            torch.cuda.set_rng_state_all(cuda_states)


__all__ = ["isolated_rng"]
