"""Shared fixtures: a tiny synthetic corpus (made once per session) and audio-file helpers."""
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> Path:
    """4 synthetic speakers x 4 utterances (espeak-ng, phone labels), in LibriSpeech layout."""
    from multissl.audio.synth import synthesize_corpus

    root = tmp_path_factory.mktemp("audio") / "corpus"
    synthesize_corpus(root, num_speakers=4, utterances_per_speaker=4, seed=0, verbose=False)
    return root


def sine(freq: float, seconds: float, rate: int, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * freq * t).astype(np.float32)
    return np.stack([wave] * channels, axis=1) if channels > 1 else wave


def write(path: Path, data: np.ndarray, rate: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, data, rate)
    return path


@pytest.fixture
def audio_file():
    """``audio_file(path, freq, seconds, rate, channels=1)`` writes a sine tone; ``audio_file.sine`` / ``.write`` too."""
    def make(path: Path, freq: float, seconds: float, rate: int, channels: int = 1) -> Path:
        return write(path, sine(freq, seconds, rate, channels), rate)

    make.sine, make.write = sine, write
    return make
