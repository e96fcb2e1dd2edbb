"""Progress of long work (counting a corpus, training): visible on a terminal and in a log file.

tqdm hides its bar when stderr is not a terminal (a log file, CI, ``nohup``), which left a
multi-minute training silent there. :class:`Progress` shows tqdm's bar on a terminal and
elsewhere writes a line to stderr every ``every_s`` seconds: the count, the rate and, when
the total is known, the share done and the time left.
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any, Optional, TextIO

LOG_EVERY_S = 30.0


def _amount(n: float) -> str:
    """12345678 -> ``"12.3M"``; small numbers stay whole."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= scale:
            return f"{n / scale:.1f}{suffix}"
    return f"{n:.0f}"


def _duration(seconds: float) -> str:
    """75 -> ``"1:15"``, 3725 -> ``"1:02:05"``."""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def process_age_s() -> Optional[float]:
    """Seconds since this process started (Linux: from /proc), None where that cannot be read."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, AttributeError):
        return None


class Progress:
    """``update(n)`` as work is done; ``close()`` at the end (or use it as a context manager).

    Args:
        desc: what is counted, e.g. ``"word2vec"``.
        unit: the unit, e.g. ``"word"`` (``"words/s"`` in the lines).
        total: the count at the end, if known (then the lines give the percentage and the time left).
        initial: the count already done (a resumed training).
        verbose: False shows nothing.
        every_s: seconds between two lines when the stream is not a terminal (default: :data:`LOG_EVERY_S`).
        stream: where the lines go (default ``sys.stderr``); a stream that is a terminal gets tqdm's bar.
        prefix: what the lines start with, e.g. ``"[multissl.text]"``.
    """

    def __init__(self, desc: str, unit: str, total: Optional[float] = None, initial: float = 0, verbose: bool = True,
                 every_s: Optional[float] = None, stream: Optional[TextIO] = None, prefix: str = "[multissl]"):
        self.desc, self.unit, self.total, self.prefix = desc, unit, total, prefix
        self.every_s = LOG_EVERY_S if every_s is None else every_s
        self.stream = stream or sys.stderr
        self.initial = self.count = initial
        self.postfix = ""
        self.start = self.last = time.perf_counter()
        self.bar = self._bar(verbose)
        self.lines = verbose and self.bar is None

    def _bar(self, verbose: bool):
        """tqdm's bar when ``verbose`` and the stream is a terminal, else None."""
        isatty = getattr(self.stream, "isatty", None)
        if not verbose or not (isatty and isatty()):
            return None
        from tqdm.auto import tqdm

        return tqdm(total=self.total, initial=self.initial, unit=self.unit, unit_scale=True, desc=self.desc, smoothing=0.1,
                    file=self.stream)

    def due(self) -> bool:
        """Whether the next :meth:`update` writes a line (a log stream, ``every_s`` seconds after the last line):
        the moment to refresh :meth:`set_postfix` when its values cost something to compute."""
        return self.lines and time.perf_counter() - self.last >= self.every_s

    def update(self, n: float) -> None:
        self.count += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.due():
            self.write_line()

    def set_postfix(self, **values: Any) -> None:
        """Extra values on the bar (e.g. ``loss="2.31"``); the lines show them too."""
        self.postfix = ", ".join(f"{k} {v}" for k, v in values.items())
        if self.bar is not None:
            self.bar.set_postfix(refresh=False, **values)

    def line(self) -> str:
        """``"word2vec: 12.3M / 33.0M words (37%), 420.0k words/s, 0:50 left, loss 2.310"``."""
        now = time.perf_counter()
        done = self.count - self.initial
        rate = done / (now - self.start) if now > self.start else 0.0
        parts = [f"{_amount(self.count)} / {_amount(self.total)} {self.unit}s ({100 * self.count / self.total:.0f}%)"
                 if self.total else f"{_amount(self.count)} {self.unit}s", f"{_amount(rate)} {self.unit}s/s"]
        if self.total and rate > 0:
            parts.append(f"{_duration(max(0.0, self.total - self.count) / rate)} left")
        if self.postfix:
            parts.append(self.postfix)
        return f"{self.prefix} {self.desc}: " + ", ".join(parts)

    def write_line(self) -> None:
        self.last = time.perf_counter()
        print(self.line(), file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def say(message: str, verbose: bool = True) -> None:
    """``[multissl] message`` on stderr, above any progress bar, from the main process only (nothing unless ``verbose``)."""
    from tqdm.auto import tqdm

    from .distributed import is_main_process

    if verbose and is_main_process():
        tqdm.write(f"[multissl] {message}")


__all__ = ["say", "LOG_EVERY_S", "Progress", "process_age_s"]
