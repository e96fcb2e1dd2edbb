"""Audio folders as users have them: hidden files, deep layouts, metadata tables, odd formats and arrays."""
import csv
import warnings

import numpy as np
import pytest
import soundfile as sf
import torch

from multissl.audio.cpc import CPC, CPCConfig
from multissl.audio.embed import embed
from multissl.audio.folder import AudioFolder, speakers_from_layout
from multissl.audio.io import AudioReadError, read_audio


def folder_quietly(root, **kwargs):
    """The folder and the messages of every warning it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        folder = AudioFolder(root, **kwargs)
    return folder, [str(w.message) for w in caught]


def test_hidden_files_and_folders_are_never_read(tmp_path, audio_file):
    for speaker in ("a", "b"):
        audio_file(tmp_path / speaker / "u1.wav", 200, 0.2, 16000)
        (tmp_path / speaker / "._u1.wav").write_bytes(b"\x00\x05\x16\x07" + bytes(80))  # macOS resource fork
        (tmp_path / speaker / ".DS_Store").write_bytes(b"Bud1")
    audio_file(tmp_path / ".ipynb_checkpoints" / "u1-checkpoint.wav", 300, 0.2, 16000)
    audio_file(tmp_path / "__MACOSX" / "a" / "u1.wav", 300, 0.2, 16000)
    folder, messages = folder_quietly(tmp_path)
    assert folder.speakers == ["a", "b"] and len(folder) == 2
    assert messages == []


def test_zero_byte_file_error_says_it_is_empty(tmp_path):
    (tmp_path / "z.wav").write_bytes(b"")
    with pytest.raises(AudioReadError, match=r"z\.wav: the file is empty \(0 bytes\)"):
        read_audio(tmp_path / "z.wav")


def test_deep_layout_takes_the_first_folder_that_differs(tmp_path, audio_file):
    for speaker in ("spk1", "spk2"):
        audio_file(tmp_path / "corpus" / "train" / speaker / "session1" / "u.wav", 200, 0.2, 16000)
    folder, _ = folder_quietly(tmp_path)
    assert folder.speakers == ["spk1", "spk2"]
    rels = [p.relative_to(tmp_path) for p in sorted(tmp_path.rglob("*.wav"))]
    assert speakers_from_layout(rels) == ["spk1", "spk2"]


def test_one_librispeech_speaker_in_two_chapters_stays_one_speaker(tmp_path):
    rels = [tmp_path.joinpath("19", "198", "19-198-0001.flac"), tmp_path.joinpath("19", "227", "19-227-0001.flac")]
    assert speakers_from_layout([r.relative_to(tmp_path) for r in rels]) == ["19", "19"]


def test_one_folder_name_in_several_places_is_warned_about(tmp_path):
    rels = [tmp_path.joinpath(s, f"session{n}", "u.wav").relative_to(tmp_path) for s in ("a", "b") for n in (1, 2)]
    with pytest.warns(UserWarning, match="'session1': a/session1, b/session1"):
        assert speakers_from_layout(rels) == ["session1", "session2", "session1", "session2"]


def write_metadata(path, rows, sep=","):
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, delimiter=sep).writerows(rows)


@pytest.mark.parametrize("name,sep", [("metadata.csv", ","), ("metadata.tsv", "\t")])
def test_metadata_table_gives_speakers(tmp_path, audio_file, name, sep):
    for i, speaker in enumerate(["ann", "bob", "ann", "cy"]):
        audio_file(tmp_path / "wavs" / f"{i}.wav", 200 + 30 * i, 0.2, 16000)
    rows = [["utterance_text", "Speaker ID", "file"], ["hi", "ann", "wavs/0.wav"], ["yo", "bob", "1.wav"], ["x, y", "ann", "2"]]
    write_metadata(tmp_path / name, rows, sep)
    with pytest.warns(UserWarning, match=f"{name} does not match 1 of 4 files.*wavs/3.wav"):
        folder = AudioFolder(tmp_path)
    assert [it.speaker for it in folder.items] == ["ann", "bob", "ann"]


def test_metadata_without_speaker_column_falls_back_to_the_layout(tmp_path, audio_file):
    audio_file(tmp_path / "wavs" / "LJ001.wav", 200, 0.2, 16000)
    (tmp_path / "metadata.csv").write_text("LJ001|Printing, in the only sense|Printing\n", encoding="utf-8")
    with pytest.warns(UserWarning, match="no file column .* and speaker column"):
        folder = AudioFolder(tmp_path)
    assert folder.speakers == ["wavs"]


def test_template_matches_upper_case_extension(tmp_path, audio_file):
    audio_file(tmp_path / "0_ann_1.WAV", 200, 0.2, 8000)
    audio_file(tmp_path / "1_bob_2.wav", 300, 0.2, 8000)
    folder, messages = folder_quietly(tmp_path, speaker_pattern="{digit}_{speaker}_{index}.wav")
    assert folder.speakers == ["ann", "bob"] and messages == []


@pytest.mark.parametrize("fmt,subtype,ext", [("WAV", "PCM_U8", "wav"), ("WAV", "PCM_24", "wav"), ("OGG", "VORBIS", "ogg"),
                                              ("FLAC", "PCM_16", "flac"), ("MP3", "MPEG_LAYER_III", "mp3")])
def test_common_formats_read_at_16k_mono(tmp_path, audio_file, fmt, subtype, ext):
    path = tmp_path / f"a.{ext}"
    try:
        sf.write(path, audio_file.sine(440.0, 1.0, 44100, channels=2), 44100, format=fmt, subtype=subtype)
    except (sf.LibsndfileError, TypeError, ValueError):
        pytest.skip(f"this libsndfile cannot write {fmt}/{subtype}")
    wave = read_audio(path, 16000)
    assert wave.dtype == np.float32 and wave.ndim == 1 and abs(len(wave) - 16000) <= 1200  # MP3 adds encoder padding
    assert 0.2 < np.abs(wave).max() < 0.4


@pytest.fixture(scope="module")
def tiny_cpc():
    torch.manual_seed(0)
    return CPC(CPCConfig(encoder_channels=8, context_dim=8, window=2048, prediction_steps=2, num_negatives=4)).eval()


def test_embed_scales_integer_pcm_like_soundfile(tiny_cpc):
    pcm = (np.random.default_rng(0).uniform(-0.5, 0.5, 3200) * 32768).astype(np.int16)
    as_float = embed(tiny_cpc, pcm.astype(np.float32) / 32768).frames
    torch.testing.assert_close(embed(tiny_cpc, pcm).frames, as_float)
    torch.testing.assert_close(embed(tiny_cpc, torch.from_numpy(pcm)).frames, as_float)


@pytest.mark.parametrize("bad,match", [(np.array([0.1, np.nan] * 500), "non-finite"),
                                       (np.arange(1000), "no PCM sample format"),
                                       (np.zeros((1000, 2)), "average the channels")])
def test_embed_rejects_waveforms_it_would_misread(tiny_cpc, bad, match):
    with pytest.raises(ValueError, match=match):
        embed(tiny_cpc, bad)


def test_linked_speaker_folders_are_followed_once_and_broken_links_warned(tmp_path, audio_file):
    for speaker in ("a", "b"):
        audio_file(tmp_path / "store" / speaker / "u.wav", 200, 0.2, 16000)
    root = tmp_path / "data"
    root.mkdir()
    try:
        for speaker in ("a", "b"):
            (root / speaker).symlink_to(tmp_path / "store" / speaker, target_is_directory=True)
        (root / "a" / "loop").symlink_to(root, target_is_directory=True)
        (root / "gone.wav").symlink_to(tmp_path / "missing.wav")
    except OSError:
        pytest.skip("no symbolic links here")
    with pytest.warns(UserWarning, match="1 audio file links .* point to missing files .*gone.wav"):
        folder = AudioFolder(root)
    assert folder.speakers == ["a", "b"] and len(folder) == 2
