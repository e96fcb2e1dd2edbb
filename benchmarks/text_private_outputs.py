"""word2vec with and without the threads' private copies of the output vectors, over many seeds.

    python benchmarks/text_private_outputs.py                       # enwiki, CBOW and skip-gram, 16 seeds
    python benchmarks/text_private_outputs.py --corpus gcide --seeds 4 --models cbow

With ``private_outputs="on"`` each of the 2 training threads updates its own copy of the output
vectors and adds its changes to the shared ones every 10,000 words (text/private_outputs.py);
``"off"`` is plain Hogwild on the shared matrix. Same settings as benchmarks/text_vs_gensim.py
(100 dims, window 5, negative 5, sample 1e-3, min_count 5, 5 epochs, workers 2, no loss), seeds
1..N for both, alternating; words/s = corpus tokens x epochs / seconds of ``train``; quality by
``multissl.text.evaluate_all`` (analogy over the 30k most frequent words). On enwiki the scores
of one seed spread by about 0.03 (WS-353), hence the many seeds. Writes
benchmarks/results/text_private_outputs.json and prints a markdown table of the means.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import markdown_table, write_json  # noqa: E402
from text_vs_gensim import PARAMS, prepare_corpus  # noqa: E402

MODELS = {"cbow": 0, "skipgram": 1}
SCORES = ("analogy_accuracy", "ws353_spearman", "simlex999_spearman")


def train_once(corpus: Path, sg: int, seed: int, setting: str) -> dict:
    from multissl.text import Word2Vec, evaluate_all

    model = Word2Vec(**dict(PARAMS, sg=sg, epochs=5, seed=seed), private_outputs=setting, compute_loss=False,
                     verbose=False)
    model.build_vocab(corpus_file=str(corpus))
    started = time.perf_counter()
    model.train(corpus_file=str(corpus), total_words=model.corpus_total_words, epochs=5)
    seconds = time.perf_counter() - started
    return {"seed": seed, "vocabulary": len(model.wv), "words_per_s": model.corpus_total_words * 5 / seconds,
            **evaluate_all(model.wv, restrict_vocab=30000)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="enwiki", help="enwiki, gcide or a one-sentence-per-line file")
    parser.add_argument("--seeds", type=int, default=16)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--cache-dir", default=os.path.join(os.path.expanduser("~"), ".cache", "multissl"))
    parser.add_argument("--json", default=None, help="output JSON (default benchmarks/results/text_private_outputs.json)")
    args = parser.parse_args()
    corpus = prepare_corpus(args.corpus, Path(args.cache_dir))
    started = time.perf_counter()
    runs, summary = [], []
    for model in args.models:
        rows = {"off": [], "on": []}
        for seed in range(1, args.seeds + 1):  # off and on alternate, so that drifts of the machine hit both
            for setting in ("off", "on"):
                row = {"model": model, "private_outputs": setting, **train_once(corpus, MODELS[model], seed, setting)}
                rows[setting].append(row)
                print(f"  {model} private_outputs={setting} seed={seed}: {row['words_per_s']:,.0f} words/s, "
                      + ", ".join(f"{k} {row[k]:.4f}" for k in SCORES), flush=True)
        for setting, mine in rows.items():
            runs += mine
            summary.append({"corpus": args.corpus, "model": model, "private_outputs": setting, "runs": len(mine),
                            "words_per_s": float(np.mean([r["words_per_s"] for r in mine])),
                            **{k: float(np.mean([r[k] for r in mine])) for k in SCORES},
                            **{f"{k}_sd": float(np.std([r[k] for r in mine], ddof=1)) for k in SCORES}})
    columns = ["corpus", "model", "private_outputs", "runs", "words_per_s", *SCORES, "ws353_spearman_sd"]
    print(markdown_table(summary, columns))
    seconds = time.perf_counter() - started
    path = write_json("text_private_outputs", {"corpus": args.corpus, "params": PARAMS, "seeds": args.seeds,
                                               "runs": runs, "summary": summary, "seconds": seconds}, args.json)
    print(f"wrote {path} ({seconds:.0f} s)")


if __name__ == "__main__":
    main()
