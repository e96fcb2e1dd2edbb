"""KeyedVectors' gensim methods give gensim's answers on the same vectors, in gensim's forms."""
import numpy as np
import pytest
from gensim.models import KeyedVectors as GensimKV

from multissl.text import KeyedVectors, gensim_datapath


@pytest.fixture(scope="module")
def pair(lee_sg):
    """Our trained vectors and gensim's KeyedVectors holding the same ones."""
    return lee_sg.wv, lee_sg.wv.to_gensim()


def _close(ours, theirs):
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=1e-4, atol=1e-5)


def test_neighbour_queries_equal_gensims(pair):
    ours, theirs = pair
    vector = ours["police"] + ours["fire"]
    for call in (lambda kv: kv.most_similar_cosmul(positive=["police", "fire"], negative=["man"], topn=8),
                 lambda kv: kv.most_similar_cosmul("police", topn=5),
                 lambda kv: kv.most_similar(positive=[("police", 2.0), "fire"], negative=["man"], topn=8),
                 lambda kv: kv.most_similar(vector, topn=6, restrict_vocab=500),
                 lambda kv: kv.similar_by_word("police", topn=7),
                 lambda kv: kv.similar_by_vector(vector, topn=7)):
        _close(call(ours), call(theirs))
    assert ours.n_similarity(["police", "fire"], ["man", "war"]) == pytest.approx(
        theirs.n_similarity(["police", "fire"], ["man", "war"]), abs=1e-5)
    assert ours.rank("police", "fire") == theirs.rank("police", "fire")
    assert ours.doesnt_match(["police", "fire", "man", "cricket"]) == theirs.doesnt_match(["police", "fire", "man", "cricket"])
    np.testing.assert_allclose(ours.get_mean_vector(["police", "fire"]), theirs.get_mean_vector(["police", "fire"]), atol=1e-6)


def test_similarity_of_one_word_lists_is_the_word_similarity(pair):
    ours, _ = pair
    assert ours.n_similarity(["police"], ["fire"]) == ours.similarity("police", "fire")
    with pytest.raises(ZeroDivisionError):  # gensim's error type (also a ValueError)
        ours.n_similarity(["police"], [])


def test_per_word_attributes(pair):
    ours, theirs = pair
    assert ours.get_vecattr("police", "count") == theirs.get_vecattr("police", "count")
    ours.set_vecattr("police", "flag", 3)
    assert ours.get_vecattr("police", "flag") == 3 and ours.get_vecattr("fire", "flag") == 0
    assert ours.has_index_for("police") and ours.has_index_for(3) and not ours.has_index_for("zzzz")
    assert ours.get_index("zzzz", -1) == -1
    del ours.expandos["flag"]


def test_evaluations_return_gensims_forms(pair):
    ours, theirs = pair
    path = gensim_datapath("wordsim353.tsv")
    (p, p_value), (s, s_value), oov = ours.evaluate_word_pairs(path)
    (tp, tp_value), (ts, ts_value), toov = theirs.evaluate_word_pairs(str(path))
    assert (p, s, oov) == pytest.approx((tp, ts, toov), abs=1e-5) and p_value == pytest.approx(tp_value, rel=1e-3)
    dummy = ours.evaluate_word_pairs(path, dummy4unknown=True)
    their_dummy = theirs.evaluate_word_pairs(str(path), dummy4unknown=True)
    assert (dummy[1][0], dummy[2]) == pytest.approx((their_dummy[1][0], their_dummy[2]), abs=1e-5)
    questions = gensim_datapath("questions-words.txt")
    score, sections = ours.evaluate_word_analogies(questions, restrict_vocab=2000, dummy4unknown=True)
    their_score, their_sections = theirs.evaluate_word_analogies(str(questions), restrict_vocab=2000, dummy4unknown=True)
    assert score == pytest.approx(their_score)
    assert [(x["section"], len(x["correct"]), len(x["incorrect"])) for x in sections] == \
        [(x["section"], len(x["correct"]), len(x["incorrect"])) for x in their_sections]


def test_analogies_by_3cosmul_are_most_similar_cosmuls_answers(pair):
    ours, _ = pair
    _, sections = ours.evaluate_word_analogies(gensim_datapath("questions-words.txt"), restrict_vocab=3000,
                                               similarity_function="most_similar_cosmul")
    questions = sections[-1]["correct"] + sections[-1]["incorrect"]
    assert questions
    lower = {w.upper(): w for w in reversed(ours.index_to_key[:3000])}
    for a, b, c, expected in questions[:40]:
        best = ours.most_similar_cosmul(positive=[lower[b], lower[c]], negative=[lower[a]], topn=1,
                                        restrict_vocab=3000)[0][0]
        assert (best.upper() == expected) == ((a, b, c, expected) in sections[-1]["correct"])


def test_gensim_files_both_ways(pair, tmp_path):
    ours, theirs = pair
    ours.save(tmp_path / "ours.kv")
    loaded = GensimKV.load(str(tmp_path / "ours.kv"))
    np.testing.assert_array_equal(loaded.vectors, ours.vectors)
    assert loaded.get_vecattr("police", "count") == ours.get_vecattr("police", "count")
    theirs.save(str(tmp_path / "theirs.kv"))
    back = KeyedVectors.load(tmp_path / "theirs.kv", mmap="r")
    assert back.index_to_key == ours.index_to_key and np.array_equal(back.counts, ours.counts)
    vocab_file = tmp_path / "vocab.txt"
    ours.save_word2vec_format(tmp_path / "v.bin", vocab_file, binary=True)
    gensim_read = GensimKV.load_word2vec_format(str(tmp_path / "v.bin"), str(vocab_file), binary=True)
    assert gensim_read.get_vecattr("police", "count") == ours.get_vecattr("police", "count")
    ours_read = KeyedVectors.load_word2vec_format(tmp_path / "v.bin", vocab_file, binary=True, datatype=np.float16)
    assert ours_read.vectors.dtype == np.float16 and ours_read.get_vecattr("police", "count") == loaded.get_vecattr("police", "count")
