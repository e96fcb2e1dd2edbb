"""Train word2vec on your own corpus and look at the result.

    python examples/text/train_word2vec.py CORPUS.txt --out vectors.bin [--sg 0] [--epochs 5]

CORPUS.txt: one sentence per line, whitespace-separated tokens (.gz / .bz2 ok).
Getting text8 (100 MB of cleaned English Wikipedia, ~17M tokens, one line):

    wget http://mattmahoney.net/dc/text8.zip && unzip text8.zip
    python examples/text/train_word2vec.py text8 --out text8.bin

(the single line is split into 10,000-token sentences, nothing is dropped).
Expect about 30-40% analogy accuracy on text8 after 5 epochs of skip-gram.

    python examples/text/train_word2vec.py --smoke   # one epoch on gensim's Lee corpus, into a temporary folder
"""
import argparse
import os
import tempfile

from multissl.text import Word2Vec, evaluate_all
from multissl.text.demo import lee_sentences


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("corpus", nargs="?", help="the corpus (required unless --smoke)")
    p.add_argument("--out", help="where to write the vectors (default: vectors.bin)")
    p.add_argument("--sg", type=int, default=1)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--model", default=None, help="also save the full model (continue training with Word2Vec.load)")
    p.add_argument("--smoke", action="store_true", help="one epoch on gensim's Lee corpus, written to a temporary folder")
    args = p.parse_args()
    if args.smoke:
        scratch = tempfile.mkdtemp(prefix="multissl-example-")
        if args.corpus is None:
            args.corpus = os.path.join(scratch, "lee.txt")
            with open(args.corpus, "w", encoding="utf-8") as f:
                f.writelines(" ".join(sentence) + "\n" for sentence in lee_sentences())
        args.out = args.out or os.path.join(scratch, "vectors.bin")
        args.epochs = 1
    elif args.corpus is None:
        p.error("CORPUS is required (unless --smoke)")
    args.out = args.out or "vectors.bin"

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
