"""multissl.text: word2vec (skip-gram, CBOW) and n-gram language models.

- :class:`Word2Vec` — gensim-style model, numba Hogwild backend (default) or torch.
- :class:`KeyedVectors` — lookups, ``most_similar``, word2vec text/binary I/O, ``to_gensim``.
- :func:`evaluate_word_analogies`, :func:`evaluate_word_pairs` — intrinsic evaluation.
- :class:`LineCorpus`, :func:`simple_tokenize` — corpus reading.
- :mod:`multissl.text.ngram` — unigram / bigram language models (add-k, Kneser-Ney).
"""
from .config import Word2VecConfig
from .corpus import LineCorpus, simple_tokenize
from .evaluate import evaluate_all, evaluate_word_analogies, evaluate_word_pairs, gensim_datapath
from .keyedvectors import KeyedVectors
from .vocab import Vocab, huffman_tree
from .word2vec import Word2Vec

__all__ = [
    "KeyedVectors",
    "LineCorpus",
    "Vocab",
    "Word2Vec",
    "Word2VecConfig",
    "evaluate_all",
    "evaluate_word_analogies",
    "evaluate_word_pairs",
    "gensim_datapath",
    "huffman_tree",
    "simple_tokenize",
]
