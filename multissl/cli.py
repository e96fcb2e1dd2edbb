"""The ``multissl`` command.

``multissl demo`` runs the end-to-end demo; ``multissl text|audio|video|vision``
are command groups registered by each modality's ``cli.register``.
Errors in user input (bad paths, shapes, values) print one clear line and
exit with status 2; set ``MULTISSL_DEBUG=1`` for the traceback.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import List, Optional

from . import MODALITIES, __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="multissl",
        description="Self-supervised pretext tasks across text, audio, video and images.",
    )
    parser.add_argument("--version", action="version", version=f"multissl {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    from . import demo

    demo.register(subparsers)
    for modality in MODALITIES:
        importlib.import_module(f"multissl.{modality}.cli").register(subparsers)
    parser.set_defaults(func=lambda args: parser.print_help() or 0)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, NotADirectoryError, PermissionError) as err:
        if os.environ.get("MULTISSL_DEBUG"):
            raise
        print(f"multissl: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("multissl: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
