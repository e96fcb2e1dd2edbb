"""Audio and video models take a user's networks, and every model has training_loss(batch) for a user's loop."""
import pytest
import torch
from torch import nn


class FramesOf(nn.Module):
    """A user's encoder: (B, N) waveforms -> (B, N / 80, 12) frames."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(1, 12, kernel_size=80, stride=80)

    def forward(self, wave):
        return self.conv(wave[:, None]).transpose(1, 2)


class LastState(nn.Module):
    """A user's causal context network: (B, T, C) -> (B, T, 20)."""

    def __init__(self, dim):
        super().__init__()
        self.gru = nn.GRU(dim, 20, batch_first=True)

    def forward(self, z):
        return self.gru(z)[0]


def test_cpc_trains_a_users_encoder_and_context_network():
    from multissl.audio import CPC, CPCConfig

    config = CPCConfig(window=4000, prediction_steps=3, num_negatives=4, context_dim=8, encoder_channels=8)
    model = CPC(config, encoder=FramesOf(), context=LastState(12))
    z, c = model.encode(torch.randn(2, 4000))
    assert z.shape == (2, 50, 12) and c.shape == (2, 50, 20)
    loss = model.training_loss(torch.randn(4, 4000))
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    assert model.encoder.conv.weight.grad is not None and model.context.gru.weight_ih_l0.grad is not None
    loss, metrics = model.training_loss({"wave": torch.randn(4, 4000)}, return_metrics=True)
    assert isinstance(metrics, dict)


def test_cpc_with_only_a_users_encoder_sizes_its_own_context_network():
    from multissl.audio import CPC, CPCConfig

    model = CPC(CPCConfig(window=4000, prediction_steps=3, num_negatives=4, context_dim=16), encoder=FramesOf())
    assert model.encode(torch.randn(1, 4000))[1].shape == (1, 50, 16)


def test_cpc_names_what_a_wrong_user_network_gives():
    from multissl.audio import CPC, CPCConfig

    config = CPCConfig(window=4000, prediction_steps=3, num_negatives=4)
    with pytest.raises(ValueError, match=r"CPC encoder must map \(B, N\) waveforms to z \(B, T, C\).*gave \(1, 10\)"):
        CPC(config, encoder=nn.Linear(4000, 10))
    with pytest.raises(ValueError, match=r"CPC context network must map z \(B, T, C\) to c \(B, T, H\).*gave \(50, 20\)"):
        CPC(config, encoder=FramesOf(), context=nn.Sequential(LastState(12), nn.Flatten(0, 1)))


class Stride8(nn.Module):
    """A user's 2-D trunk: (N, 1, H, W) -> (N, 6, H/8, W/8)."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, 6, 3, 2, 1), nn.ReLU(), nn.Conv2d(6, 6, 3, 2, 1), nn.ReLU(), nn.Conv2d(6, 6, 3, 2, 1))

    def forward(self, x):
        return self.net(x)


def test_colorizer_trains_a_users_backbone():
    from multissl.video import Colorizer, ColorizerConfig

    config = ColorizerConfig(conv3d_layers=0, embed_dim=8, num_colors=4, coords=False)
    model = Colorizer(config, backbone=Stride8())
    assert model.network.stride == 8
    clips = torch.rand(2, 3, 3, 32, 32)
    model.fit_colors(clips.flatten(0, 1), num_samples=500)
    loss = model.training_loss(clips)
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    assert model.network.backbone.net[0].weight.grad is not None
    assert model.embed(clips).shape == (2, 3, 8, 4, 4)


def test_colorizer_refuses_a_backbone_that_is_not_a_feature_map():
    from multissl.video import Colorizer, ColorizerConfig

    with pytest.raises(ValueError, match="must map \\(N, 1, H, W\\) frames to a feature map"):
        Colorizer(ColorizerConfig(), backbone=nn.Flatten())
    with pytest.raises(ValueError, match="one whole stride"):
        Colorizer(ColorizerConfig(), backbone=nn.Conv2d(1, 4, 5))


def test_every_modalitys_model_has_training_loss():
    from multissl.audio import CPC
    from multissl.video import Colorizer
    from multissl.vision.registry import TASKS

    assert callable(CPC.training_loss) and callable(Colorizer.training_loss)
    assert all(callable(getattr(spec.task, "training_loss", None)) for spec in TASKS.values())
