"""Shared checks of the run layer: train a couple of steps, load the folder back, compare."""
import importlib
import random

import numpy as np
import torch

import multissl


def _global_rng():
    return torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()


def _same_rng(a, b) -> bool:
    return torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]


def train_and_reload(training_module: str, call, probe_input, monkeypatch):
    """Run ``call()`` (a modality's ``train``) with the engine's ``fit`` recording the weights of step 1's start,
    then ``multissl.load_run`` the folder; check outputs, the initial twin and the global RNG states."""
    module = importlib.import_module(training_module)
    real_fit = module.fit
    started_from = {}

    def recording_fit(task, *args, prepare=None, **kwargs):
        def prepare_and_record():  # the state once fit's set-up (e.g. the colorizer's colours) is done
            if prepare is not None:
                prepare()
            started_from.update({k: v.detach().clone() for k, v in task.state_dict().items()})

        return real_fit(task, *args, prepare=prepare_and_record, **kwargs)

    monkeypatch.setattr(module, "fit", recording_fit)
    before = _global_rng()
    run = call()
    loaded = multissl.load_run(run.path)
    assert _same_rng(before, _global_rng()), "training or loading changed the global RNG state"
    assert (loaded.kind, loaded.method) == (run.kind, run.method)
    assert loaded.config["multissl_version"] == multissl.__version__ and loaded.config["kind"] == run.kind
    trained_state, initial_state = loaded.model.state_dict(), loaded.initial.state_dict()
    assert all(torch.equal(trained_state[k], v) for k, v in run.model.state_dict().items())
    assert all(torch.equal(initial_state[k], v) for k, v in started_from.items()), ".initial is not the weights before step 1"
    assert any(not torch.equal(trained_state[k], v) for k, v in started_from.items() if v.is_floating_point())
    with torch.no_grad():
        assert torch.equal(probe_input(run.model), probe_input(loaded.model))
    return run, loaded
