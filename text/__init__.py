"""multissl.text: word2vec (skip-gram, CBOW) and n-gram language models.

- :class:`Word2Vec` — a drop-in replacement for gensim's (``Word2Vec(corpus_file=...)``, gensim 4's
  ``build_vocab(corpus_iterable=...)`` + ``train(..., total_examples=model.corpus_count,
  epochs=model.epochs)``, ``build_vocab(update=True)``, ``trim_rule``, ``predict_output_word``,
  ``score``, ``save``/``load(mmap=)``), numba Hogwild backend (default) or torch; :class:`Word2VecConfig`.
- :class:`KeyedVectors` — gensim 4's lookups, ``most_similar(_cosmul)``, evaluations, word2vec
  text/binary I/O, gensim's KeyedVectors files, ``to_gensim``.
- :func:`train` — ``train(data, output, method="skipgram"|"cbow", *, preset="cpu", **overrides) -> Run``: a run
  folder (``config.json``, ``vectors.bin``, ``checkpoints/``, ``metrics.jsonl``) on the core's
  run layer; :func:`load_run` (``.model``, ``.initial``), :func:`recipe` (the merged settings),
  :class:`TextTrainConfig` (the training-loop section).
- :func:`features` (words -> (N, D) vectors), :func:`probe_run` (a run's analogy accuracy and
  word-similarity correlations), :func:`evaluate_all`, :func:`evaluate_word_analogies`,
  :func:`evaluate_word_pairs`, :func:`gensim_datapath` — intrinsic evaluation.
- :class:`LineCorpus`, :func:`simple_tokenize` — corpus reading; :class:`Vocab`, :func:`huffman_tree`.
- :class:`NGramLM` (:mod:`multissl.text.ngram`) — unigram / bigram language models (add-k, Kneser-Ney).
"""
from .config import Word2VecConfig
from .corpus import LineCorpus, simple_tokenize
from .evaluate import evaluate_all, evaluate_word_analogies, evaluate_word_pairs, gensim_datapath
from .keyedvectors import KeyedVectors
from .ngram import NGramLM
from .probe_run import features, probe_run
from .training import METHODS, TextTrainConfig, load_run, recipe, train
from .vocab import RULE_DEFAULT, RULE_DISCARD, RULE_KEEP, Vocab, huffman_tree
from .word2vec import Word2Vec

__all__ = [
    "RULE_DEFAULT",
    "RULE_DISCARD",
    "RULE_KEEP",
    "KeyedVectors",
    "LineCorpus",
    "METHODS",
    "NGramLM",
    "TextTrainConfig",
    "Vocab",
    "Word2Vec",
    "Word2VecConfig",
    "evaluate_all",
    "evaluate_word_analogies",
    "evaluate_word_pairs",
    "features",
    "gensim_datapath",
    "huffman_tree",
    "load_run",
    "probe_run",
    "recipe",
    "simple_tokenize",
    "train",
]
