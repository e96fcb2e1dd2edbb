"""Corpora and evaluation files as users have them: BOMs, CR line ends, UTF-16, huge lines, headers, CSV."""
import io
from functools import partial

import numpy as np
import pytest

from multissl.cli import main
from multissl.text import LineCorpus, Word2Vec
from multissl.text.corpus import line_pieces
from multissl.text.evaluate import evaluate_word_analogies, evaluate_word_pairs
from multissl.text.keyedvectors import KeyedVectors
from multissl.text.word2vec_format import load_word2vec_format

LINES = [["the", "king", "rules"], ["a", "queen", "rules"]]


@pytest.mark.parametrize("raw", [
    b"\xef\xbb\xbfthe king rules\na queen rules\n",  # UTF-8 byte-order mark
    b"the king rules\r\na queen rules\r\n",  # Windows
    b"the king rules\ra queen rules\r",  # old Mac: CR alone
    b"\n\nthe\tking rules  \n\n a queen\trules",  # blank lines, tabs, no final line end
])
def test_line_ends_and_byte_order_marks(tmp_path, raw):
    (tmp_path / "c.txt").write_bytes(raw)
    assert list(LineCorpus(tmp_path / "c.txt")) == LINES


def test_utf16_is_a_clear_error(tmp_path):
    (tmp_path / "c.txt").write_bytes("the king\n".encode("utf-16"))
    with pytest.raises(ValueError, match=r"c.txt is UTF-16 text"):
        list(LineCorpus(tmp_path / "c.txt", errors="replace"))


def test_a_long_line_is_read_in_pieces_without_losing_or_cutting_tokens(tmp_path):
    words = [f"w{i % 97}" for i in range(25_003)]
    (tmp_path / "one-line.txt").write_text(" ".join(words) + " ")  # no line end, a trailing space
    sentences = list(LineCorpus(tmp_path / "one-line.txt", max_sentence_length=10_000))
    assert [len(s) for s in sentences] == [10_000, 10_000, 5_003] and sum(sentences, []) == words
    f = io.BytesIO("ab cd\u00e9\u00e9\u00e9\u00e9 ef\ngh".encode())
    read = partial(f.readline, 6)
    pieces = list(line_pieces(read(), read))
    assert b"".join(p for p, _, _ in pieces).decode() == "ab cd\u00e9\u00e9\u00e9\u00e9 ef\n"
    assert [last for _, _, last in pieces] == [False] * (len(pieces) - 1) + [True]
    assert [column for _, column, _ in pieces] == [0] + list(np.cumsum([len(p) for p, _, _ in pieces]))[:-1]
    assert list(line_pieces(read(), read)) == [(b"gh", 0, True)]  # the next line, without a line end


def test_bad_byte_in_a_long_line_names_its_column(tmp_path):
    (tmp_path / "c.txt").write_bytes(b"ok\n" + b"abc " * 300_000 + b"\xff end\n")
    with pytest.raises(ValueError, match=r"c.txt, line 2: byte 0xff at column 1200001 "):
        list(LineCorpus(tmp_path / "c.txt"))


def test_empty_and_all_rare_corpus_errors_name_the_file(tmp_path):
    (tmp_path / "empty.txt").write_text("\n \n")
    with pytest.raises(ValueError, match=r"corpus .*empty.txt is empty"):
        Word2Vec(corpus_file=tmp_path / "empty.txt", verbose=False)
    (tmp_path / "rare.txt").write_text("a b c\n")
    with pytest.raises(ValueError, match=r"corpus .*rare.txt: no word reaches min_count=5"):
        Word2Vec(corpus_file=tmp_path / "rare.txt", verbose=False)


def test_train_without_a_run_folder_is_a_clear_error(tmp_path):
    from multissl.text import train

    (tmp_path / "c.txt").write_text("a b\n")
    with pytest.raises(ValueError, match="text.train writes a run folder"):
        train(tmp_path / "c.txt", None)


@pytest.fixture
def kv():
    rng = np.random.default_rng(0)
    return KeyedVectors(["king", "queen", "man", "woman", "prince"], rng.normal(size=(5, 4)).astype(np.float32))


@pytest.mark.parametrize("text", [
    "Word 1\tWord 2\tHuman (mean)\nking\tqueen\t8\nman\twoman\t6\nking\tman\t2\nking\tzzz\t1\n",  # header, OOV
    "\ufeffword1,word2,score\r\nking,queen,8\r\nman,woman,6\r\nking,man,2\r\nking,zzz,1\r\n",  # CSV, BOM, CRLF
    "# comment\nking queen 8\nman woman 6\nking man 2\nking zzz 1\n",  # space-separated
])
def test_word_pair_files_in_common_formats(tmp_path, kv, text):
    (tmp_path / "pairs").write_text(text, encoding="utf-8", newline="")
    result = evaluate_word_pairs(kv, tmp_path / "pairs")
    assert result.pairs == 3 and result.oov_ratio == 0.25 and np.isfinite(result.spearman)


def test_word_pair_errors_name_the_line(tmp_path, kv):
    (tmp_path / "p.tsv").write_text("a\tb\tscore\nking\tqueen\t8\nman\twoman\thigh\n")
    with pytest.raises(ValueError, match=r"p.tsv, line 3: score 'high' is not a number"):
        evaluate_word_pairs(kv, tmp_path / "p.tsv")
    (tmp_path / "q.tsv").write_text("king\tqueen\n")
    with pytest.raises(ValueError, match=r"q.tsv, line 1: expected 3 fields"):
        evaluate_word_pairs(kv, tmp_path / "q.tsv")
    (tmp_path / "r.tsv").write_bytes(b"king\tqueen\t8\nk\xe9ng\tman\t2\n")
    with pytest.raises(ValueError, match=r"r.tsv, line 2: byte 0xe9"):
        evaluate_word_pairs(kv, tmp_path / "r.tsv")


def test_analogy_file_with_bom_and_crlf(tmp_path, kv):
    (tmp_path / "q.txt").write_bytes(b"\xef\xbb\xbf: royal\r\nking queen man woman\r\nking queen man zzz\r\n")
    _, sections = evaluate_word_analogies(kv, tmp_path / "q.txt")
    assert sections[0]["section"] == "royal" and sections[0]["oov"] == 1
    assert len(sections[0]["correct"]) + len(sections[0]["incorrect"]) == 1


def test_vector_file_with_bom_and_glove_hint(tmp_path):
    (tmp_path / "v.txt").write_bytes(b"\xef\xbb\xbf2 2\r\nking 0.1 0.2\r\nqueen 0.2 0.1\r\n")
    words, vectors = load_word2vec_format(tmp_path / "v.txt")
    assert words == ["king", "queen"] and vectors.shape == (2, 2)
    (tmp_path / "glove.txt").write_text("\ufeffking 0.1 0.2\nqueen 0.2 0.1\n1990 0.3 0.3\n\n", encoding="utf-8")
    with pytest.raises(ValueError, match="GloVe.*no_header=True"):
        load_word2vec_format(tmp_path / "glove.txt")
    words, vectors = load_word2vec_format(tmp_path / "glove.txt", no_header=True)
    assert words == ["king", "queen", "1990"] and vectors[2].tolist() == pytest.approx([0.3, 0.3])
    assert load_word2vec_format(tmp_path / "glove.txt", no_header=True, limit=2)[0] == ["king", "queen"]
    with pytest.raises(ValueError, match="only for text"):
        load_word2vec_format(tmp_path / "glove.txt", binary=True, no_header=True)


def test_eval_reads_glove_files_without_a_header(tmp_path, kv):
    from multissl.text.word2vec_format import is_headerless_text

    lines = [f"{w} " + " ".join(f"{x:.6f}" for x in kv[w]) for w in kv.index_to_key]
    (tmp_path / "glove.6B.txt").write_text("\n".join(lines) + "\n")
    kv.save_word2vec_format(tmp_path / "w2v.txt", binary=False)
    kv.save_word2vec_format(tmp_path / "w2v.bin", binary=True)
    assert is_headerless_text(tmp_path / "glove.6B.txt")
    assert not is_headerless_text(tmp_path / "w2v.txt") and not is_headerless_text(tmp_path / "w2v.bin")
    assert main(["text", "eval", str(tmp_path / "glove.6B.txt"), "--json", str(tmp_path / "e.json")]) == 0


def test_eval_json_keeps_pair_files_of_the_same_name(tmp_path, kv):
    kv.save_word2vec_format(tmp_path / "v.bin", binary=True)
    for lang in ("en", "de"):
        (tmp_path / lang).mkdir()
        (tmp_path / lang / "ws.tsv").write_text("king\tqueen\t8\nman\twoman\t6\nking\tman\t2\n")
    (tmp_path / "q.txt").write_text(": s\nking queen man woman\n")
    args = ["text", "eval", str(tmp_path / "v.bin"), "--analogies", str(tmp_path / "q.txt"), "--json", str(tmp_path / "s.json"),
            "--pairs", str(tmp_path / "en" / "ws.tsv"), str(tmp_path / "de" / "ws.tsv")]
    assert main(args) == 0
    import json

    scores = json.loads((tmp_path / "s.json").read_text())
    assert {"ws_spearman", "ws_2_spearman"} <= scores.keys()
