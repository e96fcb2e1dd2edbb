"""Bad input fails early with a clear message."""
import bz2
import gzip

import pytest

from multissl.text import LineCorpus, Word2Vec


def test_empty_corpus():
    with pytest.raises(ValueError, match="empty"):
        Word2Vec([[], []], min_count=1, verbose=False)


def test_no_word_reaches_min_count():
    with pytest.raises(ValueError, match=r"no word reaches min_count=5 \(the most frequent, 'a', occurs 2 times"):
        Word2Vec([["a", "b", "a"]], min_count=5, verbose=False)


def test_non_utf8_names_file_and_line(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_bytes(b"hello world\nfine line\nbad \xff byte\n")
    with pytest.raises(ValueError, match=r"corpus.txt, line 3: byte 0xff at column 5 is not valid UTF-8"):
        Word2Vec(corpus_file=path, min_count=1, verbose=False)
    model = Word2Vec(corpus_file=path, min_count=1, errors="replace", epochs=1, verbose=False)
    assert "\ufffd" in model.wv


def test_compressed_corpus_files(tmp_path):
    text = b"a b c\nb c d\n"
    (tmp_path / "c.gz").write_bytes(gzip.compress(text))
    (tmp_path / "c.bz2").write_bytes(bz2.compress(text))
    for name in ("c.gz", "c.bz2"):
        assert list(LineCorpus(tmp_path / name)) == [["a", "b", "c"], ["b", "c", "d"]]


@pytest.mark.parametrize("param, value", [("vector_size", 0), ("vector_size", -3), ("window", 0), ("epochs", 0),
                                          ("workers", 0)])
def test_bad_hyperparameters(param, value):
    with pytest.raises(ValueError, match=f"{param} must be a positive integer, got {value}"):
        Word2Vec(**{param: value})
    with pytest.raises(ValueError, match="min_count must be a non-negative integer, got -1"):
        Word2Vec(min_count=-1)
    assert Word2Vec(min_count=0).min_count == 0  # gensim's "keep every word"


def test_other_bad_parameters(tmp_path):
    with pytest.raises(ValueError, match="hierarchical softmax"):
        Word2Vec(negative=0, hs=0)
    with pytest.raises(ValueError, match="backend"):
        Word2Vec(backend="jax")
    with pytest.raises(TypeError, match="unknown Word2Vec parameter"):
        Word2Vec(size=100)
    with pytest.raises(ValueError, match="exactly one"):
        Word2Vec(min_count=1).build_vocab()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        Word2Vec(corpus_file=tmp_path / "nope.txt")
    with pytest.raises(ValueError, match="build_vocab"):
        Word2Vec().train([["a"]])


def test_sentences_must_be_token_lists():
    # a plain string is a sequence of one-character words, as in gensim, which warns about it
    with pytest.warns(UserWarning, match=r"should be a list of words.*Sentence 1 \('c d e'\)"):
        model = Word2Vec([["a", "b"], "c d e"], min_count=1, verbose=False)
    assert sorted(model.wv.index_to_key) == [" ", "a", "b", "c", "d", "e"]
    with pytest.raises(TypeError, match="sentence 0, token 1 is a int"):  # gensim's error type, and a ValueError
        Word2Vec([["a", 3]], min_count=1, verbose=False)
    with pytest.raises(ValueError, match="sentence 0, token 1 is a int"):
        Word2Vec([["a", 3]], min_count=1, verbose=False)
    with pytest.raises(TypeError, match="one-shot iterator"):
        Word2Vec((s for s in [["a", "b"]]), min_count=1, verbose=False)
    with pytest.raises(TypeError, match="sentence 0 is a NoneType"):
        Word2Vec([None, ["a"]], min_count=1, verbose=False)


def test_bad_model_file(tmp_path):
    path = tmp_path / "m.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a multissl Word2Vec model file"):
        Word2Vec.load(path)


def test_a_corpus_of_one_word_sentences_is_refused_before_vectors_are_written(tmp_path, capsys):
    from multissl.cli import main

    corpus = tmp_path / "one.txt"
    corpus.write_text("hello\n" * 20)
    assert main(["text", "train", str(corpus), "-o", str(tmp_path / "run"), "--min-count", "1", "--epochs", "1",
                 "--no-verbose"]) == 2
    err = capsys.readouterr().err
    assert "gave no training pairs in 1 epoch(s): no sentence holds two words of the 1-word vocabulary" in err
    assert not (tmp_path / "run" / "vectors.bin").exists()
