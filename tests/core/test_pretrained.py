"""The shipped pretrained models: present, small, loadable, and rebuilt by a registered builder."""
import importlib
import json

import pytest
import torch

from multissl.cli import main
from multissl.pretrained import (
    MAX_BYTES,
    REGISTRY,
    describe,
    export_run,
    load_pretrained,
    pretrained_path,
)
from multissl.run import load_run


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_shipped_model_is_small_half_precision_and_loads_as_a_run(name):
    weights = pretrained_path(name) / "checkpoints" / "last.pt"
    assert weights.is_file(), f"{name} is not shipped; build it with {REGISTRY[name].command}"
    assert weights.stat().st_size <= MAX_BYTES
    state = torch.load(weights, map_location="cpu", weights_only=False)["model"]
    assert all(v.dtype == torch.float16 for v in state.values() if v.is_floating_point())
    run = load_pretrained(name)
    trained = dict(run.model.state_dict())
    initial = dict(run.initial.state_dict())
    changed = [k for k, v in trained.items() if v.is_floating_point() and not torch.equal(v, initial[k])]
    assert changed, "the shipped weights equal the initial ones"
    info = describe(name)
    assert info["command"].startswith(REGISTRY[name].command) and info["step"] > 0 and info["bytes"] == weights.stat().st_size


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_registered_builder_can_be_imported(name):
    module, function = REGISTRY[name].builder.split(":")
    assert callable(getattr(importlib.import_module(module), function))


def test_export_round_trips_the_weights_in_float16_and_records_how_they_were_built(tmp_path):
    source = pretrained_path("audio-cpc-synth")
    dest = export_run(source, tmp_path / "copy", {"command": "test"})
    original, copy = load_pretrained("audio-cpc-synth"), load_run(dest)
    for (k, a), (_, b) in zip(original.model.state_dict().items(), copy.model.state_dict().items()):
        assert torch.equal(a, b), k  # already float16-exact, so a second export changes nothing
    record = json.loads((dest / "config.json").read_text())["pretrained"]
    assert record["command"] == "test" and record["bytes"] == (dest / "checkpoints" / "last.pt").stat().st_size


def test_export_refuses_weights_over_the_size_limit_and_leaves_no_folder(tmp_path):
    with pytest.raises(ValueError, match="over the 1000-byte limit"):
        export_run(pretrained_path("audio-cpc-synth"), tmp_path / "big", {}, max_bytes=1000)
    assert not (tmp_path / "big").exists() and not (tmp_path / "big.tmp").exists()


def test_a_missing_shipped_model_says_how_to_build_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="multissl pretrained build video-colorizer-synth"):
        load_pretrained("video-colorizer-synth", root=tmp_path)
    with pytest.raises(ValueError, match="unknown pretrained model"):
        load_pretrained("nope")


def test_cli_lists_every_shipped_model(capsys):
    assert main(["pretrained", "list"]) == 0
    out = capsys.readouterr().out
    for name in REGISTRY:
        assert f"{name}:" in out and "steps" in out
