"""Users' own training data for CPC: a torch ``Dataset``, ``IterableDataset`` or ``DataLoader`` (e.g. webdataset shards).

Items are ``{"wave": (window,) float tensor, "speaker": int}``, ``(wave, speaker)``
or a bare ``(window,)`` wave: one mono window at the model's sample rate
(float32, float64 or float16; NumPy arrays too). ``speaker`` is needed for
``negatives="group"`` only. A ``DataLoader`` yields collated batches
``{"wave": (B, N), "speaker": (B,)}``, ``(wave, speaker)`` or a (B, N) tensor,
which the CPC model checks itself.

Every item is checked as it is read (:func:`multissl.user_data.checked`): a
wrong type, shape or a missing speaker is an error naming the item (its index,
or its place in the stream) and the format expected.
"""
from __future__ import annotations

from functools import partial
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np
import torch

ITEM_FORMAT = "{'wave': (window,) float tensor at the model's sample rate, 'speaker': int}, (wave, speaker) or a bare wave"


def _parts(item: Any, where: str) -> Tuple[Any, Optional[Any]]:
    """(wave, speaker or None) of an item in any of the accepted formats."""
    if isinstance(item, dict):
        if "wave" not in item:
            raise ValueError(f"{where} is a dict with keys {sorted(map(str, item))}; audio items are {ITEM_FORMAT}")
        return item["wave"], item.get("speaker")
    if isinstance(item, (tuple, list)) and 1 <= len(item) <= 2:
        return item[0], (item[1] if len(item) == 2 else None)
    if isinstance(item, (torch.Tensor, np.ndarray)):
        return item, None
    raise TypeError(f"{where} is a {type(item).__name__}; audio items are {ITEM_FORMAT}")


def _wave(wave: Any, window: int, where: str) -> torch.Tensor:
    if isinstance(wave, np.ndarray):
        wave = torch.from_numpy(wave)
    if not isinstance(wave, torch.Tensor) or not wave.is_floating_point():
        kind = f"a {wave.dtype} tensor" if isinstance(wave, torch.Tensor) else f"a {type(wave).__name__}"
        raise TypeError(f"{where}: the wave is {kind}; expected a float tensor of shape ({window},) (scale integer PCM "
                        "to [-1, 1] first)")
    if tuple(wave.shape) != (window,):
        raise ValueError(f"{where}: the wave has shape {tuple(wave.shape)}; expected ({window},): one mono window of the "
                         "model's `window` samples at its sample rate")
    return wave.float()


def _speaker(speaker: Any, where: str) -> torch.Tensor:
    if isinstance(speaker, torch.Tensor) and speaker.ndim == 0 and not speaker.is_floating_point():
        return speaker.long()
    if isinstance(speaker, (int, np.integer)) and not isinstance(speaker, bool):
        return torch.tensor(int(speaker))
    raise TypeError(f"{where}: the speaker is {speaker!r}; expected an int (speaker index)")


def audio_item(item: Any, window: int, needs_speaker: bool, where: str) -> Dict[str, torch.Tensor]:
    """``{"wave": (window,) float32}`` (with ``"speaker": () int64`` when ``needs_speaker``) of a user's item."""
    wave, speaker = _parts(item, where)
    out = {"wave": _wave(wave, window, where)}
    if needs_speaker:
        if speaker is None:
            raise ValueError(f"{where} has no speaker label, which negatives='group' needs: items {ITEM_FORMAT}")
        out["speaker"] = _speaker(speaker, where)
    return out


def item_check(window: int, needs_speaker: bool) -> Callable[..., Dict[str, torch.Tensor]]:
    """The check of :func:`multissl.user_data.checked` for CPC items: ``check(item, where=...)`` -> :func:`audio_item`."""
    return partial(audio_item, window=int(window), needs_speaker=needs_speaker)


__all__ = ["ITEM_FORMAT", "audio_item", "item_check"]
