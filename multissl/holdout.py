"""One meaning of the ``holdout`` setting in every modality that keeps data out of training for its probes.

``holdout`` is a share of the data when below 1 (``0.2``: a fifth) and a number of items when a whole number
of at least 1 (``3``: three items); 0 holds nothing out. Audio holds out utterances of each speaker, video
whole videos (the last ones in sorted order).
"""
from __future__ import annotations

import math

from .setting_checks import InvalidSetting


def check_holdout(holdout: float, name: str = "holdout") -> float:
    """``holdout`` if it is a share in [0, 1) or a whole number >= 1, else an :class:`InvalidSetting`."""
    if isinstance(holdout, bool) or not isinstance(holdout, (int, float)) or not math.isfinite(holdout):
        raise InvalidSetting(f"{name} must be a share in [0, 1) or a whole number of items, got {holdout!r}")
    if holdout < 0 or (holdout >= 1 and holdout != int(holdout)):
        raise InvalidSetting(f"{name} must be a share in [0, 1) or a whole number of items, got {holdout!r}")
    return holdout


def held_out_count(holdout: float, total: int) -> int:
    """How many of ``total`` items ``holdout`` keeps out: ``round(share * total)`` (at least 1 when the share is
    above 0) for a share, the number itself for a count (callers check that something is left to train on)."""
    check_holdout(holdout)
    if holdout == 0:
        return 0
    if holdout < 1:
        return max(1, int(round(holdout * total)))
    return int(holdout)


def is_share(holdout: float) -> bool:
    """True when ``holdout`` is a share (below 1), False when it counts items."""
    return holdout < 1


__all__ = ["check_holdout", "held_out_count", "is_share"]
