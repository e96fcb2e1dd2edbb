"""How misuse is reported: exceptions of gensim's types, and gensim's log warnings.

gensim raises ``TypeError`` for a corpus of the wrong kind, ``RuntimeError`` for
training without a vocabulary and ``ZeroDivisionError`` for similarity of an
empty word list; this library raised ``ValueError`` for all of them. The classes
below derive from both, so that code written for either library catches them.

gensim reports soft misuse (both output layers on, a learning rate above the
last one reached, sentences given as plain strings) on its logger, not as
Python warnings; :func:`log_warning` writes the same messages on the logger
``multissl.text``, which, like gensim's, prints nothing until the application
configures logging.
"""
from __future__ import annotations

import logging
import warnings

LOG_PREFIX = "[multissl.text]"  # starts the lines the library prints (verbose=True)
LOGGER = logging.getLogger("multissl.text")
LOGGER.addHandler(logging.NullHandler())  # a library logs only where the application asks for it


class CorpusTypeError(TypeError, ValueError):
    """A corpus or sentence of the wrong type (a one-shot generator, ``None``, a token that is not a ``str``)."""


class NoVocabularyError(RuntimeError, ValueError):
    """Training or scoring a model whose vocabulary is not built, or is empty."""


class EmptyWordListError(ZeroDivisionError, ValueError):
    """A similarity of an empty list of words."""


def log_warning(message: str, also_warn: bool = False) -> None:
    """``message`` on the ``multissl.text`` logger (gensim's channel for it); ``also_warn`` also raises a
    Python ``UserWarning``, for misuse that changes what is trained."""
    LOGGER.warning(message)
    if also_warn:
        warnings.warn(message, UserWarning, stacklevel=3)


__all__ = ["CorpusTypeError", "EmptyWordListError", "LOGGER", "LOG_PREFIX", "NoVocabularyError", "log_warning"]
