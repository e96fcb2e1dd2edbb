"""Imports a training run needs later, done in a background thread while the run reads its data.

The first ``torch.optim`` optimizer imports ``torch._dynamo`` (its ``add_param_group`` is wrapped
by ``torch._disable_dynamo``): about 1 s on 2 cores. When :func:`~multissl.engine.fit` is given an
optimizer factory, it starts this import in a thread once its DataLoader workers have started (so
that no worker is forked while an import holds its locks) and makes the optimizer at step 1: the
import runs while the set-up before step 1 waits on decoders and torch kernels (which release the
GIL), instead of before it.
"""
from __future__ import annotations

import importlib
import threading
from typing import Sequence

LATER_IMPORTS = ("torch._dynamo",)


def import_in_background(modules: Sequence[str] = LATER_IMPORTS) -> threading.Thread:
    """Start a daemon thread importing ``modules``; an import that fails is left for the main thread to meet."""

    def run() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - the main thread's own import reports it
                pass

    thread = threading.Thread(target=run, name="multissl-imports", daemon=True)
    thread.start()
    return thread


__all__ = ["LATER_IMPORTS", "import_in_background"]
