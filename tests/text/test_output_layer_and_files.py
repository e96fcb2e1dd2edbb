"""predict_output_word, score, vector locks, fixed windows, and whole-model files (mmap, gensim's model files)."""
import logging

import numpy as np
import pytest
from gensim.models import Word2Vec as GensimWord2Vec

from multissl.text import Word2Vec

QUIET = dict(vector_size=12, workers=1, seed=4, verbose=False)


@pytest.fixture(scope="module")
def hs_model(lee):
    return Word2Vec(lee[:120], min_count=3, epochs=3, hs=1, negative=0, sg=0, window=3, **QUIET)


def test_predict_output_word_is_the_softmax_of_the_output_layer(lee_cbow, caplog):
    context = ["police", "said", "fire"]
    predicted = lee_cbow.predict_output_word(context, topn=5)
    rows = [lee_cbow.wv.get_index(w) for w in context]
    logits = lee_cbow.syn1neg.astype(np.float64) @ lee_cbow.wv.vectors[rows].astype(np.float64).mean(0)
    probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    best = np.argsort(-probs)[:5]
    assert [w for w, _ in predicted] == [lee_cbow.wv.index_to_key[i] for i in best]
    np.testing.assert_allclose([p for _, p in predicted], probs[best], rtol=1e-6)
    assert lee_cbow.predict_output_word(rows, topn=5) == predicted  # row numbers work too
    with caplog.at_level(logging.WARNING, logger="multissl.text"):
        assert lee_cbow.predict_output_word(["qqqq", "zzzz"]) is None
    assert "out-of-vocabulary" in caplog.text


def test_predict_output_word_needs_negative_sampling(hs_model):
    with pytest.raises(RuntimeError, match="negative"):
        hs_model.predict_output_word(["police"])
    bare = Word2Vec(**QUIET)
    bare.wv = hs_model.wv  # vectors without an output layer, as after load_word2vec_format
    with pytest.raises(RuntimeError, match="not found"):
        bare.predict_output_word(["police"])


def _path_log_prob(model, hidden, word):
    total = 0.0
    for p in range(model._code_lengths[word]):
        f = float(hidden @ model.syn1[model._points[word, p]].astype(np.float64))
        total += -np.log1p(np.exp(-f if model._codes[word, p] == 0 else f))
    return total


def test_score_is_the_hierarchical_softmax_log_probability(hs_model, lee):
    sentences = [s[:12] for s in lee[200:204]] + [["qqqq"]]
    scores = hs_model.score(sentences, total_sentences=10)
    assert scores.shape == (5,) and scores.dtype == np.float32 and scores[-1] == 0.0
    wv = hs_model.wv
    rows = [wv.get_index(w) for w in sentences[0] if w in wv]
    expected = 0.0
    for i, word in enumerate(rows):  # CBOW: each word from the mean of its full window (3 each side)
        context = [rows[j] for j in range(max(i - 3, 0), min(i + 4, len(rows))) if j != i]
        if context:
            expected += _path_log_prob(hs_model, wv.vectors[context].astype(np.float64).mean(0), word)
    assert scores[0] == pytest.approx(expected, rel=1e-5)
    assert len(hs_model.score(sentences, total_sentences=2)) == 2
    with pytest.raises(RuntimeError, match="hierarchical softmax"):
        Word2Vec(lee[:50], min_count=2, epochs=1, **QUIET).score(sentences)


def test_locked_vectors_do_not_move(lee):
    for sg in (0, 1):
        model = Word2Vec(min_count=2, sg=sg, hs=1, negative=5, epochs=1, **QUIET)
        model.build_vocab(lee[:100])
        model.wv.vectors_lockf = np.ones(len(model.wv), np.float32)
        model.wv.vectors_lockf[:3] = 0.0
        before = model.wv.vectors.copy()
        model.train(lee[:100], total_examples=model.corpus_count, epochs=1)
        np.testing.assert_array_equal(model.wv.vectors[:3], before[:3])
        assert not np.allclose(model.wv.vectors[3:50], before[3:50])
    with pytest.raises(ValueError, match="vectors_lockf"):
        model.wv.vectors_lockf = np.ones(3, np.float32)
        model.train(lee[:10], total_examples=10, epochs=1)


def test_fixed_windows_train_on_more_pairs(topic_corpus):
    shrunk = Word2Vec(topic_corpus, min_count=1, epochs=1, window=4, sample=0, **QUIET)
    fixed = Word2Vec(topic_corpus, min_count=1, epochs=1, window=4, sample=0, shrink_windows=False, **QUIET)
    pairs = sum(min(i, 4) + min(len(s) - 1 - i, 4) for s in topic_corpus for i in range(len(s)))
    assert fixed.training_log[0]["examples"] == pairs > shrunk.training_log[0]["examples"]


def test_whole_model_file_maps_in_place(lee_cbow, tmp_path):
    path = lee_cbow.save(tmp_path / "model.bin")
    mapped = Word2Vec.load(path, mmap="r")
    assert isinstance(mapped.wv.vectors, np.memmap) and isinstance(mapped.syn1neg, np.memmap)
    np.testing.assert_array_equal(mapped.wv.vectors, lee_cbow.wv.vectors)
    assert mapped.wv.most_similar("police", topn=3) == lee_cbow.wv.most_similar("police", topn=3)
    with pytest.raises(ValueError, match="read-only"):
        mapped.train([["police", "fire"]], total_examples=1, epochs=1)
    copy_on_write = Word2Vec.load(path, mmap="c", verbose=False)
    copy_on_write.train([["police", "fire"]] * 20, total_examples=20, epochs=1)
    np.testing.assert_array_equal(Word2Vec.load(path).wv.vectors, lee_cbow.wv.vectors)  # the file is unchanged
    with pytest.raises(AttributeError, match="called on the class"):
        lee_cbow.load(path)


def test_locks_and_counters_survive_save_and_load(topic_corpus, tmp_path):
    model = Word2Vec(topic_corpus, min_count=1, epochs=1, **QUIET)
    model.wv.vectors_lockf = np.linspace(0, 1, len(model.wv)).astype(np.float32)
    loaded = Word2Vec.load(model.save(tmp_path / "m.npz"))
    np.testing.assert_array_equal(loaded.wv.vectors_lockf, model.wv.vectors_lockf)
    assert (loaded.train_count, loaded.min_alpha_yet_reached) == (model.train_count, model.min_alpha_yet_reached) == \
        (1, pytest.approx(model.config.min_alpha))


def test_gensim_model_files_load_as_ours(lee, tmp_path):
    theirs = GensimWord2Vec(lee[:100], vector_size=10, min_count=2, epochs=1, hs=1, negative=3, sg=1, workers=1)
    theirs.save(str(tmp_path / "gensim.model"))
    ours = Word2Vec.load(tmp_path / "gensim.model", verbose=False)
    assert ours.wv.index_to_key == list(theirs.wv.index_to_key)
    np.testing.assert_array_equal(ours.wv.vectors, theirs.wv.vectors)
    np.testing.assert_array_equal(ours.syn1neg, theirs.syn1neg)
    assert (ours.sg, ours.hs, ours.negative, ours.corpus_count) == (1, 1, 3, theirs.corpus_count)
    ours.build_vocab([["brand", "new", "police"]] * 3, update=True)
    ours.train([["brand", "new", "police"]] * 3, total_examples=3, epochs=1)
    assert "brand" in ours.wv
    theirs.wv.save(str(tmp_path / "vectors.kv"))
    with pytest.raises(AttributeError, match="not a Word2Vec model"):
        Word2Vec.load(tmp_path / "vectors.kv")


def test_gensim_misuse_messages_are_logged(topic_corpus, caplog):
    with caplog.at_level(logging.WARNING, logger="multissl.text"):
        model = Word2Vec(topic_corpus, min_count=1, epochs=1, hs=1, negative=2, **QUIET)
        model.train(topic_corpus, total_examples=len(topic_corpus), epochs=1)
    assert "Both hierarchical softmax and negative sampling are activated" in caplog.text
    assert "Effective 'alpha' higher than previous training cycles" in caplog.text
    trained, raw = model.train(topic_corpus, total_examples=len(topic_corpus), epochs=2)
    assert raw == 2 * sum(map(len, topic_corpus)) and 0 < trained <= raw  # gensim's return value
