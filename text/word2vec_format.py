"""word2vec.c's vector file formats, as gensim reads and writes them.

Both start with a header line ``"V D\\n"`` (GloVe's text files lack it:
``no_header=True``, as in gensim, counts the vectors in a first pass). Text: one line per word,
``word v1 ... vD``. Binary: for each word, its UTF-8 bytes, a space, then D
little-endian float32 (4·D bytes), optionally followed by ``"\\n"`` (word2vec.c
writes it, gensim 4 does not; both are read). Files ending in ``.gz`` / ``.bz2``
are (de)compressed. Text values are written with 9 significant digits, so
float32 vectors survive a round trip exactly.
"""
from __future__ import annotations

import bz2
import gzip
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

PathLike = Union[str, Path]
UTF8_BOM = b"\xef\xbb\xbf"


def _open(path: Path, mode: str):
    if path.suffix == ".gz":
        return gzip.open(path, mode)
    if path.suffix == ".bz2":
        return bz2.open(path, mode)
    return open(path, mode)


def save_word2vec_format(path: PathLike, words: Sequence[str], vectors: np.ndarray, binary: bool = False) -> Path:
    """Write ``words`` and their (V, D) ``vectors``."""
    path = Path(path)
    vectors = np.asarray(vectors, np.float32)
    if vectors.ndim != 2 or len(words) != len(vectors):
        raise ValueError(f"need (V, D) vectors for {len(words)} words, got shape {vectors.shape}")
    for i, w in enumerate(words):
        if not w or any(ch.isspace() for ch in w):
            raise ValueError(f"word {i} ({w!r}) is empty or contains whitespace; the word2vec format cannot hold it")
    with _open(path, "wb") as f:
        f.write(f"{len(words)} {vectors.shape[1]}\n".encode("utf-8"))
        little = vectors.astype("<f4", copy=False)
        if binary:
            for w, row in zip(words, little):
                f.write(w.encode("utf-8") + b" " + row.tobytes() + b"\n")
        else:
            fmt = " ".join(["%.9g"] * vectors.shape[1])
            for w, row in zip(words, vectors.tolist()):
                f.write((w + " " + fmt % tuple(row) + "\n").encode("utf-8"))
    return path


def load_word2vec_format(path: PathLike, binary: bool = False, errors: str = "strict",
                         limit: Optional[int] = None, no_header: bool = False) -> Tuple[List[str], np.ndarray]:
    """Read a word2vec text or binary file; returns ``(words, (V, D) float32)``.

    Malformed files raise ``ValueError`` naming the file and the line (text)
    or the entry and byte offset (binary). ``errors`` is the UTF-8 policy for
    words; ``limit`` reads only the first words. ``no_header``: a text file
    without the ``V D`` line (GloVe's; see :func:`is_headerless_text`).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"vector file {path} does not exist")
    if no_header:
        return _load_headerless(path, binary, errors, limit)
    with _open(path, "rb") as f:
        header = f.readline()
        try:
            count, dim = _parse_header(header)
        except ValueError:
            raise ValueError(f"{path}, line 1: expected a header 'V D' (two integers), got {header[:60]!r}; for a file "
                             "without it (GloVe's) pass no_header=True") from None
        if count < 0 or dim <= 0:
            raise ValueError(f"{path}, line 1: bad header {header.strip()!r}: need V >= 0 and D > 0")
        if limit is not None:
            count = min(count, int(limit))
        if binary:
            words, vectors = _read_binary(f, path, count, dim, errors, len(header))
        else:
            words, vectors = _read_text(f, path, count, dim, errors)
    _check_finite_rows(path, words, vectors)
    return words, vectors


def _parse_header(header: bytes) -> Tuple[int, int]:
    """``(V, D)`` of a header line (a UTF-8 byte-order mark before it is allowed); ValueError if it is not two integers."""
    count, dim = (int(x) for x in header.removeprefix(UTF8_BOM).split())
    return count, dim


def _load_headerless(path: Path, binary: bool, errors: str, limit: Optional[int]) -> Tuple[List[str], np.ndarray]:
    if binary:
        raise ValueError(f"{path}: no_header works only for text vector files (binary=False), as in gensim")
    with _open(path, "rb") as f:
        first = f.readline().removeprefix(UTF8_BOM)
        dim = len(first.split()) - 1
        if dim < 1:
            raise ValueError(f"{path}, line 1: expected a word and its numbers, got {first[:60]!r}")
        count = 1 + sum(1 for line in f if line.strip())  # the extra pass gensim makes too
    count = count if limit is None else min(count, int(limit))
    with _open(path, "rb") as f:
        words, vectors = _read_text(f, path, count, dim, errors, first_line_no=1)
    _check_finite_rows(path, words, vectors)
    return words, vectors


def is_headerless_text(path: PathLike) -> bool:
    """Whether ``path`` is a text vector file without the ``V D`` header line (GloVe's): its first line is a
    word followed by at least two numbers."""
    with _open(Path(path), "rb") as f:
        first = f.readline(1 << 20).removeprefix(UTF8_BOM)
    try:
        parts = first.decode("utf-8").split()
        [float(x) for x in parts[1:]]
    except (UnicodeDecodeError, ValueError):
        return False
    return len(parts) >= 3


def _check_finite_rows(path: Path, words: List[str], vectors: np.ndarray) -> None:
    """NaN or infinite vectors are an error naming the rows (gensim would load them silently and every
    similarity involving them would be NaN)."""
    bad = np.flatnonzero(~np.isfinite(vectors).all(axis=1))
    if len(bad):
        shown = ", ".join(f"{i + 1} ({words[i]!r})" for i in bad[:5])
        raise ValueError(f"{path}: {len(bad)} vector(s) hold NaN or infinite values: entries {shown}"
                         + (" ..." if len(bad) > 5 else ""))


def looks_binary(path: PathLike) -> bool:
    """Whether a word2vec file is in the binary format: its first entry after the header is not a text line
    of a word and D numbers."""
    path = Path(path)
    with _open(path, "rb") as f:
        header = f.readline()
        try:
            _, dim = _parse_header(header)
        except ValueError:
            return True
        line = f.readline(16 * dim + 4096)
    try:
        parts = line.decode("utf-8").rstrip("\n").rstrip(" ").split(" ")
        [float(x) for x in parts[1:]]
    except (UnicodeDecodeError, ValueError):
        return True
    return len(parts) != dim + 1


def _read_text(f, path: Path, count: int, dim: int, errors: str, first_line_no: int = 2) -> Tuple[List[str], np.ndarray]:
    words: List[str] = []
    vectors = np.empty((count, dim), np.float32)
    for i in range(count):
        raw = f.readline()
        line_no = i + first_line_no
        if line_no == 1:
            raw = raw.removeprefix(UTF8_BOM)
        if not raw:
            raise ValueError(f"{path}: the header announces {count} words but the file ends at line {line_no - 1}")
        try:
            parts = raw.decode("utf-8", errors).rstrip("\n").rstrip(" ").split(" ")
        except UnicodeDecodeError as err:
            raise ValueError(f"{path}, line {line_no}: not UTF-8 text ({err.reason} at byte {err.start}); is it a binary "
                             "vector file? (read it as binary)") from None
        if len(parts) != dim + 1:
            raise ValueError(f"{path}, line {line_no}: expected a word and {dim} numbers, got {len(parts)} fields")
        try:
            vectors[i] = [float(x) for x in parts[1:]]
        except ValueError as err:
            raise ValueError(f"{path}, line {line_no}: {err}") from None
        words.append(parts[0])
    return words, vectors


def _read_binary(f, path: Path, count: int, dim: int, errors: str, offset: int) -> Tuple[List[str], np.ndarray]:
    data = f.read()
    words: List[str] = []
    vectors = np.empty((count, dim), np.float32)
    pos = 0
    nbytes = 4 * dim
    for i in range(count):
        while pos < len(data) and data[pos : pos + 1] in (b"\n", b"\r"):
            pos += 1
        space = data.find(b" ", pos)
        if space < 0 or space - pos > 10_000:
            raise ValueError(f"{path}: entry {i + 1} (byte {offset + pos}): no word followed by a space; truncated or not a binary word2vec file")
        word = data[pos:space].decode("utf-8", errors)
        start = space + 1
        if start + nbytes > len(data):
            raise ValueError(
                f"{path}: entry {i + 1} ({word!r}, byte {offset + pos}): needs {nbytes} bytes of vector, "
                f"{len(data) - start} left; the file is truncated (header says {count} words)"
            )
        vectors[i] = np.frombuffer(data, "<f4", dim, start)
        words.append(word)
        pos = start + nbytes
    return words, vectors


__all__ = ["load_word2vec_format", "looks_binary", "save_word2vec_format"]
