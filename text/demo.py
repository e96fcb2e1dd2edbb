"""The text part of ``multissl demo``: word2vec on gensim's Lee corpus.

Trains skip-gram (numba backend) on ``lee_background.cor`` (about 60k tokens
of news, shipped in gensim's wheel), prints the nearest neighbours of a few
words, compares the similarity scores with those of random vectors over the
same vocabulary, and writes a 2-D PCA map of frequent words.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from multissl.demo import DemoSection
from multissl.figures import new_figure, save_figure

QUERIES = ("police", "fire", "government", "israeli")
PAIRS = (("police", "officers"), ("fire", "fires"), ("government", "minister"), ("palestinian", "israeli"),
         ("police", "minister"), ("fire", "government"))


def lee_sentences():
    from gensim.test.utils import datapath

    from .corpus import simple_tokenize

    with open(datapath("lee_background.cor"), encoding="utf-8") as f:
        return [simple_tokenize(line) for line in f if line.strip()]


def run(out_dir: Path, quick: bool = False, seed: int = 0) -> DemoSection:
    from .evaluate import evaluate_word_pairs, gensim_datapath
    from .keyedvectors import KeyedVectors
    from .word2vec import Word2Vec

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sentences = lee_sentences()
    epochs = 20 if quick else 40
    started = time.perf_counter()
    model = Word2Vec(sentences, vector_size=64, window=5, min_count=3, epochs=epochs, sg=1, workers=2,
                     seed=seed + 1, verbose=False)
    seconds = time.perf_counter() - started
    rng = np.random.default_rng(seed)
    random_kv = KeyedVectors(model.wv.index_to_key, rng.standard_normal(model.wv.vectors.shape).astype(np.float32))

    rows = []
    for word in QUERIES:
        if word in model.wv:
            near = ", ".join(f"{w} ({s:.2f})" for w, s in model.wv.most_similar(word, topn=6))
            rows.append(f"| {word} | {near} |")
    pair_rows, trained_sims, random_sims = [], [], []
    for a, b in PAIRS:
        if a in model.wv and b in model.wv:
            t, r = model.wv.similarity(a, b), random_kv.similarity(a, b)
            trained_sims.append(t)
            random_sims.append(r)
            pair_rows.append(f"| {a} / {b} | {t:.3f} | {r:.3f} |")
    ws_trained = evaluate_word_pairs(model.wv, gensim_datapath("wordsim353.tsv"))
    ws_random = evaluate_word_pairs(random_kv, gensim_datapath("wordsim353.tsv"))
    picture = _plot_frequent_words(model.wv, out_dir / "text_word_map.png", seed)
    log = model.training_log
    markdown = (
        f"Skip-gram with negative sampling (numba backend, 2 threads) on gensim's Lee corpus: "
        f"{model.vocab.total_words} tokens, {len(model.wv)} words kept, {epochs} epochs in {seconds:.1f} s. "
        f"Mean loss per (context, centre) pair {log[0]['mean_loss']:.3f} (epoch 1) -> {log[-1]['mean_loss']:.3f} "
        f"(epoch {len(log)}).\n\n"
        "| word | nearest neighbours (cosine) |\n|---|---|\n" + "\n".join(rows) + "\n\n"
        "| pair | trained cosine | random vectors |\n|---|---|---|\n" + "\n".join(pair_rows) + "\n\n"
        f"WordSim-353 Spearman on the {ws_trained.pairs} pairs in the vocabulary: trained {ws_trained.spearman:.3f}, "
        f"random vectors {ws_random.spearman:.3f}.\n\n" + _verdict(ws_trained.spearman, ws_random.spearman)
    )
    metrics = {"seconds": seconds, "vocabulary": len(model.wv), "epochs": epochs,
               "first_mean_loss": log[0]["mean_loss"], "last_mean_loss": log[-1]["mean_loss"],
               "ws353_spearman": ws_trained.spearman, "ws353_spearman_random": ws_random.spearman,
               "pair_cosine_mean": float(np.mean(trained_sims)) if trained_sims else float("nan"),
               "pair_cosine_mean_random": float(np.mean(random_sims)) if random_sims else float("nan")}
    print(markdown)
    return DemoSection("Text: word2vec skip-gram on the Lee corpus", markdown, [picture.name], metrics)


def _verdict(trained: float, random: float) -> str:
    if trained > random:
        return (f"Vectors learned from 60k words of news rank word pairs more like people do than random vectors "
                f"({trained:.3f} vs {random:.3f} Spearman): predicting a word's neighbours is enough to learn what it means.")
    return f"In this run the learned vectors do not rank word pairs better than random ones ({trained:.3f} vs {random:.3f})."


def _plot_frequent_words(kv, path: Path, seed: int, skip: int = 40, count: int = 80) -> Path:
    """PCA of the vectors of frequent content words (ranks skip..skip+count), labelled."""
    words = kv.index_to_key[skip : skip + count]
    x = kv.get_normed_vectors()[skip : skip + count]
    x = x - x.mean(0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    xy = x @ vt[:2].T
    fig = new_figure(figsize=(8, 7))
    ax = fig.subplots()
    ax.scatter(xy[:, 0], xy[:, 1], s=8, color="tab:blue")
    for (px, py), w in zip(xy, words):
        ax.annotate(w, (px, py), fontsize=7, alpha=0.8)
    ax.set_title(f"word2vec on the Lee corpus: PCA of words ranked {skip}-{skip + count} by frequency")
    ax.set_xticks([])
    ax.set_yticks([])
    return save_figure(fig, path, dpi=110)
