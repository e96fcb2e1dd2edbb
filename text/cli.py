"""``multissl text ...`` commands: word2vec (skip-gram, CBOW) and n-gram language models.

  multissl text train CORPUS -o vectors.bin [--sg 0 --epochs 5 ...]   train, write word2vec binary
  multissl text eval vectors.bin [--json out.json]                  analogies + similarity tables
  multissl text neighbors vectors.bin WORD [WORD ...]                nearest neighbours
  multissl text ngram CORPUS [--test FILE]                           unigram/bigram perplexities
"""
from __future__ import annotations

from pathlib import Path

from multissl.cliutils import add_command_group, add_dataclass_arguments, dataclass_from_args, write_json_file


def register(subparsers) -> None:
    sub = add_command_group(subparsers, "text", "word2vec (skip-gram, CBOW) and n-gram language models", __doc__)
    _register_train(sub)
    _register_eval(sub)
    _register_neighbors(sub)
    _register_ngram(sub)


# ------------------------------------------------------------------ train
def _register_train(sub) -> None:
    from .config import Word2VecConfig

    p = sub.add_parser("train", help="train word2vec on a one-sentence-per-line corpus",
                       description="Train word2vec on CORPUS (one sentence per line, whitespace-separated tokens; "
                                   ".gz/.bz2 ok) and write the vectors in word2vec's format (gensim reads it).")
    p.add_argument("corpus", help="text file, one sentence per line")
    p.add_argument("-o", "--output", required=True, help="vector file to write (word2vec binary unless --text-format)")
    p.add_argument("--text-format", action="store_true", help="write the word2vec text format instead of binary")
    p.add_argument("--save-model", default=None, help="also save the full model (resumable) to this .npz path")
    p.add_argument("--lowercase", action="store_true", help="lower-case the corpus while reading")
    add_dataclass_arguments(p, Word2VecConfig, title="word2vec options")
    p.set_defaults(func=_train)


def _train(args) -> int:
    from .config import Word2VecConfig
    from .corpus import LineCorpus
    from .word2vec import Word2Vec

    cfg = dataclass_from_args(Word2VecConfig, args)
    corpus = Path(args.corpus)
    if not corpus.is_file():
        raise FileNotFoundError(f"corpus file {corpus} does not exist")
    model = Word2Vec(**cfg.to_dict())
    if args.lowercase:
        sentences = LineCorpus(corpus, cfg.max_sentence_length, cfg.errors, lowercase=True)
        model.build_vocab(sentences)
        model.train(sentences)
    else:
        model.build_vocab(corpus_file=corpus)
        model.train(corpus_file=corpus)
    model.wv.save_word2vec_format(args.output, binary=not args.text_format)
    if args.save_model:
        model.save(args.save_model)
    last = model.training_log[-1]
    print(f"wrote {len(model.wv)} vectors of {cfg.vector_size} dims to {args.output}; "
          f"last epoch mean loss {last['mean_loss']:.4f}, {last['words_per_s']:.0f} words/s")
    return 0


# ------------------------------------------------------------------ eval
def _load_vectors(path: str, text_format: bool):
    from .keyedvectors import KeyedVectors

    binary = not text_format and not str(path).endswith(".txt")
    return KeyedVectors.load_word2vec_format(path, binary=binary)


def _register_eval(sub) -> None:
    p = sub.add_parser("eval", help="analogy accuracy and word-similarity correlations",
                       description="Evaluate word vectors on gensim's shipped questions-words.txt, "
                                   "wordsim353.tsv and simlex999.txt (or your own files).")
    p.add_argument("vectors", help="word2vec binary file (a .txt name or --text-format: text format)")
    p.add_argument("--text-format", action="store_true", help="the vector file is in the text format")
    p.add_argument("--restrict-vocab", type=int, default=30000, help="analogies: search the N most frequent words")
    p.add_argument("--analogies", default=None, help="analogy file (default: gensim's questions-words.txt)")
    p.add_argument("--pairs", nargs="*", default=None, help="word-pair files (default: gensim's wordsim353.tsv, simlex999.txt)")
    p.add_argument("--json", default=None, help="write the scores to this JSON file")
    p.set_defaults(func=_eval)


def _eval(args) -> int:
    from .evaluate import evaluate_word_analogies, evaluate_word_pairs, gensim_datapath

    kv = _load_vectors(args.vectors, args.text_format)
    analogies = args.analogies or gensim_datapath("questions-words.txt")
    pair_files = args.pairs or [gensim_datapath("wordsim353.tsv"), gensim_datapath("simlex999.txt")]
    accuracy, sections = evaluate_word_analogies(kv, analogies, args.restrict_vocab)
    print(f"Analogies ({Path(analogies).name}, restrict_vocab={args.restrict_vocab})\n")
    print("| section | correct | answered | accuracy | skipped (OOV) |\n|---|---|---|---|---|")
    for s in sections:
        answered = len(s["correct"]) + len(s["incorrect"])
        print(f"| {s['section']} | {len(s['correct'])} | {answered} | {s['accuracy']:.4f} | {s['oov']} |")
    print("\nWord similarity\n\n| file | Spearman | Pearson | pairs | OOV ratio |\n|---|---|---|---|---|")
    scores = {"analogy_accuracy": accuracy}
    oov = []
    for path in pair_files:
        r = evaluate_word_pairs(kv, path)
        print(f"| {Path(path).name} | {r.spearman:.4f} | {r.pearson:.4f} | {r.pairs} | {r.oov_ratio:.4f} |")
        stem = Path(path).stem.split(".")[0].lower()
        stem = {"wordsim353": "ws353"}.get(stem, stem)
        scores[f"{stem}_spearman"] = r.spearman
        scores[f"{stem}_pearson"] = r.pearson
        scores[f"{stem}_oov_ratio"] = r.oov_ratio
        oov.append(r.oov_ratio)
    scores["oov_ratio"] = sum(oov) / len(oov) if oov else 0.0
    if args.json:
        write_json_file(args.json, scores)
        print(f"\nwrote {args.json}")
    return 0


# ------------------------------------------------------------------ neighbors
def _register_neighbors(sub) -> None:
    p = sub.add_parser("neighbors", help="nearest neighbours of words by cosine similarity")
    p.add_argument("vectors", help="word2vec binary file (a .txt name or --text-format: text format)")
    p.add_argument("words", nargs="+", help="query words")
    p.add_argument("--text-format", action="store_true", help="the vector file is in the text format")
    p.add_argument("-n", "--topn", type=int, default=10, help="neighbours per word")
    p.set_defaults(func=_neighbors)


def _neighbors(args) -> int:
    kv = _load_vectors(args.vectors, args.text_format)
    missing = [w for w in args.words if w not in kv]
    if missing:
        raise ValueError(f"not in the vocabulary of {args.vectors}: {', '.join(missing)}")
    for word in args.words:
        pairs = kv.most_similar(word, topn=args.topn)
        print(f"{word}: " + ", ".join(f"{w} ({s:.3f})" for w, s in pairs))
    return 0


# ------------------------------------------------------------------ n-gram
def _register_ngram(sub) -> None:
    p = sub.add_parser("ngram", help="unigram/bigram language-model perplexities (add-k, Kneser-Ney)",
                       description="Fit unigram and bigram models on CORPUS and print perplexities on held-out "
                                   "sentences (--test, or the last --holdout fraction of CORPUS).")
    p.add_argument("corpus", help="text file, one sentence per line")
    p.add_argument("--test", default=None, help="held-out file (default: the last --holdout of CORPUS)")
    p.add_argument("--holdout", type=float, default=0.1, help="fraction of CORPUS held out when --test is not given")
    p.add_argument("--k", type=float, default=1.0, help="add-k constant")
    p.add_argument("--discount", type=float, default=0.75, help="Kneser-Ney discount")
    p.add_argument("--min-count", type=int, default=2, help="rarer training words become <unk>")
    p.add_argument("--lowercase", action="store_true", help="lower-case while reading")
    p.add_argument("--json", default=None, help="write the perplexities to this JSON file")
    p.set_defaults(func=_ngram)


def _ngram(args) -> int:
    from .corpus import LineCorpus
    from .ngram import NGramLM

    sentences = list(LineCorpus(args.corpus, lowercase=args.lowercase))
    if args.test:
        train, test = sentences, list(LineCorpus(args.test, lowercase=args.lowercase))
    else:
        if not 0 < args.holdout < 1:
            raise ValueError(f"--holdout must be in (0, 1), got {args.holdout}")
        cut = int(len(sentences) * (1 - args.holdout))
        train, test = sentences[:cut], sentences[cut:]
    if not train or not test:
        raise ValueError(f"{args.corpus}: need sentences both to fit ({len(train)}) and to test ({len(test)})")
    models = {
        f"unigram add-{args.k:g}": NGramLM(1, "add-k", k=args.k, min_count=args.min_count),
        f"bigram add-{args.k:g}": NGramLM(2, "add-k", k=args.k, min_count=args.min_count),
        f"bigram Kneser-Ney d={args.discount:g}": NGramLM(2, "kneser-ney", discount=args.discount, min_count=args.min_count),
    }
    print(f"{len(train)} training and {len(test)} test sentences\n\n| model | test perplexity |\n|---|---|")
    results = {}
    for name, lm in models.items():
        results[name] = lm.fit(train).perplexity(test)
        print(f"| {name} | {results[name]:.1f} |")
    if args.json:
        write_json_file(args.json, results)
    return 0
