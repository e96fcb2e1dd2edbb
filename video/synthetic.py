"""A seeded synthetic tracking benchmark: textured objects over a moving textured background.

Each video shows 2-4 objects (ellipses, boxes, diamonds, wobbly blobs), each
painted with its own two-colour texture (stripes, checks, dots or rings in
saturated, well separated hues), that move along smooth paths bouncing off
the frame border, grow and shrink, turn, and pass in front of each other in
a fixed depth order. The background is a low-saturation textured canvas
that pans; a slow global brightness change and pixel noise are added.

Colour is informative (every object has its own hues, the background is
nearly gray), so learning to colour a gray frame from coloured reference
frames requires finding where each pixel went: the colorization pretext
task teaches tracking. The ground-truth mask of a frame holds the id
(1..K, front-most object wins) of the visible object at every pixel.

:func:`generate_benchmark` writes ``OUT/train/*.mp4`` (videos for training,
no labels needed) and ``OUT/eval`` in DAVIS layout (JPEG frames, palette PNG
masks, ``ImageSets/2017/val.txt``).
"""
from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple, Union

import numpy as np
from tqdm.auto import tqdm

from .io import write_video
from .masks import write_mask

PathLike = Union[str, Path]
SHAPES = ("ellipse", "box", "diamond", "blob")
TEXTURES = ("stripes", "checks", "dots", "rings")


@dataclass
class SynthConfig:
    """Settings of the synthetic benchmark (the defaults are the benchmark's)."""

    height: int = field(default=256, metadata={"help": "frame height in pixels (even)"})
    width: int = field(default=320, metadata={"help": "frame width in pixels (even)"})
    train_frames: int = field(default=60, metadata={"help": "frames per training video"})
    eval_frames: int = field(default=40, metadata={"help": "frames per evaluation sequence"})
    min_objects: int = field(default=2, metadata={"help": "fewest objects per video"})
    max_objects: int = field(default=4, metadata={"help": "most objects per video"})
    fps: float = field(default=24.0, metadata={"help": "frame rate of the mp4 files"})
    noise: float = field(default=5.0, metadata={"help": "standard deviation of the pixel noise (0-255 scale)"})
    shared_palette: bool = field(default=True, metadata={"help": "paint every object of a video with the same two hues "
                                                                  "(objects differ by texture and shape, not colour)"})

    def __post_init__(self):
        if self.height % 2 or self.width % 2 or self.height < 32 or self.width < 32:
            raise ValueError(f"height and width must be even and >= 32, got {self.height}x{self.width}")
        if not 1 <= self.min_objects <= self.max_objects:
            raise ValueError(f"need 1 <= min_objects <= max_objects, got {self.min_objects}, {self.max_objects}")
        if self.train_frames < 4 or self.eval_frames < 3:
            raise ValueError(f"videos need at least 4 (train) / 3 (eval) frames, got {self.train_frames}, {self.eval_frames}")
        if not (math.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"fps must be a frame rate > 0, got {self.fps}")
        if not (math.isfinite(self.noise) and self.noise >= 0):
            raise ValueError(f"noise must be >= 0 (a standard deviation), got {self.noise}")


# ----------------------------------------------------------------------------- textures
def _smooth_noise(rng: np.random.Generator, shape: Tuple[int, int], cell: int) -> np.ndarray:
    """Bilinearly upsampled uniform noise in [0, 1] with features about ``cell`` pixels wide."""
    h, w = shape
    gh, gw = h // cell + 2, w // cell + 2
    grid = rng.random((gh, gw))
    ys, xs = np.linspace(0, gh - 1.001, h), np.linspace(0, gw - 1.001, w)
    y0, x0 = ys.astype(int), xs.astype(int)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    top = grid[y0][:, x0] * (1 - fx) + grid[y0][:, x0 + 1] * fx
    bottom = grid[y0 + 1][:, x0] * (1 - fx) + grid[y0 + 1][:, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(h % 1.0, s, v)) * 255


def _background(rng: np.random.Generator, shape: Tuple[int, int], hues: np.ndarray) -> np.ndarray:
    """A low-saturation textured canvas (H, W, 3) float in 0..255 with a few soft blobs in the objects' hues."""
    hue = rng.random()
    c1, c2 = _hsv(hue, 0.15, 0.35 + 0.2 * rng.random()), _hsv(hue + 0.3, 0.12, 0.7 + 0.2 * rng.random())
    coarse = _smooth_noise(rng, shape, 48)
    fine = _smooth_noise(rng, shape, 6)
    mix = np.clip((coarse - 0.5) * 3 + 0.5, 0, 1)[..., None]
    canvas = (c1 * (1 - mix) + c2 * mix) * (0.75 + 0.5 * fine[..., None])
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]]
    for hue in hues:  # distractors: blobs sharing an object's hue, without its texture
        cy, cx, r = rng.uniform(0, shape[0]), rng.uniform(0, shape[1]), rng.uniform(0.06, 0.12) * min(shape)
        weight = np.exp(-((ys - cy) ** 2 + (xs - cx) ** 2) / (2 * r**2))[..., None] * 0.8
        canvas = canvas * (1 - weight) + _hsv(hue, rng.uniform(0.5, 0.9), rng.uniform(0.4, 0.9)) * weight
    return canvas


def _texture(kind: str, u: np.ndarray, v: np.ndarray, freq: float, angle: float) -> np.ndarray:
    """A binary pattern in object coordinates (u, v in about [-1, 1])."""
    ru = u * np.cos(angle) + v * np.sin(angle)
    rv = -u * np.sin(angle) + v * np.cos(angle)
    if kind == "stripes":
        return np.sin(2 * np.pi * freq * ru) > 0
    if kind == "checks":
        return (np.floor(ru * freq) + np.floor(rv * freq)) % 2 == 0
    if kind == "dots":
        fu, fv = ru * freq - np.round(ru * freq), rv * freq - np.round(rv * freq)
        return fu**2 + fv**2 < 0.09
    return np.sin(2 * np.pi * freq * np.sqrt(u**2 + v**2)) > 0  # rings


def _inside(kind: str, u: np.ndarray, v: np.ndarray, wobble: float) -> np.ndarray:
    if kind == "ellipse":
        return u**2 + v**2 <= 1
    if kind == "box":
        return np.maximum(np.abs(u), np.abs(v)) <= 0.85
    if kind == "diamond":
        return np.abs(u) + np.abs(v) <= 1.1
    radius = np.sqrt(u**2 + v**2)
    return radius <= 0.8 + 0.2 * np.sin(3 * np.arctan2(v, u) + wobble)


# ----------------------------------------------------------------------------- motion
@dataclass
class _Object:
    shape: str
    texture: str
    colors: Tuple[np.ndarray, np.ndarray]
    radius: float
    aspect: float
    freq: float
    tex_angle: float
    wobble: float
    start: np.ndarray
    velocity: np.ndarray
    sway: np.ndarray
    sway_phase: float
    scale_amp: float
    scale_phase: float
    spin: float
    angle: float
    shade_amp: float
    shade_phase: float

    def pose(self, t: int, size: Tuple[int, int]) -> Tuple[np.ndarray, float, float]:
        """Centre (x, y), scale and angle at frame t; the centre bounces off the borders."""
        h, w = size
        raw = self.start + self.velocity * t + self.sway * np.sin(0.15 * t + self.sway_phase)
        lo = np.array([self.radius * 0.5, self.radius * 0.5])
        hi = np.array([w, h]) - lo
        span = hi - lo
        folded = np.mod(raw - lo, 2 * span)
        centre = lo + np.where(folded > span, 2 * span - folded, folded)
        scale = 1.0 + self.scale_amp * np.sin(0.08 * t + self.scale_phase)
        return centre, scale, self.angle + self.spin * t


def _random_object(rng: np.random.Generator, size: Tuple[int, int], hue: float, second_hue: float, frames: int) -> _Object:
    h, w = size
    radius = min(h, w) * rng.uniform(0.11, 0.19)
    speed = rng.uniform(0.5, 1.0) * w / frames  # crosses half to all of the frame width
    heading = rng.uniform(0, 2 * np.pi)
    light = rng.random() < 0.5
    c1 = _hsv(hue, rng.uniform(0.75, 1.0), rng.uniform(0.85, 1.0) if light else rng.uniform(0.6, 0.8))
    c2 = _hsv(second_hue + rng.uniform(-0.06, 0.06), rng.uniform(0.5, 1.0), rng.uniform(0.2, 0.4))
    return _Object(
        shape=SHAPES[rng.integers(len(SHAPES))], texture=TEXTURES[rng.integers(len(TEXTURES))], colors=(c1, c2),
        radius=radius, aspect=rng.uniform(0.7, 1.3), freq=rng.uniform(1.5, 3.0), tex_angle=rng.uniform(0, np.pi),
        wobble=rng.uniform(0, 2 * np.pi), start=np.array([rng.uniform(0, w), rng.uniform(0, h)]),
        velocity=speed * np.array([np.cos(heading), np.sin(heading)]), sway=rng.uniform(0, 0.08, 2) * np.array([w, h]),
        sway_phase=rng.uniform(0, 2 * np.pi), scale_amp=rng.uniform(0.15, 0.35), scale_phase=rng.uniform(0, 2 * np.pi),
        spin=rng.uniform(-0.03, 0.03), angle=rng.uniform(0, 2 * np.pi),
        shade_amp=rng.uniform(0.15, 0.35), shade_phase=rng.uniform(0, 2 * np.pi),
    )


def _render_object(obj: _Object, t: int, size: Tuple[int, int], xs: np.ndarray, ys: np.ndarray):
    """(inside (H, W) bool, colour (H, W, 3)) of one object at frame t."""
    centre, scale, angle = obj.pose(t, size)
    dx, dy = (xs - centre[0]) / (obj.radius * scale), (ys - centre[1]) / (obj.radius * scale)
    u = (dx * np.cos(angle) + dy * np.sin(angle)) / obj.aspect
    v = (-dx * np.sin(angle) + dy * np.cos(angle)) * obj.aspect
    inside = _inside(obj.shape, u, v, obj.wobble)
    pattern = _texture(obj.texture, u, v, obj.freq, obj.tex_angle)[..., None]
    shade = 1 + obj.shade_amp * np.sin(0.12 * t + obj.shade_phase) + 0.25 * u[..., None]  # turning and side-lit
    return inside, np.where(pattern, obj.colors[0], obj.colors[1]) * shade


def generate_video(seed: int, num_frames: int, config: Optional[SynthConfig] = None) -> Tuple[np.ndarray, np.ndarray]:
    """One synthetic video (``config``: default :class:`SynthConfig`).

    Returns:
        frames (T, H, W, 3) uint8 RGB and masks (T, H, W) int64 (0 background,
        1..K objects in depth order, the last one in front).
    """
    config = config if config is not None else SynthConfig()
    rng = np.random.default_rng(seed)
    h, w = config.height, config.width
    num_objects = int(rng.integers(config.min_objects, config.max_objects + 1))
    margin = max(h, w) // 4
    hue0 = rng.random()
    if config.shared_palette:  # every object is painted with the same two hues, in either role
        pair = np.array([hue0, hue0 + rng.uniform(0.35, 0.65)])
        roles = [rng.permutation(2) for _ in range(num_objects)]
        hues, seconds = np.array([pair[r[0]] for r in roles]), np.array([pair[r[1]] for r in roles])
    else:  # one hue per object
        hues = hue0 + np.arange(num_objects) / num_objects + rng.uniform(-0.05, 0.05, num_objects)
        seconds = hues
    canvas = _background(rng, (h + 2 * margin, w + 2 * margin), np.concatenate([hues, seconds]))
    pan_amp, pan_freq, pan_phase = rng.uniform(0.4, 1.0, 2) * margin, rng.uniform(0.03, 0.08, 2), rng.uniform(0, 2 * np.pi, 2)
    objects = [_random_object(rng, (h, w), hue, second, num_frames) for hue, second in zip(hues, seconds)]
    gain_amp, gain_phase = rng.uniform(0.1, 0.2), rng.uniform(0, 2 * np.pi)
    light_phase, light_dir = rng.uniform(0, 2 * np.pi), rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    frames = np.empty((num_frames, h, w, 3), dtype=np.uint8)
    masks = np.zeros((num_frames, h, w), dtype=np.int64)
    for t in range(num_frames):
        ox, oy = (margin + pan_amp * np.sin(pan_freq * t + pan_phase)).astype(int)
        image = canvas[oy : oy + h, ox : ox + w].copy()
        for k, obj in enumerate(objects, start=1):
            inside, colour = _render_object(obj, t, (h, w), xs, ys)
            image[inside] = colour[inside]
            masks[t][inside] = k
        gain = 1 + gain_amp * np.sin(0.1 * t + gain_phase)
        sweep = (xs * np.cos(light_dir) + ys * np.sin(light_dir)) / max(h, w)  # a light sweeping across the scene
        light = 1 + 0.2 * np.sin(2 * np.pi * sweep + 0.15 * t + light_phase)
        image = image * (gain * light)[..., None] + rng.normal(0, config.noise, image.shape)
        frames[t] = np.clip(image, 0, 255).astype(np.uint8)
    return frames, masks


def _write_eval_sequence(root: Path, name: str, frames: np.ndarray, masks: np.ndarray) -> None:
    from PIL import Image

    img_dir, ann_dir = root / "JPEGImages" / "480p" / name, root / "Annotations" / "480p" / name
    img_dir.mkdir(parents=True, exist_ok=True)
    for t, (frame, mask) in enumerate(zip(frames, masks)):
        Image.fromarray(frame).save(img_dir / f"{t:05d}.jpg", quality=95)
        write_mask(ann_dir / f"{t:05d}.png", mask)


def generate_benchmark(
    out_dir: PathLike,
    videos: int = 12,
    eval_videos: int = 6,
    seed: int = 0,
    config: Optional[SynthConfig] = None,
    verbose: bool = True,
) -> Tuple[List[Path], List[str]]:
    """Write ``out_dir/train/video_XXX.mp4`` and ``out_dir/eval`` (DAVIS layout).

    Training and evaluation videos come from disjoint seeds. Returns the mp4
    paths and the evaluation sequence names.
    """
    config = config if config is not None else SynthConfig()
    if videos < 1 or eval_videos < 1:
        raise ValueError(f"need at least one training and one evaluation video, got {videos} and {eval_videos}")
    out = Path(out_dir)
    train_paths, names = [], []
    total = videos + eval_videos
    with tqdm(total=total, desc="synthetic videos", disable=None if verbose else True) as bar:
        for i in range(videos):
            frames, _ = generate_video(_video_seed(seed, 0, i), config.train_frames, config)
            train_paths.append(write_video(out / "train" / f"video_{i:03d}.mp4", frames, fps=config.fps))
            bar.update(1)
        for i in range(eval_videos):
            name = f"synth_{i:03d}"
            frames, masks = generate_video(_video_seed(seed, 1, i), config.eval_frames, config)
            _write_eval_sequence(out / "eval", name, frames, masks)
            names.append(name)
            bar.update(1)
    sets = out / "eval" / "ImageSets" / "2017"
    sets.mkdir(parents=True, exist_ok=True)
    (sets / "val.txt").write_text("\n".join(names) + "\n", encoding="utf-8")
    return train_paths, names


def _video_seed(seed: int, split: int, index: int) -> int:
    return int(np.random.SeedSequence([seed, split, index]).generate_state(1)[0])


__all__ = ["SynthConfig", "generate_benchmark", "generate_video"]
