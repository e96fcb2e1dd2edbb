"""Ctrl-C in the ``multissl`` command outside training: exit 130 at once, never a ``KeyboardInterrupt``.

Python's default SIGINT handler raises ``KeyboardInterrupt`` wherever the main
thread is, also in Python code that C++ calls back into. Some of torch's C++
cannot pass an exception on: its import-time initialisers
(``torch._C._c10d_init``, ``_multiprocessing_init``, ``_dist_autograd_init``)
import Python modules, and a ``KeyboardInterrupt`` raised in one of those imports
ends the process through ``std::terminate`` ("terminate called after throwing
an instance of 'python_error'", SIGABRT, status -6) instead of a clean exit.

So the command installs :class:`ExitOnInterrupt` before it imports torch (this
module imports nothing heavy). It raises nothing: it prints ``multissl:
interrupted`` and ends the process with ``os._exit(130)``. For a run that is
as safe as SIGKILL, which the run folders are made to survive (checkpoints,
their manifest and config.json are written atomically; a torn last line of
metrics.jsonl is skipped). While training, the engine's :class:`~multissl.engine.StopSignals`
replaces it (the step finishes and a checkpoint is written); once a signal has
stopped training, later SIGINTs are only noted, so that the command can still
print where the checkpoint is and exit 128 + the first signal's number. The
``multissl`` executable (:func:`multissl.cli.command`) goes further: once a
signal has stopped training, SIGINT stays ignored until the process ends, so a
late second Ctrl-C cannot turn that exit status into a death by SIGINT.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any, Optional

EXIT_STATUS = 128 + signal.SIGINT  # the shell's status of a process ended by SIGINT: 130


class ExitOnInterrupt:
    """Context manager: while inside, SIGINT ends the process with status 130 (see the module docstring).

    It replaces only Python's default handler (a handler of the caller's, or
    SIGINT ignored as in a background job, is left alone), and only in the main
    thread. On leaving, the previous handler comes back; with ``ignore_after_stop``
    (for a process that ends right after), SIGINT is ignored instead if a signal
    stopped training meanwhile.
    """

    def __init__(self, ignore_after_stop: bool = False) -> None:
        self.stopping: Optional[int] = None  # set by StopSignals: the signal that stopped training
        self.ignore_after_stop = ignore_after_stop
        self._previous: Any = None
        self._installed = False

    def stop_under_way(self, signum: int) -> None:
        """Training was stopped by ``signum`` and TrainingInterrupted is on its way to the command: do not cut
        that short (the checkpoint is written; the command still has to say where it is)."""
        self.stopping = signum

    def __call__(self, signum, frame) -> None:
        if self.stopping is not None:
            _say(f"{signal.Signals(signum).name} again: training already stopped, finishing")
            return
        for stream in (sys.stdout, sys.stderr):  # what the command printed so far
            try:
                stream.flush()
            except Exception:  # e.g. the signal came in the middle of a write to that stream
                pass
        _say("interrupted")
        os._exit(EXIT_STATUS)

    def __enter__(self) -> "ExitOnInterrupt":
        if threading.current_thread() is threading.main_thread():
            current = signal.getsignal(signal.SIGINT)
            if current is signal.default_int_handler or current == signal.SIG_DFL:
                self._previous = signal.signal(signal.SIGINT, self)
                self._installed = True
        return self

    def __exit__(self, *exc) -> None:
        if self._installed and signal.getsignal(signal.SIGINT) is self:
            # one atomic swap: a SIGINT already pending when it happens runs the handler swapped in
            ignore = self.ignore_after_stop and self.stopping is not None
            signal.signal(signal.SIGINT, signal.SIG_IGN if ignore else self._previous)
        self._installed = False


def _say(message: str) -> None:
    """One line on stderr, written with os.write: safe inside a signal handler that interrupted a print."""
    try:
        os.write(2, f"multissl: {message}\n".encode())
    except OSError:
        pass


__all__ = ["EXIT_STATUS", "ExitOnInterrupt"]
