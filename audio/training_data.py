"""What CPC trains on: windows of an audio folder (less its held-out utterances), or a user's own data.

:func:`training_data` takes anything :func:`multissl.audio.train` accepts (a folder path, an
:class:`~multissl.audio.folder.AudioFolder`, a torch ``Dataset``, ``IterableDataset`` or
``DataLoader``) and returns what :func:`multissl.engine.fit` trains on, the ``"data"`` record of
config.json, and the folder read. It prints one line saying what the data is and how it is read.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple

from torch.utils.data import DataLoader, Dataset, IterableDataset

from multissl.engine import DEFAULT_BATCH_SIZE
from multissl.presets import Recipe
from multissl.progress import say
from multissl.user_data import checked

from .folder import AudioFolder
from .speaker_batches import SpeakerGrouped
from .user_data import item_check
from .windows import RandomWindows, split_segments

if TYPE_CHECKING:
    from .cpc import CPCConfig
    from .training import CPCTrainOptions


def _group_size(config: "CPCConfig", options: "CPCTrainOptions", batch_size: int) -> int:
    """Windows per speaker group in a batch (0: plain shuffled batches)."""
    group = options.speaker_group_size or (4 if config.negatives == "group" else 0)
    if group and batch_size % group:
        raise ValueError(f"batch_size {batch_size} must be a multiple of speaker_group_size {group}")
    return group


def folder_data(folder: AudioFolder, config: "CPCConfig", options: "CPCTrainOptions", batch_size: int) -> Tuple[Dataset, Dict]:
    """(training windows of ``folder`` less the held-out utterances, speaker-grouped when asked; the data record)."""
    split = split_segments(folder, options.holdout, options.split_seed)
    group = _group_size(config, options, batch_size)
    windows = RandomWindows(folder, split.train, config.window, min_per_speaker=max(1, group))
    record = {"root": str(Path(folder.root).resolve()), "speaker_pattern": folder.speaker_pattern, "utterances": len(folder),
              "speakers": folder.num_speakers, "seconds": round(folder.seconds(), 1), "split": split.describe(),
              "data_mode": folder.data_mode, "data_mode_reason": folder.data_mode_reason}
    return (SpeakerGrouped(windows, windows.item_speakers(), group) if group else windows), record


def user_data(data: Any, config: "CPCConfig", options: "CPCTrainOptions", batch_size: int) -> Tuple[Any, Dict]:
    """(a user's Dataset / IterableDataset with checked items, or their DataLoader as it is; the data record)."""
    needs_speaker = config.negatives == "group"
    group = _group_size(config, options, batch_size)
    kind = next(k for k in (DataLoader, IterableDataset, Dataset) if isinstance(data, k)).__name__
    record = {"source": kind, "type": f"{type(data).__module__}.{type(data).__qualname__}",
              "items": len(data) if kind == "Dataset" else None, "data_mode": None}
    if kind == "DataLoader":
        return data, record
    if kind == "IterableDataset":
        if options.speaker_group_size:
            raise ValueError("speaker_group_size groups the items of a map-style Dataset; an IterableDataset is batched "
                             "in the order it yields: yield the windows of one speaker one after another instead")
        return checked(data, item_check(config.window, needs_speaker)), record
    items = checked(data, item_check(config.window, needs_speaker))
    if not group or hasattr(items, "batch_sampler"):
        return items, record
    speakers = getattr(data, "speakers", None)
    if speakers is None:
        raise ValueError(f"speaker-grouped batches (negatives='group' or speaker_group_size) need every item's speaker "
                         f"before the items are read: give {type(data).__name__} a `speakers` sequence (one speaker index "
                         "per item), or pass a DataLoader whose batches are grouped by speaker")
    return SpeakerGrouped(items, speakers, group), record


def training_data(data: Any, folder: Optional[AudioFolder], speaker_pattern: Optional[str], data_mode: str,
                   settings: Recipe, verbose: bool) -> Tuple[Any, Dict, Optional[AudioFolder]]:
    """(what fit trains on, the config's data record, the folder read or None) for any ``data`` train accepts."""
    config, options = settings.model, settings.options
    batch_size = settings.train.batch_size or DEFAULT_BATCH_SIZE
    if isinstance(data, (Dataset, DataLoader)) and not isinstance(data, AudioFolder) and folder is None:
        if data_mode != "auto":
            raise ValueError(f"data_mode={data_mode!r} applies to folders of audio files; a {type(data).__name__} is read "
                             "as it is")
        batches, record = user_data(data, config, options, batch_size)
        say(f"audio data: a {record['source']} ({record['type']}"
             f"{'' if record['items'] is None else ', %d items' % record['items']}), read as it is", verbose)
        return batches, record, None
    if not isinstance(data, (str, Path, AudioFolder)) and folder is None:
        raise TypeError(f"data must be a folder of audio files, an AudioFolder, a torch Dataset, IterableDataset or "
                        f"DataLoader; got {type(data).__name__}")
    folder = folder or (data if isinstance(data, AudioFolder) else None)
    if folder is None:
        folder = AudioFolder(data, config.sample_rate, speaker_pattern, data_mode=data_mode, verbose=verbose)
    elif data_mode not in ("auto", folder.data_mode):
        raise ValueError(f"data_mode={data_mode!r}, but the AudioFolder given is {folder.data_mode!r}: build it with "
                         f"AudioFolder(..., data_mode={data_mode!r})")
    if folder.sample_rate != config.sample_rate:
        raise ValueError(f"folder sample rate {folder.sample_rate} differs from the model's {config.sample_rate}")
    say(f"audio data: {folder.describe_data()}", verbose)
    batches, record = folder_data(folder, config, options, batch_size)
    return batches, record, folder


__all__ = ["folder_data", "training_data", "user_data"]
