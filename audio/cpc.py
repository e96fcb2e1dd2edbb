"""Contrastive Predictive Coding on raw waveforms (van den Oord, Li, Vinyals 2018).

Split as in CPC_audio:

- :class:`~multissl.audio.encoder.CPCEncoder` (``audio/encoder.py``): 5
  strided 1-D convolutions (kernels 10, 8, 4, 4, 4; strides 5, 4, 2, 2, 2;
  512 channels), each followed by a normalisation and ReLU: a waveform (B, N)
  becomes frames ``z`` (B, T, C), one per 160 samples (10 ms at 16 kHz).
- :class:`~multissl.audio.context.CPCContext` (``audio/context.py``): a GRU
  (256 units); ``c`` (B, T, H) summarises z_1..z_t.
- the core :class:`multissl.cpc.CPCCriterion`: one linear predictor W_k per
  future step k = 1..12 (the score of a candidate frame z for context c_t is
  ``z · W_k c_t``) and InfoNCE of the true z_{t+k} against ``num_negatives``
  frames drawn by :func:`multissl.sampling.sample_negative_indices` from the
  same sequence, the whole batch or the same speaker (``negatives``).

``CPC.forward(batch)`` returns ``(loss, metrics)`` with the accuracy of each
prediction step (``acc_k1`` ... ``acc_k12``: how often the true frame scores
above every negative) and their mean ``acc``; it trains with
:func:`multissl.engine.fit`. Every size is a field of :class:`CPCConfig`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Dict, Optional, Tuple

import torch
from torch import nn

from multissl.cpc import CPCCriterion, legacy_predictor_hook
from multissl.module_modes import measuring
from multissl.presets import tracks_given

from .context import CPCContext
from .encoder import NORMS, ChannelNorm, CPCEncoder
from .framing import PAPER_KERNELS, PAPER_STRIDES, conv_frames, hop_length, receptive_field

NEGATIVE_MODES = ("batch", "sequence", "group")  # the core's names (multissl.cpc.NEGATIVE_MODES); a group is a speaker


@tracks_given
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
    negatives: str = field(default="batch", metadata={"help": "draw negatives from the same sequence, the whole batch or the "
                                                              "same group: the same speaker (the older name 'speaker' is read "
                                                              "as 'group')", "choices": NEGATIVE_MODES,
                                                      "renamed_values": {"speaker": "group"}})
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
        if self.negatives == "speaker":  # the older name, in run records written before the core's names
            self.negatives = "group"
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


class CPC(nn.Module):
    """The CPC task: encoder, GRU context network and the core CPC criterion (K linear predictors, InfoNCE).

    ``forward(batch)``: ``batch`` is a dict with ``"wave"`` (B, N) and, for
    ``negatives="group"``, ``"speaker"`` (B,) ints (a bare (B, N) tensor
    works for the other modes). Returns ``(loss, metrics)``.

    Submodules: ``encoder`` (:class:`CPCEncoder`), ``context``
    (:class:`CPCContext`), ``criterion`` (:class:`multissl.cpc.CPCCriterion`,
    holding the predictors). Checkpoints saved before the split (predictors
    at ``predictors.<k>.weight``) still load.

    ``encoder`` and ``context``: a user's networks in place of the config's:
    an encoder maps waveforms (B, N) to frames z (B, T, C), a context network
    maps z to c (B, T, H) (causal, for CPC's predictions to mean anything).
    C and H are measured once on a silent ``config.window``; the config's
    ``prediction_steps``, negatives and window still apply (``embed`` reads
    frame times from the config's strides, which a user encoder may not share).
    :meth:`training_loss` is one step's loss for a user's loop.
    """

    def __init__(self, config: Optional[CPCConfig] = None, *, encoder: Optional[nn.Module] = None,
                 context: Optional[nn.Module] = None):
        super().__init__()
        config = CPCConfig() if config is None else config
        self.config = config
        self.encoder = CPCEncoder(config) if encoder is None else encoder
        z_dim = config.encoder_channels if encoder is None else _output_dims(self.encoder, None, config.window)[0]
        self.context = CPCContext(z_dim, config.context_dim, config.context_layers) if context is None else context
        c_dim = config.context_dim if context is None else _output_dims(self.encoder, self.context, config.window)[1]
        self.criterion = CPCCriterion(c_dim, z_dim, config.prediction_steps,
                                      num_negatives=config.num_negatives, negatives=config.negatives,
                                      temperature=1.0, bias=False)
        self._register_load_state_dict_pre_hook(legacy_predictor_hook("criterion"))

    def training_loss(self, batch, *, return_metrics: bool = False):
        """The loss of one training step (a scalar tensor; with ``return_metrics``, also the step's metrics) on a
        batch as :meth:`forward` takes it."""
        loss, metrics = self(batch)
        return (loss, metrics) if return_metrics else loss

    @property
    def predictors(self) -> nn.ModuleList:
        """The K linear predictors W_k (held by ``criterion``)."""
        return self.criterion.predictors

    def encode(self, wave: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(z (B, T, C), c (B, T, H)) of waveforms (B, N)."""
        z = self.encoder(wave)
        return z, self.context(z)

    def forward(self, batch):
        wave, speakers = _unpack(batch)
        if self.config.negatives == "group" and speakers is None:
            raise ValueError("negatives='group' needs batch['speaker'] (B,) speaker ids")
        z, c = self.encode(wave)
        groups = speakers if self.config.negatives == "group" else None
        return self.criterion(c, z, groups)

    def train_metadata(self) -> Dict:
        return {"cpc_config": self.config.as_dict()}


def _output_dims(encoder: nn.Module, context: Optional[nn.Module], window: int) -> Tuple[int, Optional[int]]:
    """(C of z, H of c or None) of user networks, from one silent (1, window) waveform (their modes kept)."""
    with measuring(*(m for m in (encoder, context) if m is not None)) as device:
        z = encoder(torch.zeros(1, window, device=device))
        _check_frames("encoder", z, "(B, N) waveforms", "z (B, T, C)")
        c = context(z) if context is not None else None
        if c is not None:
            _check_frames("context network", c, "z (B, T, C)", "c (B, T, H)", z.shape[1])
    return int(z.shape[-1]), (int(c.shape[-1]) if c is not None else None)


def _check_frames(what: str, out, given: str, wanted: str, frames: Optional[int] = None) -> None:
    if not isinstance(out, torch.Tensor) or out.ndim != 3 or out.shape[0] != 1 or (frames is not None and out.shape[1] != frames):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"the CPC {what} must map {given} to {wanted}; on one silent window it gave {shape}")


def _unpack(batch):
    """(wave (B, N) float, speakers (B,) ints or None) of a batch; a clear error for anything else."""
    if isinstance(batch, torch.Tensor):
        wave, speakers = batch, None
    elif isinstance(batch, dict):
        if "wave" not in batch:
            raise ValueError(f"a CPC batch dict needs a 'wave' (B, N) entry, got keys {sorted(batch)}")
        wave, speakers = batch["wave"], batch.get("speaker")
    elif isinstance(batch, (list, tuple)) and batch:
        wave, speakers = batch[0], (batch[1] if len(batch) > 1 else None)
    else:
        raise ValueError(f"a CPC batch must be a (B, N) tensor or a dict with 'wave', got {type(batch).__name__}")
    if not isinstance(wave, torch.Tensor) or not wave.is_floating_point() or wave.ndim != 2:
        kind = f"shape {tuple(wave.shape)} {wave.dtype}" if isinstance(wave, torch.Tensor) else type(wave).__name__
        raise ValueError(f"a CPC batch's wave must be a (B, N) float tensor, got {kind}")
    if speakers is not None and (not isinstance(speakers, torch.Tensor) or tuple(speakers.shape) != wave.shape[:1]):
        shape = tuple(speakers.shape) if isinstance(speakers, torch.Tensor) else type(speakers).__name__
        raise ValueError(f"a CPC batch's speakers must be a ({len(wave)},) tensor of speaker ids, got {shape}")
    return wave, speakers


__all__ = ["CPC", "CPCConfig", "CPCContext", "CPCCriterion", "CPCEncoder", "ChannelNorm", "NEGATIVE_MODES", "NORMS"]
