"""Imports started in the background while a run starts, and optimizers made when first needed."""
import sys

from multissl.warm_start import LATER_IMPORTS, import_in_background


def test_modules_are_imported_in_a_daemon_thread_and_failures_left_to_the_main_thread():
    sys.modules.pop("colorsys", None)
    thread = import_in_background(["no_such_module_anywhere", "colorsys"])
    thread.join(timeout=30)
    assert thread.daemon and not thread.is_alive()
    assert "colorsys" in sys.modules  # the failing import before it did not stop it
    assert "no_such_module_anywhere" not in sys.modules


def test_an_optimizer_factory_is_called_once_at_step_1_after_the_warm_up_thread_started(tmp_path, monkeypatch):
    import functools
    import threading

    import pytest
    import torch

    from multissl.engine import TrainConfig, fit, loop
    from tests.core.test_streaming_engine import NoisyPoints, Regression

    events = []
    real = loop.import_in_background
    monkeypatch.setattr(loop, "import_in_background", lambda: events.append("warm") or real())

    def make(params):
        events.append(("made", threading.current_thread() is threading.main_thread()))
        return torch.optim.SGD(params, lr=0.05)

    task = Regression()
    fit(task, NoisyPoints(), make, TrainConfig(steps=3, batch_size=8, num_workers=1, output_dir=str(tmp_path / "run"),
                                               verbose=False), prepare=lambda: events.append("prepare"))
    assert events == ["warm", "prepare", ("made", True)]
    with pytest.raises(ValueError, match="a scheduler is bound to its optimizer"):
        opt = torch.optim.SGD(task.parameters(), lr=0.1)
        fit(task, NoisyPoints(), functools.partial(torch.optim.SGD, lr=0.1), TrainConfig(steps=1, output_dir=str(tmp_path / "b")),
            scheduler=torch.optim.lr_scheduler.StepLR(opt, 1))
    with pytest.raises(TypeError, match="optimizer must be a torch.optim.Optimizer or a function"):
        fit(task, NoisyPoints(), 0.1, TrainConfig(steps=1, output_dir=str(tmp_path / "c")))
    assert LATER_IMPORTS == ("torch._dynamo",)
