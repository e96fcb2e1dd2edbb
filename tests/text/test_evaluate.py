"""Our analogy and word-pair evaluation equals gensim's on the same vectors."""
import numpy as np
import pytest

from multissl.text import evaluate_word_analogies, evaluate_word_pairs, gensim_datapath


def test_analogies_equal_gensims(lee_sg):
    g = lee_sg.wv.to_gensim()
    path = gensim_datapath("questions-words.txt")
    ours, sections = evaluate_word_analogies(lee_sg.wv, path, restrict_vocab=3000)
    theirs, their_sections = g.evaluate_word_analogies(str(path), restrict_vocab=3000)
    assert ours == pytest.approx(theirs)
    assert len(sections[-1]["correct"]) == len(their_sections[-1]["correct"])
    assert len(sections[-1]["incorrect"]) == len(their_sections[-1]["incorrect"])
    assert [s["section"] for s in sections] == [s["section"] for s in their_sections]


@pytest.mark.parametrize("name", ["wordsim353.tsv", "simlex999.txt"])
def test_word_pairs_equal_gensims(lee_sg, name):
    g = lee_sg.wv.to_gensim()
    r = evaluate_word_pairs(lee_sg.wv, gensim_datapath(name))
    pearson, spearman, oov = g.evaluate_word_pairs(str(gensim_datapath(name)))
    assert r.pearson == pytest.approx(pearson[0], abs=1e-5)
    assert r.spearman == pytest.approx(spearman[0], abs=1e-5)
    assert r.oov_ratio * 100 == pytest.approx(oov)


def test_analogies_on_a_planted_structure(tmp_path):
    from multissl.text import KeyedVectors

    # man:woman :: king:queen holds exactly in these vectors
    words = ["man", "woman", "king", "queen", "apple", "car"]
    vecs = np.array([[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 1, 1, 0], [0, 0, 0, 1], [0.5, 0.1, 0.1, 1]], np.float32)
    kv = KeyedVectors(words, vecs)
    path = tmp_path / "q.txt"
    path.write_text(": family\nman woman king queen\nMAN WOMAN KING QUEEN\nman woman king unknownword\n")
    accuracy, sections = evaluate_word_analogies(kv, path)
    assert accuracy == 1.0 and sections[0]["oov"] == 1 and len(sections[0]["correct"]) == 2
    path.write_text("man woman king queen\n")
    with pytest.raises(ValueError, match="line 1"):
        evaluate_word_analogies(kv, path)
