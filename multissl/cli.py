"""The ``multissl`` command.

``multissl demo`` runs the end-to-end demo; ``multissl text|audio|video|vision``
are command groups registered by each modality's ``cli.register``.
Errors in user input (bad paths, shapes, values) print one clear line and
exit with status 2; set ``MULTISSL_DEBUG=1`` for the traceback. Ctrl-C outside
training exits 130 at once (:mod:`multissl.interrupts`); this module imports
nothing heavy, so that handler is in place before torch is imported.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import List, NoReturn, Optional, Sequence

from . import MODALITIES, __version__
from .errors import USER_ERRORS
from .interrupts import ExitOnInterrupt


def build_parser(only: Optional[str] = None) -> argparse.ArgumentParser:
    """The whole command; ``only``: one modality's command group alone (its modules are all a command of it imports)."""
    parser = argparse.ArgumentParser(
        prog="multissl",
        description="Self-supervised pretext tasks across text, audio, video and images.",
    )
    parser.add_argument("--version", action="version", version=f"multissl {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error (also: MULTISSL_DEBUG=1)")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    if only is None:
        from . import demo, export, pretrained

        demo.register(subparsers)
        pretrained.register(subparsers)
        export.register(subparsers)
    for modality in MODALITIES if only is None else (only,):
        importlib.import_module(f"multissl.{modality}.cli").register(subparsers)
    parser.set_defaults(func=lambda args: parser.print_help() or 0)
    return parser


def _positionals(argv: Sequence[str]) -> List[str]:
    return [a for a in argv if not a.startswith("-")]


def main(argv: Optional[List[str]] = None) -> int:
    # before anything imports torch: a KeyboardInterrupt raised inside torch's C++ start-up aborts the process
    with ExitOnInterrupt():
        return _main(argv)


def command() -> NoReturn:
    """The ``multissl`` executable: :func:`main` on ``sys.argv``, then exit with its status.

    Unlike :func:`main` (which restores the caller's SIGINT handler), a Ctrl-C
    that comes after a signal stopped training is ignored up to the end of the
    process: the run is saved and the status stays 128 + the first signal.

    The process is the library's own, so glibc malloc keeps freed memory for
    reuse (:mod:`multissl.allocator`; ``TrainConfig.keep_freed_memory`` for Python
    callers): without it every training step page-faults its activations in
    again (rotation at 64 px on 2 cores: 12.5 -> 26.7 images/s). Set
    ``MULTISSL_KEEP_FREED_MEMORY=0`` to keep glibc's defaults.
    """
    if os.environ.get("MULTISSL_KEEP_FREED_MEMORY", "1") != "0":
        from .allocator import keep_freed_memory

        keep_freed_memory()
    with ExitOnInterrupt(ignore_after_stop=True):
        status = _main(None)
    sys.exit(status)


def _main(argv: Optional[List[str]]) -> int:
    from .distributed import leave_together
    from .engine.signals import TrainingInterrupted  # imports torch

    words = _positionals(sys.argv[1:] if argv is None else argv)
    parser = build_parser(only=words[0] if words and words[0] in MODALITIES else None)
    args = parser.parse_args(argv)
    debug = args.debug or bool(os.environ.get("MULTISSL_DEBUG"))
    try:
        status = int(args.func(args) or 0)
        leave_together()
        return status
    except USER_ERRORS as err:
        if debug:
            raise
        print(f"multissl: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except TrainingInterrupted as stop:
        print(f"multissl: {stop}", file=sys.stderr)
        return stop.exit_status
    except KeyboardInterrupt:
        print("multissl: interrupted", file=sys.stderr)
        return 130


def _one_line(err: BaseException) -> str:
    """The error's message on one line (OSError: its file name and reason)."""
    if isinstance(err, OSError) and err.filename and err.strerror:
        return f"{err.filename}: {err.strerror}"
    text = str(err) or type(err).__name__
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
