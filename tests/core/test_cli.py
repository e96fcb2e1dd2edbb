import argparse
import json
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Optional, Tuple

import pytest

import multissl
from multissl.cli import main
from multissl.cliutils import add_dataclass_arguments, add_train_arguments, dataclass_from_args, train_config_from_args
from multissl.engine import TrainConfig


def test_version_and_help_list_every_modality(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert multissl.__version__ in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for group in ("demo", "text", "audio", "video", "vision"):
        assert group in out


def test_a_modality_command_builds_only_that_modalitys_group(capsys):
    from multissl.cli import build_parser

    commands = build_parser(only="video")._subparsers._group_actions[0].choices
    assert list(commands) == ["video"]
    with pytest.raises(SystemExit):
        main(["video", "--help"])
    assert "train" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--debug", "video", "no-such-verb"])
    assert "no-such-verb" in capsys.readouterr().err


def test_console_script_runs():
    out = subprocess.run([sys.executable, "-m", "multissl", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"multissl {multissl.__version__}"


@dataclass
class Example:
    size: int = 3
    rate: Optional[float] = None
    name: str = field(default="a", metadata={"help": "a name", "choices": ["a", "b"]})
    flag: bool = True
    dims: Tuple[int, ...] = (1, 2)


def test_dataclass_flags_round_trip():
    parser = argparse.ArgumentParser()
    add_dataclass_arguments(parser, Example)
    args = parser.parse_args(["--size", "5", "--rate", "0.5", "--name", "b", "--no-flag", "--dims", "4", "5", "6"])
    assert dataclass_from_args(Example, args) == Example(5, 0.5, "b", False, (4, 5, 6))
    assert dataclass_from_args(Example, parser.parse_args([])) == Example()
    with pytest.raises(SystemExit):
        parser.parse_args(["--name", "c"])


def test_train_config_flags_cover_every_field():
    parser = argparse.ArgumentParser()
    add_dataclass_arguments(parser, TrainConfig)
    args = parser.parse_args(["--max-minutes", "2", "--steps", "10", "--seed", "4", "--resume"])
    cfg = dataclass_from_args(TrainConfig, args)
    assert (cfg.max_minutes, cfg.steps, cfg.seed, cfg.resume) == (2.0, 10, 4, "auto")
    assert dataclass_from_args(TrainConfig, parser.parse_args(["--resume", "x.pt"])).resume == "x.pt"


@pytest.mark.slow
def test_demo_core_part_writes_report(tmp_path, capsys):
    assert main(["demo", "-o", str(tmp_path), "--parts", "core", "--quick"]) == 0
    report = (tmp_path / "report.md").read_text()
    assert "Core: contrastive learning" in report
    assert (tmp_path / "core_embedding.png").stat().st_size > 1000
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    knn = metrics["Core: contrastive learning on synthetic views"]["knn_accuracy"]
    assert knn["trained encoder"] > knn["random encoder"] + 0.2
    assert knn["trained encoder"] > knn["raw inputs"]


def test_user_errors_exit_2_with_one_line(capsys, monkeypatch):
    monkeypatch.delenv("MULTISSL_DEBUG", raising=False)
    assert main(["demo", "-o", "/proc/forbidden-place"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("multissl: error:") and "Traceback" not in err


def test_train_arguments_with_command_defaults():
    parser = argparse.ArgumentParser()
    add_train_arguments(parser, batch_size=32, steps=100)
    cfg = train_config_from_args(parser.parse_args(["--max-minutes", "5"]), output_dir="run")
    assert (cfg.batch_size, cfg.steps, cfg.max_minutes, cfg.output_dir) == (32, 100, 5.0, "run")
    with pytest.raises(SystemExit):
        parser.parse_args(["--output-dir", "x"])


@pytest.mark.parametrize("setting, tuned", [(None, True), ("1", True), ("0", False)])
def test_the_executable_keeps_freed_memory_unless_told_not_to(monkeypatch, setting, tuned):
    import multissl.allocator
    import multissl.cli

    calls = []
    monkeypatch.setattr(multissl.allocator, "keep_freed_memory", lambda: calls.append(1) or True)
    monkeypatch.setattr(multissl.cli, "_main", lambda argv: 0)
    if setting is None:
        monkeypatch.delenv("MULTISSL_KEEP_FREED_MEMORY", raising=False)
    else:
        monkeypatch.setenv("MULTISSL_KEEP_FREED_MEMORY", setting)
    with pytest.raises(SystemExit) as done:
        multissl.cli.command()
    assert done.value.code == 0 and calls == ([1] if tuned else [])
