import numpy as np
import pytest
import torch

from multissl.audio.cpc import CPC, CPCConfig, CPCEncoder
from multissl.audio.embed import embed, embed_many
from multissl.audio.folder import AudioFolder
from multissl.audio.framing import conv_frames, hop_length, receptive_field
from multissl.audio.windows import RandomWindows, split_segments
from multissl.engine import TrainConfig, fit

TINY = dict(encoder_channels=16, context_dim=16, window=4096, num_negatives=8, prediction_steps=4)


def test_paper_encoder_downsamples_160x():
    config = CPCConfig()
    assert (config.encoder_channels, config.context_dim, config.prediction_steps) == (512, 256, 12)
    assert config.hop == hop_length() == 160 and config.receptive_field == receptive_field() == 465
    encoder = CPCEncoder(config)
    with torch.no_grad():
        for n in (20480, 20480 + 160, 81520):
            z = encoder(torch.randn(1, n))
            assert z.shape == (1, conv_frames(n), 512)
    assert conv_frames(20480 + 160 * 50) - conv_frames(20480) == 50  # one frame per 160 samples
    # LibriSpeech 2911-12359-0007 (81520 samples) has 508 phone labels, 4051-11218-0044 (179360) has 1119:
    # one per 10 ms frame, equal to the encoder's frame count up to one frame at the end (cut by the probes)
    assert conv_frames(81520) == 507 and conv_frames(179360) == 1119


def test_forward_reports_loss_and_per_step_accuracy():
    model = CPC(CPCConfig(**TINY))
    loss, metrics = model({"wave": torch.randn(4, 4096)})
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert set(metrics) == {f"acc_k{k}" for k in range(1, 5)} | {"acc"}
    assert abs(loss.item() - np.log(9)) < 0.5  # near chance (log(1 + N)) at initialisation


@pytest.mark.parametrize("mode", ["batch", "sequence", "speaker"])
def test_negatives_never_include_the_positive_and_respect_groups(mode):
    model = CPC(CPCConfig(**{**TINY, "negatives": mode, "num_negatives": 32}))
    B, T = 6, 20
    speakers = torch.tensor([0, 0, 1, 1, 2, 2])
    neg = model.criterion.negative_indices((B, T), speakers)[:, :, 0]  # (B, T, N) frame ids (b * T + t)
    own = torch.arange(B * T).view(B, T, 1)
    assert neg.shape == (B, T, 32)
    assert not (neg == own).any()
    if mode == "sequence":
        assert (neg // T == own // T).all()
    if mode == "speaker":
        assert (speakers[neg // T] == speakers[own // T]).all()
    if mode == "batch":
        assert ((neg // T) != (own // T)).any()


def test_checkpoints_from_before_the_criterion_split_still_load():
    model = CPC(CPCConfig(**TINY))
    state = {k.replace("criterion.predictors.", "predictors."): v.clone() + 1 for k, v in model.state_dict().items()}
    assert "predictors.0.weight" in state and not any(k.startswith("criterion.") for k in state)
    fresh = CPC(CPCConfig(**TINY))
    fresh.load_state_dict(state)  # strict
    assert torch.equal(fresh.criterion.predictors[0].weight, state["predictors.0.weight"])
    assert fresh.predictors is fresh.criterion.predictors
    assert set(fresh.state_dict()) == set(model.state_dict())


def test_speaker_negatives_need_speaker_ids():
    model = CPC(CPCConfig(**{**TINY, "negatives": "speaker"}))
    with pytest.raises(ValueError, match="needs batch\\['speaker'\\]"):
        model(torch.randn(2, 4096))


def test_bad_configs_and_inputs_fail_clearly():
    with pytest.raises(ValueError, match="equal length"):
        CPCConfig(encoder_kernels=(10, 8), encoder_strides=(5,))
    with pytest.raises(ValueError, match="not more than prediction_steps"):
        CPCConfig(window=2000)
    with pytest.raises(ValueError, match="negatives must be one of"):
        CPCConfig(negatives="anywhere")
    model = CPC(CPCConfig(**TINY))
    with pytest.raises(ValueError, match="shape \\(B, N\\)"):
        model.encoder(torch.randn(4096))
    with pytest.raises(ValueError, match="shorter than the encoder's receptive field"):
        model.encoder(torch.randn(2, 100))
    with pytest.raises(ValueError, match="'wave'"):
        model({"audio": torch.randn(2, 4096)})


@pytest.mark.slow
def test_prediction_accuracy_rises_above_chance_within_a_few_dozen_steps(tiny_corpus):
    folder = AudioFolder(tiny_corpus)
    config = CPCConfig(**TINY)
    data = RandomWindows(folder, split_segments(folder, 0.25).train, config.window)
    torch.manual_seed(0)
    model = CPC(config)
    result = fit(model, data, torch.optim.Adam(model.parameters(), 3e-3),
                 TrainConfig(steps=40, batch_size=8, log_every=5, verbose=False, seed=0))
    acc = [h["acc"] for h in result.history if "acc" in h]
    chance = 1 / (config.num_negatives + 1)
    assert acc[0] < 2 * chance
    assert np.mean(acc[-2:]) > 2 * chance and np.mean(acc[-2:]) > acc[0] + 0.1, acc  # well above chance (0.11)
    assert result.history[-1]["acc_k1"] > result.history[-1]["acc_k4"]  # the near future is easier


def test_training_with_a_seed_is_reproducible(tiny_corpus):
    folder = AudioFolder(tiny_corpus)
    config = CPCConfig(**TINY)
    data = RandomWindows(folder, split_segments(folder, 0.25).train, config.window)

    def train():
        torch.manual_seed(0)
        model = CPC(config)
        fit(model, data, torch.optim.Adam(model.parameters(), 1e-3), TrainConfig(steps=3, batch_size=4, verbose=False, seed=5))
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    assert torch.equal(train(), train())


def test_embed_gives_frames_and_pooled_vector():
    model = CPC(CPCConfig(**TINY))
    wave = torch.randn(10000)
    whole = embed(model, wave, chunk=None)
    assert whole.frames.shape == (conv_frames(10000), 16) and whole.pooled.shape == (16,)
    assert torch.allclose(whole.pooled, whole.frames.mean(0))
    chunked = embed(model, wave)  # chunks of the training window (4096)
    assert chunked.frames.shape[1] == 16 and len(chunked.frames) > 0
    both = embed(model, wave, chunk=None, feature="both")
    assert both.frames.shape == (conv_frames(10000), 32)
    short = embed(model, torch.randn(50), chunk=None)  # shorter than the receptive field: padded to one frame
    assert short.frames.shape == (1, 16)
    many = embed_many(model, [wave, wave[:6000]], chunk=None)
    assert torch.allclose(many[0].frames, whole.frames, atol=1e-5)
    assert model.training  # the mode is restored
    with pytest.raises(ValueError, match="empty"):
        embed(model, torch.zeros(0))
    with pytest.raises(ValueError, match="feature must be one of"):
        embed(model, wave, feature="hidden")
