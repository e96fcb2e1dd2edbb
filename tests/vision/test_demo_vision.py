"""The vision part of ``multissl demo``: generated shapes, the shipped encoder and one trained live."""
import pytest

from multissl.pretrained import MAX_BYTES, describe, load_pretrained, pretrained_path
from multissl.vision import demo
from multissl.vision.shapes import SHAPE_CLASSES

ROWS = ("shipped", "live", "random", "pixels")
PROBES = ("linear_acc", "knn_acc")


def test_shipped_encoder_exists_is_small_and_loads():
    weights = pretrained_path(demo.PRETRAINED_NAME) / "checkpoints" / "last.pt"
    assert weights.is_file(), "build it with `multissl pretrained build vision-shapes`"
    assert weights.stat().st_size <= MAX_BYTES
    run = load_pretrained(demo.PRETRAINED_NAME)
    assert run.kind == "vision" and run.method == demo.METHOD
    assert run.config["image_size"] == 32 and run.config["in_channels"] == 3
    assert describe(demo.PRETRAINED_NAME)["step"] == demo.PRETRAINED_STEPS
    assert run.model.encoder.out_dim == run.initial.encoder.out_dim


def test_verdict_needs_both_probes_above_both_baselines():
    m = {"live_linear_acc": 0.5, "live_knn_acc": 0.4, "random_linear_acc": 0.2, "random_knn_acc": 0.2,
         "pixels_linear_acc": 0.3, "pixels_knn_acc": 0.41}
    assert not demo.learned_beats_baselines(m, "live")
    m["pixels_knn_acc"] = 0.3
    assert demo.learned_beats_baselines(m, "live")


@pytest.mark.slow
def test_full_section_learned_encoders_beat_random_init_and_pixels(tmp_path):
    """The headline claim with the default seed: shipped and live rows beat both baselines on both probes;
    the section's picture and table. (Quick mode only trains and probes less, so it is not run as well.)"""
    section = demo.run(tmp_path, quick=False, seed=0)
    m = section.metrics
    assert m["steps"] == demo.LIVE_STEPS and m["shipped_steps"] == demo.PRETRAINED_STEPS
    assert (tmp_path / section.pictures[0]).stat().st_size > 1000
    for label in ("shipped encoder", "trained live", "same encoder at random init", "raw pixels",
                  "multissl pretrained build vision-shapes", "rotation"):
        assert label in section.markdown
    assert section.markdown.rstrip().endswith(".") and "shipped" in section.markdown.rstrip().splitlines()[-1]
    assert len(SHAPE_CLASSES) == 10
    for learned in ("shipped", "live"):
        for probe in PROBES:
            for baseline in ("random", "pixels"):
                assert m[f"{learned}_{probe}"] > m[f"{baseline}_{probe}"] + 0.05, (learned, probe, baseline, m)
        assert demo.learned_beats_baselines(m, learned)
    assert m["shipped_linear_acc"] > m["live_linear_acc"]
