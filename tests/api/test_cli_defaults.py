"""Python defaults and CLI defaults come from one place: walk every command of `multissl`."""
import argparse
import inspect

import pytest

from multissl.cli import build_parser


def _commands(parser, path=()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, path + (name,))
    if path:
        yield path, parser


COMMANDS = dict(_commands(build_parser()))


def _train_recipes():
    """(command path, argv that parses it with only the required arguments, python recipe) for every train command."""
    from multissl import audio, text, video, vision
    from multissl.vision.registry import TASKS

    yield ("text", "train"), ["text", "train", "c.txt", "-o", "r"], text.recipe()
    yield ("text", "train"), ["text", "train", "cbow", "c.txt", "-o", "r"], text.recipe("cbow")
    for preset in ("cpu", "paper"):
        yield ("audio", "train"), ["audio", "train", "d", "-o", "r", "--preset", preset], audio.recipe(preset=preset)
        yield ("video", "train"), ["video", "train", "d", "-o", "r", "--preset", preset], video.recipe(preset=preset)
    yield ("audio", "train-cpc"), ["audio", "train-cpc", "d", "-o", "r"], audio.recipe()
    yield ("video", "train-colorizer"), ["video", "train-colorizer", "d", "-o", "r"], video.recipe()
    for method in TASKS:
        yield ("vision", "train", method), ["vision", "train", method, "d", "-o", "r"], vision.recipe(method)


@pytest.mark.parametrize("path,argv,python", list(_train_recipes()), ids=lambda v: " ".join(v) if isinstance(v, tuple) else None)
def test_every_train_command_trains_with_the_python_apis_settings(path, argv, python):
    import importlib

    args = build_parser().parse_args(argv)
    cli = importlib.import_module(f"multissl.{path[0]}.cli")
    assert cli.recipe_from_args(args).to_dict() == python.to_dict()


def test_every_train_command_is_covered():
    trains = {p for p in COMMANDS if "train" in p[1:2] or p[1:2] in (("train-cpc",), ("train-colorizer",))}
    trains = {p for p in trains if not (p[:2] == ("vision", "train") and len(p) == 2)}
    covered = {path for path, _, _ in _train_recipes()}
    assert trains == covered


def test_typed_flags_override_the_preset_and_nothing_else():
    from multissl import audio, vision

    args = build_parser().parse_args(["audio", "train", "d", "-o", "r", "--max-minutes", "1", "--window", "4096"])
    from multissl.audio.cli import recipe_from_args

    assert recipe_from_args(args) == audio.recipe(max_minutes=1, window=4096)
    from multissl.vision.cli import recipe_from_args as vision_recipe

    args = build_parser().parse_args(["vision", "train", "simclr", "d", "-o", "r", "--batch-size", "64", "--no-proj-last-bn"])
    assert vision_recipe(args) == vision.recipe("simclr", batch_size=64, proj_last_bn=False)
    assert vision_recipe(args).train.batch_size == 64 and vision.recipe("simclr").train.batch_size == 256
    assert vision.recipe("rotation").train.batch_size == 128  # the CLI's and Python's default alike


def _python_defaults():
    """(command, {flag dest: the Python function's default}) for the commands that mirror one function."""
    from multissl import audio, demo, video, vision
    from multissl.audio.probes import ProbeConfig
    from multissl.text.evaluate import evaluate_word_analogies
    from multissl.text.keyedvectors import KeyedVectors
    from multissl.text.scoring import predict_output_word
    from multissl.text.ngram import NGramLM
    from multissl.video.synthetic import SynthConfig

    def params(fn, **rename):
        sig = inspect.signature(fn).parameters
        return {cli: sig[py].default for cli, py in rename.items()}

    yield ("text", "eval"), params(evaluate_word_analogies, restrict_vocab="restrict_vocab", analogy_method="method")
    yield ("text", "predict"), params(predict_output_word, topn="topn")
    yield ("text", "neighbors"), params(KeyedVectors.most_similar, topn="topn")
    yield ("text", "ngram"), params(NGramLM.__init__, k="k", discount="discount", min_count="min_count")
    yield ("audio", "synth"), params(audio.synthesize_corpus, speakers="num_speakers", utterances="utterances_per_speaker",
                                     seed="seed", sample_rate="sample_rate")
    yield ("audio", "probe"), {"window": ProbeConfig().window, "max_phone_frames": ProbeConfig().max_phone_frames,
                               "seed": ProbeConfig().seed}
    yield ("audio", "cluster"), params(audio.cluster_scores, seed="seed")
    yield ("video", "synth"), {**params(video.generate_benchmark, videos="videos", eval_videos="eval_videos", seed="seed"),
                               **{k: getattr(SynthConfig(), k) for k in ("height", "width", "train_frames", "fps", "noise")}}
    yield ("vision", "probe"), params(vision.evaluate, pool="pool", knn_k="knn_k")
    yield ("demo",), params(demo.run_demo, quick="quick", seed="seed")


@pytest.mark.parametrize("path,expected", list(_python_defaults()), ids=lambda v: " ".join(v) if isinstance(v, tuple) else None)
def test_other_commands_defaults_equal_the_python_functions(path, expected):
    parser = COMMANDS[path]
    defaults = {a.dest: a.default for a in parser._actions}
    assert {k: defaults[k] for k in expected} == expected


def test_group_help_keeps_its_command_list_readable(capsys):
    for group in ("text", "audio", "video", "vision"):
        help_text = COMMANDS[(group,)].format_help()
        listed = [line for line in help_text.splitlines() if line.startswith("  ") and "train" in line]
        assert listed, f"{group} help lost its command list:\n{help_text}"


def test_old_spellings_are_listed_and_warn(capsys):
    from multissl.cli import main

    assert main(["vision", "tasks"]) == 0
    captured = capsys.readouterr()
    assert "`tasks` is deprecated" in captured.err and "simclr" in captured.out
    for old in (("audio", "train-cpc"), ("video", "train-colorizer"), ("vision", "tasks")):
        assert old in COMMANDS
