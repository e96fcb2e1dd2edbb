"""Skip-gram against CBOW on the same corpus: speed, loss and quality.

    python examples/text/compare_sg_cbow.py [CORPUS.txt] [--epochs 10]
    python examples/text/compare_sg_cbow.py --smoke   # one epoch each on the Lee corpus: a quick check

Without a corpus it uses gensim's Lee corpus (60k tokens, ships with gensim),
where both models train in seconds; on a larger corpus (text8, the dict-gcide
corpus of benchmarks/text_vs_gensim.py) the quality differences are clearer:
skip-gram is slower but better on rare words and analogies, CBOW is faster.
"""
import argparse
import time

from multissl.text import LineCorpus, Word2Vec, evaluate_all
from multissl.text.demo import lee_sentences


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("corpus", nargs="?", default=None)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--min-count", type=int, default=3)
    p.add_argument("--smoke", action="store_true", help="one epoch each (a quick check; the scores mean little)")
    args = p.parse_args()
    if args.smoke:
        args.epochs = 1
    sentences = LineCorpus(args.corpus) if args.corpus else lee_sentences()
    rows = []
    for sg in (1, 0):
        start = time.perf_counter()
        model = Word2Vec(sentences, sg=sg, epochs=args.epochs, min_count=args.min_count, verbose=False)
        seconds = time.perf_counter() - start
        scores = evaluate_all(model.wv)
        rows.append((("skip-gram" if sg else "CBOW"), seconds, model.training_log[-1]["mean_loss"], scores))
    print("| model | seconds | last mean loss | analogy | WS353 | SimLex999 |\n|---|---|---|---|---|---|")
    for name, seconds, loss, s in rows:
        print(f"| {name} | {seconds:.1f} | {loss:.3f} | {s['analogy_accuracy']:.3f} | {s['ws353_spearman']:.3f} | "
              f"{s['simlex999_spearman']:.3f} |")


if __name__ == "__main__":
    main()
