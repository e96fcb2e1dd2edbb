"""Long runs seen from a log file, max_vocab_size, resuming on another corpus, and vectors made elsewhere."""
import io
import pickle

import numpy as np
import pytest

from multissl import text
from multissl.cli import main
from multissl.text import KeyedVectors, Word2Vec
from multissl import progress as progress_module
from multissl.progress import Progress
from tests.cli_errors import one_line_error

SMALL = dict(vector_size=8, min_count=1, epochs=1, workers=1, verbose=False, chunk_words=40)


def _corpus(path, seed=0, words=40, lines=80):
    rng = np.random.default_rng(seed)
    path.write_text("\n".join(" ".join(f"w{j}" for j in rng.zipf(1.5, 8) % words) for _ in range(lines)) + "\n")
    return path


def test_progress_lines_outside_a_terminal_give_rate_share_and_time_left():
    out = io.StringIO()  # not a terminal: tqdm would show nothing there
    bar = Progress("word2vec", "word", total=4_000_000, verbose=True, every_s=0, stream=out, prefix="[multissl.text]")
    bar.set_postfix(loss="2.310")
    bar.update(1_000_000)
    line = out.getvalue().strip()
    assert line.startswith("[multissl.text] word2vec: 1.0M / 4.0M words (25%), ") and "words/s" in line
    assert " left, loss 2.310" in line
    quiet = io.StringIO()
    Progress("x", "word", total=10, verbose=False, every_s=0, stream=quiet).update(5)
    assert quiet.getvalue() == ""


def test_training_and_counting_report_progress_to_a_log(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(progress_module, "LOG_EVERY_S", 0.0)
    Word2Vec(corpus_file=str(_corpus(tmp_path / "c.txt")), **{**SMALL, "verbose": True})
    err = capsys.readouterr().err
    assert "[multissl.text] counting words: " in err and "tokens/s" in err
    assert "[multissl.text] word2vec: " in err and " left" in err


def test_max_vocab_size_pruning_is_reported(tmp_path, capsys):
    model = Word2Vec(corpus_file=str(_corpus(tmp_path / "c.txt", words=400)), **{**SMALL, "verbose": True,
                                                                                    "max_vocab_size": 20})
    assert model.vocab.prunings > 0
    assert f"max_vocab_size=20 pruned the count table {model.vocab.prunings} times" in capsys.readouterr().out


def test_resume_on_another_corpus_is_an_error_and_a_moved_copy_resumes(tmp_path):
    first = _corpus(tmp_path / "a.txt")
    text.train(first, tmp_path / "run", **SMALL)
    with pytest.raises(ValueError, match="b.txt is not the corpus .* was trained on"):
        text.train(_corpus(tmp_path / "b.txt", seed=1), tmp_path / "run", epochs=2, resume="auto")
    with pytest.raises(ValueError, match="trained with lowercase=False; resuming with lowercase=True"):
        text.train(first, tmp_path / "run", epochs=2, resume="auto", lowercase=True)
    moved = tmp_path / "moved.txt"
    moved.write_bytes(first.read_bytes())
    assert text.train(moved, tmp_path / "run", epochs=2, resume="auto").model.epochs_trained == 2


@pytest.fixture
def mixed_case_vectors(tmp_path):
    """A word2vec text file whose words are capitalised ("Paris") and a gensim-style pickle beside it."""
    kv = KeyedVectors(["Paris", "London", "berlin", "Rome"], np.eye(4, 3, dtype=np.float32) + 0.1)
    path = kv.save_word2vec_format(tmp_path / "v.txt", binary=False)
    (tmp_path / "v.kv").write_bytes(pickle.dumps({"not": "vectors"}, protocol=4))
    return path


def test_neighbors_fall_back_to_another_case(mixed_case_vectors, capsys):
    assert main(["text", "neighbors", str(mixed_case_vectors), "paris", "Rome", "-n", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("paris (as Paris): ") and "\nRome: " in out
    assert main(["text", "neighbors", str(mixed_case_vectors), "madrid"]) == 2
    one_line_error(capsys, "not in the vocabulary", "(in any case): madrid")


def test_eval_reads_a_saved_model_and_names_a_pickle(tmp_path, mixed_case_vectors, capsys):
    model = Word2Vec(corpus_file=str(_corpus(tmp_path / "c.txt")), **SMALL)
    saved = model.save(tmp_path / "model.npz")
    assert main(["text", "neighbors", str(saved), model.wv.index_to_key[0], "-n", "2"]) == 0
    assert main(["text", "eval", str(mixed_case_vectors.with_suffix(".kv"))]) == 2
    one_line_error(capsys, "is a Python pickle", "save_word2vec_format")
