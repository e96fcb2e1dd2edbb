"""gensim's vocabulary steps: scan/prepare/weights, online updates, counts given as a table, trim rules,
max_final_vocab and max_vocab_size, each checked against gensim on the same corpus."""
import logging

import numpy as np
import pytest
from gensim.models import Word2Vec as GensimWord2Vec

from multissl.text import Word2Vec
from multissl.text.errors import NoVocabularyError
from multissl.text.vocab import RULE_DEFAULT, RULE_DISCARD, RULE_KEEP

QUIET = dict(vector_size=8, workers=1, seed=3, verbose=False)


@pytest.fixture
def zipf_corpus():
    rng = np.random.default_rng(1)
    words = [f"z{i}" for i in range(400)]
    return [[words[j] for j in (rng.zipf(1.2, 12) - 1) % 400] for _ in range(300)]


def _vocab(model):
    wv = model.wv
    return list(wv.index_to_key), [int(wv.get_vecattr(w, "count")) for w in wv.index_to_key]


def test_update_adds_new_words_after_the_old_ones_and_keeps_trained_vectors(topic_corpus):
    model = Word2Vec(topic_corpus, min_count=1, epochs=2, **QUIET)
    old_words, old_counts = _vocab(model)
    trained = model.wv.vectors.copy()
    more = [["a0", "new1", "new2"], ["new1", "b3"], ["once"]]
    model.build_vocab(more, update=True, min_count=1)
    words, counts = _vocab(model)
    assert words[: len(old_words)] == old_words and words[len(old_words):] == ["new1", "new2", "once"]
    assert counts[words.index("a0")] == old_counts[old_words.index("a0")] + 1
    assert counts[words.index("new1")] == 2
    np.testing.assert_array_equal(model.wv.vectors[: len(old_words)], trained)  # trained rows kept
    assert model.syn1neg.shape == model.wv.vectors.shape and not model.syn1neg[len(old_words):].any()
    assert model.corpus_count == 3 and model.corpus_total_words == 6  # the last corpus read, as gensim
    before = model.wv.vectors.copy()
    model.train(more, total_examples=model.corpus_count, epochs=3)
    assert not np.allclose(before[-3:], model.wv.vectors[-3:])


def test_update_matches_gensims_vocabulary(topic_corpus):
    more = [["a0", "c1", "c2"], ["c1", "b3", "c2"], ["c3"]]
    ours = Word2Vec(topic_corpus, min_count=2, epochs=1, **QUIET)
    ours.build_vocab(more, update=True)
    theirs = GensimWord2Vec(topic_corpus, min_count=2, epochs=1, vector_size=8, workers=1)
    theirs.build_vocab(more, update=True)
    assert _vocab(ours) == _vocab(theirs)


def test_update_needs_a_vocabulary_and_hierarchical_softmax_follows(topic_corpus):
    with pytest.raises(RuntimeError, match="online vocabulary-update"):
        Word2Vec(**QUIET).build_vocab(topic_corpus, update=True)
    model = Word2Vec(topic_corpus, min_count=1, epochs=1, hs=1, negative=0, **QUIET)
    model.build_vocab([["fresh", "a1"], ["fresh"]], update=True, min_count=1)
    assert model.syn1.shape == model.wv.vectors.shape
    code = model.wv.get_vecattr("fresh", "code")
    assert 0 < len(code) == model._code_lengths[model.wv.get_index("fresh")]


def test_update_after_save_and_load(topic_corpus, tmp_path):
    model = Word2Vec(topic_corpus, min_count=1, epochs=1, **QUIET)
    path = model.save(tmp_path / "m.npz")
    loaded = Word2Vec.load(path)
    loaded.build_vocab([["later", "a2"]], update=True, min_count=1)
    loaded.train([["later", "a2"]], total_examples=1, epochs=1)
    assert "later" in loaded.wv and len(loaded.wv) == len(model.wv) + 1


def test_counts_from_a_frequency_table_then_updated():
    freq = {"graph": 3, "system": 4, "trees": 3, "eps": 2, "rare": 1}
    model = Word2Vec(min_count=2, **QUIET)
    model.build_vocab_from_freq(freq, corpus_count=7)
    assert _vocab(model) == (["system", "trees", "graph", "eps"], [4, 3, 3, 2])
    assert model.corpus_count == 7
    model.build_vocab_from_freq({"graph": 1, "new": 5}, update=True)
    assert model.wv.get_vecattr("graph", "count") == 4 and model.wv.index_to_key[-1] == "new"


def test_trim_rule_keeps_discards_or_defers_to_min_count(zipf_corpus):
    def rule(word, count, min_count):
        return {"z0": RULE_DISCARD, "z399": RULE_KEEP}.get(word, RULE_DEFAULT)

    rare = [["z399"]] + zipf_corpus
    model = Word2Vec(rare, min_count=3, epochs=1, trim_rule=rule, **QUIET)
    theirs = GensimWord2Vec(rare, min_count=3, epochs=1, trim_rule=rule, vector_size=8, workers=1)
    assert "z0" not in model.wv and "z399" in model.wv
    assert _vocab(model) == _vocab(theirs)


def test_prepare_vocab_reports_as_gensim(zipf_corpus):
    for min_count, max_final in ((1, 30), (5, 10_000), (4, None)):
        ours = Word2Vec(min_count=min_count, max_final_vocab=max_final, sample=1e-3, **QUIET)
        theirs = GensimWord2Vec(min_count=min_count, max_final_vocab=max_final, sample=1e-3, vector_size=8)
        assert ours.scan_vocab(zipf_corpus) == theirs.scan_vocab(zipf_corpus)
        report, their_report = ours.prepare_vocab(), theirs.prepare_vocab()
        for key in ("drop_unique", "retain_total", "downsample_unique", "num_retained_words"):
            assert report[key] == their_report[key], key
        assert abs(report["downsample_total"] - their_report["downsample_total"]) <= 1
        assert ours.effective_min_count == theirs.effective_min_count
        assert ours.raw_vocab is None  # dropped unless keep_raw_vocab, as gensim


def test_max_vocab_size_prunes_as_gensim(zipf_corpus, tmp_path):
    path = tmp_path / "zipf.txt"
    path.write_text("\n".join(" ".join(s) for s in zipf_corpus) + "\n")
    theirs = GensimWord2Vec(max_vocab_size=60, min_count=1, vector_size=8)
    theirs.build_vocab(zipf_corpus)
    for corpus in ({"corpus_iterable": zipf_corpus}, {"corpus_file": str(path)}):
        ours = Word2Vec(max_vocab_size=60, min_count=1, **QUIET).build_vocab(**corpus)
        assert _vocab(ours) == _vocab(theirs)


def test_vocabulary_in_order_of_first_appearance(topic_corpus):
    model = Word2Vec(topic_corpus[:3], min_count=1, sorted_vocab=0, **QUIET).build_vocab(topic_corpus[:3])
    first_seen = list(dict.fromkeys(w for s in topic_corpus[:3] for w in s))
    assert model.wv.index_to_key == first_seen


def test_empty_vocabulary_is_an_error_when_training(caplog):
    model = Word2Vec(min_count=5, **QUIET)
    with caplog.at_level(logging.WARNING, logger="multissl.text"):
        model.build_vocab([["a", "b", "a"]])  # gensim builds an empty vocabulary without complaint
    assert "no word reaches min_count=5" in caplog.text and len(model.wv) == 0
    with pytest.raises(NoVocabularyError, match="no word reaches min_count=5"):
        model.train([["a", "b", "a"]])
    with pytest.raises(RuntimeError, match="empty"):  # gensim's type, for an empty corpus
        Word2Vec([], **QUIET)


def test_reset_from_takes_the_vocabulary_with_fresh_vectors(topic_corpus):
    model = Word2Vec(topic_corpus, min_count=1, epochs=1, **QUIET)
    other = Word2Vec([["x", "y"], ["y", "z"]], min_count=1, epochs=1, vector_size=4, workers=1, verbose=False)
    other.reset_from(model)
    assert other.wv.key_to_index == model.wv.key_to_index
    assert other.wv.vectors.shape == (len(model.wv), 4) and not other.syn1neg.any()
