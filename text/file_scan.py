"""One pass over a corpus file in compiled code: word counts and the corpus as word ids.

:func:`scan_file` reads a one-sentence-per-line file in blocks of a few MiB and runs a
numba kernel over the bytes: it splits tokens on exactly the white space ``str.split()``
splits on (ASCII and Unicode), counts them in a hash table of byte strings, and writes the
corpus as int32 word ids, ``-1`` after each sentence, cut into the chunks training hands
to its threads (the same chunks as :func:`multissl.text.vocab.encode_chunks`). Sentences
are those of :class:`~multissl.text.corpus.LineCorpus` (lines, long ones split every
``max_sentence_length`` tokens, empty ones skipped), so the counts, the vocabulary and
the trained vectors are the same as when the file is read line by line in Python.

- Counting (``insert=True``): every distinct token gets a provisional id in order of first
  appearance; the ids written are those, and :meth:`FileScan.encoded` maps them onto a
  vocabulary's rows when the vocabulary is known. ``max_vocab_size`` prunes the table as
  gensim does (after a sentence, words seen fewer than n times so far are dropped, n = 1, 2, ...);
  once it has pruned, provisional ids no longer name one word each and no ids are kept.
- Encoding with a vocabulary (``insert=False``): the table holds the vocabulary's words with
  their rows as ids; other tokens are dropped.

Bytes are checked to be UTF-8 block by block (errors name the file, line and column, as
:class:`LineCorpus`'s do; ``errors="replace"``/``"ignore"`` repair a block first). A file
with carriage returns that are not followed by a line feed (old Mac line ends) is left to
:class:`LineCorpus`, whose rules for those are subtler: :func:`scan_file` returns None.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
from numba import njit

from .corpus import UTF16_BOMS, UTF8_BOM, check_corpus_path, decode_line, open_binary
from .encoded import EncodedCorpus
from .vocab import RawCounts

PathLike = Union[str, Path]
BLOCK_BYTES = 4 << 20
_FNV_OFFSET = np.uint64(14695981039346656037)
_FNV_PRIME = np.uint64(1099511628211)
_HASH, _START, _LENGTH, _COUNT = range(4)  # the columns of a table record (one cache line for two records)
# sizes[...] slots of the kernel's running totals
_IDS, _ARENA, _LIVE, _TOKENS, _SENTENCES, _SENT_TOKENS, _PENDING, _MIN_REDUCE = range(8)
LONE_CR, NEED_SPACE = 1, 2  # kernel status: a carriage return not followed by a line feed; a full table


def _byte_classes() -> np.ndarray:
    """(256,) uint8: 1 for a one-byte white space, 2 for a byte that may start a longer one, 0 otherwise."""
    classes = np.zeros(256, np.uint8)
    classes[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = 1
    classes[[0xC2, 0xE1, 0xE2, 0xE3]] = 2
    return classes


_CLASSES = _byte_classes()


@njit(inline="always", nogil=True, cache=True)
def _space_length(buf, i, n):
    """Bytes of the white space character at ``buf[i]`` (as ``str.isspace``), 0 if it is none."""
    c = buf[i]
    if c < 0x80:
        return 1 if (9 <= c <= 13) or (28 <= c <= 32) else 0
    if c == 0xC2:
        return 2 if i + 1 < n and (buf[i + 1] == 0x85 or buf[i + 1] == 0xA0) else 0
    if i + 2 >= n or c < 0xE1 or c > 0xE3:
        return 0
    b1, b2 = buf[i + 1], buf[i + 2]
    if c == 0xE1:
        return 3 if b1 == 0x9A and b2 == 0x80 else 0
    if c == 0xE3:
        return 3 if b1 == 0x80 and b2 == 0x80 else 0
    if b1 == 0x80 and (0x80 <= b2 <= 0x8A or b2 == 0xA8 or b2 == 0xA9 or b2 == 0xAF):
        return 3
    return 3 if b1 == 0x81 and b2 == 0x9F else 0


@njit(nogil=True, cache=True)
def _rehash(slots, records, n_ids):
    """Fill ``slots`` (all of it) with the live ids."""
    slots[:] = -1
    mask = np.uint64(slots.shape[0] - 1)
    for k in range(n_ids):
        if records[k, _COUNT] < 0:  # pruned
            continue
        s = np.uint64(records[k, _HASH]) & mask
        while slots[s] >= 0:
            s = (s + np.uint64(1)) & mask
        slots[s] = k


@njit(nogil=True, cache=True)
def _compact(records, arena, n_ids):
    """Drop pruned entries (ids renumbered in order, bytes moved down); returns the new id count and arena use."""
    k = 0
    used = 0
    for old in range(n_ids):
        if records[old, _COUNT] < 0:
            continue
        start, length = records[old, _START], records[old, _LENGTH]
        for b in range(length):
            arena[used + b] = arena[start + b]
        records[k, _HASH] = records[old, _HASH]
        records[k, _START] = used
        records[k, _LENGTH] = length
        records[k, _COUNT] = records[old, _COUNT]
        used += length
        k += 1
    return k, used


@njit(nogil=True, cache=True)
def _prune(slots, records, arena, sizes):
    """gensim's pruning: drop the words seen fewer than ``min_reduce`` times so far."""
    min_reduce = sizes[_MIN_REDUCE]
    n_ids = sizes[_IDS]
    for k in range(n_ids):
        if 0 <= records[k, _COUNT] < min_reduce:
            records[k, _COUNT] = -1
            sizes[_LIVE] -= 1
    sizes[_MIN_REDUCE] = min_reduce + 1
    if sizes[_LIVE] * 2 < n_ids:
        sizes[_IDS], sizes[_ARENA] = _compact(records, arena, n_ids)
    _rehash(slots, records, sizes[_IDS])


@njit(nogil=True, cache=True)
def scan_block(buf, position, final, slots, records, arena, sizes, out, written, chunk_ends, ends,
               max_sentence_length, chunk_words, max_vocab_size, insert):
    """Tokenise, count and encode ``buf[position:]`` (whole lines; or, of a longer line, a part cut at white space).

    Args:
        buf: (B,) uint8 UTF-8 bytes; ``final``: the file ends with this block.
        slots: (S,) int32 hash table of ids (-1 empty, S a power of two); records: (I, 4) int64 per id
            (hash, first byte in ``arena``, byte length, count; a count of -1: pruned); arena: (A,) uint8.
        sizes: (8,) int64 running totals (ids, arena bytes, live ids, tokens, sentences, tokens of the
            open sentence, raw words of the open chunk, the next pruning's threshold).
        out: (>= B + 2,) int32 receives the ids from ``written`` on (``-1`` after each sentence);
            chunk_ends: int64 receives, from ``ends`` on, the positions in ``out`` where a chunk ends.
        max_vocab_size: prune above this many words (0: never); insert: add unknown tokens (else drop them).

    Returns:
        ``(status, position, written, ends)``: status 0 (done), ``NEED_SPACE`` (a table is full: grow it
        and call again from ``position``) or ``LONE_CR`` (a carriage return not followed by a line
        feed: the caller reads the file another way).
    """
    n = buf.shape[0]
    i = position
    while i < n:
        c = buf[i]
        if c == 10 or c == 13:
            if c == 13 and i + 1 < n and buf[i + 1] != 10:
                return LONE_CR, i, written, ends
            if c == 10 and sizes[_SENT_TOKENS] > 0:
                written, ends = _end_sentence(sizes, out, written, chunk_ends, ends, chunk_words)
                if max_vocab_size > 0 and sizes[_LIVE] > max_vocab_size:
                    _prune(slots, records, arena, sizes)
            i += 1
            continue
        kind = _CLASSES[c]
        if kind:
            space = 1 if kind == 1 else _space_length(buf, i, n)
            if space:
                i += space
                continue
        j = i
        h = _FNV_OFFSET
        while j < n:
            c = buf[j]
            if _CLASSES[c] and _space_length(buf, j, n):
                break
            h = (h ^ np.uint64(c)) * _FNV_PRIME
            j += 1
        token = _find(buf, i, j, h, slots, records, arena)
        if token < 0 and insert:
            if not _has_room(j - i, slots, records, arena, sizes):
                return NEED_SPACE, i, written, ends
            token = _insert(buf, i, j, h, slots, records, arena, sizes)
        sizes[_TOKENS] += 1
        sizes[_SENT_TOKENS] += 1
        if token >= 0:
            records[token, _COUNT] += 1
            out[written] = token
            written += 1
        if sizes[_SENT_TOKENS] == max_sentence_length:
            written, ends = _end_sentence(sizes, out, written, chunk_ends, ends, chunk_words)
            if max_vocab_size > 0 and sizes[_LIVE] > max_vocab_size:
                _prune(slots, records, arena, sizes)
        i = j
    if final and sizes[_SENT_TOKENS] > 0:
        written, ends = _end_sentence(sizes, out, written, chunk_ends, ends, chunk_words)
        if max_vocab_size > 0 and sizes[_LIVE] > max_vocab_size:
            _prune(slots, records, arena, sizes)
    return 0, n, written, ends


@njit(inline="always", nogil=True, cache=True)
def _end_sentence(sizes, out, written, chunk_ends, ends, chunk_words):
    out[written] = -1
    written += 1
    sizes[_SENTENCES] += 1
    sizes[_PENDING] += sizes[_SENT_TOKENS] + 1
    sizes[_SENT_TOKENS] = 0
    if sizes[_PENDING] >= chunk_words:
        chunk_ends[ends] = written
        ends += 1
        sizes[_PENDING] = 0
    return written, ends


@njit(inline="always", nogil=True, cache=True)
def _find(buf, i, j, h, slots, records, arena):
    mask = np.uint64(slots.shape[0] - 1)
    s = h & mask
    length = j - i
    key = np.int64(h)
    while True:
        k = slots[s]
        if k < 0:
            return -1
        if records[k, _HASH] == key and records[k, _LENGTH] == length:
            start = records[k, _START]
            same = True
            for b in range(length):
                if arena[start + b] != buf[i + b]:
                    same = False
                    break
            if same:
                return k
        s = (s + np.uint64(1)) & mask


@njit(inline="always", nogil=True, cache=True)
def _has_room(length, slots, records, arena, sizes):
    k = sizes[_IDS]
    return k < records.shape[0] and sizes[_ARENA] + length <= arena.shape[0] and 2 * (k + 1) <= slots.shape[0]


@njit(nogil=True, cache=True)
def _insert(buf, i, j, h, slots, records, arena, sizes):
    k = sizes[_IDS]
    used = sizes[_ARENA]
    length = j - i
    for b in range(length):
        arena[used + b] = buf[i + b]
    records[k, _HASH] = np.int64(h)
    records[k, _START] = used
    records[k, _LENGTH] = length
    records[k, _COUNT] = 0
    sizes[_IDS] = k + 1
    sizes[_ARENA] = used + length
    sizes[_LIVE] += 1
    mask = np.uint64(slots.shape[0] - 1)
    s = h & mask
    while slots[s] >= 0:
        s = (s + np.uint64(1)) & mask
    slots[s] = k
    return k


@njit(nogil=True, cache=True)
def _fill(words_bytes, offsets, slots, records, arena, sizes):
    """Put the words ``words_bytes[offsets[k]:offsets[k+1]]`` in the table as ids 0..K-1 (the table has room)."""
    for k in range(offsets.shape[0] - 1):
        i, j = offsets[k], offsets[k + 1]
        h = _FNV_OFFSET
        for p in range(i, j):
            h = (h ^ np.uint64(words_bytes[p])) * _FNV_PRIME
        _insert(words_bytes, i, j, h, slots, records, arena, sizes)


@njit(nogil=True, cache=True)
def _joined_lines(ids, records, arena):
    """The bytes of ``ids``, a line feed between two."""
    total = ids.shape[0] - 1
    for k in ids:
        total += records[k, _LENGTH]
    out = np.empty(total, np.uint8)
    p = 0
    for n, k in enumerate(ids):
        if n:
            out[p] = 10
            p += 1
        start, length = records[k, _START], records[k, _LENGTH]
        out[p : p + length] = arena[start : start + length]
        p += length
    return out


def _grown(a: np.ndarray, size: int) -> np.ndarray:
    b = np.zeros(size, a.dtype)
    b[: len(a)] = a
    return b


class _Table:
    """The kernel's hash table of byte strings and its running totals."""

    def __init__(self, capacity: int = 1 << 18, arena_bytes: int = 4 << 20):
        self.slots = np.full(2 * capacity, -1, np.int32)
        self.records = np.zeros((capacity, 4), np.int64)
        self.arena = np.zeros(arena_bytes, np.uint8)
        self.sizes = np.zeros(8, np.int64)
        self.sizes[_MIN_REDUCE] = 1

    @classmethod
    def of_words(cls, words: Sequence[str]) -> "_Table":
        """A table holding ``words`` as ids 0..len-1."""
        encoded = [w.encode("utf-8") for w in words]
        offsets = np.zeros(len(encoded) + 1, np.int64)
        offsets[1:] = np.cumsum([len(e) for e in encoded])
        table = cls(max(1 << 10, 1 << int(np.ceil(np.log2(len(words) + 1)))), int(offsets[-1]) + 1)
        data = np.frombuffer(b"".join(encoded), np.uint8) if encoded else np.zeros(0, np.uint8)
        _fill(data, offsets, table.slots, table.records, table.arena, table.sizes)
        return table

    def grow(self, token_bytes: int) -> None:
        """Double what is full (ids, bytes, slots) for one more token of at most ``token_bytes``."""
        ids = int(self.sizes[_IDS])
        if ids >= len(self.records):
            records = np.zeros((2 * len(self.records), 4), np.int64)
            records[: len(self.records)] = self.records
            self.records = records
        if self.sizes[_ARENA] + token_bytes > len(self.arena):
            self.arena = _grown(self.arena, max(2 * len(self.arena), int(self.sizes[_ARENA]) + token_bytes))
        if 2 * (ids + 1) > len(self.slots):
            self.slots = np.empty(2 * len(self.slots), np.int32)
            _rehash(self.slots, self.records, ids)

    def scan(self, buf: np.ndarray, final: bool, max_sentence_length: int, chunk_words: int, max_vocab_size: int,
             insert: bool) -> Tuple[int, np.ndarray, np.ndarray]:
        """``(status, ids, chunk ends)`` of a block (see :func:`scan_block`)."""
        out = np.empty(len(buf) + 2, np.int32)
        chunk_ends = np.empty(len(buf) // max(chunk_words, 1) + 3, np.int64)
        position = written = ends = 0
        while True:
            status, position, written, ends = scan_block(
                buf, position, final, self.slots, self.records, self.arena, self.sizes, out, written, chunk_ends, ends,
                max_sentence_length, chunk_words, max_vocab_size, insert)
            if status != NEED_SPACE:
                return status, out[:written], chunk_ends[:ends]
            self.grow(len(buf) - position)

    def words(self) -> Tuple[List[str], np.ndarray]:
        """The live words in id order and their counts."""
        n = int(self.sizes[_IDS])
        counts = self.records[:n, _COUNT]
        live = np.flatnonzero(counts >= 0)
        if not len(live):
            return [], counts[live].copy()
        # a word holds no white space: one line each, decoded at once
        lines = _joined_lines(live, self.records, self.arena)
        return lines.tobytes().decode("utf-8").split("\n"), counts[live].copy()

    @property
    def total(self) -> Tuple[int, int, int]:
        """(tokens, sentences, prunings) so far."""
        return int(self.sizes[_TOKENS]), int(self.sizes[_SENTENCES]), int(self.sizes[_MIN_REDUCE]) - 1


def _blocks(path: Path, errors: str, block_bytes: int) -> Iterator[Tuple[bytes, bool]]:
    """``(block, last)``: the file's bytes in blocks ending after a line feed (or, inside a line longer
    than a block, after white space), checked to be UTF-8 (``errors``: repaired), without a BOM;
    the last block (possibly empty) says so."""
    line_no = 1  # of the block's first byte
    line_start = 0  # where that line starts, counted from the block's first byte (<= 0)
    with open_binary(path) as f:
        chunk = f.read(block_bytes)
        if chunk.startswith(UTF16_BOMS):
            decode_line(chunk[:4], path, 1, errors)  # raises the error naming the encoding
        chunk = chunk[3:] if chunk.startswith(UTF8_BOM) else chunk
        while True:
            data = f.read(block_bytes)
            if not data:
                yield _checked(chunk, path, errors, line_no, line_start), True
                return
            chunk += data
            cut = chunk.rfind(b"\n") + 1 or _between_tokens(chunk, 16 * block_bytes)
            if not cut:  # one token so far: read on
                continue
            block, chunk = chunk[:cut], chunk[cut:]
            yield _checked(block, path, errors, line_no, line_start), False
            newlines = block.count(b"\n")
            line_start = (block.rfind(b"\n") + 1 if newlines else line_start) - len(block)
            line_no += newlines


def _between_tokens(chunk: bytes, longest_token: int) -> int:
    """Where to cut a line longer than a block: after its last white space (not a carriage return, which may
    start a line end); 0 (read on) when there is none, unless ``chunk`` is longer than ``longest_token``: then
    at a UTF-8 character boundary near its end (the token is cut in two)."""
    cut = _after_last_space(np.frombuffer(chunk, np.uint8))
    if cut or len(chunk) <= longest_token:
        return cut
    cut = max(len(chunk) - 4, 1)
    while cut > 1 and chunk[cut] & 0xC0 == 0x80:  # a continuation byte: not a character's first
        cut -= 1
    return cut


@njit(nogil=True, cache=True)
def _after_last_space(buf):
    """The position after the last white space character of ``buf`` other than a carriage return (0: none)."""
    n = buf.shape[0]
    for i in range(n - 1, -1, -1):
        if _CLASSES[buf[i]] and buf[i] != 13:
            length = _space_length(buf, i, n)
            if length:
                return i + length
    return 0


def _checked(block: bytes, path: Path, errors: str, line_no: int, line_start: int) -> bytes:
    """``block`` if it is UTF-8; else the error :func:`decode_line` raises (``errors="strict"``) or the repaired bytes."""
    try:
        block.decode("utf-8")
        return block
    except UnicodeDecodeError as err:
        if errors != "strict":
            return block.decode("utf-8", errors).encode("utf-8")
        newline = block.rfind(b"\n", 0, err.start)
        start = newline + 1
        end = block.find(b"\n", err.start)
        column = 0 if newline >= 0 else -line_start
        decode_line(block[start : len(block) if end < 0 else end + 1], path, line_no + block.count(b"\n", 0, start),
                    errors, column)
        raise


@dataclass
class FileScan:
    """What :func:`scan_file` read: the counts and, unless pruning made them meaningless, the ids."""

    counts: RawCounts
    ids: Optional[EncodedCorpus]
    source: Dict[str, object]

    def encoded(self, key_to_index: Dict[str, int]) -> Optional[EncodedCorpus]:
        """The corpus as rows of a vocabulary (words not in it dropped), or None when no ids were kept."""
        if self.ids is None:
            return None
        rows = np.fromiter((key_to_index.get(w, -2) for w in self.counts.words), np.int32, len(self.counts.words))
        self.ids.remap = rows
        return self.ids

    def close(self) -> None:
        if self.ids is not None:
            self.ids.close()
            self.ids = None


def file_identity(path: PathLike, errors: str, max_sentence_length: int, chunk_words: int) -> Dict[str, object]:
    """What makes a scan of ``path`` reusable: the file (path, size, modification time) and the reading settings."""
    check_corpus_path(Path(path))
    stat = os.stat(path)
    return {"path": os.path.abspath(path), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns, "errors": errors,
            "max_sentence_length": int(max_sentence_length), "chunk_words": int(chunk_words)}


def scan_file(path: PathLike, errors: str = "strict", max_sentence_length: int = 10_000, chunk_words: int = 50_000,
              max_vocab_size: Optional[int] = None, vocabulary: Optional[Sequence[str]] = None,
              keep_ids: bool = True, progress: Optional[Callable[[int], None]] = None,
              block_bytes: int = BLOCK_BYTES) -> Optional[FileScan]:
    """Count (and encode) a one-sentence-per-line file; None for a file with lone carriage returns.

    Without ``vocabulary``: counts every token (``max_vocab_size`` pruning as gensim), and with
    ``keep_ids`` writes the corpus as provisional ids to a temporary file (:meth:`FileScan.encoded`
    maps them onto a vocabulary). With ``vocabulary`` (a list of words, row order): writes the corpus
    as those rows, other tokens dropped (``counts`` then holds the vocabulary's counts in this file).
    ``progress`` is called with the number of tokens of each block.
    """
    path = Path(path)
    identity = file_identity(path, errors, max_sentence_length, chunk_words)
    if vocabulary is not None:
        table = _Table.of_words(vocabulary)
    else:  # a bounded count table starts at its bound (gensim's max_vocab_size bounds memory while counting)
        table = _Table(1 << 18 if not max_vocab_size else min(1 << 18, 1 << int(np.ceil(np.log2(max_vocab_size + 2)))))
    insert = vocabulary is None
    encoded = EncodedCorpus() if (keep_ids or not insert) else None
    try:
        for block, last in _blocks(path, errors, block_bytes):
            before = table.total[0]
            status, ids, chunk_ends = table.scan(np.frombuffer(block, np.uint8), last, max_sentence_length, chunk_words,
                                                 max_vocab_size or 0, insert)
            if status == LONE_CR:
                if encoded is not None:
                    encoded.close()
                return None
            if encoded is not None:
                encoded.extend(ids, chunk_ends)
                if table.total[2] and insert:  # pruned: provisional ids no longer name one word each
                    encoded.close()
                    encoded = None
            if progress is not None:
                progress(table.total[0] - before)
        if encoded is not None:
            encoded.finish()
        words, counts = table.words()
        tokens, sentences, prunings = table.total
        return FileScan(RawCounts(words, counts, tokens, sentences, prunings), encoded, identity)
    except BaseException:
        if encoded is not None:
            encoded.close()
        raise


__all__ = ["FileScan", "file_identity", "scan_block", "scan_file"]
