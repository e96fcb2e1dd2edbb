"""word2vec: numba vs torch backend at equal training, on gensim's Lee corpus.

    python benchmarks/text_backends.py [--epochs 30]

The main benchmark (text_vs_gensim.py) can give the torch backend only a
time budget on CPU; this one trains both backends fully on a small corpus
(gensim's Lee corpus, 60k tokens) with the same hyper-parameters and compares
what they learned: WordSim-353 and SimLex-999 Spearman (on the pairs in the
vocabulary), the same for random vectors, and the overlap of the 10 nearest
neighbours of the 200 most frequent words between the two backends.
Target: the torch backend's WS353 Spearman within 0.1 of the numba backend's
and both far above random. Writes benchmarks/results/text_backends.json.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import markdown_table, write_json  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    from multissl.text import KeyedVectors, Word2Vec, evaluate_word_pairs, gensim_datapath
    from multissl.text.demo import lee_sentences

    sentences = lee_sentences()
    params = dict(vector_size=64, window=5, min_count=3, negative=5, sample=1e-3, epochs=args.epochs, seed=1, verbose=False)
    rows, models = [], {}
    for sg in (1, 0):
        for backend in ("numba", "torch"):
            extra = {"workers": 2} if backend == "numba" else {"batch_size": 1024, "device": "cpu", "workers": 1}
            start = time.perf_counter()
            model = Word2Vec(sentences, sg=sg, backend=backend, alpha=0.025 if sg else 0.05, **params, **extra)
            seconds = time.perf_counter() - start
            models[(sg, backend)] = model
            ws = evaluate_word_pairs(model.wv, gensim_datapath("wordsim353.tsv"))
            sl = evaluate_word_pairs(model.wv, gensim_datapath("simlex999.txt"))
            rows.append({"model": "skip-gram" if sg else "CBOW", "backend": backend, "seconds": seconds,
                         "first_mean_loss": model.training_log[0]["mean_loss"],
                         "last_mean_loss": model.training_log[-1]["mean_loss"],
                         "ws353_spearman": ws.spearman, "simlex999_spearman": sl.spearman, "ws353_pairs": ws.pairs})
            print(rows[-1], flush=True)
        kv = models[(sg, "numba")].wv
        rand = KeyedVectors(kv.index_to_key, np.random.default_rng(0).standard_normal(kv.vectors.shape))
        rows.append({"model": "skip-gram" if sg else "CBOW", "backend": "random vectors",
                     "ws353_spearman": evaluate_word_pairs(rand, gensim_datapath("wordsim353.tsv")).spearman,
                     "simlex999_spearman": evaluate_word_pairs(rand, gensim_datapath("simlex999.txt")).spearman})
        a, b = models[(sg, "numba")].wv, models[(sg, "torch")].wv
        overlap = np.mean([len({w for w, _ in a.most_similar(x, topn=10)} & {w for w, _ in b.most_similar(x, topn=10)}) / 10
                           for x in a.index_to_key[:200]])
        rows[-2]["neighbour_overlap_with_numba"] = float(overlap)
    targets = []
    for kind in ("skip-gram", "CBOW"):
        by = {r["backend"]: r for r in rows if r["model"] == kind}
        ok = by["torch"]["ws353_spearman"] >= by["numba"]["ws353_spearman"] - 0.1 and \
            by["torch"]["ws353_spearman"] > by["random vectors"]["ws353_spearman"] + 0.1
        targets.append({"target": f"{kind}: torch WS353 within 0.1 of numba and > random + 0.1", "met": ok})
    print("\n" + markdown_table(rows, ["model", "backend", "seconds", "first_mean_loss", "last_mean_loss", "ws353_spearman",
                                       "simlex999_spearman", "neighbour_overlap_with_numba"]))
    print("\n" + markdown_table([{**t, "met": "met" if t["met"] else "NOT met"} for t in targets], ["target", "met"]))
    print(f"\nwrote {write_json('text_backends', {'params': params, 'rows': rows, 'targets': targets}, args.json)}")


if __name__ == "__main__":
    main()
