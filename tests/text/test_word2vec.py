"""Training on gensim's Lee corpus: sanity checks, baselines, determinism, resume."""
import numpy as np
import pytest

from multissl.text import KeyedVectors, Word2Vec, evaluate_word_pairs, gensim_datapath


def _random_like(kv, seed=0):
    return KeyedVectors(kv.index_to_key, np.random.default_rng(seed).standard_normal(kv.vectors.shape))


def test_skipgram_lee_sanity_like_gensim(lee_sg):
    # gensim's own Lee-corpus check: "bombings" among the 50 nearest neighbours of "attacks"
    neighbours = [w for w, _ in lee_sg.wv.most_similar("attacks", topn=50)]
    assert "bombings" in neighbours
    ws = evaluate_word_pairs(lee_sg.wv, gensim_datapath("wordsim353.tsv"))
    assert ws.spearman > 0.1
    assert ws.pairs > 100


@pytest.mark.parametrize("fixture", ["lee_sg", "lee_cbow"])
def test_beats_random_vectors_by_a_margin(fixture, request):
    model = request.getfixturevalue(fixture)
    ws = evaluate_word_pairs(model.wv, gensim_datapath("wordsim353.tsv")).spearman
    # random vectors: the mean over several draws (one draw on 130 pairs is noisy)
    ws_random = np.mean([evaluate_word_pairs(_random_like(model.wv, s), gensim_datapath("wordsim353.tsv")).spearman
                         for s in range(5)])
    assert ws > ws_random + 0.1
    # topical neighbours: related words are far closer than in random vectors
    pairs = [("palestinian", "israeli"), ("fire", "fires"), ("police", "officers"), ("afghanistan", "taliban")]
    trained = np.mean([model.wv.similarity(a, b) for a, b in pairs])
    random = np.mean([_random_like(model.wv).similarity(a, b) for a, b in pairs])
    assert trained > random + 0.2


def test_loss_is_reported_per_epoch_and_drops(lee_sg, lee_cbow):
    for model in (lee_sg, lee_cbow):
        log = model.training_log
        assert len(log) == model.config.epochs
        assert all(e["examples"] > 0 and np.isfinite(e["loss"]) for e in log)
        assert log[-1]["mean_loss"] < log[0]["mean_loss"] - 0.3
        assert log[0]["mean_loss"] == pytest.approx(log[0]["loss"] / log[0]["examples"])
        assert model.get_latest_training_loss() == log[-1]["loss"]
    # skip-gram counts (context, centre) pairs, CBOW centre words: about window * 2 / 2... per word
    assert lee_sg.training_log[0]["examples"] > 2 * lee_sg.training_log[0]["trained_words"]
    assert lee_cbow.training_log[0]["examples"] <= lee_cbow.training_log[0]["trained_words"]


def test_wv_lookups(lee_sg):
    wv = lee_sg.wv
    assert "police" in wv and "zzzz" not in wv
    assert wv["police"].shape == (64,)
    assert wv.index_to_key[wv.key_to_index["police"]] == "police"
    assert wv.vectors.shape == (len(wv), 64)
    assert wv.similarity("police", "police") == pytest.approx(1.0, abs=1e-5)
    sims = wv.most_similar(positive=["police"], topn=5)
    assert len(sims) == 5 and "police" not in [w for w, _ in sims]
    assert sims == sorted(sims, key=lambda x: -x[1])
    restricted = wv.most_similar("police", topn=3, restrict_vocab=100)
    assert all(wv.key_to_index[w] < 100 for w, _ in restricted)
    assert wv.doesnt_match(["fire", "fires", "firefighters", "minister"]) == "minister"
    with pytest.raises(KeyError, match="'zzzz' not in vocabulary"):
        wv["zzzz"]
    with pytest.raises(KeyError, match="zzzz"):
        wv.most_similar("zzzz")


def test_deterministic_with_one_worker(toy_corpus):
    kwargs = dict(vector_size=16, min_count=1, epochs=3, workers=1, seed=5, verbose=False, chunk_words=100)
    a = Word2Vec(toy_corpus, **kwargs)
    b = Word2Vec(toy_corpus, **kwargs)
    assert np.array_equal(a.wv.vectors, b.wv.vectors)
    assert np.array_equal(a.syn1neg, b.syn1neg)
    assert a.training_log[-1]["loss"] == b.training_log[-1]["loss"]
    c = Word2Vec(toy_corpus, **{**kwargs, "seed": 6})
    assert not np.array_equal(a.wv.vectors, c.wv.vectors)
    cbow = dict(kwargs, sg=0, hs=1)
    assert np.array_equal(Word2Vec(toy_corpus, **cbow).wv.vectors, Word2Vec(toy_corpus, **cbow).wv.vectors)


class _InterruptAfter:
    def __init__(self, chunks):
        self.left = chunks

    def on_chunk_end(self, model, stats):
        self.left -= 1
        if self.left == 0:
            raise KeyboardInterrupt


def test_interrupted_training_continues_to_the_same_result(toy_corpus, tmp_path):
    kwargs = dict(vector_size=16, min_count=1, epochs=3, workers=1, seed=2, verbose=False, chunk_words=100)
    full = Word2Vec(toy_corpus, **kwargs)
    model = Word2Vec(callbacks=[_InterruptAfter(11)], **kwargs)
    model.build_vocab(toy_corpus)
    with pytest.warns(RuntimeWarning, match="call train"), pytest.raises(KeyboardInterrupt):
        model.train(toy_corpus)
    assert model.state is not None and 0 < model.state["position"] < model.state["total_words"]
    # save mid-training, load, continue
    path = model.save(tmp_path / "partial.npz")
    resumed = Word2Vec.load(path)
    assert resumed.state == model.state
    resumed.train(toy_corpus)
    assert resumed.state is None
    assert np.array_equal(resumed.wv.vectors, full.wv.vectors)
    assert len(resumed.training_log) == 3
    # the in-memory model continues too
    model.callbacks = []
    model.train()
    assert np.array_equal(model.wv.vectors, full.wv.vectors)


def test_time_budget_stops_and_continues(toy_corpus):
    model = Word2Vec(vector_size=8, min_count=1, epochs=2, workers=1, verbose=False, chunk_words=50)
    model.build_vocab(toy_corpus)
    model.train(toy_corpus, max_minutes=0.0)
    assert model.stopped_early and model.state is not None and model.training_log == []
    model.train(toy_corpus)
    assert not model.stopped_early and len(model.training_log) == 2


def test_callbacks_and_hierarchical_softmax(topic_corpus):
    seen = []

    class Recorder:
        def on_train_begin(self, model):
            seen.append("begin")

        def on_epoch_end(self, model):
            seen.append(len(model.training_log))

        def on_train_end(self, model):
            seen.append("end")

    model = Word2Vec(topic_corpus, vector_size=8, min_count=1, epochs=2, hs=1, negative=0, workers=2, sample=0,
                     verbose=False, callbacks=[Recorder()])
    assert seen == ["begin", 1, 2, "end"]
    assert model.syn1.shape == (20, 8) and np.abs(model.syn1).sum() > 0
    assert model.training_log[-1]["mean_loss"] < model.training_log[0]["mean_loss"]


def test_save_load_is_lossless(lee_sg, tmp_path):
    path = lee_sg.save(tmp_path / "model.npz")
    loaded = Word2Vec.load(path)
    assert loaded.wv.index_to_key == lee_sg.wv.index_to_key
    assert np.array_equal(loaded.wv.vectors, lee_sg.wv.vectors)
    assert np.array_equal(loaded.syn1neg, lee_sg.syn1neg)
    assert np.array_equal(loaded.vocab.counts, lee_sg.vocab.counts)
    assert loaded.config == lee_sg.config and loaded.training_log == lee_sg.training_log
    loaded.config.verbose = False
    before = loaded.wv.vectors.copy()
    loaded.train([s for s in lee_sg_corpus_subset(loaded)], epochs=1)
    assert not np.array_equal(before, loaded.wv.vectors)


def lee_sg_corpus_subset(model):
    words = model.wv.index_to_key[:200]
    return [words[i : i + 10] for i in range(0, 200, 10)]


def test_long_sentences_are_split_not_truncated():
    words = [f"t{i % 50}" for i in range(25_000)]
    model = Word2Vec(vector_size=8, min_count=1, epochs=1, workers=1, verbose=False)
    model.build_vocab([words])
    assert model.vocab.total_words == 25_000 and model.vocab.num_sentences == 3
    model.train([words])
    assert model.training_log[0]["words"] == 25_000


def test_interleaved_chunk_order_covers_every_chunk_once():
    from multissl.text.encoded import interleaved_order

    for n, parts in [(7, 2), (10, 3), (1, 4), (0, 2), (5, 1)]:
        order = interleaved_order(n, parts)
        assert sorted(order) == list(range(n))
    assert interleaved_order(6, 2) == [0, 3, 1, 4, 2, 5]
    assert interleaved_order(4, 1) == [0, 1, 2, 3]


def test_interleave_off_trains_in_corpus_order(toy_corpus):
    kwargs = dict(vector_size=8, min_count=1, epochs=2, workers=2, verbose=False, chunk_words=100, interleave=False)
    model = Word2Vec(toy_corpus, **kwargs)
    assert len(model.training_log) == 2 and model.training_log[0]["words"] == sum(map(len, toy_corpus))


def test_vocabulary_order_equals_gensims(lee):
    from gensim.models import Word2Vec as GensimWord2Vec

    ours = Word2Vec(min_count=3, verbose=False).build_vocab(lee)
    theirs = GensimWord2Vec(min_count=3, vector_size=8)
    theirs.build_vocab(lee)
    assert ours.wv.index_to_key == list(theirs.wv.index_to_key)
    assert ours.vocab.total_words == theirs.corpus_total_words
    assert [ours.vocab.counts[i] for i in range(20)] == [theirs.wv.get_vecattr(w, "count") for w in theirs.wv.index_to_key[:20]]
