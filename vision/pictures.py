"""PNG grids of images: reconstructions, inpaintings, colourisations."""
from __future__ import annotations

from pathlib import Path
from typing import List, Sequence, Tuple

import torch

from multissl.figures import new_figure, save_figure


def save_rows(rows: Sequence[Tuple[str, torch.Tensor]], path, title: str = "", max_images: int = 8) -> Path:
    """One row per (label, images (B, C, H, W) in [0, 1]); at most ``max_images`` per row."""
    n = min(max_images, min(len(imgs) for _, imgs in rows))
    fig = new_figure(figsize=(1.3 * n + 1.2, 1.35 * len(rows) + 0.4))
    axes = fig.subplots(len(rows), n, squeeze=False)
    for r, (label, imgs) in enumerate(rows):
        for c in range(n):
            ax = axes[r][c]
            img = imgs[c].detach().float().cpu().clamp(0, 1)
            if img.shape[0] == 1:
                ax.imshow(img[0].numpy(), cmap="gray", vmin=0, vmax=1)
            else:
                ax.imshow(img.permute(1, 2, 0).numpy())
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r][0].set_ylabel(label, fontsize=8)
    return save_figure(fig, path, title, dpi=110)


def save_task_picture(task, images: torch.Tensor, path, title: str = "") -> List[Path]:
    """Write the task's reconstruction picture if it has one (``picture_rows``); returns written paths."""
    rows_fn = getattr(task, "picture_rows", None)
    if rows_fn is None:
        return []
    device = next(task.parameters()).device
    was_training = task.training
    task.eval()
    try:
        rows = rows_fn(images.to(device))
    finally:
        task.train(was_training)
    return [save_rows(rows, path, title or task.name)]


__all__ = ["save_rows", "save_task_picture"]
