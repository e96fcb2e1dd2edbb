"""Turn Debian's ``dict-gcide`` dictionary (GNU Collaborative International
Dictionary of English) into a one-sentence-per-line corpus of lower-case tokens.

Install it with ``apt-get install dict-gcide``; the text is
``/usr/share/dictd/gcide.dict.dz`` (dictzip, readable as gzip). About 5.4M
tokens come out. Short bracketed tags (``[1913 Webster]``, ``[Obs.]``), pronunciations
(``\\A*buse"\\``) and brace markup are removed; definitions are split into
sentences at ``.``, ``;``, ``!`` and ``?``.
"""
from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Iterator, List, Union

from .corpus import simple_tokenize

GCIDE_PATH = Path("/usr/share/dictd/gcide.dict.dz")
_BRACKETS = re.compile(r"\[[^\]\n]{0,25}\]")
_PRONUNCIATION = re.compile(r"\\[^\\\n]*\\")
_SENTENCE_END = re.compile(r"[.;!?]\s")


def gcide_sentences(path: Union[str, Path] = GCIDE_PATH, min_tokens: int = 2) -> Iterator[List[str]]:
    """Yield token lists, one per sentence of the dictionary's paragraphs."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; install Debian's dict-gcide package (apt-get install dict-gcide)")
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        paragraph: List[str] = []
        for line in f:
            if line.strip():
                paragraph.append(line)
                continue
            yield from _paragraph_sentences(paragraph, min_tokens)
            paragraph = []
        yield from _paragraph_sentences(paragraph, min_tokens)


def _paragraph_sentences(lines: List[str], min_tokens: int) -> Iterator[List[str]]:
    if not lines:
        return
    text = " ".join(lines)
    text = _PRONUNCIATION.sub(" ", _BRACKETS.sub(" ", text))
    for piece in _SENTENCE_END.split(text + " "):
        tokens = simple_tokenize(piece)
        if len(tokens) >= min_tokens:
            yield tokens


def write_gcide_corpus(out_path: Union[str, Path], source: Union[str, Path] = GCIDE_PATH) -> dict:
    """Write the corpus one sentence per line; returns ``{"sentences", "tokens"}``."""
    sentences = tokens = 0
    with open(out_path, "w", encoding="utf-8") as out:
        for s in gcide_sentences(source):
            out.write(" ".join(s) + "\n")
            sentences += 1
            tokens += len(s)
    return {"sentences": sentences, "tokens": tokens}


__all__ = ["GCIDE_PATH", "gcide_sentences", "write_gcide_corpus"]
