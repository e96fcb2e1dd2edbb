"""A synthetic multi-speaker speech corpus made with espeak-ng.

:func:`synthesize_corpus` writes N speakers x M utterances in LibriSpeech
layout::

    OUT/<speaker>/<chapter>/<speaker>-<chapter>-<utt:04d>.flac
    OUT/metadata.csv        one row per utterance: speaker, voice settings, text, seconds
    OUT/phone_labels.txt    "<utterance id> <label> <label> ..." one label per 10 ms frame
    OUT/phones.txt          the label inventory, "<index> <phone>" per line (0 = sil)

Each speaker is a fixed voice: one of six espeak-ng variants (``en+m3`` ...;
several speakers share one), a pitch, a pitch range, a speaking rate and a
vocal-tract length factor (the whole spectrum is scaled by resampling, as a
longer or shorter vocal tract would). Utterances jitter pitch and rate a
little around the speaker's values, pass through a random recording channel
(a first-order tilt filter), are normalised to a random level (so loudness is
no speaker cue) and get a faint noise floor. Everything is drawn from
``seed``: the same seed writes the same corpus (the synthesis runs in a fresh
worker process, see :func:`multissl.audio.espeak.synthesize_many`).

Phone labels come from espeak-ng's phoneme events (the start time of every
phone; stress marks removed): the label of frame i is the phone playing at
the centre of the i-th receptive field of the paper's CPC encoder (hop 160,
465 samples), so there is exactly one label per CPC frame. They are written
only when the engine gives timing (the ``espeakng-loader`` library does, the
``espeak-ng`` program does not).
"""
from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from tqdm.auto import tqdm

from .espeak import Utterance, Voice, get_engine, synthesize_many
from .framing import conv_frames, frame_centers
from .sentences import make_sentences

DEFAULT_VARIANTS = ("m1", "m3", "m6", "f2", "f4", "f5")
SILENCE = "sil"
_STRESS_MARKS = "',%=:"


@dataclass
class SpeakerProfile:
    """A synthetic speaker: espeak-ng voice settings plus a vocal-tract length factor.

    ``tract`` > 1 shifts every frequency (formants and pitch) up by that
    factor, < 1 down.
    """

    speaker: str
    variant: str
    pitch: int
    pitch_range: int
    rate: int
    tract: float


def make_speakers(num_speakers: int, seed: int = 0, variants: Sequence[str] = DEFAULT_VARIANTS) -> List[SpeakerProfile]:
    """``num_speakers`` distinct profiles, reproducible from ``seed``.

    Variants are dealt round-robin (so several speakers share a variant and
    differ by pitch, range, rate and tract length); pitches are spread evenly
    over 10..90 within each variant's speakers, with jitter.
    """
    if num_speakers < 1:
        raise ValueError(f"num_speakers must be >= 1, got {num_speakers}")
    if not variants:
        raise ValueError("variants must not be empty")
    rng = np.random.default_rng(seed)
    order = [variants[i] for i in rng.permutation(len(variants))]
    per_variant = int(np.ceil(num_speakers / len(order)))
    pitch_slots = np.linspace(10, 90, per_variant) if per_variant > 1 else np.array([50.0])
    slot_order = [rng.permutation(per_variant) for _ in order]
    profiles = []
    for i in range(num_speakers):
        v, slot = i % len(order), i // len(order)
        pitch = pitch_slots[slot_order[v][slot]] + rng.uniform(-3, 3)
        profiles.append(SpeakerProfile(
            speaker=f"{1001 + i}",
            variant=order[v],
            pitch=int(np.clip(round(pitch), 0, 99)),
            pitch_range=int(rng.integers(20, 90)),
            rate=int(rng.integers(130, 220)),
            tract=float(np.round(rng.uniform(0.97, 1.03), 3)),
        ))
    return profiles


def _strip_stress(phone: str) -> str:
    phone = phone.strip()
    stripped = "".join(ch for ch in phone if ch not in _STRESS_MARKS)
    return stripped or SILENCE


def phone_frames(phones: List[Tuple[float, str]], num_samples: int, sample_rate: int) -> List[str]:
    """The phone at the centre of every CPC frame of a ``num_samples`` waveform.

    ``phones``: (start seconds, phone) in time order. Frames before the first
    phone are ``sil``; each phone lasts until the next one starts; ``_``
    (espeak's pause) is ``sil``.
    """
    starts = np.array([t for t, _ in phones], dtype=np.float64)
    names = [_strip_stress(p) for _, p in phones]
    names = [SILENCE if n == "_" else n for n in names]
    centers = np.asarray(frame_centers(conv_frames(num_samples))) / sample_rate
    which = np.searchsorted(starts, centers, side="right") - 1
    return [SILENCE if w < 0 else names[w] for w in which]


def _channel(wave: np.ndarray, tilt: float) -> np.ndarray:
    """A recording channel: the first-order filter y[n] = x[n] - tilt * x[n-1] (tilt > 0 brightens, < 0 dulls)."""
    out = wave.copy()
    out[1:] -= tilt * wave[:-1]
    return out


def _render(utt: Utterance, text: str, voice: Voice, tract: float, tilt: float, sample_rate: int, level_db: float, snr_db: float, rng):
    """Scale the spectrum of synthesised speech by ``tract``, resample, apply the channel, set the level, add a noise floor."""
    import soxr

    if len(utt.samples) == 0:
        raise RuntimeError(f"espeak-ng produced no audio for {text!r} with voice {voice.name}")
    # Playing the samples at rate * tract scales every frequency by tract.
    source_rate = utt.sample_rate * tract
    wave = soxr.resample(utt.samples.astype(np.float64), source_rate, sample_rate).astype(np.float32)
    wave = _channel(wave, tilt)
    rms = float(np.sqrt(np.mean(wave**2))) + 1e-9
    wave *= 10 ** (level_db / 20) / rms
    noise_rms = 10 ** ((level_db - snr_db) / 20)
    wave += rng.normal(0, noise_rms, len(wave)).astype(np.float32)
    peak = float(np.abs(wave).max())
    if peak > 0.99:
        wave *= 0.99 / peak
    phones = [(t / tract, p) for t, p in utt.phones]
    return wave, phones


@dataclass
class CorpusInfo:
    """What :func:`synthesize_corpus` wrote."""

    root: Path
    speakers: List[SpeakerProfile]
    num_utterances: int
    seconds: float
    has_phone_labels: bool
    engine: str


def synthesize_corpus(
    out_dir,
    num_speakers: int = 24,
    utterances_per_speaker: int = 20,
    seed: int = 0,
    sample_rate: int = 16000,
    variants: Sequence[str] = DEFAULT_VARIANTS,
    phone_labels: bool = True,
    engine: Optional[str] = None,
    verbose: bool = True,
) -> CorpusInfo:
    """Write a synthetic multi-speaker corpus in LibriSpeech layout (see the module docstring).

    Args:
        out_dir: folder to create (may exist but must not already hold a corpus).
        num_speakers, utterances_per_speaker: corpus size.
        seed: seeds speakers, sentences, levels and noise.
        sample_rate: of the written FLAC files.
        variants: espeak-ng voice variants to deal out to speakers.
        phone_labels: write ``phone_labels.txt`` / ``phones.txt`` (needs an
            engine with phone timing).
        engine: ``None`` (library, else program) or ``"program"``.
    """
    import soundfile as sf

    if utterances_per_speaker < 1:
        raise ValueError(f"utterances_per_speaker must be >= 1, got {utterances_per_speaker}")
    out = Path(out_dir)
    if (out / "metadata.csv").exists():
        raise ValueError(f"{out} already holds a corpus (metadata.csv); choose a new folder")
    tts = get_engine(engine)
    profiles = make_speakers(num_speakers, seed, variants)
    sentences = make_sentences(num_speakers * utterances_per_speaker, seed=seed + 1)
    rng = np.random.default_rng(seed + 2)
    plan = []  # (profile, utterance number, text, voice, tilt, level dB, SNR dB)
    for s, prof in enumerate(profiles):
        for u in range(utterances_per_speaker):
            voice = Voice(prof.variant, int(prof.rate + rng.integers(-8, 9)), int(np.clip(prof.pitch + rng.integers(-2, 3), 0, 99)), prof.pitch_range)
            plan.append((prof, u, sentences[s * utterances_per_speaker + u], voice,
                         rng.uniform(-0.4, 0.4), rng.uniform(-26, -20), rng.uniform(30, 40)))
    if verbose:
        print(f"synthesising {len(plan)} utterances with {tts.name} ...", flush=True)
    spoken = synthesize_many([(text, voice) for _, _, text, voice, *_ in plan], engine)
    out.mkdir(parents=True, exist_ok=True)
    rows, labels, total = [], {}, 0.0
    for (prof, u, text, voice, tilt, level, snr), utt in tqdm(list(zip(plan, spoken)), desc="writing", unit="utt",
                                                            disable=None if verbose else True):
        wave, phones = _render(utt, text, voice, prof.tract, tilt, sample_rate, level, snr, rng)
        utt_id = f"{prof.speaker}-1-{u:04d}"
        rel = Path(prof.speaker) / "1" / f"{utt_id}.flac"
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        sf.write(out / rel, wave, sample_rate, subtype="PCM_16")
        if phones and phone_labels:
            labels[utt_id] = phone_frames(phones, len(wave), sample_rate)
        seconds = len(wave) / sample_rate
        total += seconds
        rows.append({"utterance": utt_id, "speaker": prof.speaker, "path": rel.as_posix(), "seconds": round(seconds, 3),
                     "variant": prof.variant, "pitch": voice.pitch, "pitch_range": prof.pitch_range, "rate": voice.rate,
                     "tract": prof.tract, "channel_tilt": round(float(tilt), 3), "text": text})
    _write_metadata(out / "metadata.csv", rows)
    if labels:
        _write_phone_labels(out, labels)
    return CorpusInfo(out, profiles, len(rows), total, bool(labels), tts.name)


def _write_metadata(path: Path, rows: List[Dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _write_phone_labels(out: Path, labels: Dict[str, List[str]]) -> None:
    inventory = [SILENCE] + sorted({p for seq in labels.values() for p in seq} - {SILENCE})
    index = {p: i for i, p in enumerate(inventory)}
    with open(out / "phones.txt", "w", encoding="utf-8") as f:
        f.writelines(f"{i} {p}\n" for i, p in enumerate(inventory))
    with open(out / "phone_labels.txt", "w", encoding="utf-8") as f:
        for utt, seq in labels.items():
            f.write(utt + " " + " ".join(str(index[p]) for p in seq) + "\n")


def speaker_table(profiles: Sequence[SpeakerProfile]) -> List[Dict]:
    """The profiles as plain dicts (for JSON)."""
    return [asdict(p) for p in profiles]


__all__ = ["CorpusInfo", "DEFAULT_VARIANTS", "SpeakerProfile", "make_speakers", "phone_frames", "speaker_table", "synthesize_corpus"]
