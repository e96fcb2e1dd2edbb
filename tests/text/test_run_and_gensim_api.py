"""gensim 4's three-call training API, the text run folder (train / load_run / resume / budget) and its CLI."""
import json
import sys
import warnings

import numpy as np
import pytest

import multissl
from multissl import text
from multissl.cli import build_parser, main
from multissl.text import Word2Vec
from multissl.text.cli import recipe_from_args

SMALL = dict(vector_size=16, min_count=1, epochs=2, workers=1, verbose=False, chunk_words=40)


@pytest.fixture
def sentences():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(60)]
    # Zipf-like counts with many ties, to check the order of equal counts too
    return [[words[j] for j in rng.zipf(1.3, 10) % 60] for _ in range(150)]


@pytest.fixture
def corpus_file(tmp_path, sentences):
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(" ".join(s) for s in sentences) + "\n", encoding="utf-8")
    return path


def _gensim_vocab(model):
    return list(model.wv.index_to_key), [int(model.wv.get_vecattr(w, "count")) for w in model.wv.index_to_key]


# ----------------------------------------------------------------- gensim 4's calls
def test_gensim_three_calls_give_gensims_vocabulary_and_train(sentences):
    from gensim.models import Word2Vec as GensimWord2Vec

    model = Word2Vec(vector_size=50, window=5, min_count=1, sg=1, workers=2, seed=1, verbose=False)
    model.build_vocab(corpus_iterable=sentences)
    theirs = GensimWord2Vec(vector_size=50, window=5, min_count=1, sg=1, workers=2, seed=1)
    theirs.build_vocab(corpus_iterable=sentences)
    assert model.corpus_count == theirs.corpus_count == len(sentences)
    assert model.corpus_total_words == theirs.corpus_total_words == sum(map(len, sentences))
    assert (model.wv.index_to_key, model.vocab.counts.tolist()) == _gensim_vocab(theirs)
    initial = model.wv.vectors.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # the counts match: no warning
        model.train(corpus_iterable=sentences, total_examples=model.corpus_count, epochs=model.epochs)
    assert len(model.training_log) == model.epochs == 5
    assert not np.allclose(model.wv.vectors, initial)
    assert model.state is None and model.epochs_trained == 5


def test_gensim_corpus_file_call_with_total_words(corpus_file, sentences):
    from gensim.models import Word2Vec as GensimWord2Vec

    params = dict(vector_size=8, min_count=1, workers=1, seed=3, verbose=False, epochs=2)
    model = Word2Vec(**params)
    model.build_vocab(corpus_file=str(corpus_file))
    theirs = GensimWord2Vec(vector_size=8, min_count=1, workers=1)
    theirs.build_vocab(corpus_file=str(corpus_file))
    assert (model.corpus_count, model.corpus_total_words) == (theirs.corpus_count, theirs.corpus_total_words)
    assert (model.wv.index_to_key, model.vocab.counts.tolist()) == _gensim_vocab(theirs)
    model.train(corpus_file=str(corpus_file), total_words=model.corpus_total_words, epochs=model.epochs)
    # the corpus's own totals give exactly the default learning-rate schedule (workers=1: bit-identical)
    plain = Word2Vec(**params)
    plain.build_vocab(sentences=sentences)
    plain.train(sentences=sentences)
    assert np.array_equal(model.wv.vectors, plain.wv.vectors)


def test_count_mismatch_warns_epochs_override_and_argument_checks(sentences):
    model = Word2Vec(vector_size=8, min_count=1, workers=1, verbose=False)
    model.build_vocab(sentences)
    with pytest.warns(UserWarning, match=r"total_examples=300 did not equal the corpus's count \(150\)"):
        model.train(corpus_iterable=sentences, total_examples=2 * model.corpus_count, epochs=2)
    assert len(model.training_log) == 2 and model.config.epochs == 5  # epochs= is for this call
    with pytest.warns(UserWarning, match="total_words"):
        model.train(sentences, total_words=model.corpus_total_words + 1, epochs=1)
    assert len(model.training_log) == 3  # the log goes on over train() calls
    model.epochs = 1  # config fields are writable attributes, as in gensim
    model.train(sentences)
    assert len(model.training_log) == 4
    with pytest.raises(ValueError, match="not both"):
        model.train(corpus_iterable=sentences, sentences=sentences)
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        model.epochs = 0


# ----------------------------------------------------------------- run folder
def test_train_run_round_trip(corpus_file):
    from gensim.models import KeyedVectors as GensimKV

    run_dir = corpus_file.parent / "run"
    run = text.train(corpus_file, run_dir, "cbow", **SMALL)
    assert (run.kind, run.method, run.model.config.sg) == ("text", "cbow", 0)
    assert run.result.stop_reason == "epochs" and run.result.epoch == 2
    record = json.loads((run_dir / "config.json").read_text())
    assert record["kind"] == "text" and record["method"] == "cbow" and record["init_seed"] == 1
    assert set(record["recipe"]) == {"model", "train"} and record["recipe"]["model"]["vector_size"] == 16
    metrics = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [m["epoch"] for m in metrics] == [1, 2] and all(m["loss"] > 0 and m["words_per_s"] > 0 for m in metrics)
    assert (run_dir / "checkpoints" / "last.npz").is_file()
    assert json.loads((run_dir / "checkpoints" / "last.json").read_text())["epochs_done"] == 2

    loaded = multissl.load_run(run_dir)
    assert (loaded.kind, loaded.method) == ("text", "cbow")
    assert np.array_equal(loaded.model.wv.vectors, run.model.wv.vectors)
    assert np.array_equal(GensimKV.load_word2vec_format(str(run_dir / "vectors.bin"), binary=True).vectors,
                          run.model.wv.vectors)
    # .initial: the seeded vectors build_vocab draws, not the trained ones
    fresh = Word2Vec(**{**SMALL, "sg": 0}).build_vocab(corpus_file=corpus_file)
    assert np.array_equal(loaded.initial.wv.vectors, fresh.wv.vectors)
    assert np.array_equal(run.initial.wv.vectors, fresh.wv.vectors)
    assert not np.allclose(loaded.initial.wv.vectors, loaded.model.wv.vectors)
    assert not loaded.initial.syn1neg.any() and loaded.initial.wv.index_to_key == loaded.model.wv.index_to_key


def test_resume_continues_after_the_completed_epochs(corpus_file):
    run_dir = corpus_file.parent / "run"
    first = text.train(corpus_file, run_dir, **{**SMALL, "epochs": 1})
    assert first.model.epochs_trained == 1
    # only what is given replaces the run's settings (vector_size, min_count ... stay)
    resumed = text.train(corpus_file, run_dir, epochs=2, resume="auto")
    assert resumed.model.epochs_trained == 2 and len(resumed.model.training_log) == 2
    assert resumed.model.wv.index_to_key == first.model.wv.index_to_key
    assert resumed.model.vocab.counts.tolist() == first.model.vocab.counts.tolist()
    assert resumed.model.config.vector_size == 16
    assert len((run_dir / "metrics.jsonl").read_text().splitlines()) == 2
    assert json.loads((run_dir / "config.json").read_text())["recipe"]["model"]["epochs"] == 2
    assert multissl.load_run(run_dir).model.epochs_trained == 2
    with pytest.raises(ValueError, match="cannot change vector_size"):
        text.train(corpus_file, run_dir, epochs=3, vector_size=32, resume="auto")


def test_tiny_budget_stops_early_with_a_checkpoint(corpus_file):
    run_dir = corpus_file.parent / "run"
    run = text.train(corpus_file, run_dir, **SMALL, max_minutes=1e-6)
    assert run.result.stop_reason == "time" and run.model.epochs_trained == 0
    progress = json.loads((run_dir / "checkpoints" / "last.json").read_text())
    assert progress["stop_reason"] == "time" and progress["epochs_done"] == 0
    assert (run_dir / "vectors.bin").is_file() and multissl.load_run(run_dir).model.epochs_trained == 0
    done = text.train(corpus_file, run_dir, resume="auto", max_minutes=None)
    assert done.result.stop_reason == "epochs" and done.model.epochs_trained == 2


def test_budget_spent_mid_epoch_resumes_to_the_uninterrupted_result(corpus_file, monkeypatch):
    clocked = [sys.modules["multissl.text.word2vec"], sys.modules["multissl.text.hogwild"]]  # the model, its loop

    class Clock:  # every reading of word2vec's clock is one second later: the budget ends mid-epoch
        now = 0.0

        def perf_counter(self):
            self.now += 1.0
            return self.now

    reference = text.train(corpus_file, corpus_file.parent / "reference", **SMALL)
    run_dir = corpus_file.parent / "run"
    clock = Clock()
    for module in clocked:
        monkeypatch.setattr(module, "time", clock)
    stopped = text.train(corpus_file, run_dir, **SMALL, max_minutes=0.2)  # 12 "seconds" of the fake clock
    monkeypatch.undo()
    progress = json.loads((run_dir / "checkpoints" / "last.json").read_text())
    assert stopped.result.stop_reason == "time" and progress["mid_epoch"] and progress["epochs_done"] == 0
    resumed = text.train(corpus_file, run_dir, resume="auto", max_minutes=None)
    assert resumed.model.epochs_trained == 2
    assert np.array_equal(resumed.model.wv.vectors, reference.model.wv.vectors)


def test_recipe_merges_sections_and_refuses_steps():
    assert text.recipe("cbow").model.sg == 0 and text.recipe().model.sg == 1
    r = text.recipe(model={"vector_size": 20}, train=text.TextTrainConfig(max_minutes=3), epochs=2)
    assert (r.model.vector_size, r.model.epochs, r.train.max_minutes, r.model.min_count) == (20, 2, 3, 5)
    assert text.recipe(sg=0).model.sg == 0
    with pytest.raises(ValueError, match="means sg=1"):
        text.recipe("skipgram", sg=0)
    with pytest.raises(ValueError, match="no optimizer steps"):
        text.recipe(steps=10)


# ----------------------------------------------------------------- CLI
def test_cli_trains_a_run_folder_and_eval_reads_it(corpus_file, capsys):
    run_dir = corpus_file.parent / "run"
    assert main(["text", "train", str(corpus_file), "-o", str(run_dir), "--epochs", "1", "--min-count", "1",
                 "--vector-size", "16", "--workers", "1", "--no-verbose"]) == 0
    assert (run_dir / "vectors.bin").is_file() and (run_dir / "config.json").is_file()
    record = json.loads((run_dir / "config.json").read_text())
    assert record["kind"] == "text" and record["method"] == "skipgram" and record["recipe"]["model"]["epochs"] == 1
    assert "deprecated" not in capsys.readouterr().err
    assert main(["text", "neighbors", str(run_dir), "w1", "-n", "2"]) == 0
    assert capsys.readouterr().out.startswith("w1: ")
    assert main(["text", "train", "cbow", str(corpus_file), "-o", str(run_dir), "--sg", "1"]) == 2
    assert "means sg=0" in capsys.readouterr().err


def test_cli_vector_file_output_still_works_and_warns(corpus_file, tmp_path, capsys):
    from gensim.models import KeyedVectors as GensimKV

    out = tmp_path / "vectors.bin"
    assert main(["text", "train", str(corpus_file), "-o", str(out), "--epochs", "1", "--min-count", "1",
                 "--vector-size", "16", "--sg", "0", "--workers", "1", "--no-verbose",
                 "--save-model", str(tmp_path / "m.npz")]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "deprecated" in err and "run folder" in err
    assert GensimKV.load_word2vec_format(str(out), binary=True).vector_size == 16
    assert Word2Vec.load(tmp_path / "m.npz").config.sg == 0
    assert not (tmp_path / "vectors.bin" / "config.json").exists()
    # a .txt name writes the text format, which eval / neighbors read by its name
    assert main(["text", "train", str(corpus_file), "-o", str(tmp_path / "v.txt"), "--epochs", "1", "--min-count", "1",
                 "--vector-size", "8", "--workers", "1", "--no-verbose"]) == 0
    assert (tmp_path / "v.txt").read_text().startswith("60 8\n")
    assert main(["text", "neighbors", str(tmp_path / "v.txt"), "w1", "-n", "2"]) == 0


def test_python_and_cli_defaults_are_equal():
    parser = build_parser()
    assert recipe_from_args(parser.parse_args(["text", "train", "corpus.txt", "-o", "run"])) == text.recipe()
    args = parser.parse_args(["text", "train", "cbow", "corpus.txt", "-o", "run", "--epochs", "3", "--max-minutes", "2",
                              "--resume", "--lowercase"])
    assert recipe_from_args(args) == text.recipe("cbow", epochs=3, max_minutes=2, resume="auto", lowercase=True)
