"""The MFCC baseline: the classic 39-dimensional speech front end.

13 MFCCs from 40 mel bands of 25 ms windows every 10 ms (``center=False``,
so frame i covers samples [160 i, 160 i + 400), close to the CPC encoder's
frame i), plus deltas and delta-deltas. Features are computed with
torchaudio and have shape (T, 39).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Optional

import numpy as np
import torch


@dataclass(frozen=True)
class MFCCConfig:
    sample_rate: int = 16000
    n_mfcc: int = 13
    n_mels: int = 40
    win_length: int = 400
    hop_length: int = 160
    deltas: bool = True

    @property
    def dim(self) -> int:
        return self.n_mfcc * (3 if self.deltas else 1)

    def at_rate(self, sample_rate: int) -> "MFCCConfig":
        """The same front end for audio at ``sample_rate``: 25 ms windows every 10 ms whatever the rate
        (400 / 160 samples at 16 kHz, 200 / 80 at 8 kHz), so that frames stay 10 ms like the CPC encoder's."""
        scale = sample_rate / self.sample_rate
        return replace(self, sample_rate=int(sample_rate), win_length=round(self.win_length * scale),
                       hop_length=round(self.hop_length * scale))


@lru_cache(maxsize=4)
def _transform(config: MFCCConfig):
    import torchaudio

    return torchaudio.transforms.MFCC(
        sample_rate=config.sample_rate,
        n_mfcc=config.n_mfcc,
        melkwargs={"n_fft": config.win_length, "win_length": config.win_length, "hop_length": config.hop_length,
                   "n_mels": config.n_mels, "center": False},
    )


@torch.no_grad()
def mfcc_frames(waveform, config: Optional[MFCCConfig] = None) -> torch.Tensor:
    """MFCC (+ deltas) of a mono waveform (N,): (T, D) float32, one frame per 10 ms.

    Waveforms shorter than one window are zero-padded to one window. ``config``:
    default :class:`MFCCConfig`.
    """
    config = config if config is not None else MFCCConfig()
    wave = torch.as_tensor(np.asarray(waveform, dtype=np.float32) if not isinstance(waveform, torch.Tensor) else waveform).float()
    if wave.ndim != 1:
        raise ValueError(f"waveform must have shape (N,), got {tuple(wave.shape)}")
    if len(wave) < config.win_length:
        wave = torch.nn.functional.pad(wave, (0, config.win_length - len(wave)))
    coeffs = _transform(config)(wave)  # (n_mfcc, T)
    if config.deltas:
        import torchaudio

        d1 = torchaudio.functional.compute_deltas(coeffs)
        d2 = torchaudio.functional.compute_deltas(d1)
        coeffs = torch.cat([coeffs, d1, d2], dim=0)
    return coeffs.T.contiguous()


__all__ = ["MFCCConfig", "mfcc_frames"]
