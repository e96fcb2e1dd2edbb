import torch

from multissl.engine import TrainConfig
from tests.api.run_checks import train_and_reload

TINY = dict(encoder_channels=8, context_dim=8, window=2048, num_negatives=4, prediction_steps=2, batch_size=4,
            verbose=False, checkpoint_every=0)


def test_audio_run_round_trip(tiny_corpus, tmp_path, monkeypatch):
    from multissl import audio

    wave = torch.randn(4096)
    run, loaded = train_and_reload("multissl.audio.training", lambda: audio.train(tiny_corpus, tmp_path / "run", steps=2, **TINY),
                                   lambda model: audio.embed(model, wave).frames, monkeypatch)
    assert run.result.step == 2 and loaded.config["recipe"]["train"]["steps"] == 2


def test_partial_train_config_and_flat_overrides_both_keep_the_preset(tiny_corpus, tmp_path):
    from multissl import audio

    a = audio.train(tiny_corpus, tmp_path / "a", train=TrainConfig(steps=1), **TINY)
    b = audio.train(tiny_corpus, tmp_path / "b", steps=1, **TINY)
    assert a.recipe == b.recipe and a.recipe["optim"]["schedule"] == "cosine"  # the cpu preset's


def test_a_run_resumes_on_its_own_folder_and_refuses_another(tiny_corpus, tmp_path):
    import shutil

    import pytest

    from multissl import audio

    run = audio.train(tiny_corpus, tmp_path / "run", steps=1, **TINY)
    other = tmp_path / "other"
    shutil.copytree(tiny_corpus, other)
    with pytest.raises(ValueError, match="it trained on .*corpus, not .*other"):
        audio.train(other, run.path, steps=2, resume="auto", **TINY)
    assert audio.train(tiny_corpus, run.path, steps=2, resume="auto", **TINY).result.step == 2
