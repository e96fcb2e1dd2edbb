"""word2vec: multissl (numba and torch backends) against gensim 4.x, side by side.

    python benchmarks/text_vs_gensim.py                      # dict-gcide corpus, 5 epochs, sg and CBOW
    python benchmarks/text_vs_gensim.py --corpus text8       # any one-sentence-per-line file
    python benchmarks/text_vs_gensim.py --repeats 2          # repeat every trainer to reduce noise

Corpus: Debian's dict-gcide dictionary, turned into one lower-cased sentence
per line by :mod:`multissl.text.gcide` (installed with apt-get when missing).
Hyper-parameters for everyone: 100 dims, window 5, negative 5, sample 1e-3,
min_count 5, 5 epochs, workers=2, alpha 0.025; skip-gram and CBOW.

Trainers, each in its own subprocess that imports the same modules (gensim,
multissl.text, torch) before its peak-memory mark is reset, so peak RSS
compares like with like:
- ``gensim``: ``Word2Vec(...).build_vocab(LineSentence)`` + ``train`` (the usual API);
- ``gensim-file``: gensim's ``corpus_file=`` mode (its fastest);
- ``multissl-numba``: ``multissl.text.Word2Vec(corpus_file=...)``;
- ``multissl-torch``: the torch backend on CPU under a wall-clock budget
  (``--torch-minutes``); it sees only part of the data, as the table says.

words/s = corpus tokens x epochs / seconds of ``train`` (vocabulary building
excluded, the same for all). Quality: 3CosAdd analogy accuracy over the 30k
most frequent words, Spearman on WordSim-353 and SimLex-999, all computed by
multissl.text.evaluate for every trainer (equal to gensim's own evaluation,
tests/text/test_evaluate.py).

Targets (multissl-numba, mean over its repeats): words/s >= 1.0x the faster
gensim mode, for skip-gram and CBOW; against gensim's mean over all its runs
(both modes): analogy accuracy >= gensim - 0.01, Spearman >= gensim - 0.02,
peak RSS <= 1.5x gensim's.
Prints a markdown table and writes benchmarks/results/text_vs_gensim.json.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import markdown_table, peak_rss_mb, reset_peak_rss, current_rss_mb, run_worker, write_json  # noqa: E402

PARAMS = dict(vector_size=100, window=5, negative=5, sample=1e-3, min_count=5, alpha=0.025, min_alpha=1e-4, workers=2)
GCIDE = Path("/usr/share/dictd/gcide.dict.dz")
TRAINERS = ("gensim", "gensim-file", "multissl-numba", "multissl-torch")


# ------------------------------------------------------------------ corpus
def prepare_corpus(path: str | None, cache_dir: Path) -> Path:
    if path:
        p = Path(path)
        if not p.is_file():
            raise SystemExit(f"--corpus {p} does not exist")
        return p
    if not GCIDE.is_file():
        print("installing Debian's dict-gcide (apt-get) ...", flush=True)
        cmd = "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dict-gcide"
        if os.geteuid() != 0:
            cmd = "sudo sh -c " + json.dumps(cmd)
        if subprocess.call(cmd, shell=True) != 0 or not GCIDE.is_file():
            raise SystemExit("could not install dict-gcide; install it or pass --corpus PATH")
    out = cache_dir / "gcide-sentences.txt"
    if not out.is_file():
        from multissl.text.gcide import write_gcide_corpus

        cache_dir.mkdir(parents=True, exist_ok=True)
        info = write_gcide_corpus(out.with_suffix(".tmp"))
        shutil.move(str(out.with_suffix(".tmp")), out)
        print(f"wrote {out}: {info['sentences']} sentences, {info['tokens']} tokens", flush=True)
    return out


# ------------------------------------------------------------------ worker
def worker(trainer: str, corpus: str, sg: int, epochs: int, seed: int, torch_minutes: float) -> dict:
    import gensim  # noqa: F401  (same imports in every worker)
    import torch  # noqa: F401
    from gensim.models import Word2Vec as GensimWord2Vec
    from gensim.models.word2vec import LineSentence

    from multissl.text import KeyedVectors, Word2Vec, evaluate_all

    params = dict(PARAMS, sg=sg, epochs=epochs, seed=seed)
    base_rss = current_rss_mb()
    reset_peak_rss()
    info: dict = {}
    started = time.perf_counter()
    if trainer.startswith("gensim"):
        model = GensimWord2Vec(**params)
        if trainer == "gensim":
            model.build_vocab(LineSentence(corpus))
            vocab_s = time.perf_counter() - started
            t0 = time.perf_counter()
            model.train(LineSentence(corpus), total_examples=model.corpus_count, epochs=epochs)
        else:
            model.build_vocab(corpus_file=corpus)
            vocab_s = time.perf_counter() - started
            t0 = time.perf_counter()
            model.train(corpus_file=corpus, total_examples=model.corpus_count, total_words=model.corpus_total_words,
                        epochs=epochs)
        train_s = time.perf_counter() - t0
        tokens = model.corpus_total_words
        words_trained = tokens * epochs
        kv = KeyedVectors.from_gensim(model.wv)
    else:
        backend = "torch" if trainer.endswith("torch") else "numba"
        extra = {"batch_size": 4096} if backend == "torch" else {}
        model = Word2Vec(backend=backend, verbose=False, **params, **extra)
        model.build_vocab(corpus_file=corpus)
        vocab_s = time.perf_counter() - started
        t0 = time.perf_counter()
        model.train(corpus_file=corpus, max_minutes=torch_minutes if backend == "torch" else None)
        train_s = time.perf_counter() - t0
        tokens = model.vocab.total_words
        if backend == "torch":
            # tokens of the corpus the torch run actually covered (in-vocabulary share scaled back)
            share = model.torch_words_done / max(model.vocab.retained_words, 1)
            words_trained = share * tokens
            info["epochs_covered"] = round(share, 3)
            info["stopped_by_budget"] = bool(model.stopped_early)
        else:
            words_trained = tokens * epochs
            info["epoch_mean_loss"] = [round(e["mean_loss"], 4) for e in model.training_log]
        kv = model.wv
    peak = peak_rss_mb()
    scores = evaluate_all(kv, restrict_vocab=30000)
    return {"trainer": trainer, "sg": sg, "seed": seed, "train_s": train_s, "vocab_s": vocab_s,
            "words_per_s": words_trained / train_s, "tokens": tokens, "vocabulary": len(kv),
            "peak_rss_mb": peak, "base_rss_mb": base_rss, "train_rss_mb": peak - base_rss, **scores, **info}


# ------------------------------------------------------------------ driver
def mean(rows, key):
    vals = [r[key] for r in rows]
    return sum(vals) / len(vals)


def summarise(results, sg):
    out = []
    for trainer in TRAINERS:
        rows = [r for r in results if r["trainer"] == trainer and r["sg"] == sg]
        if not rows:
            continue
        row = {"model": "skip-gram" if sg else "CBOW", "trainer": trainer, "runs": len(rows)}
        for key in ("train_s", "words_per_s", "analogy_accuracy", "ws353_spearman", "simlex999_spearman",
                    "peak_rss_mb", "train_rss_mb"):
            row[key] = mean(rows, key)
        if "epochs_covered" in rows[0]:
            row["note"] = f"budget: {rows[0]['epochs_covered']} of {rows[0].get('epochs', '')} epochs".replace(" of  epochs", " epochs")
        out.append(row)
    return out


def check_targets(summary):
    by = {r["trainer"]: r for r in summary}
    ours = by.get("multissl-numba")
    modes = [r for t, r in by.items() if t.startswith("gensim")]
    if not ours or not modes:
        return []
    fastest = max(r["words_per_s"] for r in modes)
    # quality and memory: gensim's mean over all its runs (both modes), weighted by runs
    runs = sum(r["runs"] for r in modes)
    gensim = {k: sum(r[k] * r["runs"] for r in modes) / runs
              for k in ("analogy_accuracy", "ws353_spearman", "simlex999_spearman", "peak_rss_mb")}
    kind = summary[0]["model"]
    checks = [
        (f"{kind}: words/s >= 1.0x fastest gensim", ours["words_per_s"] / fastest, ">= 1.0", ours["words_per_s"] >= fastest),
        (f"{kind}: analogy >= gensim - 0.01", ours["analogy_accuracy"] - gensim["analogy_accuracy"], ">= -0.01",
         ours["analogy_accuracy"] >= gensim["analogy_accuracy"] - 0.01),
        (f"{kind}: WS353 Spearman >= gensim - 0.02", ours["ws353_spearman"] - gensim["ws353_spearman"], ">= -0.02",
         ours["ws353_spearman"] >= gensim["ws353_spearman"] - 0.02),
        (f"{kind}: SimLex999 Spearman >= gensim - 0.02", ours["simlex999_spearman"] - gensim["simlex999_spearman"], ">= -0.02",
         ours["simlex999_spearman"] >= gensim["simlex999_spearman"] - 0.02),
        (f"{kind}: peak RSS <= 1.5x gensim", ours["peak_rss_mb"] / gensim["peak_rss_mb"], "<= 1.5",
         ours["peak_rss_mb"] <= 1.5 * gensim["peak_rss_mb"]),
    ]
    return [{"target": name, "value": value, "needed": need, "met": ok} for name, value, need, ok in checks]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=None, help="one-sentence-per-line file (default: dict-gcide)")
    parser.add_argument("--cache-dir", default=os.path.join(os.path.expanduser("~"), ".cache", "multissl"),
                        help="where the gcide corpus text is written")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1, help="runs of every trainer (seeds 1, 2, ...)")
    parser.add_argument("--torch-minutes", type=float, default=3.0, help="wall-clock budget of the torch backend per model")
    parser.add_argument("--skip", nargs="*", default=[], choices=TRAINERS, help="trainers to leave out")
    parser.add_argument("--json", default=None, help="output JSON (default benchmarks/results/text_vs_gensim.json)")
    parser.add_argument("--worker", nargs=6, metavar=("TRAINER", "CORPUS", "SG", "EPOCHS", "SEED", "TORCH_MIN"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        t, c, sg, ep, seed, tm = args.worker
        print(json.dumps(worker(t, c, int(sg), int(ep), int(seed), float(tm))))
        return

    corpus = prepare_corpus(args.corpus, Path(args.cache_dir))
    load = os.getloadavg()[0]
    print(f"corpus {corpus}; {args.repeats} repeat(s); load average at start {load:.1f} on {os.cpu_count()} CPUs", flush=True)
    results = []
    for sg in (1, 0):
        for repeat in range(args.repeats):
            for trainer in TRAINERS:
                if trainer in args.skip or (trainer == "multissl-torch" and repeat > 0):
                    continue
                started = time.time()
                r = run_worker(__file__, ["--worker", trainer, str(corpus), str(sg), str(args.epochs), str(repeat + 1),
                                          str(args.torch_minutes)])
                r["epochs"] = args.epochs
                r["load_average"] = os.getloadavg()[0]
                results.append(r)
                print(f"  {trainer:15s} sg={sg} seed={repeat + 1}: {r['train_s']:.1f} s, {r['words_per_s']:.0f} words/s, "
                      f"analogy {r['analogy_accuracy']:.4f}, WS353 {r['ws353_spearman']:.3f}, SimLex {r['simlex999_spearman']:.3f}, "
                      f"peak {r['peak_rss_mb']:.0f} MiB ({time.time() - started:.0f} s with evaluation)", flush=True)
    summary, targets = [], []
    for sg in (1, 0):
        s = summarise(results, sg)
        summary += s
        targets += check_targets(s)
    columns = ["model", "trainer", "runs", "train_s", "words_per_s", "analogy_accuracy", "ws353_spearman",
               "simlex999_spearman", "peak_rss_mb", "train_rss_mb", "note"]
    print("\n" + markdown_table(summary, columns))
    print("\n" + markdown_table([{**t, "met": "met" if t["met"] else "NOT met"} for t in targets], ["target", "value", "needed", "met"]))
    tokens = results[0]["tokens"] if results else 0
    path = write_json("text_vs_gensim", {
        "corpus": str(corpus), "tokens": tokens, "params": dict(PARAMS, epochs=args.epochs),
        "note": "machine shared with other developers; load average recorded per run",
        "runs": results, "summary": summary, "targets": targets, "all_targets_met": all(t["met"] for t in targets),
    }, args.json)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
