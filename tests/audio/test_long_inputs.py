"""Long recordings: tiled CPC encoding equals the one-pass encoding; bounded extractor batches."""
import importlib

import numpy as np
import pytest
import torch

from multissl.audio import embed_many
from multissl.audio.cpc import CPC, CPCConfig
from multissl.audio.embed import encode_long
from multissl.audio.probes import mfcc_extractor, pooled_features, wave_batches

embed_module = importlib.import_module("multissl.audio.embed")  # the package's `embed` is the function


def _model(norm: str, layers: int = 1) -> CPC:
    torch.manual_seed(0)
    return CPC(CPCConfig(encoder_channels=8, context_dim=6, context_layers=layers, num_negatives=2, window=4096,
                         encoder_norm=norm)).eval()


@pytest.mark.parametrize("norm,layers", [("batch", 1), ("channel", 2)])
def test_tiled_encoding_equals_one_pass(norm, layers):
    model, wave = _model(norm, layers), torch.randn(16000 + 321) * 0.1
    with torch.no_grad():
        z, c = model.encode(wave[None])
    both = encode_long(model, wave, "both", tile_frames=13)  # 99 frames in 8 tiles, the last one short
    assert both.shape == (z.shape[1], 14)
    torch.testing.assert_close(both, torch.cat([z, c], -1)[0], atol=1e-5, rtol=1e-4)


def test_embed_of_a_long_waveform_goes_tile_by_tile(monkeypatch):
    model, wave = _model("batch"), np.random.default_rng(0).normal(0, 0.1, 12000).astype(np.float32)
    whole = embed_many(model, [wave, wave[:3000]], chunk=None)
    calls = []
    monkeypatch.setattr(embed_module, "TILE_FRAMES", 20)
    monkeypatch.setattr(embed_module, "encode_long", lambda *a: calls.append(len(a[1])) or encode_long(*a, tile_frames=20))
    tiled = embed_many(model, [wave, wave[:3000]], chunk=None)
    assert calls == [12000]  # 74 frames > 20: tiled; 3000 samples (18 frames): batched as before
    for a, b in zip(whole, tiled):
        torch.testing.assert_close(a.frames, b.frames, atol=1e-5, rtol=1e-4)


def test_wave_batches_bound_count_and_samples():
    waves = [np.zeros(n, np.float32) for n in (10, 10, 50, 5, 5, 5)]
    assert wave_batches(waves, batch=64, max_samples=30) == [slice(0, 2), slice(2, 3), slice(3, 6)]  # 50 alone
    assert wave_batches(waves, batch=2, max_samples=1000) == [slice(0, 2), slice(2, 4), slice(4, 6)]
    assert wave_batches([], 4, 10) == []
    feats = pooled_features(mfcc_extractor(), [np.random.default_rng(1).normal(0, .1, 800).astype(np.float32)] * 3,
                            batch=2, progress="test bar")
    assert feats.shape == (3, 80)
