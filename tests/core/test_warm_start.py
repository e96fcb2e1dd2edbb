"""Imports started in the background when a training command begins."""
import sys

from multissl.cli import build_parser
from multissl.warm_start import LATER_IMPORTS, import_in_background


def test_modules_are_imported_in_a_daemon_thread_and_failures_left_to_the_main_thread():
    sys.modules.pop("colorsys", None)
    thread = import_in_background(["no_such_module_anywhere", "colorsys"])
    thread.join(timeout=30)
    assert thread.daemon and not thread.is_alive()
    assert "colorsys" in sys.modules  # the failing import before it did not stop it
    assert "no_such_module_anywhere" not in sys.modules


def test_the_train_commands_of_torch_modalities_are_the_ones_that_warm_up():
    parser = build_parser()
    train = [m for m in ("vision", "audio", "video") if parser.parse_args([m, "train", "x", "-o", "y"] if m != "vision"
                                                                          else [m, "train", "simclr", "x", "-o", "y"]).func.__name__ == "_cmd_train"]
    assert train == ["vision", "audio", "video"] and LATER_IMPORTS == ("torch._dynamo",)
    assert parser.parse_args(["vision", "probe", "run", "data"]).func.__name__ != "_cmd_train"
