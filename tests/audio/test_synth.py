import hashlib

import numpy as np
import pytest
import soundfile as sf

from multissl.audio import espeak
from multissl.audio.folder import AudioFolder
from multissl.audio.framing import conv_frames
from multissl.audio.sentences import make_sentences
from multissl.audio.synth import make_speakers, phone_frames, synthesize_corpus


def test_sentences_are_varied_and_reproducible():
    a = make_sentences(200, seed=3)
    assert a == make_sentences(200, seed=3)
    assert a != make_sentences(200, seed=4)
    assert len(set(a)) == 200
    assert all(len(s.split()) >= 6 and s[0].isupper() and s[-1] in ".?" for s in a)


def test_speakers_differ_and_are_reproducible():
    speakers = make_speakers(24, seed=1)
    assert speakers == make_speakers(24, seed=1)
    settings = {(p.variant, p.pitch, p.pitch_range, p.rate, p.tract) for p in speakers}
    assert len(settings) == 24
    assert len({p.speaker for p in speakers}) == 24


def test_corpus_layout_metadata_and_phone_labels(tiny_corpus):
    folder = AudioFolder(tiny_corpus)
    assert folder.num_speakers == 4 and len(folder) == 16
    assert (tiny_corpus / "metadata.csv").read_text().count("\n") == 17
    names = (tiny_corpus / "phones.txt").read_text().split("\n")[0]
    assert names == "0 sil"
    for i, utt in enumerate(folder.utterances):
        labels = folder.phone_labels[utt]
        assert len(labels) == conv_frames(len(folder.wave(i)))  # one label per CPC frame
        assert len(np.unique(labels)) >= 8  # real phone sequences, not a constant
    ids = folder.utterances[0].split("-")
    assert ids[0] == folder.items[0].speaker  # LibriSpeech naming speaker-chapter-utt


def test_same_seed_writes_the_same_audio(tmp_path, tiny_corpus):
    again = synthesize_corpus(tmp_path / "again", num_speakers=4, utterances_per_speaker=4, seed=0, verbose=False)
    for path in sorted(tiny_corpus.rglob("*.flac"))[:4]:
        rel = path.relative_to(tiny_corpus)
        assert hashlib.sha1(path.read_bytes()).digest() == hashlib.sha1((again.root / rel).read_bytes()).digest()
    other = synthesize_corpus(tmp_path / "other", num_speakers=1, utterances_per_speaker=1, seed=1, verbose=False)
    a, _ = sf.read(next(other.root.rglob("*.flac")))
    b, _ = sf.read(sorted(tiny_corpus.rglob("*.flac"))[0])
    assert len(a) != len(b) or not np.allclose(a, b)


def test_refuses_to_overwrite_a_corpus(tiny_corpus):
    with pytest.raises(ValueError, match="already holds a corpus"):
        synthesize_corpus(tiny_corpus, 1, 1, verbose=False)


def test_phone_frames_follow_event_times():
    phones = [(0.1, "h"), (0.2, "'@"), (0.3, "_")]
    labels = phone_frames(phones, 16000 * 4 // 10, 16000)  # 0.4 s
    centers = [(i * 160 + 232) / 16000 for i in range(len(labels))]
    for c, lab in zip(centers, labels):
        expected = "sil" if c < 0.1 or c >= 0.3 else ("h" if c < 0.2 else "@")
        assert lab == expected


def test_missing_engine_says_how_to_install(monkeypatch):
    def broken():
        raise OSError("no library")

    monkeypatch.setattr(espeak, "_ENGINE", None)
    monkeypatch.setattr(espeak, "LibraryEngine", broken)
    monkeypatch.setattr(espeak.shutil, "which", lambda name: None)
    with pytest.raises(espeak.SpeechEngineNotFound, match="pip install espeakng-loader"):
        espeak.get_engine()


def test_unknown_voice_is_an_error():
    engine = espeak.get_engine()
    with pytest.raises(ValueError, match="no voice"):
        engine.synthesize("hello", espeak.Voice(variant="no_such_variant_xyz", language="qq"))
