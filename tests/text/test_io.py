"""word2vec file formats against gensim itself, both directions."""
import gzip

import numpy as np
import pytest
from gensim.models import KeyedVectors as GensimKV

from multissl.text import KeyedVectors


@pytest.fixture
def kv():
    rng = np.random.default_rng(0)
    words = ["the", "cat", "sat", "naïve", "café", "x"]
    return KeyedVectors(words, rng.standard_normal((6, 7)).astype(np.float32))


@pytest.mark.parametrize("binary", [True, False])
def test_gensim_reads_our_files(kv, tmp_path, binary):
    path = kv.save_word2vec_format(tmp_path / "v.bin", binary=binary)
    theirs = GensimKV.load_word2vec_format(str(path), binary=binary)
    assert list(theirs.index_to_key) == kv.index_to_key
    assert np.array_equal(theirs.vectors, kv.vectors)  # exact: binary copies bytes, text keeps 9 digits


@pytest.mark.parametrize("binary", [True, False])
def test_we_read_gensims_files(kv, tmp_path, binary):
    g = kv.to_gensim()
    path = tmp_path / ("g.bin" if binary else "g.txt")
    g.save_word2vec_format(str(path), binary=binary)
    ours = KeyedVectors.load_word2vec_format(path, binary=binary)
    assert ours.index_to_key == kv.index_to_key
    np.testing.assert_array_equal(ours.vectors, kv.vectors)


def test_to_gensim_keeps_vectors_and_neighbours(lee_sg):
    g = lee_sg.wv.to_gensim()
    assert np.array_equal(g.vectors, lee_sg.wv.vectors)
    assert g.get_vecattr("police", "count") == lee_sg.vocab.counts[lee_sg.wv.key_to_index["police"]]
    ours = [w for w, _ in lee_sg.wv.most_similar("police", topn=10)]
    theirs = [w for w, _ in g.most_similar("police", topn=10)]
    assert ours == theirs


def test_compressed_and_limit(kv, tmp_path):
    path = kv.save_word2vec_format(tmp_path / "v.txt.gz")
    with gzip.open(path, "rt") as f:
        assert f.readline() == "6 7\n"
    assert KeyedVectors.load_word2vec_format(path, limit=3).index_to_key == ["the", "cat", "sat"]


def test_malformed_files_name_the_line(kv, tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("2 3\na 1 2 3\nb 1 2\n")
    with pytest.raises(ValueError, match=r"bad.txt, line 3: expected a word and 3 numbers, got 3 fields"):
        KeyedVectors.load_word2vec_format(path)
    path.write_text("2 3\na 1 2 3\nb 1 x 3\n")
    with pytest.raises(ValueError, match="line 3"):
        KeyedVectors.load_word2vec_format(path)
    path.write_text("two three\n")
    with pytest.raises(ValueError, match="line 1: expected a header"):
        KeyedVectors.load_word2vec_format(path)
    path.write_text("3 3\na 1 2 3\n")
    with pytest.raises(ValueError, match="announces 3 words but the file ends at line 2"):
        KeyedVectors.load_word2vec_format(path)
    binary = kv.save_word2vec_format(tmp_path / "v.bin", binary=True)
    data = binary.read_bytes()
    binary.write_bytes(data[:-20])
    with pytest.raises(ValueError, match=r"entry 6 \('x'.*truncated"):
        KeyedVectors.load_word2vec_format(binary, binary=True)
    with pytest.raises(FileNotFoundError):
        KeyedVectors.load_word2vec_format(tmp_path / "missing.bin", binary=True)
    with pytest.raises(ValueError, match="whitespace"):
        KeyedVectors(["a b"], np.zeros((1, 2))).save_word2vec_format(tmp_path / "w.txt")
