import pytest

from tests.api.run_checks import train_and_reload


def test_vision_run_round_trip(tmp_path, monkeypatch):
    from multissl import vision

    splits = vision.load_images("digits")
    images = splits.x_test[:8]
    run, loaded = train_and_reload(
        "multissl.vision.training",
        lambda: vision.train(splits, tmp_path / "run", "rotation", arch="resnet10", width=4, steps=2, batch_size=16, verbose=False),
        lambda model: vision.features(model, images), monkeypatch)
    assert run.result.step == 2 and loaded.config["image_size"] == 8


def test_cosine_methods_train_on_a_time_budget_alone(tmp_path):
    """`vision train moco-v2 DATA -o r --max-minutes 3` used to fail: its cosine schedule needed --steps/--epochs."""
    from multissl.cli import main

    args = ["vision", "train", "moco-v2", "digits", "-o", str(tmp_path / "r"), "--max-minutes", "0.03", "--arch", "resnet10",
            "--width", "4", "--batch-size", "32", "--queue-size", "64", "--no-verbose", "--warmup", "0", "--log-every", "1"]
    assert main(args) == 0
    import json

    lines = [json.loads(x) for x in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    lrs = [x["lr"] for x in lines if "lr" in x]
    assert lrs and lrs[-1] < 2e-3  # the cosine schedule decayed with the time spent


@pytest.mark.parametrize("method, missing, legacy", [
    ("cpc-v2", ["directions", "encoder_norm", "context_width", "crop_min_scale", "jitter", "gray_prob"],
     {"directions": ("top-down",), "encoder_norm": "backbone", "context_width": -1}),
    ("split-brain", ["ab_bins", "soft_neighbours", "soft_sigma", "dense"], {"ab_bins": "grid"}),
    ("dim", ["code_input"], {"code_input": "flat"}),
    ("jigsaw", ["probe_stage", "probe_input"], {"probe_stage": -1, "probe_input": "image"}),
])
def test_runs_recorded_before_new_fields_load_with_their_old_behaviour(tmp_path, method, missing, legacy):
    """A config.json without the fields added later rebuilds the network the run trained (legacy_values)."""
    import json

    from multissl import vision
    from multissl.vision.data import load_images
    from multissl.vision.run import build_from_config, read_run_config

    splits = load_images("shapes", image_size=16)
    vision.train(splits, tmp_path / "run", method, steps=1, batch_size=8, arch="resnet10", width=4, verbose=False, **legacy)
    record = json.loads((tmp_path / "run" / "config.json").read_text())
    for name in missing:
        record["recipe"]["task"].pop(name, None)
    (tmp_path / "run" / "config.json").write_text(json.dumps(record))
    task = build_from_config(read_run_config(tmp_path / "run"))
    assert all(getattr(task.config, k) == v for k, v in legacy.items())
    vision.load_run(tmp_path / "run")  # the checkpoint fits the rebuilt network
