"""Train word2vec on your own corpus and look at the result.

    python examples/text/train_word2vec.py CORPUS.txt --out vectors.bin [--sg 0] [--epochs 5]

CORPUS.txt: one sentence per line, whitespace-separated tokens (.gz / .bz2 ok).
Getting text8 (100 MB of cleaned English Wikipedia, ~17M tokens, one line):

    wget http://mattmahoney.net/dc/text8.zip && unzip text8.zip
    python examples/text/train_word2vec.py text8 --out text8.bin

(the single line is split into 10,000-token sentences, nothing is dropped).
Expect about 30-40% analogy accuracy on text8 after 5 epochs of skip-gram.
"""
import argparse

from multissl.text import Word2Vec, evaluate_all


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("corpus")
    p.add_argument("--out", default="vectors.bin")
    p.add_argument("--sg", type=int, default=1)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--model", default=None, help="also save the full model (continue training with Word2Vec.load)")
    args = p.parse_args()

    kwargs = {"workers": args.workers} if args.workers else {}
    model = Word2Vec(corpus_file=args.corpus, sg=args.sg, epochs=args.epochs, **kwargs)
    for entry in model.training_log:
        print(f"epoch {entry['epoch']}: mean loss {entry['mean_loss']:.4f}, {entry['words_per_s']:.0f} words/s")
    model.wv.save_word2vec_format(args.out, binary=True)
    if args.model:
        model.save(args.model)
    for word in ("king", "computer", "france"):
        if word in model.wv:
            print(word, "->", ", ".join(w for w, _ in model.wv.most_similar(word, topn=8)))
    print(evaluate_all(model.wv))


if __name__ == "__main__":
    main()
