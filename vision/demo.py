"""The vision part of ``multissl demo``: rotation prediction on generated shapes, shipped and trained live.

Everything runs on images the project draws itself (:mod:`multissl.vision.shapes`:
ten upright shapes at random position, size, tilt and colour, in clutter).
None of the ten looks the same after a quarter or half turn, so telling how
an image was rotated (Gidaris et al. 2018) means recognising the shape: the
pretext task fits the data. Two encoders trained that way, without labels,
are probed with the labels on frozen features (linear probe and kNN on the
generated test split), against the same network at its random initial
weights and against raw pixels:

- the *shipped* encoder (``multissl/weights/vision-shapes``), trained by
  :func:`build_pretrained` (``multissl pretrained build vision-shapes``) for
  :data:`PRETRAINED_STEPS` steps on images drawn with seeds the demo never uses;
- an encoder trained *live* in this run for :data:`LIVE_STEPS` steps (a fixed
  number, so the numbers are reproducible from the seed).
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional


from multissl.demo import DemoSection
from multissl.run import Run

from .data import ImageSplits
from .encoder import BackboneConfig
from .pictures import save_rows
from .probe import pixel_scores, probe_scores, task_features
from .shapes import SHAPE_CLASSES, make_shapes
from .training import train

PRETRAINED_NAME = "vision-shapes"
PRETRAINED_IMAGES, PRETRAINED_STEPS = 20000, 2000
PRETRAINED_SEED_OFFSET = 1000  # the shipped model's images come from seeds the demo's (0, 1, ...) do not use
LIVE_STEPS, QUICK_STEPS = 300, 30
# (unlabelled training images, labelled probe-training images, test images)
SIZES, QUICK_SIZES = (5000, 2000, 1000), (1000, 500, 300)
METHOD = "rotation"
BACKBONE = BackboneConfig(arch="resnet10", width=8)
# no flips/translations and a short warm-up: the rotation task leaves its first plateau
# within a few hundred steps this way (with them, or with a 100-step warm-up, it takes longer)
TASK = {"augment": False}
OPTIM = {"optimizer": "adamw", "lr": 3e-3, "warmup": 10, "schedule": "constant"}
BATCH_SIZE = 64


def train_rotation(images: ImageSplits, run_dir: Optional[Path], steps: int, seed: int) -> Run:
    """Rotation prediction with the demo's recipe (resnet10 width 8, batch 64 x 4 rotations) for exactly
    ``steps`` steps on ``images.x_train`` (labels unused); writes ``run_dir``, replacing a run there."""
    engine = dict(steps=steps, epochs=None, max_minutes=None, batch_size=BATCH_SIZE, seed=seed, verbose=False,
                  checkpoint_every=0, overwrite=run_dir is not None)
    return train(images, run_dir, METHOD, task=TASK, backbone=BACKBONE, optim=OPTIM, train=engine)


def build_pretrained(work_dir: Path, seed: int = 0) -> Path:
    """Train the shipped encoder: :data:`PRETRAINED_STEPS` steps of the demo's recipe on
    :data:`PRETRAINED_IMAGES` shapes drawn with seed ``1000 + seed`` (no labels used); returns the
    run folder (``multissl pretrained build vision-shapes``)."""
    shapes_seed = PRETRAINED_SEED_OFFSET + seed
    images = make_shapes(PRETRAINED_IMAGES, 0, seed=shapes_seed)
    images.name = f"shapes ({PRETRAINED_IMAGES} images, seed {shapes_seed})"
    run_dir = Path(work_dir) / "run"
    train_rotation(images, run_dir, PRETRAINED_STEPS, seed)
    return run_dir


def load_shipped() -> Optional[Run]:
    """The shipped encoder, or None when it is missing (the demo then says how to build it)."""
    from multissl.pretrained import load_pretrained

    try:
        return load_pretrained(PRETRAINED_NAME)
    except FileNotFoundError:
        return None


def _probe(task, probe: ImageSplits, seed: int) -> Dict[str, float]:
    """Linear-probe and kNN accuracy of ``task``'s frozen features on ``probe``'s test split."""
    train_x, test_x = task_features(task, probe.x_train), task_features(task, probe.x_test)
    return probe_scores(train_x, probe.y_train, test_x, probe.y_test, seed=seed)


def _probe_splits(data: ImageSplits, n_probe: int) -> ImageSplits:
    """The labelled probe-training images (the first ``n_probe`` of the train split) and the test split."""
    return ImageSplits(data.x_train[:n_probe], data.y_train[:n_probe], data.x_test, data.y_test, data.classes, data.name)


def _picture(data: ImageSplits, path: Path) -> Path:
    """One row of test images per class: (10 rows x 6 images)."""
    rows = [(name, data.x_test[data.y_test == k][:6].float() / 255.0) for k, name in enumerate(SHAPE_CLASSES)]
    return save_rows(rows, path, "the generated shapes (test split), one class per row", max_images=6)


def run(out_dir: Path, quick: bool = False, seed: int = 0) -> DemoSection:
    """Probe the shipped encoder and one trained live (``quick``: :data:`QUICK_STEPS` steps on fewer images)."""
    out_dir = Path(out_dir)
    n_train, n_probe, n_test = QUICK_SIZES if quick else SIZES
    data = make_shapes(n_train, n_test, seed=seed)
    steps = QUICK_STEPS if quick else LIVE_STEPS
    live = train_rotation(data, out_dir / "vision-rotation-run", steps, seed)
    probe = _probe_splits(data, n_probe)
    scores = {"live": _probe(live.model, probe, seed), "random": _probe(live.initial, probe, seed),
              "pixels": pixel_scores(probe, seed=seed)}
    shipped = load_shipped()
    if shipped is not None:
        scores["shipped"] = _probe(shipped.model, probe, seed)
    picture = _picture(data, out_dir / "vision_shapes.png")
    metrics = _metrics(scores, steps, live.result.elapsed_s, shipped, n_train, n_probe, n_test)
    return DemoSection("Vision: rotation prediction on generated shapes", _markdown(metrics), [picture.name], metrics)


def _metrics(scores, steps: int, seconds: float, shipped: Optional[Run], n_train: int, n_probe: int, n_test: int) -> dict:
    metrics = {"data": f"shapes: {n_train} training images ({n_probe} labelled for the probes), {n_test} test images",
               "method": METHOD, "steps": steps, "train_seconds": round(seconds, 1),
               "linear_acc": scores["live"]["linear_acc"], "knn_acc": scores["live"]["knn_acc"]}
    for name, values in scores.items():
        metrics.update({f"{name}_{key}": value for key, value in values.items()})
    if shipped is not None:
        metrics["shipped_steps"] = shipped.config.get("pretrained", {}).get("step", PRETRAINED_STEPS)
    return metrics


def _markdown(m: dict) -> str:
    rows = [(f"trained live (rotation, {m['steps']} steps, this run)", "live"),
            ("same encoder at random init", "random"), ("raw pixels", "pixels")]
    if "shipped_linear_acc" in m:
        rows.insert(0, (f"shipped encoder (rotation, {m['shipped_steps']} steps, built by "
                        f"`multissl pretrained build {PRETRAINED_NAME}`)", "shipped"))
    table = "\n".join(f"| {label} | {m[key + '_linear_acc']:.3f} | {m[key + '_knn_acc']:.3f} |" for label, key in rows)
    missing = "" if "shipped_linear_acc" in m else (
        f"(The shipped encoder is missing from this installation: build it with "
        f"`multissl pretrained build {PRETRAINED_NAME}`.)\n\n")
    return (
        f"Rotation prediction (Gidaris et al. 2018) on generated images of {len(SHAPE_CLASSES)} shapes at random position, "
        f"size, tilt and colour in clutter ({m['data']}; chance 0.100). None of the shapes looks the same after a "
        f"quarter turn, so predicting the rotation means recognising the shape. A resnet10 (width 8) trained without "
        f"labels, frozen, then a linear probe and kNN on the labels:\n\n"
        f"| features | linear probe | kNN |\n|---|---|---|\n{table}\n\n{missing}"
        f"{_meaning(m)}"
    )


def learned_beats_baselines(m: dict, name: str) -> bool:
    """Whether encoder ``name`` ("live" or "shipped") beats random init and raw pixels on both probes."""
    return all(m[f"{name}_{probe}"] > max(m[f"random_{probe}"], m[f"pixels_{probe}"]) for probe in ("linear_acc", "knn_acc"))


def _meaning(m: dict) -> str:
    """The closing sentence: what was shipped, what was trained live, and whether learning beat the baselines."""
    live = learned_beats_baselines(m, "live")
    if "shipped_linear_acc" not in m:
        return (f"The live encoder, trained in this run ({m['train_seconds']:.0f} s) without a label reaching it, "
                f"{'beats' if live else 'does not beat'} the untrained network and raw pixels on both probes.")
    shipped = learned_beats_baselines(m, "shipped")
    verdict = {(True, True): "both beat", (True, False): "only the live one beats",
               (False, True): "only the shipped one beats", (False, False): "neither beats"}[(live, shipped)]
    return (f"Only the live row was trained in this run ({m['train_seconds']:.0f} s), the shipped encoder beforehand on "
            f"shapes drawn with seeds this demo never uses; {verdict} the untrained network and raw pixels on both probes, "
            f"and no label ever reached either encoder (only the probes use labels).")


__all__ = ["LIVE_STEPS", "PRETRAINED_NAME", "PRETRAINED_STEPS", "build_pretrained", "learned_beats_baselines", "load_shipped", "run",
           "train_rotation"]
