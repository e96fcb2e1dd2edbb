"""Corpus readers: token-list iterables and one-sentence-per-line files.

- :class:`LineCorpus` streams a file (plain, ``.gz`` or ``.bz2``) with one
  sentence per line and whitespace-separated tokens; it never holds more than
  one line (or 1 MiB of a longer line) in memory. Bytes that are not UTF-8 raise a ``ValueError`` naming
  the file and line, unless ``errors="replace"`` or ``"ignore"``; a UTF-8
  byte-order mark is dropped, a UTF-16 file is an error, and in a file whose
  lines end with a carriage return alone (old Mac files) each is a sentence
  (a CR inside an LF-ended line is white space, as for gensim).
- :func:`iter_sentences` checks a user's iterable of token lists and splits
  sentences longer than ``max_sentence_length`` (10,000 tokens) into pieces:
  nothing is truncated.
- :func:`simple_tokenize` lower-cases and keeps alphabetic tokens (for demos,
  the n-gram models and benchmark preprocessing).

A public corpus often used with word2vec is text8 (the first 10^8 bytes of
English Wikipedia, cleaned, one long line): download ``text8.zip`` from
``http://mattmahoney.net/dc/text8.zip``, unzip, and pass the file as
``corpus_file``; its single line is split into 10,000-token sentences.
"""
from __future__ import annotations

import bz2
import gzip
import re
from functools import partial
from pathlib import Path
from typing import Callable, Iterable, Iterator, List, Sequence, Tuple, Union

from .errors import CorpusTypeError

MAX_SENTENCE_LENGTH = 10_000
ERROR_POLICIES = ("strict", "replace", "ignore")
LINE_BLOCK_BYTES = 1 << 20  # longer lines are read in pieces
UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?")

PathLike = Union[str, Path]


def check_corpus_path(path: Path) -> None:
    """A clear error for a corpus path that is missing or a folder."""
    if path.is_dir():
        raise IsADirectoryError(f"corpus {path} is a folder; give a text file (one sentence per line)")
    if not path.is_file():
        raise FileNotFoundError(f"corpus file {path} does not exist")


def open_binary(path: PathLike):
    """Open ``path`` for reading bytes, decompressing ``.gz`` / ``.bz2``."""
    path = Path(path)
    check_corpus_path(path)
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    if path.suffix == ".bz2":
        return bz2.open(path, "rb")
    return open(path, "rb", buffering=1 << 20)


def line_pieces(first: bytes, read: Callable[[], bytes]) -> Iterator[Tuple[bytes, int, bool]]:
    """The pieces of one line: ``(bytes, column of the first byte, last piece of the line?)``.

    ``first`` is the line's first ``readline(block)`` result and ``read`` reads on (``readline(block)``
    of the same file). A line longer than a block (text8 is one 100 MB line) comes in pieces cut after a
    space, tab or CR, so that memory stays bounded and no token is cut (unless one token is longer than a block).
    """
    column, chunk = 0, first
    while True:
        if chunk.endswith(b"\n"):
            yield chunk, column, True
            return
        more = read()
        if not more:  # the end of the file: a last line without a line end
            yield chunk, column, True
            return
        cut = max(chunk.rfind(b" "), chunk.rfind(b"\t"), chunk.rfind(b"\r")) + 1 or _char_boundary(chunk)
        yield chunk[:cut], column, False
        column += cut
        chunk = chunk[cut:] + more


def _char_boundary(chunk: bytes) -> int:
    """The last UTF-8 character boundary of ``chunk`` (where a token longer than a block is cut)."""
    cut = len(chunk)
    while cut > max(len(chunk) - 4, 1) and chunk[cut - 1] & 0xC0 == 0x80:
        cut -= 1
    return cut - 1 if cut < len(chunk) or chunk[-1] >= 0xC0 else cut


def decode_line(raw: bytes, path: PathLike, line_no: int, errors: str = "strict", column: int = 0) -> str:
    """Line ``line_no`` of ``path`` (or its piece starting at byte ``column``) as text: UTF-8, a byte-order mark
    at the start of the file dropped.

    A UTF-16 file, and with ``errors="strict"`` any byte that is not UTF-8, is a ``ValueError`` naming the file and line.
    """
    if line_no == 1 and column == 0:
        if raw.startswith(UTF16_BOMS):
            raise ValueError(f"{path} is UTF-16 text (it starts with a UTF-16 byte-order mark); re-encode it as UTF-8, "
                             f"e.g. `iconv -f UTF-16 -t UTF-8`")
        raw = raw[3:] if raw.startswith(UTF8_BOM) else raw
    try:
        return raw.decode("utf-8", errors)
    except UnicodeDecodeError as err:
        raise ValueError(
            f"{path}, line {line_no}: byte {raw[err.start]:#04x} at column {column + err.start + 1} is not "
            f"valid UTF-8; re-encode the file, or skip such bytes with errors='replace' or 'ignore' "
            f"(`multissl text train --errors replace`)"
        ) from None


def read_text_lines(path: PathLike) -> Iterator[Tuple[int, str]]:
    """``(line number, line without its line end)`` of a UTF-8 text file (``.gz``/``.bz2`` ok), as :func:`decode_line`."""
    with open_binary(path) as f:
        for line_no, raw in enumerate(f, start=1):
            yield line_no, decode_line(raw, path, line_no).rstrip("\r\n")


def simple_tokenize(text: str) -> List[str]:
    """Lower-cased alphabetic tokens (apostrophes inside words kept)."""
    return _TOKEN.findall(text.lower())


def split_long(tokens: Sequence[str], max_length: int = MAX_SENTENCE_LENGTH) -> Iterator[Sequence[str]]:
    """Yield ``tokens`` in pieces of at most ``max_length`` (all of it, in order)."""
    if len(tokens) <= max_length:
        yield tokens
        return
    for start in range(0, len(tokens), max_length):
        yield tokens[start : start + max_length]


class LineCorpus:
    """Iterate over a one-sentence-per-line file as lists of tokens.

    Args:
        path: text file, optionally ``.gz`` or ``.bz2``.
        max_sentence_length: longer lines are split into several sentences.
        errors: ``"strict"`` (non-UTF-8 bytes raise ``ValueError`` naming the
            file and line), ``"replace"`` or ``"ignore"``.
        lowercase: lower-case every line first.

    Restartable: every ``iter()`` reads the file again from the start.
    """

    def __init__(self, path: PathLike, max_sentence_length: int = MAX_SENTENCE_LENGTH, errors: str = "strict",
                 lowercase: bool = False):
        if errors not in ERROR_POLICIES:
            raise ValueError(f"errors must be one of {ERROR_POLICIES}, got {errors!r}")
        if max_sentence_length <= 0:
            raise ValueError(f"max_sentence_length must be > 0, got {max_sentence_length}")
        self.path = Path(path)
        check_corpus_path(self.path)
        self.max_sentence_length = int(max_sentence_length)
        self.errors = errors
        self.lowercase = lowercase

    def __iter__(self) -> Iterator[List[str]]:
        errors, lowercase, longest = self.errors, self.lowercase, self.max_sentence_length
        with open_binary(self.path) as f:
            read = partial(f.readline, LINE_BLOCK_BYTES)
            for line_no, raw in enumerate(iter(read, b""), start=1):
                if line_no == 1 or len(raw) >= LINE_BLOCK_BYTES:
                    # the first line (a byte-order mark? a file with CR-only line ends is all one "line"), a long line
                    yield from self._sentences_of_pieces(raw, read, line_no)
                    continue
                try:  # the usual case, inline for speed: a whole line, LF or CRLF (a CR inside is white space)
                    line = raw.decode("utf-8", errors)
                except UnicodeDecodeError:
                    line = decode_line(raw, self.path, line_no, errors)  # raises the error naming line and column
                tokens = (line.lower() if lowercase else line).split()
                if len(tokens) > longest:
                    yield from split_long(tokens, longest)
                elif tokens:
                    yield tokens

    def _sentences_of_pieces(self, first: bytes, read: Callable[[], bytes], line_no: int) -> Iterator[List[str]]:
        pending: List[str] = []  # tokens of the line not yet given out
        for raw, column, last in line_pieces(first, read):
            line = decode_line(raw, self.path, line_no, self.errors, column)
            parts = (line.lower() if self.lowercase else line).split("\r")  # old Mac files end lines with CR alone
            for i, part in enumerate(parts):
                pending.extend(part.split())
                yield from self._take_sentences(pending, last or i < len(parts) - 1)

    def _take_sentences(self, pending: List[str], end: bool) -> Iterator[List[str]]:
        """Move full ``max_sentence_length`` sentences (and at a line ``end`` the rest) out of ``pending``."""
        n = self.max_sentence_length
        while len(pending) >= n:
            yield pending[:n]
            del pending[:n]
        if end and pending:
            yield pending[:]
            pending.clear()

    def __repr__(self) -> str:
        return f"LineCorpus({str(self.path)!r})"


def iter_sentences(sentences: Iterable[Sequence[str]], max_sentence_length: int = MAX_SENTENCE_LENGTH,
                   check_first: int = 1000) -> Iterator[Sequence[str]]:
    """Yield the sentences of a token-list iterable, splitting long ones.

    The first ``check_first`` sentences are checked to be sequences of ``str``
    (:class:`~multissl.text.errors.CorpusTypeError`, a ``TypeError`` as in gensim, naming
    the sentence and token). A sentence given as a plain string is a sequence of
    characters, as in gensim (which warns about it while counting).
    """
    if isinstance(sentences, (str, bytes)):
        raise CorpusTypeError("sentences must be an iterable of token lists, got a single string; split it into tokens")
    for index, sentence in enumerate(sentences):
        if index < check_first:
            _check_sentence(sentence, index)
        if len(sentence):
            yield from split_long(sentence, max_sentence_length)


def _check_sentence(sentence, index: int) -> None:
    if isinstance(sentence, str):
        return
    if isinstance(sentence, bytes) or not hasattr(sentence, "__len__"):
        raise CorpusTypeError(f"sentence {index} is a {type(sentence).__name__}, not a list of tokens; "
                              "pass e.g. [line.split() for line in lines]")
    for position, token in enumerate(sentence):
        if not isinstance(token, str):
            raise CorpusTypeError(f"sentence {index}, token {position} is a {type(token).__name__} ({token!r}), "
                                  "not a str")


def corpus_sentences(sentences=None, corpus_file=None, errors: str = "strict",
                     max_sentence_length: int = MAX_SENTENCE_LENGTH, one_pass: bool = False) -> Iterable[Sequence[str]]:
    """The sentence stream of exactly one of ``sentences`` / ``corpus_file``: restartable, unless ``one_pass``
    (counting a vocabulary reads the corpus once: a generator will do)."""
    if (sentences is None) == (corpus_file is None):
        raise ValueError("pass exactly one of sentences= (an iterable of token lists) or corpus_file= (a path)")
    if corpus_file is not None:
        return LineCorpus(corpus_file, max_sentence_length, errors)
    if isinstance(sentences, Iterator) and not one_pass:
        raise CorpusTypeError(
            "sentences is a one-shot iterator (e.g. a generator); training reads the corpus once per epoch, "
            "so pass a restartable iterable such as a list or multissl.text.LineCorpus"
        )
    if not isinstance(sentences, Iterable):
        raise CorpusTypeError(f"sentences must be an iterable of token lists, got a {type(sentences).__name__}")
    return _Checked(sentences, max_sentence_length)


class _Checked:
    def __init__(self, sentences, max_sentence_length):
        self.sentences = sentences
        self.max_sentence_length = max_sentence_length

    def __iter__(self):
        return iter_sentences(self.sentences, self.max_sentence_length)


def write_lines(sentences: Iterable[Sequence[str]], path: PathLike) -> Path:
    """Write token lists one sentence per line (UTF-8); ``.gz`` compresses."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as f:
        for s in sentences:
            f.write(" ".join(s) + "\n")
    return path


__all__ = ["LineCorpus", "MAX_SENTENCE_LENGTH", "corpus_sentences", "decode_line", "iter_sentences", "open_binary",
           "line_pieces", "read_text_lines", "simple_tokenize", "split_long", "write_lines"]
