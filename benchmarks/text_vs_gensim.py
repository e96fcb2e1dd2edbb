"""word2vec: multissl against gensim 4.x, side by side in one run, on two real corpora.

    python benchmarks/text_vs_gensim.py                          # both corpora, skip-gram and CBOW
    python benchmarks/text_vs_gensim.py --corpus gcide --repeats 1
    python benchmarks/text_vs_gensim.py --corpus /path/text8.txt  # any one-sentence-per-line file
    python benchmarks/text_vs_gensim.py --trainers gensim-file multissl multissl-torch

Corpora:
- ``enwiki``: gensim's shortened English Wikipedia in its wheel's test data
  (``enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2``), tokenised by
  gensim's ``WikiCorpus`` (lower case, one article per line);
- ``gcide``: Debian's dict-gcide dictionary, one lower-cased sentence per line
  (:mod:`multissl.text.gcide`; installed with apt-get when missing).
Both are written once to ``--cache-dir``.

Settings for everyone: 100 dims, window 5, negative 5, sample 1e-3, min_count 5, 5 epochs,
workers=2, alpha 0.025; skip-gram and CBOW; the loss is not computed (gensim's default).
Each trainer runs in its own subprocess that imports the same modules (gensim, torch,
multissl.text) and starts numba's compiler (one trivial compiled function: numba sets itself up
on the first compiled call of a process, ~0.25 s whatever the corpus, as gensim's compiled code
loads at import) before its timer starts and its peak-memory mark is reset; loading this
library's compiled kernels from numba's cache is timed:
- ``gensim``: ``build_vocab(LineSentence)`` + ``train`` (gensim's usual API);
- ``gensim-file``: gensim's ``corpus_file=`` mode (its fastest);
- ``multissl``: ``multissl.text.Word2Vec``, ``build_vocab(corpus_file=)`` + ``train(corpus_file=)``;
- ``multissl-loss``: the same with ``compute_loss=True`` (this library's default);
- ``multissl-torch``: the torch backend on CPU under a budget of ``--torch-minutes``.

words/s = corpus tokens x epochs / seconds of ``train``; ``e2e_words_per_s`` counts
``build_vocab`` too (this library encodes the corpus while counting it, so its ``train``
starts at once). Quality: 3CosAdd analogy accuracy over the 30k most frequent words,
Spearman on WordSim-353 and SimLex-999, computed by multissl.text.evaluate for everyone.

Vocabulary counting (``count`` rows, GCIDE and enwiki): the seconds to count the corpus
file and choose the words (best of 3 calls in one process), for the compiled scan that
``build_vocab(corpus_file=)`` uses (it also writes the corpus's ids), for the Python line
reader + ``Counter`` that counted files before it, and for gensim's ``scan_vocab`` +
``prepare_vocab``; with ``max_vocab_size`` unset and set (memory bounded while counting).

Every trainer runs ``--repeats`` times (seeds 1, 2, ...): by default 10 times on a corpus file under
10 MB (enwiki, whose WS-353 varies by about 0.03 from seed to seed), else 5 times (GCIDE's CBOW WS-353
varies by about 0.02); fewer runs cannot measure the 0.01 quality margin.

Targets (per corpus and model; ``multissl``, mean over repeats): words/s >= 3.0x the faster
gensim mode; analogy accuracy, WS-353 and SimLex-999 Spearman >= gensim's mean over its runs
(both modes) - 0.01. Counting: the compiled scan >= 3.0x the Python counting on GCIDE.
Prints markdown tables and writes benchmarks/results/text_vs_gensim.json.
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
from common import current_rss_mb, markdown_table, peak_rss_mb, reset_peak_rss, run_worker, write_json  # noqa: E402

PARAMS = dict(vector_size=100, window=5, negative=5, sample=1e-3, min_count=5, alpha=0.025, min_alpha=1e-4, workers=2)
GCIDE = Path("/usr/share/dictd/gcide.dict.dz")
ENWIKI = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
CORPORA = ("enwiki", "gcide")
TRAINERS = ("gensim", "gensim-file", "multissl", "multissl-loss", "multissl-torch")
DEFAULT_TRAINERS = ("gensim", "gensim-file", "multissl")
COUNTERS = ("multissl-scan", "python-counter", "gensim")
COUNT_REPEATS = 3  # counting is timed 3 times in a row; the best time is reported
SPEEDUP = 3.0
REPEATS, SMALL_CORPUS_REPEATS, SMALL_CORPUS_MB = 5, 10, 10
QUALITY_MARGIN = 0.01
QUALITY_KEYS = ("analogy_accuracy", "ws353_spearman", "simlex999_spearman")


# ------------------------------------------------------------------ corpora
def prepare_corpus(name: str, cache_dir: Path) -> Path:
    """The one-sentence-per-line file of corpus ``name`` (``enwiki``, ``gcide`` or a path), written once."""
    if name not in CORPORA:
        path = Path(name)
        if not path.is_file():
            raise SystemExit(f"--corpus {path}: not {' or '.join(CORPORA)} and not a file")
        return path
    cache_dir.mkdir(parents=True, exist_ok=True)
    out = cache_dir / ("gcide-sentences.txt" if name == "gcide" else "enwiki-shortened.txt")
    if out.is_file():
        return out
    tmp = out.with_suffix(".tmp")
    if name == "gcide":
        _install_gcide()
        from multissl.text.gcide import write_gcide_corpus

        info = write_gcide_corpus(tmp)
    else:
        info = _write_enwiki(tmp)
    shutil.move(str(tmp), out)
    print(f"wrote {out}: {info['sentences']} sentences, {info['tokens']} tokens", flush=True)
    return out


def _install_gcide() -> None:
    if GCIDE.is_file():
        return
    print("installing Debian's dict-gcide (apt-get) ...", flush=True)
    cmd = "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dict-gcide"
    if os.geteuid() != 0:
        cmd = "sudo sh -c " + json.dumps(cmd)
    if subprocess.call(cmd, shell=True) != 0 or not GCIDE.is_file():
        raise SystemExit("could not install dict-gcide; install it or pass --corpus PATH")


def _write_enwiki(path: Path) -> dict:
    from gensim.corpora import WikiCorpus
    from gensim.test.utils import datapath

    source = Path(datapath(ENWIKI))
    if not source.is_file():
        raise SystemExit(f"{source} is not in the installed gensim; pass --corpus gcide or a file")
    sentences = tokens = 0
    with open(path, "w", encoding="utf-8") as f:
        for article in WikiCorpus(str(source), dictionary={}, processes=1).get_texts():
            f.write(" ".join(article) + "\n")
            sentences += 1
            tokens += len(article)
    return {"sentences": sentences, "tokens": tokens}


# ------------------------------------------------------------------ workers
def train_worker(trainer: str, corpus: str, sg: int, epochs: int, seed: int, torch_minutes: float) -> dict:
    import gensim  # noqa: F401  (same imports in every worker)
    import torch  # noqa: F401
    from gensim.models import Word2Vec as GensimWord2Vec
    from gensim.models.word2vec import LineSentence
    from numba import njit

    from multissl.text import KeyedVectors, Word2Vec, evaluate_all

    params = dict(PARAMS, sg=sg, epochs=epochs, seed=seed)
    njit(lambda x: x + 1)(1)  # numba's compiler starts on its first compiled call (~0.25 s per process)
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
        model = Word2Vec(backend=backend, verbose=False, compute_loss=trainer != "multissl", **params, **extra)
        model.build_vocab(corpus_file=corpus)
        vocab_s = time.perf_counter() - started
        t0 = time.perf_counter()
        model.train(corpus_file=corpus, total_words=model.corpus_total_words, epochs=epochs,
                    max_minutes=torch_minutes if backend == "torch" else None)
        train_s = time.perf_counter() - t0
        tokens = model.corpus_total_words
        if backend == "torch":
            share = model.torch_words_done / max(model.vocab.retained_words, 1)  # epochs the budget covered
            words_trained = share * tokens
            info["epochs_covered"] = round(share, 3)
        else:
            words_trained = tokens * epochs
        kv = model.wv
    peak = peak_rss_mb()
    scores = evaluate_all(kv, restrict_vocab=30000)
    return {"trainer": trainer, "sg": sg, "seed": seed, "train_s": train_s, "vocab_s": vocab_s,
            "words_per_s": words_trained / train_s, "e2e_words_per_s": words_trained / (train_s + vocab_s),
            "tokens": tokens, "vocabulary": len(kv), "peak_rss_mb": peak, "base_rss_mb": base_rss,
            "train_rss_mb": peak - base_rss, **scores, **info}


def count_worker(counter: str, corpus: str, max_vocab_size: int) -> dict:
    import gensim  # noqa: F401  (same imports in every worker)
    import torch  # noqa: F401
    from gensim.models import Word2Vec as GensimWord2Vec

    from multissl.text import LineCorpus
    from multissl.text.file_scan import scan_file
    from multissl.text.vocab import count_words, select_words

    limit = max_vocab_size or None
    scan_file(corpus, keep_ids=False).close()  # compiled once: the worker times the call, not numba's cache load

    def count():
        if counter == "multissl-scan":
            scan = scan_file(corpus, max_vocab_size=limit)
            scan.close()
            return len(select_words(scan.counts, PARAMS["min_count"])[0])
        if counter == "python-counter":
            return len(select_words(count_words(LineCorpus(corpus), limit), PARAMS["min_count"])[0])
        model = GensimWord2Vec(vector_size=PARAMS["vector_size"], min_count=PARAMS["min_count"], max_vocab_size=limit)
        model.scan_vocab(corpus_file=corpus)
        model.prepare_vocab()
        return len(model.wv)

    base_rss = current_rss_mb()
    reset_peak_rss()
    seconds = []
    for _ in range(COUNT_REPEATS):
        started = time.perf_counter()
        vocabulary = count()
        seconds.append(time.perf_counter() - started)
    return {"counter": counter, "max_vocab_size": limit, "count_s": min(seconds), "count_s_all": seconds,
            "vocabulary": vocabulary, "count_rss_mb": peak_rss_mb() - base_rss}


# ------------------------------------------------------------------ driver
def _mean(rows, key):
    values = [r[key] for r in rows if r.get(key) is not None]
    return sum(values) / len(values) if values else float("nan")


def summarise(results, corpus_name: str, sg: int):
    out = []
    for trainer in TRAINERS:
        rows = [r for r in results if r["trainer"] == trainer and r["sg"] == sg and r["corpus"] == corpus_name]
        if not rows:
            continue
        row = {"corpus": corpus_name, "model": "skip-gram" if sg else "CBOW", "trainer": trainer, "runs": len(rows)}
        for key in ("vocab_s", "train_s", "words_per_s", "e2e_words_per_s", *QUALITY_KEYS, "peak_rss_mb"):
            row[key] = _mean(rows, key)
        if "epochs_covered" in rows[0]:
            row["note"] = f"budget: {rows[0]['epochs_covered']} epochs"
        out.append(row)
    return out


def check_targets(summary):
    by = {r["trainer"]: r for r in summary}
    ours = by.get("multissl")
    modes = [r for t, r in by.items() if t in ("gensim", "gensim-file")]
    if not ours or not modes:
        return []
    fastest = max(r["words_per_s"] for r in modes)
    fastest_e2e = max(r["e2e_words_per_s"] for r in modes)
    runs = sum(r["runs"] for r in modes)
    gensim = {k: sum(r[k] * r["runs"] for r in modes) / runs for k in QUALITY_KEYS}
    label = f"{summary[0]['corpus']} {summary[0]['model']}"
    checks = [(f"{label}: words/s vs fastest gensim", ours["words_per_s"] / fastest, f">= {SPEEDUP}",
               ours["words_per_s"] >= SPEEDUP * fastest),
              (f"{label}: words/s with build_vocab vs fastest gensim", ours["e2e_words_per_s"] / fastest_e2e,
               f">= {SPEEDUP}", ours["e2e_words_per_s"] >= SPEEDUP * fastest_e2e)]
    for key in QUALITY_KEYS:
        delta = ours[key] - gensim[key]
        checks.append((f"{label}: {key} - gensim", delta, f">= -{QUALITY_MARGIN}", delta >= -QUALITY_MARGIN))
    return [{"target": name, "value": value, "needed": need, "met": ok} for name, value, need, ok in checks]


def counting_table(counts):
    rows, targets = [], []
    for corpus_name in dict.fromkeys(r["corpus"] for r in counts):
        for limit in dict.fromkeys(r["max_vocab_size"] for r in counts if r["corpus"] == corpus_name):
            mine = [r for r in counts if r["corpus"] == corpus_name and r["max_vocab_size"] == limit]
            by = {r["counter"]: r for r in mine}
            base = by.get("python-counter")
            for r in mine:
                rows.append({**r, "speedup_vs_python": base["count_s"] / r["count_s"] if base else float("nan")})
            if base and "multissl-scan" in by and corpus_name == "gcide":
                value = base["count_s"] / by["multissl-scan"]["count_s"]
                targets.append({"target": f"gcide counting (max_vocab_size={limit}): scan vs Python counting",
                                "value": value, "needed": f">= {SPEEDUP}", "met": value >= SPEEDUP})
    return rows, targets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", nargs="+", default=list(CORPORA), help="enwiki, gcide, or one-sentence-per-line files")
    parser.add_argument("--cache-dir", default=os.path.join(os.path.expanduser("~"), ".cache", "multissl"),
                        help="where the corpus texts are written")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=None,
                        help="runs of every trainer (seeds 1, 2, ...); the quality targets compare means over them. "
                             f"Default: {SMALL_CORPUS_REPEATS} on a corpus file under {SMALL_CORPUS_MB} MB (one "
                             "enwiki run's WS-353 Spearman varies by about 0.03 from seed to seed), else "
                             f"{REPEATS} (GCIDE's by about 0.02): fewer cannot measure a 0.01 margin")
    parser.add_argument("--trainers", nargs="+", default=list(DEFAULT_TRAINERS), choices=TRAINERS)
    parser.add_argument("--torch-minutes", type=float, default=3.0, help="wall-clock budget of the torch backend per model")
    parser.add_argument("--count-limit", type=int, default=100_000, help="max_vocab_size of the bounded counting rows")
    parser.add_argument("--no-counting", action="store_true", help="leave out the vocabulary-counting rows")
    parser.add_argument("--no-training", action="store_true", help="only the vocabulary-counting rows")
    parser.add_argument("--json", default=None, help="output JSON (default benchmarks/results/text_vs_gensim.json)")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, *rest = args.worker
        if kind == "train":
            t, c, sg, ep, seed, tm = rest
            print(json.dumps(train_worker(t, c, int(sg), int(ep), int(seed), float(tm))))
        else:
            counter, c, limit = rest
            print(json.dumps(count_worker(counter, c, int(limit))))
        return

    started = time.time()
    corpora = {name: prepare_corpus(name, Path(args.cache_dir)) for name in args.corpus}
    print(f"corpora {', '.join(f'{p} ({repeats_for(p, args.repeats)} repeats)' for p in corpora.values())}; "
          f"load average at start "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
    counts = [] if args.no_counting else _count_all(corpora, args.count_limit)
    results = [] if args.no_training else _train_all(corpora, args)
    summary, targets = [], []
    for corpus_name in corpora:
        for sg in (1, 0):
            s = summarise(results, corpus_name, sg)
            summary += s
            targets += check_targets(s)
    count_rows, count_targets = counting_table(counts)
    targets += count_targets
    columns = ["corpus", "model", "trainer", "runs", "vocab_s", "train_s", "words_per_s", "e2e_words_per_s",
               *QUALITY_KEYS, "peak_rss_mb", "note"]
    print("\n" + markdown_table(summary, columns))
    if count_rows:
        print("\n" + markdown_table(count_rows, ["corpus", "counter", "max_vocab_size", "count_s", "vocabulary",
                                                 "count_rss_mb", "speedup_vs_python"]))
    print("\n" + markdown_table([{**t, "met": "met" if t["met"] else "NOT met"} for t in targets],
                                ["target", "value", "needed", "met"]))
    path = write_json("text_vs_gensim", {
        "corpora": {k: str(v) for k, v in corpora.items()}, "params": dict(PARAMS, epochs=args.epochs),
        "note": "each trainer in its own process, back to back; load average recorded per run",
        "runs": results, "counting": counts, "summary": summary, "counting_summary": count_rows, "targets": targets,
        "all_targets_met": all(t["met"] for t in targets), "seconds": time.time() - started,
    }, args.json)
    print(f"\nwrote {path} ({time.time() - started:.0f} s)")


def _count_all(corpora, limit: int):
    counts = []
    for corpus_name, path in corpora.items():
        for max_vocab_size in (0, limit):
            for counter in COUNTERS:
                r = run_worker(__file__, ["--worker", "count", counter, str(path), str(max_vocab_size)])
                r.update(corpus=corpus_name, load_average=os.getloadavg()[0])
                counts.append(r)
                print(f"  count {corpus_name:7s} {counter:15s} max_vocab_size={r['max_vocab_size']}: {r['count_s']:.2f} s, "
                      f"{r['vocabulary']} words", flush=True)
    return counts


def repeats_for(corpus: Path, repeats) -> int:
    """Runs per trainer on ``corpus``: ``repeats``, or by default more on a small corpus (its scores vary more)."""
    if repeats is not None:
        return repeats
    return SMALL_CORPUS_REPEATS if corpus.stat().st_size < SMALL_CORPUS_MB * 2**20 else REPEATS


def _train_all(corpora, args):
    results = []
    for corpus_name, path in corpora.items():
        for sg in (1, 0):
            for repeat in range(repeats_for(path, args.repeats)):
                for trainer in args.trainers:
                    if trainer == "multissl-torch" and repeat > 0:
                        continue
                    t0 = time.time()
                    r = run_worker(__file__, ["--worker", "train", trainer, str(path), str(sg), str(args.epochs),
                                              str(repeat + 1), str(args.torch_minutes)])
                    r.update(corpus=corpus_name, epochs=args.epochs, load_average=os.getloadavg()[0])
                    results.append(r)
                    print(f"  {corpus_name:7s} {trainer:14s} sg={sg} seed={repeat + 1}: vocab {r['vocab_s']:.1f} s, train "
                          f"{r['train_s']:.1f} s, {r['words_per_s']:.0f} words/s, analogy {r['analogy_accuracy']:.4f}, "
                          f"WS353 {r['ws353_spearman']:.3f}, SimLex {r['simlex999_spearman']:.3f} "
                          f"({time.time() - t0:.0f} s with evaluation, load {r['load_average']:.1f})", flush=True)
    return results


if __name__ == "__main__":
    main()
