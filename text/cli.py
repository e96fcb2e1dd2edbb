"""``multissl text ...`` commands: word2vec (skip-gram, CBOW) and n-gram language models.

  multissl text train [skipgram|cbow] CORPUS -o RUN [--epochs 5 ...]   train into a run folder (RUN/vectors.bin ...)
  multissl text eval RUN|vectors.bin [--json out.json]              analogies + similarity tables
  multissl text neighbors RUN|vectors.bin WORD [WORD ...]            nearest neighbours
  multissl text predict RUN|model WORD [WORD ...]                    likeliest centre words of a context
  multissl text update RUN|model CORPUS -o model.npz                 add a corpus's new words, train on it
  multissl text score RUN|model CORPUS                               log-probability of each sentence (hs=1)
  multissl text ngram CORPUS [--test FILE]                           unigram/bigram perplexities
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from multissl.cliutils import (add_command_group, add_recipe_arguments, prepare_output_file, recipe_overrides, signature_defaults,
                               write_json_file)

VECTOR_SUFFIXES = (".bin", ".txt", ".vec")
TEXT_SUFFIXES = (".txt", ".vec")


def register(subparsers) -> None:
    sub = add_command_group(subparsers, "text", "word2vec (skip-gram, CBOW) and n-gram language models", __doc__)
    _register_train(sub)
    _register_eval(sub)
    _register_neighbors(sub)
    _register_predict(sub)
    _register_update(sub)
    _register_score(sub)
    _register_ngram(sub)


# ------------------------------------------------------------------ train
def _register_train(sub) -> None:
    from .training import METHODS, recipe

    p = sub.add_parser("train", help="train word2vec on a one-sentence-per-line corpus into a run folder",
                       description="Train word2vec (skip-gram or CBOW) on CORPUS (one sentence per line, "
                                   "whitespace-separated tokens; .gz/.bz2 ok) and write the run folder RUN: "
                                   "config.json, vectors.bin (word2vec binary, gensim reads it), checkpoints/last.npz "
                                   "after every epoch (--resume continues), metrics.jsonl. There is no --steps: "
                                   "word2vec makes no optimizer steps; --epochs and --max-minutes bound the run.")
    p.add_argument("method", nargs="?", choices=METHODS, default=None,
                   help="skipgram or cbow (default: from --sg, whose default 1 is skip-gram)")
    p.add_argument("corpus", help="text file, one sentence per line")
    p.add_argument("-o", "--output", required=True,
                   help="run folder (config.json, vectors.bin, checkpoints/, metrics.jsonl); deprecated: a name ending "
                        "in .bin, .txt or .vec writes that vector file, with the run's checkpoints in NAME.run/")
    p.add_argument("--text-format", action="store_true",
                   help="also write RUN/vectors.txt in word2vec's text format (with a vector-file -o: write it as text)")
    p.add_argument("--save-model", default=None, help="also save the full model (resumable) to this .npz path")
    add_recipe_arguments(p, recipe(), {"model": "word2vec options",
                                       "train": "training loop (--epochs, --seed and --verbose are word2vec options)"})
    p.add_argument("--lr", type=float, default=argparse.SUPPRESS,
                   help="the learning rate's name in every modality: here an alias of --alpha (gensim's name)")
    p.set_defaults(func=_train)


def recipe_from_args(args: argparse.Namespace):
    """The recipe a parsed ``text train`` command trains with (the same call as the Python API)."""
    from .training import recipe

    lr = {"lr": args.lr} if hasattr(args, "lr") else {}
    return recipe(args.method, **recipe_overrides(args, recipe()), **lr)


def _is_vector_file(path: Path) -> bool:
    return path.suffix.lower() in VECTOR_SUFFIXES and not path.is_dir()


def _train(args) -> int:
    import shutil

    from multissl.engine.signals import TrainingInterrupted

    from .training import recipe, train

    out = Path(args.output)
    if args.save_model:
        prepare_output_file(args.save_model, "--save-model")
    vector_file = out if _is_vector_file(out) else None
    if vector_file is not None:
        print(f"multissl: warning: `-o {out.name}` (a vector file) is deprecated; pass a run folder "
              f"(`-o RUN` writes RUN/vectors.bin, config.json, checkpoints/)", file=sys.stderr)
        prepare_output_file(vector_file, "vector file")
        out = vector_file.with_name(vector_file.name + ".run")  # where its checkpoints live, so that --resume works
    overrides = recipe_overrides(args, recipe())
    if vector_file is not None and not overrides.get("resume"):
        overrides.setdefault("overwrite", True)  # as before: -o v.bin replaces v.bin; only --resume continues
    try:
        run = train(args.corpus, out, args.method, **overrides)
    except TrainingInterrupted as stop:
        if args.save_model and stop.checkpoint:  # the checkpoint is the whole model: keep what --save-model asked for
            shutil.copyfile(stop.checkpoint, args.save_model)
        raise
    written = [str(run.extras["vectors"])]
    if vector_file is not None:
        text_format = args.text_format or vector_file.suffix.lower() in TEXT_SUFFIXES
        written = [str(run.model.wv.save_word2vec_format(vector_file, binary=not text_format))]
    elif args.text_format:
        written.append(str(run.model.wv.save_word2vec_format(out / "vectors.txt", binary=False)))
    if args.save_model:
        written.append(str(run.model.save(args.save_model)))
    result = run.result
    if run.model.training_log:
        last = run.model.training_log[-1]
        summary = f"last epoch mean loss {last['mean_loss']:.4f}, {last['words_per_s']:.0f} words/s"
    else:
        summary = "no epoch finished (continue with --resume)"
    print(f"trained {run.method}: {result.epoch}/{run.model.config.epochs} epochs ({result.stop_reason}) in "
          f"{result.elapsed_s:.1f} s, {len(run.model.wv)} vectors of {run.model.config.vector_size} dims; {summary}; "
          f"wrote {', '.join(written)}; run folder {out}")
    return 0


# ------------------------------------------------------------------ eval
def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _load_vectors(path: str, text_format: bool):
    """The vectors of a run folder (RUN/vectors.bin) or of a word2vec vector file."""
    from .keyedvectors import KeyedVectors
    from .training import VECTORS_FILE
    from .word2vec_format import is_headerless_text, looks_binary

    path = Path(path)
    if path.is_dir():
        vectors = path / VECTORS_FILE
        if not vectors.is_file():
            raise FileNotFoundError(f"{path} is a folder without {VECTORS_FILE}, not a text run folder "
                                    "(train one with `multissl text train CORPUS -o RUN`)")
        return KeyedVectors.load_word2vec_format(vectors, binary=True)
    if not path.is_file():
        raise FileNotFoundError(f"vector file {path} does not exist")
    with open(path, "rb") as f:
        magic = f.read(2)
    if magic == b"PK":  # a zip: the whole model saved by Word2Vec.save / --save-model
        from .word2vec import Word2Vec

        return Word2Vec.load(path).wv
    if magic[:1] == b"\x80" and magic[1:] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        raise ValueError(f"{path} is a Python pickle (gensim's KeyedVectors.save / Word2Vec.save), not a vector file; "
                         f"write one with gensim: KeyedVectors.load('{path}').save_word2vec_format('vectors.bin', binary=True) "
                         "(for a Word2Vec model: Word2Vec.load(...).wv.save_word2vec_format(...))")
    if is_headerless_text(path):  # GloVe's text files have no "V D" header line
        return KeyedVectors.load_word2vec_format(path, binary=False, no_header=True)
    binary = False if text_format else looks_binary(path)  # the content decides: a .vec may be either
    return KeyedVectors.load_word2vec_format(path, binary=binary)


def _register_eval(sub) -> None:
    p = sub.add_parser("probe", aliases=["eval"], help="analogy accuracy and word-similarity correlations",
                       description="Evaluate word vectors on gensim's shipped questions-words.txt, "
                                   "wordsim353.tsv and simlex999.txt (or your own files).")
    p.add_argument("vectors", help="a run folder of `text train` (its vectors.bin), a word2vec binary or text "
                                   "vector file (the content decides; --text-format: text), a GloVe text file "
                                   "(no 'V D' header line), or a model saved by --save-model (.npz)")
    p.add_argument("--text-format", action="store_true", help="the vector file is in the text format")
    p.add_argument("--restrict-vocab", type=int, default=30000, help="analogies: search the N most frequent words")
    p.add_argument("--analogy-method", choices=("3CosAdd", "3CosMul"), default="3CosAdd",
                   help="analogies: nearest to b - a + c (3CosAdd, gensim's most_similar) or 3CosMul (most_similar_cosmul)")
    p.add_argument("--analogies", default=None, help="analogy file (default: gensim's questions-words.txt)")
    p.add_argument("--pairs", nargs="*", default=None, help="word-pair files (default: gensim's wordsim353.tsv, simlex999.txt)")
    p.add_argument("--json", default=None, help="write the scores to this JSON file")
    p.set_defaults(func=_eval)


def _eval(args) -> int:
    from .probe_run import word_scores

    kv = _load_vectors(args.vectors, args.text_format)
    scores, sections, pair_results = word_scores(kv, args.analogies, args.pairs, args.restrict_vocab, args.analogy_method)
    analogies = args.analogies or "questions-words.txt"
    print(f"Analogies ({Path(analogies).name}, {args.analogy_method}, restrict_vocab={args.restrict_vocab})\n")
    print("| section | correct | answered | accuracy | skipped (OOV) |\n|---|---|---|---|---|")
    for s in sections:
        answered = len(s["correct"]) + len(s["incorrect"])
        print(f"| {s['section']} | {len(s['correct'])} | {answered} | {s['accuracy']:.4f} | {s['oov']} |")
    print("\nWord similarity\n\n| file | Spearman | Pearson | pairs | OOV ratio |\n|---|---|---|---|---|")
    for path, r in pair_results:
        print(f"| {Path(path).name} | {r.spearman:.4f} | {r.pearson:.4f} | {r.pairs} | {r.oov_ratio:.4f} |")
    if args.json:
        write_json_file(args.json, scores)
        print(f"\nwrote {args.json}")
    return 0


# ------------------------------------------------------------------ neighbors
def _register_neighbors(sub) -> None:
    p = sub.add_parser("neighbors", help="nearest neighbours of words by cosine similarity")
    p.add_argument("vectors", help="a run folder of `text train` (its vectors.bin), a word2vec binary or text "
                                   "vector file (the content decides; --text-format: text), a GloVe text file "
                                   "(no 'V D' header line), or a model saved by --save-model (.npz)")
    p.add_argument("words", nargs="+", help="query words")
    p.add_argument("--text-format", action="store_true", help="the vector file is in the text format")
    p.add_argument("-n", "--topn", type=_positive_int, default=10, help="neighbours per word")
    p.add_argument("--cosmul", action="store_true", help="rank by 3CosMul (gensim's most_similar_cosmul) instead of cosine")
    p.set_defaults(func=_neighbors)


def vocabulary_word(kv, word: str):
    """``word`` if ``kv`` has it, else its most frequent case variant (``Paris`` for ``paris``: the analogy and
    similarity evaluations ignore case too), else None."""
    if word in kv:
        return word
    folded = word.casefold()
    return next((key for key in kv.index_to_key if key.casefold() == folded), None)


def _neighbors(args) -> int:
    kv = _load_vectors(args.vectors, args.text_format)
    keys = {word: vocabulary_word(kv, word) for word in args.words}
    missing = [w for w, key in keys.items() if key is None]
    if missing:
        raise ValueError(f"not in the vocabulary of {args.vectors} (in any case): {', '.join(missing)}")
    for word, key in keys.items():
        pairs = (kv.most_similar_cosmul if args.cosmul else kv.most_similar)(key, topn=args.topn)
        label = word if key == word else f"{word} (as {key})"
        print(f"{label}: " + ", ".join(f"{w} ({s:.3f})" for w, s in pairs))
    return 0


# ------------------------------------------------------------------ whole models: predict, update, score
MODEL_HELP = ("a run folder of `text train` (its last checkpoint), a model saved by --save-model / Word2Vec.save (.npz), "
              "or a gensim Word2Vec model file")


def _load_model(path: str):
    """The whole Word2Vec of a run folder, a model file of this library, or a gensim model file."""
    from .training import newest_readable_checkpoint
    from .word2vec import Word2Vec

    folder = Path(path)
    if folder.is_dir():
        found = newest_readable_checkpoint(folder)
        if found is None:
            raise FileNotFoundError(f"{folder} holds no model checkpoint (checkpoints/last.npz); it is not a text run folder")
        return found[1]
    return Word2Vec.load(folder)


def _register_predict(sub) -> None:
    p = sub.add_parser("predict", help="the likeliest centre words of context words (negative-sampling models)",
                       description="Print the words the model finds likeliest in the middle of the given context "
                                   "words, with their probabilities (gensim's predict_output_word).")
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument("words", nargs="+", help="context words")
    p.add_argument("-n", "--topn", type=_positive_int, default=10, help="words to print")
    p.set_defaults(func=_predict)


def _predict(args) -> int:
    model = _load_model(args.model)
    predicted = model.predict_output_word(args.words, topn=args.topn)
    if predicted is None:
        raise ValueError(f"none of {', '.join(args.words)} is in the vocabulary of {args.model}")
    print(", ".join(f"{w} ({p:.4f})" for w, p in predicted))
    return 0


def _register_update(sub) -> None:
    p = sub.add_parser("update", help="add a corpus's new words to a trained model and train on the corpus",
                       description="Online training: the words of CORPUS reaching --min-count that the model lacks "
                                   "get fresh vectors, the counts grow, and the model trains --epochs on CORPUS "
                                   "(gensim's build_vocab(update=True) + train). Writes the whole model to -o.")
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument("corpus", help="text file, one sentence per line")
    p.add_argument("-o", "--output", required=True, help="the updated model (.npz, Word2Vec.save's format)")
    p.add_argument("--epochs", type=_positive_int, default=None, help="passes over CORPUS (default: the model's epochs)")
    p.add_argument("--min-count", type=int, default=None, help="new words need this count in CORPUS (default: the model's)")
    p.add_argument("--vectors", default=None, help="also write the vectors in word2vec's binary format (.bin) to this path")
    p.set_defaults(func=_update)


def _update(args) -> int:
    prepare_output_file(args.output, "-o")
    model = _load_model(args.model)
    before = len(model.wv)
    model.build_vocab(corpus_file=args.corpus, update=True, min_count=args.min_count)
    model.train(corpus_file=args.corpus, total_words=model.corpus_total_words, epochs=args.epochs or model.epochs)
    written = [str(model.save(args.output))]
    if args.vectors:
        written.append(str(model.wv.save_word2vec_format(args.vectors, binary=True)))
    print(f"{len(model.wv) - before} new words ({len(model.wv)} in all); trained {args.epochs or model.epochs} epochs "
          f"on {model.corpus_total_words} tokens; wrote {', '.join(written)}")
    return 0


def _register_score(sub) -> None:
    p = sub.add_parser("score", help="log-probability of each sentence of a corpus (hierarchical-softmax models)",
                       description="Print, one per line, the log-probability each sentence of CORPUS has under the "
                                   "model (gensim's Word2Vec.score; the model must be trained with --hs 1).")
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument("corpus", help="text file, one sentence per line")
    p.add_argument("--json", default=None, help="also write the scores to this JSON file")
    p.set_defaults(func=_score)


def _score(args) -> int:
    from .corpus import LineCorpus

    model = _load_model(args.model)
    scores = model.score(LineCorpus(args.corpus, errors=model.config.errors))
    print("\n".join(f"{s:.4f}" for s in scores.tolist()))
    if args.json:
        write_json_file(args.json, {"corpus": str(args.corpus), "scores": scores.tolist()})
    return 0


# ------------------------------------------------------------------ n-gram
def _register_ngram(sub) -> None:
    from .ngram import NGramLM

    p = sub.add_parser("ngram", help="unigram/bigram language-model perplexities (add-k, Kneser-Ney)",
                       description="Fit unigram and bigram models on CORPUS and print perplexities on held-out "
                                   "sentences (--test, or the last --holdout fraction of CORPUS).")
    p.add_argument("corpus", help="text file, one sentence per line")
    p.add_argument("--test", default=None, help="held-out file (default: the last --holdout of CORPUS)")
    p.add_argument("--holdout", type=float, default=0.1, help="fraction of CORPUS held out when --test is not given")
    defaults = signature_defaults(NGramLM.__init__)
    p.add_argument("--k", type=float, default=defaults["k"], help=f"add-k constant (default: {defaults['k']})")
    p.add_argument("--discount", type=float, default=defaults["discount"], help=f"Kneser-Ney discount (default: {defaults['discount']})")
    p.add_argument("--min-count", type=int, default=defaults["min_count"],
                   help=f"rarer training words become <unk> (default: {defaults['min_count']})")
    p.add_argument("--lowercase", action="store_true", help="lower-case while reading")
    p.add_argument("--errors", choices=["strict", "replace", "ignore"], default="strict",
                   help="bytes that are not UTF-8: stop with the file and line (strict), or replace or ignore them")
    p.add_argument("--json", default=None, help="write the perplexities to this JSON file")
    p.set_defaults(func=_ngram)


def _ngram(args) -> int:
    from .corpus import LineCorpus
    from .ngram import NGramLM

    sentences = list(LineCorpus(args.corpus, lowercase=args.lowercase, errors=args.errors))
    if args.test:
        train, test = sentences, list(LineCorpus(args.test, lowercase=args.lowercase, errors=args.errors))
        if not test:
            raise ValueError(f"test file {args.test} holds no sentence")
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
