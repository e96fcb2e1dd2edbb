"""Contrastive Predictive Coding on raw waveforms (van den Oord, Li, Vinyals 2018).

- :class:`CPCEncoder`: 5 strided 1-D convolutions (kernels 10, 8, 4, 4, 4;
  strides 5, 4, 2, 2, 2; 512 channels), each followed by a normalisation and
  ReLU: a waveform (B, N) becomes frames ``z`` (B, T, C), one per 160 samples
  (10 ms at 16 kHz).
- a GRU context network (256 units): ``c`` (B, T, H) summarises z_1..z_t.
- one linear predictor W_k per future step k = 1..12: the score of a
  candidate frame z for context c_t is ``z · W_k c_t``.
- InfoNCE (:func:`multissl.losses.info_nce`, dot-product scores) of the true
  z_{t+k} against ``num_negatives`` frames drawn by
  :func:`multissl.sampling.sample_negative_indices` from the same sequence,
  the whole batch or the same speaker (``negatives``).

``CPC.forward(batch)`` returns ``(loss, metrics)`` with the accuracy of each
prediction step (``acc_k1`` ... ``acc_k12``: how often the true frame scores
above every negative) and their mean ``acc``; it trains with
:func:`multissl.engine.fit`. Every size is a field of :class:`CPCConfig`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Dict, Tuple

import torch
from einops import rearrange
from torch import nn

from multissl.losses import info_nce
from multissl.sampling import sample_negative_indices

from .framing import PAPER_KERNELS, PAPER_STRIDES, conv_frames, hop_length, receptive_field

NEGATIVE_MODES = ("batch", "sequence", "speaker")

NORMS = ("channel", "batch", "none")


@dataclass
class CPCConfig:
    """CPC sizes; the defaults are the paper's."""

    sample_rate: int = field(default=16000, metadata={"help": "waveform sample rate (files are resampled to it)"})
    encoder_channels: int = field(default=512, metadata={"help": "channels of every encoder convolution (= dimension of z)"})
    encoder_kernels: Tuple[int, ...] = field(default=PAPER_KERNELS, metadata={"help": "kernel size of each encoder convolution"})
    encoder_strides: Tuple[int, ...] = field(default=PAPER_STRIDES, metadata={"help": "stride of each encoder convolution"})
    encoder_norm: str = field(default="batch", metadata={"help": "normalisation after each convolution (batch: BatchNorm1d; channel: CPC_audio's per-frame layer norm)", "choices": NORMS})
    context_dim: int = field(default=256, metadata={"help": "GRU hidden size (= dimension of c)"})
    context_layers: int = field(default=1, metadata={"help": "GRU layers"})
    prediction_steps: int = field(default=12, metadata={"help": "predict z_{t+1} .. z_{t+K}"})
    num_negatives: int = field(default=128, metadata={"help": "negative frames per prediction"})
    negatives: str = field(default="batch", metadata={"help": "draw negatives from the same sequence, the whole batch or the same speaker",
                                                      "choices": NEGATIVE_MODES})
    window: int = field(default=20480, metadata={"help": "training window in samples (1.28 s at 16 kHz)"})

    def __post_init__(self):
        self.encoder_kernels = tuple(int(k) for k in self.encoder_kernels)
        self.encoder_strides = tuple(int(s) for s in self.encoder_strides)
        if len(self.encoder_kernels) != len(self.encoder_strides) or not self.encoder_kernels:
            raise ValueError(f"encoder_kernels {self.encoder_kernels} and encoder_strides {self.encoder_strides} "
                             "must be non-empty and of equal length")
        for name in ("sample_rate", "encoder_channels", "context_dim", "context_layers", "prediction_steps", "num_negatives", "window"):
            if getattr(self, name) <= 0:
                raise ValueError(f"CPCConfig.{name} must be > 0, got {getattr(self, name)}")
        if any(v <= 0 for v in self.encoder_kernels + self.encoder_strides):
            raise ValueError(f"kernels and strides must be > 0, got {self.encoder_kernels} / {self.encoder_strides}")
        if self.negatives not in NEGATIVE_MODES:
            raise ValueError(f"CPCConfig.negatives must be one of {NEGATIVE_MODES}, got {self.negatives!r}")
        if self.encoder_norm not in NORMS:
            raise ValueError(f"CPCConfig.encoder_norm must be one of {NORMS}, got {self.encoder_norm!r}")
        frames = conv_frames(self.window, self.encoder_kernels, self.encoder_strides)
        if frames <= self.prediction_steps:
            raise ValueError(f"a window of {self.window} samples gives {frames} frames, not more than "
                             f"prediction_steps={self.prediction_steps}; use a longer window")

    @property
    def hop(self) -> int:
        """Down-sampling factor of the encoder (160 for the paper)."""
        return hop_length(self.encoder_strides)

    @property
    def receptive_field(self) -> int:
        return receptive_field(self.encoder_kernels, self.encoder_strides)

    def as_dict(self) -> Dict:
        return asdict(self)


class ChannelNorm(nn.Module):
    """Layer norm over the channels of each time step of (B, C, T) (CPC_audio's ChannelNorm)."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return rearrange(self.norm(rearrange(x, "b c t -> b t c")), "b t c -> b c t")


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "channel":
        return ChannelNorm(channels)
    if kind == "batch":
        return nn.BatchNorm1d(channels)
    return nn.Identity()


class CPCEncoder(nn.Module):
    """Strided conv stack: waveform (B, N) -> frames (B, T, C) with T = conv_frames(N)."""

    def __init__(self, config: CPCConfig):
        super().__init__()
        layers, in_ch = [], 1
        for k, s in zip(config.encoder_kernels, config.encoder_strides):
            layers += [nn.Conv1d(in_ch, config.encoder_channels, k, s), _norm(config.encoder_norm, config.encoder_channels), nn.ReLU()]
            in_ch = config.encoder_channels
        self.net = nn.Sequential(*layers)
        self.kernels, self.strides = config.encoder_kernels, config.encoder_strides
        self.min_samples = receptive_field(config.encoder_kernels, config.encoder_strides)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        if wave.ndim != 2:
            raise ValueError(f"waveform batch must have shape (B, N), got {tuple(wave.shape)}")
        if wave.shape[1] < self.min_samples:
            raise ValueError(f"waveforms of {wave.shape[1]} samples are shorter than the encoder's receptive field ({self.min_samples})")
        return rearrange(self.net(rearrange(wave, "b n -> b 1 n")), "b c t -> b t c")


class CPC(nn.Module):
    """The CPC task: encoder, GRU context network, K linear predictors, InfoNCE.

    ``forward(batch)``: ``batch`` is a dict with ``"wave"`` (B, N) and, for
    ``negatives="speaker"``, ``"speaker"`` (B,) ints (a bare (B, N) tensor
    works for the other modes). Returns ``(loss, metrics)``.
    """

    def __init__(self, config: CPCConfig = CPCConfig()):
        super().__init__()
        self.config = config
        self.encoder = CPCEncoder(config)
        self.context = nn.GRU(config.encoder_channels, config.context_dim, num_layers=config.context_layers, batch_first=True)
        self.predictors = nn.ModuleList(nn.Linear(config.context_dim, config.encoder_channels, bias=False)
                                        for _ in range(config.prediction_steps))

    def encode(self, wave: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(z (B, T, C), c (B, T, H)) of waveforms (B, N)."""
        z = self.encoder(wave)
        c, _ = self.context(z)
        return z, c

    def forward(self, batch):
        wave, speakers = _unpack(batch)
        z, c = self.encode(wave)
        B, T, C = z.shape
        K = min(self.config.prediction_steps, T - 1)
        negatives = self._negatives(z, speakers)  # (B, T, N, C): negatives for target frame (b, t)
        losses, metrics = [], {}
        for k in range(1, K + 1):
            pred = rearrange(self.predictors[k - 1](c[:, :T - k]), "b t c -> (b t) c")
            positive = rearrange(z[:, k:], "b t c -> (b t) c")
            negative = rearrange(negatives[:, k:], "b t n c -> (b t) n c")
            loss_k, acc_k = _step_loss(pred, positive, negative)
            losses.append(loss_k)
            metrics[f"acc_k{k}"] = acc_k
        loss = torch.stack(losses).mean()
        metrics["acc"] = sum(metrics.values()) / K
        return loss, metrics

    def _negatives(self, z: torch.Tensor, speakers) -> torch.Tensor:
        """``num_negatives`` frames for every target frame, never the frame itself: (B, T, N, C).

        As in CPC_audio, the negatives of a target frame are shared by the K
        predictions of it (made from c_{t-1} ... c_{t-K}).
        """
        B, T, C = z.shape
        groups = self._groups(B, T, speakers)
        index = sample_negative_indices(groups, torch.arange(B * T), self.config.num_negatives).to(z.device)
        flat = rearrange(z, "b t c -> (b t) c")
        return rearrange(flat[index.reshape(-1)], "(b t n) c -> b t n c", b=B, t=T)

    def _groups(self, B: int, T: int, speakers) -> torch.Tensor:
        mode = self.config.negatives
        if mode == "batch":
            return torch.zeros(B * T, dtype=torch.long)
        if mode == "sequence":
            return torch.arange(B).repeat_interleave(T)
        if speakers is None:
            raise ValueError("negatives='speaker' needs batch['speaker'] (B,) speaker ids")
        return speakers.detach().cpu().long().repeat_interleave(T)

    def train_metadata(self) -> Dict:
        return {"cpc_config": self.config.as_dict()}


def _unpack(batch):
    if isinstance(batch, torch.Tensor):
        return batch, None
    if isinstance(batch, dict):
        if "wave" not in batch:
            raise ValueError(f"a CPC batch dict needs a 'wave' (B, N) entry, got keys {sorted(batch)}")
        return batch["wave"], batch.get("speaker")
    if isinstance(batch, (list, tuple)) and batch:
        return batch[0], (batch[1] if len(batch) > 1 else None)
    raise ValueError(f"a CPC batch must be a (B, N) tensor or a dict with 'wave', got {type(batch).__name__}")


def _step_loss(pred: torch.Tensor, positive: torch.Tensor, negatives: torch.Tensor):
    """InfoNCE with dot-product scores; accuracy = share of rows whose positive outscores all negatives.

    pred, positive: (M, C); negatives: (M, N, C).
    """
    loss = info_nce(pred, positive, negatives, temperature=1.0, normalize=False)
    with torch.no_grad():
        pos = (pred * positive).sum(-1)
        neg = torch.einsum("mc,mnc->mn", pred, negatives).amax(-1)
        acc = (pos > neg).float().mean()
    return loss, acc


__all__ = ["CPC", "CPCConfig", "CPCEncoder", "ChannelNorm", "NEGATIVE_MODES"]
