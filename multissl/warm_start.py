"""Imports a training run needs later, started in a background thread while the run reads its data.

The first ``torch.optim`` optimizer imports ``torch._dynamo`` (its ``__init__`` is wrapped by
``torch._disable_dynamo``): 1.3 s on 2 cores, spent before the first step of every run. A
thread started when a ``train`` command begins does that import while the main thread lists,
indexes and decodes files (work that mostly releases the GIL), so the first step comes sooner.
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
