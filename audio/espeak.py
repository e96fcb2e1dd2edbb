"""Speech synthesis with espeak-ng, for the synthetic multi-speaker corpus.

Two back-ends, tried in this order:

1. the ``espeakng-loader`` wheel (a dependency of multissl): it ships
   ``libespeak-ng`` and its voice data; the library is driven through ctypes
   in synchronous mode, and phoneme events give each phone's start time;
2. the ``espeak-ng`` program (Debian/Ubuntu: ``apt-get install espeak-ng``):
   audio only, without phone timing.

:func:`get_engine` returns the first that works, or raises
:class:`SpeechEngineNotFound` saying how to install one.
"""
from __future__ import annotations

import ctypes
import io
import json
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

INSTALL_HINT = (
    "no espeak-ng speech engine found: install the Python wheel with `pip install espeakng-loader` "
    "(it ships libespeak-ng and its voice data), or the program with `apt-get install espeak-ng`"
)

# speak_lib.h constants
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS = 0x0001
_INIT_DONT_EXIT = 0x8000
_EVENT_LIST_TERMINATED = 0
_EVENT_PHONEME = 7
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PARAM_RATE, _PARAM_PITCH, _PARAM_RANGE = 1, 3, 4


class SpeechEngineNotFound(RuntimeError):
    """Neither the espeakng-loader wheel nor the espeak-ng program is usable."""


@dataclass
class Utterance:
    """Synthesised speech: ``samples`` (N,) float32 in [-1, 1] at ``sample_rate``,
    and ``phones``: (start time in seconds, phone) pairs in order, empty when
    the engine gives no timing."""

    samples: np.ndarray
    sample_rate: int
    phones: List[Tuple[float, str]] = field(default_factory=list)


@dataclass
class Voice:
    """espeak-ng voice settings: ``variant`` like ``"m3"`` (used as ``en+m3``),
    ``rate`` in words per minute (80..450), ``pitch`` and ``pitch_range`` in 0..99."""

    variant: str = "m1"
    rate: int = 175
    pitch: int = 50
    pitch_range: int = 50
    language: str = "en"

    @property
    def name(self) -> str:
        return f"{self.language}+{self.variant}" if self.variant else self.language


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


class LibraryEngine:
    """libespeak-ng from the ``espeakng-loader`` wheel, through ctypes.

    The library keeps global state, so there is one instance per process
    (:func:`get_engine`) and calls are serialised with a lock.
    """

    name = "espeakng-loader"
    has_phone_timing = True

    def __init__(self):
        import espeakng_loader

        self._lib = ctypes.CDLL(espeakng_loader.get_library_path())
        data = espeakng_loader.get_data_path().encode()
        rate = self._lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, _INIT_PHONEME_EVENTS | _INIT_DONT_EXIT)
        if rate <= 0:
            raise SpeechEngineNotFound(f"espeak_Initialize failed ({rate}) with data {data.decode()}")
        self.sample_rate = int(rate)
        self._chunks: List[np.ndarray] = []
        self._events: List[Tuple[int, str]] = []
        self._callback = _CALLBACK(self._collect)  # keep a reference: ctypes must not free it
        self._lib.espeak_SetSynthCallback(self._callback)
        self._lock = threading.Lock()
        self._set_seed = getattr(self._lib, "espeak_ng_SetRandSeed", None)

    def _collect(self, wav, num_samples, events) -> int:
        if num_samples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, (num_samples,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            if events[i].type == _EVENT_PHONEME:
                self._events.append((events[i].audio_position, events[i].id.string.decode("utf-8", "replace")))
            i += 1
        return 0

    def synthesize(self, text: str, voice: Voice, seed: int = 0) -> Utterance:
        """Speak ``text`` with ``voice``; ``seed`` seeds espeak-ng's random numbers.

        libespeak-ng also keeps state between calls (e.g. the phase of its
        voice source), so the samples depend a little on what was spoken
        before in this process; :func:`synthesize_many` runs a list of jobs in
        a fresh process so that the result depends only on the list.
        """
        with self._lock:
            if self._set_seed is not None:
                self._set_seed(ctypes.c_long(int(seed)))
            if self._lib.espeak_SetVoiceByName(voice.name.encode()) != 0:
                raise ValueError(f"espeak-ng has no voice {voice.name!r}")
            for param, value in ((_PARAM_RATE, voice.rate), (_PARAM_PITCH, voice.pitch), (_PARAM_RANGE, voice.pitch_range)):
                self._lib.espeak_SetParameter(param, int(value), 0)
            self._chunks, self._events = [], []
            data = text.encode("utf-8") + b"\0"
            err = self._lib.espeak_Synth(ctypes.c_char_p(data), len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            if err != 0:
                raise RuntimeError(f"espeak_Synth failed with error {err} on {text!r}")
            samples = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
            phones = [(ms / 1000.0, p) for ms, p in self._events]
        return Utterance(samples.astype(np.float32) / 32768.0, self.sample_rate, phones)


class ProgramEngine:
    """The ``espeak-ng`` command-line program (audio only, no phone timing)."""

    name = "espeak-ng program"
    has_phone_timing = False

    def __init__(self, program: str):
        self.program = program

    def synthesize(self, text: str, voice: Voice, seed: int = 0) -> Utterance:
        import soundfile as sf

        cmd = [self.program, "-v", voice.name, "-s", str(voice.rate), "-p", str(voice.pitch), "--stdout", text]
        out = subprocess.run(cmd, capture_output=True, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[:-1])} failed: {out.stderr.decode(errors='replace').strip()}")
        samples, rate = sf.read(io.BytesIO(out.stdout), dtype="float32")
        return Utterance(samples, int(rate), [])


_ENGINE = None


def synthesize_many(jobs: List[Tuple[str, Voice]], prefer: Optional[str] = None) -> List[Utterance]:
    """Speak every (text, voice) job, reproducibly.

    With the library engine the jobs run in a fresh Python process (this
    file run as a script, which imports no torch), so the output depends
    only on ``jobs``; the program engine starts a fresh process per job anyway.
    """
    engine = get_engine(prefer)
    if not isinstance(engine, LibraryEngine):
        return [engine.synthesize(text, voice) for text, voice in jobs]
    with tempfile.TemporaryDirectory(prefix="multissl-espeak-") as tmp:
        job_file, out_file = Path(tmp) / "jobs.json", Path(tmp) / "out.npz"
        job_file.write_text(json.dumps([[text, asdict(voice)] for text, voice in jobs]), encoding="utf-8")
        done = subprocess.run([sys.executable, str(Path(__file__).resolve()), str(job_file), str(out_file)],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"the espeak-ng worker process failed: {done.stderr.strip()[-2000:]}")
        return _load_results(out_file, len(jobs))


def _load_results(path: Path, count: int) -> List[Utterance]:
    with np.load(path, allow_pickle=False) as data:
        phones = json.loads(str(data["phones"]))
        rate = int(data["rate"])
        return [Utterance(data[f"a{i}"].astype(np.float32) / 32768.0, rate, [tuple(p) for p in phones[i]]) for i in range(count)]


def _worker(job_file: str, out_file: str) -> None:
    """Script entry: synthesise the jobs in ``job_file`` into ``out_file`` (int16 arrays + phone JSON)."""
    jobs = json.loads(Path(job_file).read_text(encoding="utf-8"))
    engine = LibraryEngine()
    arrays, phones = {}, []
    for i, (text, voice) in enumerate(jobs):
        utt = engine.synthesize(text, Voice(**voice), seed=i)
        arrays[f"a{i}"] = np.round(utt.samples * 32768.0).astype(np.int16)
        phones.append(utt.phones)
    np.savez(out_file, rate=np.array(engine.sample_rate), phones=np.array(json.dumps(phones)), **arrays)


def get_engine(prefer: Optional[str] = None):
    """The process-wide speech engine: the wheel's library, else the program.

    ``prefer="program"`` skips the library. Raises
    :class:`SpeechEngineNotFound` (with install instructions) if neither works.
    """
    global _ENGINE
    if prefer not in (None, "library", "program"):
        raise ValueError(f"prefer must be None, 'library' or 'program', got {prefer!r}")
    if prefer != "program":
        if _ENGINE is None:
            try:
                _ENGINE = LibraryEngine()
            except (ImportError, OSError, SpeechEngineNotFound):
                _ENGINE = None
        if _ENGINE is not None:
            return _ENGINE
    program = shutil.which("espeak-ng")
    if program:
        return ProgramEngine(program)
    raise SpeechEngineNotFound(INSTALL_HINT)


__all__ = ["INSTALL_HINT", "LibraryEngine", "ProgramEngine", "SpeechEngineNotFound", "Utterance", "Voice", "get_engine",
           "synthesize_many"]


if __name__ == "__main__":
    _worker(sys.argv[1], sys.argv[2])
