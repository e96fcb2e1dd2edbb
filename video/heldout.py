"""Videos kept out of training, and the colorization accuracy on them.

- :func:`split_holdout`: a run's data option ``holdout=N`` keeps the
  last N videos (sorted by path) out of training; ``config.json`` records
  them under ``"holdout_videos"``.
- :func:`evaluation_videos`: the videos of a folder an evaluation should use
  for a run: only the held-out ones when the folder is the run's training data.
- :func:`colorization_accuracy`: the pretext task's own score on clips of
  given videos (share of target cells whose quantized colour the pointer
  predicts), for several models on the same clips, with the
  copy-the-previous-frame baseline.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch

from multissl.engine.data import SampleKey
from multissl.holdout import held_out_count

from .dataset import ClipConfig, VideoFolder
from .io import list_videos

PathLike = Union[str, Path]


def list_sources(videos: Union[PathLike, Sequence[PathLike]]) -> List[Path]:
    """The video files and frame folders of ``videos`` (a folder, one video or a list of them)."""
    if isinstance(videos, (str, Path)):
        return list_videos(videos)
    return [Path(v) for v in videos]


def split_holdout(videos: Union[PathLike, Sequence[PathLike]], holdout: float) -> Tuple[List[Path], List[Path]]:
    """(training sources, held-out sources): the last sources in sorted order are held out, ``holdout`` of them
    (a share below 1, or a number of videos; :mod:`multissl.holdout`).

    Raises:
        FileNotFoundError when ``videos`` holds no video; ValueError when
        nothing would be left to train on.
    """
    sources = list_sources(videos)
    if not sources:
        raise FileNotFoundError(f"no video files or frame folders under {videos}")
    count = held_out_count(holdout, len(sources))
    if count <= 0:
        return sources, []
    if count >= len(sources):
        raise ValueError(f"holdout={holdout:g} leaves no training video: {videos} holds {len(sources)} videos")
    held = sorted(sources, key=str)[-count:]
    return [s for s in sources if s not in held], held


def _resolved(paths: Sequence[PathLike]) -> set:
    return {Path(p).resolve() for p in paths}


def evaluation_videos(record: Mapping[str, object], data: Union[PathLike, Sequence[PathLike]], all_videos: bool = False
                      ) -> Tuple[List[Path], Optional[str]]:
    """(videos of ``data`` to evaluate a run on, a note for the user or None).

    ``record`` is the run's ``config.json``. When ``data`` holds videos the run
    trained on and the run held some out, only the held-out ones are returned
    (unless ``all_videos``); when it held none out, the note warns that the
    videos were seen in training.
    """
    sources = list_sources(data)
    if not sources:
        raise FileNotFoundError(f"no video files or frame folders under {data}")
    trained = _resolved(record.get("videos", []) or [])
    held = _resolved(record.get("holdout_videos", []) or [])
    seen = [s for s in sources if s.resolve() in trained]
    if not seen:
        return sources, None
    if held and not all_videos:
        picked = [s for s in sources if s.resolve() in held]
        if picked:
            names = ", ".join(p.name for p in picked)
            return picked, (f"{data} is this run's training data: evaluating only the {len(picked)} held-out videos "
                            f"({names}); --all-videos evaluates all {len(sources)}")
    return sources, f"{len(seen)} of these {len(sources)} videos were used to train this run"


@torch.no_grad()
def colorization_accuracy(models: Mapping[str, torch.nn.Module], videos: Union[PathLike, Sequence[PathLike]],
                          clips: Optional[ClipConfig] = None, clips_per_video: int = 16, batch_size: int = 8,
                          seed: int = 0) -> Dict[str, float]:
    """Colour accuracy of each :class:`~multissl.video.colorizer.Colorizer` on the same clips of ``videos``.

    Clips are cut as in training (``clips``, the run's :class:`ClipConfig`,
    without flips), ``clips_per_video`` from each video, drawn from the keys (i, epoch 0, ``seed``).
    Returns {name: accuracy in [0, 1]} plus ``"copy_previous"``: the share of
    target cells whose colour equals the same cell's in the last reference
    (measured with the first model's colour clusters).
    """
    if not models:
        raise ValueError("colorization_accuracy needs at least one model")
    config = dataclasses.replace(clips if clips is not None else ClipConfig(), clips_per_video=clips_per_video, flip=False,
                                 data_mode="stream")
    data = VideoFolder(videos, config)
    batch = torch.stack(data.__getitems__([SampleKey(i, 0, seed) for i in range(len(data))]))  # (N, T, 3, crop, crop)
    data.close()
    totals: Dict[str, float] = {name: 0.0 for name in [*models, "copy_previous"]}
    first = next(iter(models.values()))
    for i in range(0, len(batch), batch_size):
        part = batch[i : i + batch_size]
        for name, model in models.items():
            model.eval()
            probs, colors = model.predict(part)  # (B, K, h, w), (B, T, h, w)
            totals[name] += float((probs.argmax(1) == colors[:, -1]).float().mean((1, 2)).sum())
        colors = first.quantized_colors(part)
        totals["copy_previous"] += float((colors[:, -2] == colors[:, -1]).float().mean((1, 2)).sum())
    return {name: total / len(batch) for name, total in totals.items()}


__all__ = ["colorization_accuracy", "evaluation_videos", "list_sources", "split_holdout"]
