"""Pictures: masks over frames, and colourisations (PNG files; pyplot and the backend are left alone)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F

from multissl.color import lab_to_rgb, rgb_to_lab
from multissl.figures import new_figure, save_figure

from .masks import davis_palette
from .metrics import boundary_map

PathLike = Union[str, Path]


def overlay(frame: np.ndarray, mask: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """(H, W, 3) uint8 frame with the objects of an (H, W) mask tinted in DAVIS colours and outlined."""
    palette = davis_palette().astype(np.float32)
    out = frame.astype(np.float32).copy()
    objects = mask > 0
    out[objects] = (1 - alpha) * out[objects] + alpha * palette[mask[objects]]
    for k in np.unique(mask[objects]):
        edge = boundary_map(mask == k)
        out[edge] = palette[k]
    return out.clip(0, 255).astype(np.uint8)


def _pick(count: int, total: int) -> np.ndarray:
    return np.unique(np.linspace(0, total - 1, min(count, total)).round().astype(int))


def plot_tracking(frames: np.ndarray, masks: np.ndarray, path: PathLike, true_masks: Optional[np.ndarray] = None,
                  title: str = "", count: int = 6) -> Path:
    """A row of frames with the propagated masks (and a row with the true masks when given)."""
    picks = _pick(count, len(frames))
    rows = 2 if true_masks is not None else 1
    fig = new_figure(figsize=(2.6 * len(picks), 2.2 * rows + 0.4))
    axes = fig.subplots(rows, len(picks), squeeze=False)
    for j, t in enumerate(picks):
        axes[0, j].imshow(overlay(frames[t], masks[t]))
        axes[0, j].set_title(f"frame {t}" + (" (given)" if t == 0 else ""), fontsize=9)
        if true_masks is not None:
            axes[1, j].imshow(overlay(frames[t], true_masks[t]))
    axes[0, 0].set_ylabel("propagated", fontsize=9)
    if true_masks is not None:
        axes[1, 0].set_ylabel("ground truth", fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    return save_figure(fig, path, title, dpi=90)


@torch.no_grad()
def colorize(model, clip: torch.Tensor) -> torch.Tensor:
    """(T, 3, H, W) RGB clip -> (3, H, W) RGB: the last frame's L with ab predicted from the references."""
    probs, _ = model.predict(clip[None])
    ab = model.quantizer.decode_distribution(probs)  # (1, 2, h, w)
    ab = F.interpolate(ab, size=clip.shape[-2:], mode="bilinear", align_corners=False)
    lab = rgb_to_lab(clip[-1:])
    return lab_to_rgb(torch.cat([lab[:, :1], ab], 1))[0]


def plot_colorization(model, clips: Sequence[torch.Tensor], path: PathLike, title: str = "") -> Path:
    """For each clip: first reference, gray target, predicted colours, true colours."""
    fig = new_figure(figsize=(10, 2.6 * len(clips)))
    axes = fig.subplots(len(clips), 4, squeeze=False)
    for i, clip in enumerate(clips):
        pred = colorize(model, clip)
        gray = rgb_to_lab(clip[-1])[0] / 100
        images = [clip[0].permute(1, 2, 0), gray, pred.permute(1, 2, 0), clip[-1].permute(1, 2, 0)]
        for j, (ax, img) in enumerate(zip(axes[i], images)):
            ax.imshow(img.numpy(), cmap="gray" if j == 1 else None, vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(["reference", "gray target", "colourised", "true colours"][j], fontsize=9)
    return save_figure(fig, path, title, dpi=90)


__all__ = ["colorize", "overlay", "plot_colorization", "plot_tracking"]
