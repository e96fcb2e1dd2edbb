"""Frame arithmetic of strided 1-D convolution stacks (the CPC encoder).

With the paper's kernels (10, 8, 4, 4, 4) and strides (5, 4, 2, 2, 2) one
frame is 160 samples (10 ms at 16 kHz) and sees 465 samples; a waveform of
N samples gives :func:`conv_frames` frames (507 for LibriSpeech's
``2911-12359-0007``, 81520 samples, whose 10 ms phone-label sequence in the
CPC_audio subset has 508 entries, one more, which the probes cut; for
``4051-11218-0044`` both are 1119).
"""
from __future__ import annotations

from typing import Sequence

PAPER_KERNELS = (10, 8, 4, 4, 4)
PAPER_STRIDES = (5, 4, 2, 2, 2)


def hop_length(strides: Sequence[int] = PAPER_STRIDES) -> int:
    """Samples between consecutive frames: the product of the strides (160 for the paper)."""
    hop = 1
    for s in strides:
        hop *= int(s)
    return hop


def receptive_field(kernels: Sequence[int] = PAPER_KERNELS, strides: Sequence[int] = PAPER_STRIDES) -> int:
    """Samples seen by one output frame (465 for the paper's encoder)."""
    field, jump = 1, 1
    for k, s in zip(kernels, strides):
        field += (int(k) - 1) * jump
        jump *= int(s)
    return field


def conv_frames(num_samples: int, kernels: Sequence[int] = PAPER_KERNELS, strides: Sequence[int] = PAPER_STRIDES) -> int:
    """Number of output frames of the unpadded conv stack for ``num_samples`` input samples (0 if too short)."""
    n = int(num_samples)
    for k, s in zip(kernels, strides):
        if n < k:
            return 0
        n = (n - int(k)) // int(s) + 1
    return n


def frame_centers(num_frames: int, kernels: Sequence[int] = PAPER_KERNELS, strides: Sequence[int] = PAPER_STRIDES):
    """Sample index at the centre of each frame's receptive field, as a list of floats."""
    hop, field = hop_length(strides), receptive_field(kernels, strides)
    return [i * hop + (field - 1) / 2.0 for i in range(int(num_frames))]


__all__ = ["PAPER_KERNELS", "PAPER_STRIDES", "conv_frames", "frame_centers", "hop_length", "receptive_field"]
