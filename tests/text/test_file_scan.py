"""The compiled scan of a corpus file reads exactly what LineCorpus reads: tokens, sentences, chunks, errors."""
import sys

import numpy as np
import pytest

from multissl.text import LineCorpus, Word2Vec
from multissl.text.file_scan import scan_file
from multissl.text.vocab import count_words, encode_chunks

# every character str.split() splits on, but line ends (a lone CR is tested apart)
UNICODE_SPACES = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace() and chr(c) not in "\n\r")


def _line_corpus_view(path, chunk_words=7, **kw):
    """(counts, chunks) as the Python reader gives them."""
    raw = count_words(LineCorpus(path, **kw))
    index = {w: i for i, w in enumerate(raw.words)}
    return raw, [ids.tolist() for ids, _ in encode_chunks(LineCorpus(path, **kw), index, chunk_words)]


def _scan_view(path, chunk_words=7, block_bytes=1 << 20, **kw):
    scan = scan_file(path, chunk_words=chunk_words, block_bytes=block_bytes, **kw)
    assert scan is not None
    encoded = scan.encoded({w: i for i, w in enumerate(scan.counts.words)})
    chunks = [ids.tolist() for ids, _ in encoded.chunks()]
    scan.close()
    return scan.counts, chunks


def _same(path, **kw):
    raw, chunks = _line_corpus_view(path, **kw)
    for block_bytes in (1 << 20, 16, 5):  # whole file, and blocks that cut long lines between tokens
        counts, scanned = _scan_view(path, block_bytes=block_bytes, **kw)
        assert counts.words == raw.words and counts.counts.tolist() == raw.counts.tolist()
        assert (counts.total_words, counts.num_sentences) == (raw.total_words, raw.num_sentences)
        assert scanned == chunks


def test_every_unicode_white_space_splits_tokens_as_str_split(tmp_path):
    path = tmp_path / "spaces.txt"
    text = "".join(f"w{i}{space}" for i, space in enumerate(UNICODE_SPACES)) + "end\n"
    text += "naïve café\u00a0x\u3000y\r\n\n  \t \nlast line without end"
    path.write_text(text, encoding="utf-8")
    _same(path)


def test_bom_long_lines_and_chunks(tmp_path):
    path = tmp_path / "long.txt"
    rng = np.random.default_rng(0)
    lines = [" ".join(f"t{j}" for j in rng.integers(0, 30, n)) for n in (3, 0, 25, 1, 12, 40, 2)]
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode())
    _same(path, max_sentence_length=10)


def test_lone_carriage_returns_are_left_to_the_line_reader(tmp_path):
    path = tmp_path / "mac.txt"
    path.write_bytes(b"a b\rc d\re\r")
    assert scan_file(path) is None
    model = Word2Vec(corpus_file=path, min_count=1, epochs=1, workers=1, verbose=False)
    assert model.corpus_count == 3  # the line reader's sentences


def test_bad_utf8_names_line_and_column_as_the_line_reader(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"ok line\nanother one\nbad \xff here\n")
    with pytest.raises(ValueError) as theirs:
        list(LineCorpus(path))
    for block_bytes in (1 << 20, 9):
        with pytest.raises(ValueError) as ours:
            scan_file(path, block_bytes=block_bytes)
        assert str(ours.value) == str(theirs.value)
    assert "line 3: byte 0xff at column 5" in str(theirs.value)
    _same(path, errors="replace")
    _same(path, errors="ignore")


def test_scan_with_a_vocabulary_drops_other_words(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("a b c\nd a\n\nb b x\n")
    scan = scan_file(path, chunk_words=3, vocabulary=["b", "a"])
    chunks = [ids.tolist() for ids, _ in scan.ids.chunks()]
    scan.close()
    expected = [ids.tolist() for ids, _ in encode_chunks(LineCorpus(path), {"b": 0, "a": 1}, 3)]
    assert chunks == expected == [[1, 0, -1], [1, -1], [0, 0, -1]]
    assert scan.counts.words == ["b", "a"] and scan.counts.counts.tolist() == [3, 2]


def test_pruning_while_scanning_equals_the_python_count(tmp_path):
    rng = np.random.default_rng(2)
    path = tmp_path / "z.txt"
    path.write_text("\n".join(" ".join(f"z{j}" for j in rng.zipf(1.3, 8) % 500) for _ in range(400)) + "\n")
    scan = scan_file(path, max_vocab_size=40)
    raw = count_words(LineCorpus(path), max_vocab_size=40)
    assert scan.counts.words == raw.words and scan.counts.counts.tolist() == raw.counts.tolist()
    assert scan.counts.prunings == raw.prunings > 0 and scan.ids is None  # ids no longer name one word each


def test_training_on_the_scanned_file_equals_training_on_its_sentences(tmp_path, topic_corpus):
    path = tmp_path / "t.txt"
    path.write_text("\n".join(" ".join(s) for s in topic_corpus) + "\n")
    kw = dict(vector_size=8, min_count=1, epochs=2, workers=1, seed=5, verbose=False, chunk_words=50)
    from_file = Word2Vec(corpus_file=path, **kw)
    from_lists = Word2Vec(topic_corpus, **kw)
    np.testing.assert_array_equal(from_file.wv.vectors, from_lists.wv.vectors)
    later = Word2Vec(**kw)  # no scan kept: the file is encoded with the vocabulary when training
    later.build_vocab(topic_corpus)
    later.train(corpus_file=path)
    np.testing.assert_array_equal(later.wv.vectors, from_lists.wv.vectors)
