"""A labelled image data set the project draws itself: ten shapes in clutter ("shapes").

Each image (32 x 32 RGB by default) holds one filled shape of one of
:data:`SHAPE_CLASSES`, drawn at a random position, size (spanning about
0.45 to 0.7 of the image side) and tilt (within +-:data:`MAX_TILT` degrees),
in a random colour on a random two-colour gradient background, with up to
two distractor strokes or dots in other colours and pixel noise. Colour, size
and position carry no class information, so a classifier has to see the
outline: raw pixels and a randomly initialised network probe near chance,
an encoder trained without labels on such images does well (``multissl demo``).
All shapes are upright and none looks the same after a quarter or half turn,
so predicting how an image was rotated requires recognising its shape.

Shapes are polygons (round outlines as 33- to 64-gons, holes cut out) rasterised at 4x the image side and
averaged down, so edges are anti-aliased. Everything is drawn with NumPy
from one seed: :func:`make_shapes` draws the train and test splits from
independent random streams (``SeedSequence([seed, split])``), so the same
seed always gives the same images and the two splits never share a drawing.
``load_images("shapes")`` (``multissl vision train rotation shapes``) gives
:data:`DEFAULT_TRAIN` / :data:`DEFAULT_TEST` images. Drawing takes about 1 ms
per image on one CPU core.
"""
from __future__ import annotations

from typing import List, Tuple

import numpy as np
import torch

SHAPE_CLASSES = ("triangle", "star", "arrow", "bowl", "corner", "tee", "cross", "heart", "dome", "house")
DEFAULT_TRAIN, DEFAULT_TEST = 5000, 1000
MAX_TILT = 25.0  # degrees; well under 45, so a quarter turn of any image is never a plausible upright one
SUPERSAMPLE = 4
TRAIN_SPLIT, TEST_SPLIT = 0, 1

# A shape is a list of (polygon (V, 2) in [-1, 1] coordinates, +1 fill / -1 cut out).
Shape = List[Tuple[np.ndarray, int]]


def _ngon(n: int, radius: float = 1.0, phase: float = 0.0, center=(0.0, 0.0)) -> np.ndarray:
    angles = phase + 2 * np.pi * np.arange(n) / n
    return np.stack([center[0] + radius * np.cos(angles), center[1] + radius * np.sin(angles)], 1)


def _star(points: int = 5, inner: float = 0.42) -> np.ndarray:
    radii = np.where(np.arange(2 * points) % 2 == 0, 1.0, inner)
    angles = -np.pi / 2 + np.pi * np.arange(2 * points) / points
    return np.stack([radii * np.cos(angles), radii * np.sin(angles)], 1)


def _heart() -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    return np.stack([x / 17.0, (y + 2.5) / 15.0], 1)


def _dome() -> np.ndarray:
    t = np.linspace(np.pi, 2 * np.pi, 33)
    return np.stack([np.cos(t), 0.45 + 1.1 * np.sin(t)], 1)


def _outlines() -> dict:
    """Every class's outline in [-1, 1] coordinates (x right, y down), upright: none of them looks the same
    after a quarter or half turn, and a left-right flip keeps each one's "up"."""
    poly = np.array
    return {
        "triangle": [(_ngon(3, 1.0, -np.pi / 2, (0.0, 0.25)), 1)],
        "star": [(_star(), 1)],
        "arrow": [(poly([[-0.25, 1], [-0.25, -0.2], [-0.7, -0.2], [0, -1], [0.7, -0.2], [0.25, -0.2], [0.25, 1]]), 1)],
        "bowl": [(_ngon(48), 1), (_ngon(48, 0.9, 0.0, (0.0, -0.5)), -1)],
        "corner": [(poly([[-0.75, -1], [-0.2, -1], [-0.2, 0.45], [0.75, 0.45], [0.75, 1], [-0.75, 1]]), 1)],
        "tee": [(poly([[-0.9, -0.9], [0.9, -0.9], [0.9, -0.4], [0.25, -0.4], [0.25, 0.95], [-0.25, 0.95], [-0.25, -0.4],
                       [-0.9, -0.4]]), 1)],
        "cross": [(poly([[-0.22, -1], [0.22, -1], [0.22, -0.55], [0.75, -0.55], [0.75, -0.12], [0.22, -0.12], [0.22, 1],
                         [-0.22, 1], [-0.22, -0.12], [-0.75, -0.12], [-0.75, -0.55], [-0.22, -0.55]]), 1)],
        "heart": [(_heart(), 1)],
        "dome": [(_dome(), 1)],
        "house": [(poly([[-0.75, 1], [0.75, 1], [0.75, -0.1], [0, -0.95], [-0.75, -0.1]]), 1)],
    }


OUTLINES = _outlines()


def _mask(shape: Shape, center: np.ndarray, scale: float, angle: float, side: int) -> np.ndarray:
    """Anti-aliased coverage (side, side) in [0, 1] of ``shape`` placed at ``center`` (pixels)."""
    from skimage.draw import polygon

    big = side * SUPERSAMPLE
    canvas = np.zeros((big, big), np.float32)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    for vertices, sign in shape:
        xy = (vertices @ rot.T * scale + center) * SUPERSAMPLE
        rr, cc = polygon(xy[:, 1], xy[:, 0], shape=canvas.shape)
        canvas[rr, cc] = 1.0 if sign > 0 else 0.0
    return canvas.reshape(side, SUPERSAMPLE, side, SUPERSAMPLE).mean(axis=(1, 3))


def _colours(rng: np.random.Generator, min_distance: float = 0.45) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Foreground (3,) and two background colours (3,), each background at least ``min_distance`` from the foreground."""
    while True:
        fg, bg0, bg1 = rng.random(3), rng.random(3), rng.random(3)
        if min(np.linalg.norm(fg - bg0), np.linalg.norm(fg - bg1)) >= min_distance:
            return fg, bg0, bg1


def _background(rng: np.random.Generator, bg0: np.ndarray, bg1: np.ndarray, side: int) -> np.ndarray:
    """A linear gradient from ``bg0`` to ``bg1`` in a random direction: (side, side, 3)."""
    theta = rng.uniform(0, 2 * np.pi)
    grid = (np.arange(side) + 0.5) / side - 0.5
    t = np.cos(theta) * grid[None, :] + np.sin(theta) * grid[:, None] + 0.5
    return bg0 + np.clip(t, 0, 1)[..., None] * (bg1 - bg0)


def _clutter(rng: np.random.Generator, image: np.ndarray, count: int) -> None:
    """Draw ``count`` thin strokes or small dots in random colours onto ``image`` (side, side, 3) in place."""
    from skimage.draw import disk, line_aa

    side = image.shape[0]
    for _ in range(count):
        colour = rng.random(3)
        if rng.random() < 0.5:
            r0, c0, r1, c1 = rng.integers(0, side, 4)
            rr, cc, val = line_aa(r0, c0, r1, c1)
            keep = (rr >= 0) & (rr < side) & (cc >= 0) & (cc < side)
            rr, cc, val = rr[keep], cc[keep], val[keep, None]
            image[rr, cc] = (1 - val) * image[rr, cc] + val * colour
        else:
            rr, cc = disk(tuple(rng.uniform(0, side, 2)), rng.uniform(1.0, 2.2), shape=(side, side))
            image[rr, cc] = colour


def draw_shape(rng: np.random.Generator, label: int, side: int = 32, clutter: int = 2, noise: float = 0.03) -> np.ndarray:
    """One image of class ``label`` (0..9, see :data:`SHAPE_CLASSES`) drawn from ``rng``: (side, side, 3) uint8."""
    if not 0 <= label < len(SHAPE_CLASSES):
        raise ValueError(f"label must be in 0..{len(SHAPE_CLASSES) - 1}, got {label}")
    fg, bg0, bg1 = _colours(rng)
    image = _background(rng, bg0, bg1, side)
    _clutter(rng, image, int(rng.integers(0, clutter + 1)))
    scale = rng.uniform(0.22, 0.36) * side  # outline radius in pixels
    center = rng.uniform(scale, side - scale, 2)
    angle = np.deg2rad(rng.uniform(-MAX_TILT, MAX_TILT))
    cover = _mask(OUTLINES[SHAPE_CLASSES[label]], center, scale, angle, side)[..., None]
    image = (1 - cover) * image + cover * fg
    image = image + rng.normal(0.0, noise, image.shape)
    return (np.clip(image, 0, 1) * 255).round().astype(np.uint8)


def draw_shapes(n: int, seed: int, split: int = TRAIN_SPLIT, side: int = 32) -> Tuple[torch.Tensor, torch.Tensor]:
    """``n`` images with balanced, shuffled labels from the stream ``SeedSequence([seed, split])``.

    Returns images (n, 3, side, side) uint8 and labels (n,) int64 in 0..9.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if side < 16:
        raise ValueError(f"image side must be at least 16 pixels to draw the shapes, got {side}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    rng = np.random.default_rng(np.random.SeedSequence([seed, split]))
    labels = rng.permutation(np.arange(n) % len(SHAPE_CLASSES))
    images = np.stack([draw_shape(rng, int(y), side) for y in labels]) if n else np.zeros((0, side, side, 3), np.uint8)
    return torch.from_numpy(images.transpose(0, 3, 1, 2).copy()), torch.from_numpy(labels.astype(np.int64))


def make_shapes(n_train: int = DEFAULT_TRAIN, n_test: int = DEFAULT_TEST, seed: int = 0, side: int = 32):
    """The "shapes" data set as :class:`~multissl.vision.data.ImageSplits`: x_train (n_train, 3, side, side)
    uint8, y_train (n_train,) int64 in 0..9, and the same for the test split (independent stream of ``seed``)."""
    from .data import ImageSplits

    x_train, y_train = draw_shapes(n_train, seed, TRAIN_SPLIT, side)
    x_test, y_test = draw_shapes(n_test, seed, TEST_SPLIT, side)
    return ImageSplits(x_train, y_train, x_test, y_test, list(SHAPE_CLASSES), "shapes")


__all__ = ["DEFAULT_TEST", "DEFAULT_TRAIN", "OUTLINES", "SHAPE_CLASSES", "draw_shape", "draw_shapes", "make_shapes"]
