"""Frame features and utterance embeddings from a trained (or random) CPC model.

:func:`embed` runs the encoder and the context network over a waveform and
returns the context vectors c_t (T, H), one per 160 samples, and their mean
(H,). Long waveforms are processed in chunks of ``chunk`` samples (by default
the training window) and the frames concatenated, so that the GRU sees
sequences as long as in training; ``chunk=None`` runs it over the whole
waveform as one sequence. Pieces longer than ``TILE_FRAMES`` frames (20 s at
16 kHz) are encoded tile by tile (:func:`encode_long`): the same features in
memory bounded by the tile, not by the recording.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch

from .cpc import CPC
from .framing import conv_frames, hop_length, receptive_field

FEATURES = ("context", "encoder", "both")
TILE_FRAMES = 2000  # frames per tile of a long piece (20 s at 16 kHz; the paper's encoder holds ~1 GB for it)


@dataclass
class Embedding:
    """``frames`` (T, D) and ``pooled`` (D,), float32 CPU tensors."""

    frames: torch.Tensor
    pooled: torch.Tensor


def _pcm_to_float(wave: np.ndarray) -> np.ndarray:
    """Integer PCM (uint8, int16, int32) as float32 in [-1, 1) (as soundfile reads it); floats unchanged."""
    if wave.dtype.kind in "iu" and wave.dtype.itemsize > 4:
        raise ValueError(f"waveform has dtype {wave.dtype}, which is no PCM sample format: pass float samples in "
                         "[-1, 1] or uint8 / int16 / int32 PCM")
    if wave.dtype.kind == "u":
        half = (np.iinfo(wave.dtype).max + 1) // 2
        return ((wave.astype(np.float64) - half) / half).astype(np.float32)
    if wave.dtype.kind == "i":
        return (wave.astype(np.float64) / (np.iinfo(wave.dtype).max + 1)).astype(np.float32)
    if wave.dtype.kind in "fb":
        return wave.astype(np.float32)
    raise ValueError(f"waveform must hold numbers, got dtype {wave.dtype}")


def _as_wave(waveform) -> torch.Tensor:
    """A (N,) float32 tensor of a mono waveform; integer PCM is scaled to [-1, 1)."""
    if isinstance(waveform, torch.Tensor):
        waveform = (waveform.float() if waveform.is_floating_point() else waveform).detach().cpu().numpy()
    wave = torch.from_numpy(_pcm_to_float(np.asarray(waveform)))
    if wave.ndim != 1:
        raise ValueError(f"waveform must have shape (N,) (one channel at the model's rate; average the channels of "
                         f"a multichannel one first), got {tuple(wave.shape)}")
    if len(wave) == 0:
        raise ValueError("waveform is empty")
    if not torch.isfinite(wave).all():
        raise ValueError(f"waveform holds {int((~torch.isfinite(wave)).sum())} non-finite samples (NaN or inf)")
    return wave


def _pick(z: torch.Tensor, c: torch.Tensor, feature: str) -> torch.Tensor:
    if feature == "context":
        return c
    if feature == "encoder":
        return z
    if feature == "both":
        return torch.cat([z, c], dim=-1)
    raise ValueError(f"feature must be one of {FEATURES}, got {feature!r}")


def _chunks(wave: torch.Tensor, chunk: Optional[int], min_samples: int) -> List[torch.Tensor]:
    if chunk is None or len(wave) <= chunk:
        pieces = [wave]
    else:
        pieces = list(wave.split(chunk))
        if len(pieces) > 1 and len(pieces[-1]) < min_samples:  # too short for one frame: fold it into the previous chunk
            pieces = pieces[:-2] + [torch.cat(pieces[-2:])]
    return [torch.nn.functional.pad(p, (0, min_samples - len(p))) if len(p) < min_samples else p for p in pieces]


def _tile_bounds(num_samples: int, kernels, strides, tile_frames: int) -> List[Tuple[int, int]]:
    """``(sample_start, sample_stop)`` of each tile: the samples that frames ``f .. f + tile_frames - 1`` of
    the whole waveform see, for f = 0, tile_frames, ... (tiles overlap by the receptive field less a hop)."""
    hop, field, total = hop_length(strides), receptive_field(kernels, strides), conv_frames(num_samples, kernels, strides)
    return [(f * hop, (min(total, f + tile_frames) - 1) * hop + field) for f in range(0, total, tile_frames)]


@torch.no_grad()
def encode_long(model: CPC, wave: torch.Tensor, feature: str = "context", tile_frames: int = TILE_FRAMES) -> torch.Tensor:
    """Features (T, D) of one waveform (N,), the same as ``model.encode`` on all of it (up to float rounding),
    computed ``tile_frames`` frames at a time.

    ``model`` must be in eval mode (as :func:`embed_many` puts it): the conv encoder is then local, so each
    tile's frames come from the samples they see; the GRU carries its state from tile to tile. Peak
    memory follows ``tile_frames``, not N.
    """
    enc, device = model.encoder, next(model.parameters()).device
    out, state = [], None
    for start, stop in _tile_bounds(len(wave), enc.kernels, enc.strides, tile_frames):
        z = enc(wave[start:stop][None].to(device))
        c, state = model.context.forward_state(z, state)
        out.append(_pick(z, c, feature)[0].float().cpu())
    return torch.cat(out)


@torch.no_grad()
def embed(model: CPC, waveform, chunk: Optional[int] = -1, feature: str = "context") -> Embedding:
    """Frame features (T, D) and the pooled utterance embedding (D,) of a mono waveform (N,).

    Args:
        model: a :class:`~multissl.audio.cpc.CPC` (put in eval mode for the call).
        waveform: (N,) at the model's sample rate, float or integer PCM (scaled
            to [-1, 1) like soundfile reads it). Waveforms shorter than the
            receptive field are zero-padded to one frame.
        chunk: samples per chunk; ``-1`` = the model's training window,
            ``None`` = the whole waveform at once.
        feature: ``"context"`` (c, the paper's choice), ``"encoder"`` (z) or ``"both"``.
    """
    return embed_many(model, [waveform], chunk, feature)[0]


def _encode_batched(model: CPC, flat: Sequence[Tuple], feature: str, batch_size: int) -> dict:
    """{(i, j): features (T, D)} of pieces ``(i, j, wave)``; equal-length pieces are batched together."""
    device = next(model.parameters()).device
    outputs: dict = {}
    by_length: dict = {}
    for key in flat:
        by_length.setdefault(len(key[2]), []).append(key)
    for group in by_length.values():
        for start in range(0, len(group), batch_size):
            part = group[start:start + batch_size]
            z, c = model.encode(torch.stack([p for _, _, p in part]).to(device))
            for (i, j, _), f in zip(part, _pick(z, c, feature).float().cpu()):
                outputs[(i, j)] = f
    return outputs


@torch.no_grad()
def embed_many(model: CPC, waveforms: Sequence, chunk: Optional[int] = -1, feature: str = "context",
               batch_size: int = 32) -> List[Embedding]:
    """:func:`embed` for many waveforms; equal-length chunks are batched together, pieces of more than
    ``TILE_FRAMES`` frames are encoded alone, tile by tile (:func:`encode_long`)."""
    if chunk == -1:
        chunk = model.config.window
    was_training = model.training
    model.eval()
    enc = model.encoder
    try:
        pieces = [_chunks(_as_wave(w), chunk, enc.min_samples) for w in waveforms]
        flat = [(i, j, p) for i, ps in enumerate(pieces) for j, p in enumerate(ps)]
        long = {(i, j) for i, j, p in flat if conv_frames(len(p), enc.kernels, enc.strides) > TILE_FRAMES}
        outputs = _encode_batched(model, [key for key in flat if key[:2] not in long], feature, batch_size)
        outputs.update({(i, j): encode_long(model, p, feature) for i, j, p in flat if (i, j) in long})
        result = []
        for i, ps in enumerate(pieces):
            frames = torch.cat([outputs[(i, j)] for j in range(len(ps))])
            result.append(Embedding(frames, frames.mean(0)))
        return result
    finally:
        model.train(was_training)


def features(run_or_model, waveforms, feature: str = "context", batch_size: int = 32) -> np.ndarray:
    """Utterance embeddings of a trained CPC or a :class:`~multissl.run.Run` (its ``.model``): ``waveforms``, an
    (N, samples) array or tensor or a sequence of N 1-D waveforms at the model's sample rate (float in [-1, 1]
    or integer PCM), -> (N, D) float32, each the mean of the waveform's frames (:func:`embed_many`)."""
    model = getattr(run_or_model, "model", run_or_model)
    if isinstance(waveforms, (np.ndarray, torch.Tensor)) and waveforms.ndim != 2:
        raise ValueError(f"waveforms must have shape (N, samples), or be a list of 1-D waveforms; got {tuple(waveforms.shape)} "
                         "(for one waveform, pass [wave] or use embed)")
    waves = list(waveforms)
    if not waves:
        raise ValueError("waveforms is empty")
    return pooled_matrix(embed_many(model, waves, feature=feature, batch_size=batch_size)).numpy()


def pooled_matrix(embeddings: Sequence[Embedding]) -> torch.Tensor:
    """(N, D) stack of pooled embeddings."""
    return torch.stack([e.pooled for e in embeddings])


__all__ = ["FEATURES", "TILE_FRAMES", "Embedding", "embed", "embed_many", "encode_long", "features", "pooled_matrix"]

