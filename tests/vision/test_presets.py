"""Image-size recipes (32px / 64px), the compute-budget preset, and image folders that keep their own size."""
import json

import pytest
import torch
from PIL import Image

from multissl import vision
from multissl.cli import build_parser, main
from multissl.vision.cli import recipe_from_args
from multissl.vision.data import ImageSplits, load_images
from multissl.vision.registry import SIZE_RECIPES, size_recipe_for, size_recipe_values


def test_size_recipe_for_image_size():
    assert size_recipe_for(32) == "32px" and size_recipe_for(63) == "32px"
    assert size_recipe_for(64) == "64px" and size_recipe_for(96) == "64px"


def test_64px_recipe_changes_only_its_methods():
    assert vision.recipe("simclr", size_recipe="64px").task.color_strength == 1.0
    assert vision.recipe("simclr").task.color_strength == 0.5
    assert vision.recipe("moco-v2", size_recipe="64px").task.temperature == 0.2
    assert vision.recipe("moco-v2").task.temperature == 0.1
    assert vision.recipe("rotation", size_recipe="64px") == vision.recipe("rotation")
    assert set(SIZE_RECIPES["64px"]) == {"simclr", "moco-v2", "byol"}


def test_overrides_win_over_the_size_recipe():
    assert vision.recipe("simclr", size_recipe="64px", color_strength=0.7).task.color_strength == 0.7


def test_unknown_names_are_clear_errors():
    with pytest.raises(ValueError, match=r"unknown vision size_recipe '128px'; choose from \['32px', '64px', 'auto'\]"):
        size_recipe_values("128px", "simclr")
    with pytest.raises(ValueError, match=r"unknown vision preset 'gpu'; choose from \['cpu'\]"):
        vision.recipe("simclr", preset="gpu")


def test_an_image_size_given_as_preset_still_works_with_a_deprecation_warning():
    with pytest.warns(DeprecationWarning, match="size_recipe='64px'"):
        assert vision.recipe("simclr", preset="64px") == vision.recipe("simclr", size_recipe="64px")


def _splits(side: int, n: int = 8) -> ImageSplits:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n, 3, side, side), dtype=torch.uint8, generator=g)
    y = torch.arange(n) % 2
    return ImageSplits(x, y, x[:4], y[:4], ["a", "b"], f"random{side}")


@pytest.mark.parametrize("side, size_recipe, strength", [(64, "64px", 1.0), (32, "32px", 0.5)])
def test_train_picks_and_records_the_size_recipe(tmp_path, side, size_recipe, strength):
    run = vision.train(_splits(side), tmp_path / "run", "simclr", steps=1, batch_size=4, arch="resnet10", width=4, verbose=False)
    record = json.loads((tmp_path / "run" / "config.json").read_text())
    assert record["size_recipe"] == size_recipe and run.config["size_recipe"] == size_recipe and record["preset"] == "cpu"
    assert record["recipe"]["task"]["color_strength"] == strength
    again = vision.load_run(tmp_path / "run")  # the recorded recipe rebuilds the run
    assert again.model.config.color_strength == strength


def test_cli_size_recipe_flag():
    args = build_parser().parse_args(["vision", "train", "simclr", "d", "-o", "r", "--size-recipe", "32px"])
    assert recipe_from_args(args, image_size=64) == vision.recipe("simclr")
    args = build_parser().parse_args(["vision", "train", "simclr", "d", "-o", "r", "--temperature", "0.3"])
    assert recipe_from_args(args, image_size=64) == vision.recipe("simclr", size_recipe="64px", temperature=0.3)
    args = build_parser().parse_args(["vision", "train", "simclr", "d", "-o", "r", "--preset", "32px"])  # the older spelling
    assert recipe_from_args(args, image_size=64) == vision.recipe("simclr")


def _image_folder(root, sizes):
    for split in ("train", "val"):
        for cls, colour in (("red", (255, 0, 0)), ("blue", (0, 0, 255))):
            folder = root / split / cls
            folder.mkdir(parents=True)
            for i, size in enumerate(sizes):
                Image.new("RGB", size, colour).save(folder / f"{i}.png")
    return root


def test_folder_of_one_square_size_keeps_it(tmp_path):
    splits = load_images(str(_image_folder(tmp_path / "same", [(48, 48), (48, 48)])))
    assert splits.image_size == (48, 48) and splits.x_test.shape == (4, 3, 48, 48)
    assert load_images(str(tmp_path / "same"), image_size=16).image_size == (16, 16)


def test_folder_of_mixed_sizes_is_resized_to_32(tmp_path):
    assert load_images(str(_image_folder(tmp_path / "mixed", [(48, 48), (40, 30)]))).image_size == (32, 32)
    assert load_images(str(_image_folder(tmp_path / "oblong", [(40, 30)]))).image_size == (32, 32)


@pytest.mark.slow
def test_cli_trains_tiny_imagenet_with_the_64px_recipe(shared_data, tmp_path, capsys):
    data = shared_data / "tiny-imagenet-subset"
    if not data.is_dir():
        pytest.skip("../shared/data/tiny-imagenet-subset is absent")
    run = tmp_path / "run64"
    assert main(["vision", "train", "simclr", str(data), "-o", str(run), "--steps", "1", "--batch-size", "8",
                 "--arch", "resnet10", "--width", "4", "--no-verbose"]) == 0
    assert "(64px recipe)" in capsys.readouterr().out
    record = json.loads((run / "config.json").read_text())
    assert record["image_size"] == 64 and record["size_recipe"] == "64px" and record["recipe"]["task"]["color_strength"] == 1.0
