import json

import numpy as np
import pytest
from gensim.models import KeyedVectors as GensimKV

from multissl.cli import main


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory, lee):
    path = tmp_path_factory.mktemp("corpus") / "lee.txt"
    path.write_text("\n".join(" ".join(s) for s in lee) + "\n")
    return path


def test_train_eval_neighbors(corpus_file, tmp_path, capsys):
    out = tmp_path / "run"  # a run folder: RUN/vectors.bin, config.json, checkpoints/
    assert main(["text", "train", str(corpus_file), "-o", str(out), "--epochs", "2", "--min-count", "3",
                 "--vector-size", "32", "--sg", "0", "--workers", "2", "--no-verbose",
                 "--save-model", str(tmp_path / "m.npz")]) == 0
    g = GensimKV.load_word2vec_format(str(out / "vectors.bin"), binary=True)
    assert g.vector_size == 32 and "police" in g.key_to_index
    assert main(["text", "eval", str(out), "--json", str(tmp_path / "s.json")]) == 0
    scores = json.loads((tmp_path / "s.json").read_text())
    for key in ("analogy_accuracy", "ws353_spearman", "simlex999_spearman", "oov_ratio"):
        assert np.isfinite(scores[key])
    assert main(["text", "neighbors", str(out), "police", "-n", "3"]) == 0
    assert capsys.readouterr().out.count("police:") == 1
    assert main(["text", "neighbors", str(out), "zzzz"]) == 2
    assert "not in the vocabulary" in capsys.readouterr().err
    assert (tmp_path / "m.npz").is_file()


def test_ngram_command(corpus_file, tmp_path, capsys):
    assert main(["text", "ngram", str(corpus_file), "--json", str(tmp_path / "p.json")]) == 0
    ppl = json.loads((tmp_path / "p.json").read_text())
    assert len(ppl) == 3 and all(v > 1 for v in ppl.values())
    assert "Kneser-Ney" in capsys.readouterr().out


def test_demo_part(tmp_path):
    from multissl.text.demo import run

    section = run(tmp_path, quick=True, seed=0)
    assert (tmp_path / section.pictures[0]).stat().st_size > 10_000
    assert section.metrics["ws353_spearman"] > section.metrics["ws353_spearman_random"] + 0.05
    assert section.metrics["last_mean_loss"] < section.metrics["first_mean_loss"]


def test_predict_update_score_commands(corpus_file, tmp_path, capsys):
    model = tmp_path / "m.npz"
    assert main(["text", "train", "cbow", str(corpus_file), "-o", str(tmp_path / "run"), "--epochs", "1",
                 "--min-count", "3", "--vector-size", "16", "--hs", "1", "--workers", "1", "--no-verbose",
                 "--save-model", str(model)]) == 0
    capsys.readouterr()
    assert main(["text", "predict", str(tmp_path / "run"), "police", "said", "-n", "4"]) == 0
    assert capsys.readouterr().out.count("(") == 4
    more = tmp_path / "more.txt"
    more.write_text("zebras graze quietly\nzebras graze loudly\nthe zebras graze\n")
    assert main(["text", "update", str(model), str(more), "-o", str(tmp_path / "grown.npz"), "--min-count", "2",
                 "--vectors", str(tmp_path / "grown.bin")]) == 0
    assert "2 new words" in capsys.readouterr().out
    assert main(["text", "neighbors", str(tmp_path / "grown.bin"), "zebras", "--cosmul", "-n", "2"]) == 0
    capsys.readouterr()
    assert main(["text", "score", str(tmp_path / "grown.npz"), str(more)]) == 0
    scores = [float(x) for x in capsys.readouterr().out.split()]
    assert len(scores) == 3 and all(s < 0 for s in scores)
    assert main(["text", "eval", str(tmp_path / "grown.bin"), "--analogy-method", "3CosMul"]) == 0
    assert "3CosMul" in capsys.readouterr().out
