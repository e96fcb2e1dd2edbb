"""Keep freed memory in the process instead of handing it back to the OS after every step.

glibc's malloc serves large blocks (a training step's activations) with
fresh ``mmap`` pages and returns them on free, so every step page-faults its
activations in again: on the 2-core development machine a SimCLR step of
batch 256 took ~240,000 minor page faults and 20 % of its time. Raising the
mmap and trim thresholds makes freed blocks reusable by the next step.
Memory then stays at its peak instead of shrinking between steps.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_MMAP_THRESHOLD = 1 << 30  # blocks below 1 GiB come from the reusable heap
_TRIM_THRESHOLD = 1 << 30
_TOP_PAD = 64 * 1024 * 1024


def keep_freed_memory() -> bool:
    """Tune glibc malloc (process-wide) so freed large blocks are reused; False where not glibc."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
    ok &= mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    ok &= mallopt(_M_TOP_PAD, _TOP_PAD)
    return bool(ok)


__all__ = ["keep_freed_memory"]
