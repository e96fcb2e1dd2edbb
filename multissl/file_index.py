"""Facts about a user's files (an audio file's length, a video's frame count ...) measured once and kept.

Reading every file's header before training costs seconds per thousand files; a data set
of 100,000 files is read many times. :class:`FileIndex` keeps what ``measure(file)``
returned for each file in a JSON file under the cache folder, keyed by the file's path,
size and modification time: a file that changed is measured again, the others are read
from the index. The cache folder is ``$MULTISSL_CACHE``, else
``$XDG_CACHE_HOME/multissl``, else ``~/.cache/multissl``; ``MULTISSL_CACHE=off`` turns
the index off (everything is measured every time). A cache folder that cannot be written
costs a warning, never a run.
"""
from __future__ import annotations

import hashlib
import json
import os
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from .engine.checkpoints import atomic_write_bytes
from .progress import Progress

CACHE_ENV = "MULTISSL_CACHE"
Facts = Dict[str, Any]


def cache_dir() -> Optional[Path]:
    """Where multissl keeps its indexes, or None when ``MULTISSL_CACHE=off``."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off", "0", "no") else Path(chosen).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "multissl"


def _stamp(file: Path) -> Optional[Tuple[int, int]]:
    """(size, mtime in ns) of ``file``, None when it cannot be read."""
    try:
        st = file.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _measure_or_error(measure: Callable[[Path], Facts], file: Path) -> Facts:
    try:
        return dict(measure(file))
    except Exception as err:  # any failure is a fact about the file: kept, and reported by the caller
        return {"error": f"{type(err).__name__}: {err}"}


def _measure_many(measure: Callable[[Path], Facts], files: Sequence[Path]) -> List[Facts]:
    return [_measure_or_error(measure, f) for f in files]


class FileIndex:
    """The facts ``measure`` gives about each file under ``root``, cached on disk.

    Args:
        kind: what is measured, e.g. ``"audio-info"``; with ``version`` it names
            the index file (bump ``version`` when ``measure`` changes).
        root: the data set's folder (the index file is per folder).
    """

    def __init__(self, kind: str, root: Path, version: int = 1):
        self.root = Path(root).resolve()
        folder = cache_dir()
        digest = hashlib.sha1(str(self.root).encode("utf-8")).hexdigest()[:16]
        self.path = folder / "index" / f"{kind}-v{version}-{digest}.json" if folder is not None else None
        self.reused = self.measured = 0

    def _read(self) -> Dict[str, Any]:
        if self.path is None or not self.path.is_file():
            return {}
        try:
            entries = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # a torn or foreign file: measured again and rewritten
        return entries if isinstance(entries, dict) else {}

    def _write(self, entries: Dict[str, Any]) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(self.path, json.dumps(entries, separators=(",", ":")).encode("utf-8"))
        except OSError as err:
            warnings.warn(f"cannot write the file index {self.path} ({err.strerror}); files are measured again next time "
                          f"(set {CACHE_ENV} to a writable folder, or {CACHE_ENV}=off)", RuntimeWarning, stacklevel=3)

    def _key(self, file: Path) -> str:
        absolute = Path(os.path.abspath(file))
        try:
            return absolute.relative_to(self.root).as_posix()
        except ValueError:
            return absolute.as_posix()

    def facts(self, files: Sequence[Path], measure: Callable[[Path], Facts], workers: int = 0,
              desc: str = "indexing files", verbose: bool = False) -> List[Facts]:
        """``measure(file)`` for every file (a dict of JSON values), from the index where the file is unchanged.

        A file that ``measure`` fails on gets ``{"error": "Type: message"}``; a file
        that cannot be stat'ed is measured (and fails) every time. ``workers`` > 0
        measures new files in that many processes (``measure`` must then be a
        module-level function or a ``functools.partial`` of one).
        """
        entries = self._read()
        out: List[Optional[Facts]] = [None] * len(files)
        todo: List[int] = []
        stamps = [_stamp(Path(f)) for f in files]
        for i, (file, stamp) in enumerate(zip(files, stamps)):
            entry = entries.get(self._key(Path(file)))
            if stamp is not None and entry is not None and tuple(entry[0]) == stamp:
                out[i] = entry[1]
            else:
                todo.append(i)
        self.reused, self.measured = len(files) - len(todo), len(todo)
        for i, facts in zip(todo, self._measure([Path(files[i]) for i in todo], measure, workers, desc, verbose)):
            out[i] = facts
            if stamps[i] is not None:
                entries[self._key(Path(files[i]))] = [list(stamps[i]), facts]
        if todo:
            self._write(entries)
        return out  # type: ignore[return-value]

    @staticmethod
    def _measure(files: List[Path], measure: Callable[[Path], Facts], workers: int, desc: str, verbose: bool) -> List[Facts]:
        if not files:
            return []
        chunks = [files[i:i + 256] for i in range(0, len(files), 256)]
        results: List[Facts] = []
        with Progress(desc, "file", total=len(files), verbose=verbose and len(files) > 256) as bar:
            if workers > 0 and len(chunks) > 1:
                with ProcessPoolExecutor(min(workers, len(chunks))) as pool:
                    for part in pool.map(_measure_many, [measure] * len(chunks), chunks):
                        results += part
                        bar.update(len(part))
            else:
                for chunk in chunks:
                    results += _measure_many(measure, chunk)
                    bar.update(len(chunk))
        return results


__all__ = ["CACHE_ENV", "FileIndex", "cache_dir"]
