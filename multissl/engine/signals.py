"""Stop training cleanly on SIGINT, SIGTERM and SIGHUP.

What ``timeout``, SLURM, Kubernetes and ``docker stop`` send (SIGTERM), a
closed terminal (SIGHUP) and Ctrl-C (SIGINT) all end a run the same way: the
current step finishes, a checkpoint is written, and :class:`TrainingInterrupted`
says where it is. Signals that arrive while that checkpoint is written are
noted and ignored, so a second Ctrl-C cannot tear it (checkpoints are also
written atomically, so even SIGKILL leaves the previous one intact).

The handler itself never raises (unless asked to, ``raise_first``): a
``KeyboardInterrupt`` raised asynchronously can land in Python code that
torch's C++ calls back into, and some of that C++ cannot pass it on
(``std::terminate``, SIGABRT). The ``multissl`` command covers the time outside
:func:`~multissl.engine.fit` the same way (:mod:`multissl.interrupts`).
"""
from __future__ import annotations

import signal
import sys
import threading
from typing import Any, Dict, Optional

from ..interrupts import ExitOnInterrupt

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped on a signal after writing a checkpoint.

    Attributes: ``signum``, ``step`` (the last step done) and ``checkpoint``
    (the file written, or None without an output folder).
    """

    def __init__(self, signum: int, step: int, checkpoint: Optional[str], done: Optional[str] = None):
        self.signum, self.step, self.checkpoint = signum, step, checkpoint
        name = signal.Signals(signum).name
        where = f"checkpoint {checkpoint}; continue with --resume (Python: resume='auto')" if checkpoint else "no output folder, nothing saved"
        super().__init__(f"training stopped by {name} after {done or f'step {step}'}; {where}")

    @property
    def exit_status(self) -> int:
        """The shell's convention for a process ended by a signal: 128 + its number."""
        return 128 + self.signum


class StopSignals:
    """Context manager: while inside, the stop signals set :attr:`signum` instead of killing the process.

    ``raise_first``: the first signal raises ``KeyboardInterrupt`` where the
    main thread is (for loops that cannot poll a flag, such as word2vec's);
    later ones are only noted, so the checkpoint written in the ``except``
    block is not torn. Only the main thread can install signal handlers;
    elsewhere it does nothing (and Ctrl-C raises ``KeyboardInterrupt`` as usual).
    """

    def __init__(self, verbose: bool = True, raise_first: bool = False):
        self.signum: Optional[int] = None
        self.count = 0
        self.verbose, self.raise_first = verbose, raise_first
        self._previous: Dict[int, Any] = {}

    def _handle(self, signum, frame) -> None:
        self.count += 1
        if self.signum is None:
            self.signum = signum
            self._tell(f"{signal.Signals(signum).name}: stopping and writing a checkpoint")
            if self.raise_first:
                raise KeyboardInterrupt
        else:
            self._tell(f"{signal.Signals(signum).name} again: still writing the checkpoint, please wait")

    def _tell(self, message: str) -> None:
        if self.verbose:
            try:
                print(f"[multissl] {message}", file=sys.stderr, flush=True)
            except (RuntimeError, OSError, ValueError):  # the signal came in the middle of a write to stderr
                pass

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                try:
                    self._previous[sig] = signal.signal(sig, self._handle)
                except (ValueError, OSError):
                    pass
        return self

    def stop_under_way(self, signum: int) -> None:
        """A nested StopSignals (fit inside text training) got ``signum``: later signals are the second ones."""
        if self.signum is None:
            self.signum = signum

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
            # the handler put back (an outer StopSignals' or the command's) learns that a stop is under way, so that
            # a second signal does not cut TrainingInterrupted short on its way out
            owner = getattr(handler, "__self__", handler)
            if self.signum is not None and isinstance(owner, (StopSignals, ExitOnInterrupt)):
                owner.stop_under_way(self.signum)
        self._previous.clear()


__all__ = ["STOP_SIGNALS", "StopSignals", "TrainingInterrupted"]
