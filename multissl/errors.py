"""The library's own user-facing errors: the ``multissl`` command prints them as one line and exits 2.

Every error a user can cause and fix (a bad path, value, file or checkpoint)
is a ``ValueError``, an ``OSError`` or a :class:`MultisslError`; anything else
is a bug and keeps its traceback.
"""
from __future__ import annotations


class MultisslError(Exception):
    """Base of the library's own errors (damaged checkpoints, undecodable videos, ...)."""


USER_ERRORS = (ValueError, OSError, MultisslError)

__all__ = ["MultisslError", "USER_ERRORS"]
