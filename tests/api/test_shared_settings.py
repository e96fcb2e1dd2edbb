"""One spelling for the settings every modality shares: the optim section, seed, holdout, negatives; old names warn."""
import importlib
import warnings
from dataclasses import fields

import numpy as np
import pytest
import soundfile as sf
import torch

from multissl.cli import build_parser
from multissl.optim import OptimConfig

TORCH_MODALITIES = {"audio": "cpc", "video": "colorizer", "vision": "simclr"}
OPTIM_FIELDS = {"optimizer", "lr", "weight_decay", "schedule", "warmup", "lr_scaling"}


@pytest.mark.parametrize("modality,method", TORCH_MODALITIES.items())
def test_every_torch_modality_has_the_core_optim_section_and_seed_in_train(modality, method):
    api = importlib.import_module(f"multissl.{modality}")
    settings = api.recipe(method, lr=3e-4, seed=1, schedule="cosine", warmup=7, weight_decay=0.01)
    assert isinstance(settings.optim, OptimConfig) and {f.name for f in fields(settings.optim)} == OPTIM_FIELDS
    assert (settings.optim.lr, settings.optim.schedule, settings.optim.warmup, settings.optim.weight_decay) == (3e-4, "cosine", 7, 0.01)
    assert settings.train.seed == 1


@pytest.mark.parametrize("modality", ("audio", "video", "vision"))
def test_the_cli_takes_the_same_optim_flags_in_every_torch_modality(modality):
    train = build_parser(only=modality)._subparsers._group_actions[0].choices[modality]._subparsers._group_actions[0].choices["train"]
    if modality == "vision":  # one train command per method
        train = train._subparsers._group_actions[0].choices["simclr"]
    flags = {option for action in train._actions for option in action.option_strings}
    assert {"--lr", "--weight-decay", "--schedule", "--warmup", "--optimizer", "--seed"} <= flags


def test_text_reads_lr_as_gensims_alpha_on_both_paths():
    from multissl import text
    from multissl.text.cli import recipe_from_args

    assert text.recipe(lr=0.05).model.alpha == 0.05
    with pytest.raises(ValueError, match="lr is text's alpha"):
        text.recipe(lr=0.05, alpha=0.01)
    args = build_parser(only="text").parse_args(["text", "train", "corpus.txt", "-o", "run", "--lr", "0.04"])
    assert recipe_from_args(args).model.alpha == 0.04


@pytest.mark.parametrize("old,new,value", [("learning_rate", ("optim", "lr"), 1e-3), ("lr_schedule", ("optim", "schedule"), "constant"),
                                           ("warmup_steps", ("optim", "warmup"), 5), ("init_seed", ("train", "seed"), 4)])
def test_audio_old_names_keep_working_with_one_deprecation_warning(old, new, value):
    from multissl import audio

    section, name = new
    for call in (lambda: audio.recipe(**{old: value}), lambda: audio.recipe(options={old: value}),
                 lambda: audio.recipe(options=audio.CPCTrainOptions(**{old: value}))):
        with pytest.warns(DeprecationWarning, match=old):
            assert getattr(getattr(call(), section), name) == value


def test_video_lr_and_holdout_videos_moved_with_a_warning():
    from multissl import video

    with pytest.warns(DeprecationWarning, match="'lr' in section 'optim'"):
        assert video.recipe(options={"lr": 5e-4}).optim.lr == 5e-4
    with pytest.warns(DeprecationWarning, match="holdout_videos"):
        assert video.recipe(holdout_videos=2).options.holdout == 2
    with pytest.warns(DeprecationWarning, match="holdout_videos"):
        assert video.recipe(options=video.ColorizerOptions(holdout_videos=1)).options.holdout == 1


def test_vision_warmup_steps_is_warmup_now():
    from multissl import vision

    with pytest.warns(DeprecationWarning):
        assert vision.recipe("simclr", warmup_steps=3).optim.warmup == 3
    with pytest.warns(DeprecationWarning):
        assert vision.recipe("simclr", optim=OptimConfig(warmup_steps=4)).optim.warmup == 4


def test_explicit_overrides_win_over_the_preset_even_when_equal_to_the_class_default():
    from multissl import audio, vision
    from multissl.engine import TrainConfig

    assert audio.recipe().optim.schedule == "cosine"  # the cpu preset's
    assert audio.recipe(optim=OptimConfig(schedule="constant")).optim.schedule == "constant"  # the class default, given
    assert audio.recipe(optim=OptimConfig(lr=1e-3)).optim.schedule == "cosine"  # not given: the preset's stays
    assert audio.recipe(train=TrainConfig(max_minutes=None)).train.max_minutes is None  # the preset has 9.9
    assert vision.recipe("simclr", task=vision.SimCLRConfig(temperature=vision.SimCLRConfig().temperature),
                         size_recipe="64px").task.color_strength == 1.0  # a given field does not reset the others


def test_negatives_group_is_the_one_name_and_speaker_still_reads():
    from multissl import audio

    assert audio.recipe(negatives="group").model.negatives == "group"
    with pytest.warns(DeprecationWarning, match="'speaker' is deprecated: it is 'group'"):
        assert audio.recipe(negatives="speaker").model.negatives == "group"
    args = build_parser(only="audio").parse_args(["audio", "train", "data", "-o", "run", "--negatives", "speaker"])
    assert args.negatives == "speaker"  # the CLI still accepts it; the recipe turns it into "group"


def test_holdout_is_a_share_or_a_count_in_both_modalities(tmp_path):
    from multissl import audio, video
    from multissl.holdout import held_out_count
    from multissl.video.heldout import split_holdout

    assert [held_out_count(h, 10) for h in (0, 0.2, 0.01, 3)] == [0, 2, 1, 3]
    for bad in (-0.1, 1.5, float("nan"), True):
        with pytest.raises(ValueError, match="holdout must be a share in"):
            audio.CPCTrainOptions(holdout=bad)
    for i in range(4):
        (tmp_path / f"v{i}").mkdir()
        for f in range(2):
            (tmp_path / f"v{i}" / f"{f:05d}.jpg").write_bytes(b"")
    assert [p.name for p in split_holdout(tmp_path, 0.5)[1]] == ["v2", "v3"]
    assert [p.name for p in split_holdout(tmp_path, 1)[1]] == ["v3"]
    with pytest.raises(ValueError, match="holdout=4 leaves no training video"):
        split_holdout(tmp_path, 4)
    assert video.recipe(holdout=0.25).options.holdout == 0.25


def _speech_folder(root, speakers=2, utterances=3):
    rng = np.random.default_rng(0)
    for s in range(speakers):
        for u in range(utterances):
            path = root / f"{s + 1}" / "1" / f"{s + 1}-1-{u:04d}.flac"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, (0.1 * rng.standard_normal(16000)).astype(np.float32), 16000)
    return root


TINY_AUDIO = dict(encoder_channels=8, context_dim=8, window=2048, num_negatives=4, prediction_steps=2, batch_size=4,
                  steps=1, verbose=False, checkpoint_every=0, max_minutes=None)


def test_audio_train_takes_lr_and_seed_and_seed_sets_the_initial_weights(tmp_path):
    from multissl import audio

    data = _speech_folder(tmp_path / "speech")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # the new names warn about nothing
        run3 = audio.train(data, tmp_path / "run3", lr=1e-3, seed=3, **TINY_AUDIO)
        run0 = audio.train(data, tmp_path / "run0", lr=1e-3, seed=0, **TINY_AUDIO)
    assert run3.recipe["optim"]["lr"] == 1e-3 and run3.config["init_seed"] == 3
    first = lambda run: next(run.initial.parameters())  # noqa: E731
    assert not torch.equal(first(run3), first(run0))
    assert torch.equal(first(audio.load_run(tmp_path / "run3")), first(run3))
