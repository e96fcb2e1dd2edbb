"""One API in every modality: the same function signatures, presets and CLI verbs."""
import importlib
import inspect

import pytest

from multissl.cli import build_parser

MODALITIES = ("text", "audio", "video", "vision")


def _params(fn):
    return inspect.signature(fn).parameters


@pytest.mark.parametrize("modality", MODALITIES)
def test_train_recipe_load_run_features_and_probe_run_share_one_signature(modality):
    api = importlib.import_module(f"multissl.{modality}")
    train = _params(api.train)
    assert list(train)[:3] == ["data", "output", "method"] and train["method"].default is None
    assert train["preset"].kind is inspect.Parameter.KEYWORD_ONLY and train["preset"].default is None
    recipe = _params(api.recipe)
    assert list(recipe)[0] == "method" and recipe["method"].default is None
    assert recipe["preset"].kind is inspect.Parameter.KEYWORD_ONLY and recipe["preset"].default is None
    load_run = _params(api.load_run)
    assert list(load_run)[:2] == ["path", "map_location"] and load_run["map_location"].default is None
    assert list(_params(api.features))[0] == "run_or_model" and len(_params(api.features)) >= 2
    assert list(_params(api.probe_run))[:2] == ["run", "data"]


@pytest.mark.parametrize("modality,method", [("text", "skipgram"), ("audio", "cpc"), ("video", "colorizer"), ("vision", "simclr")])
def test_preset_cpu_means_the_same_everywhere_and_unknown_presets_are_named(modality, method):
    api = importlib.import_module(f"multissl.{modality}")
    assert api.recipe(method, preset="cpu") == api.recipe(method)
    with pytest.raises(ValueError, match=f"unknown {modality} preset 'huge'"):
        api.recipe(method, preset="huge")


@pytest.mark.parametrize("modality", ("audio", "video"))
def test_a_preset_given_where_the_method_goes_still_works_with_a_deprecation_warning(modality):
    api = importlib.import_module(f"multissl.{modality}")
    with pytest.warns(DeprecationWarning, match="the first argument is the method now"):
        assert api.recipe("paper") == api.recipe(preset="paper")


@pytest.mark.parametrize("modality", MODALITIES)
def test_every_modality_has_the_train_and_probe_verbs(modality):
    group = build_parser(only=modality)._subparsers._group_actions[0].choices[modality]
    verbs = group._subparsers._group_actions[0].choices
    assert {"train", "probe"} <= set(verbs)
    if modality in ("text", "video"):
        assert verbs["eval"] is verbs["probe"]  # the older verb stays as an alias
