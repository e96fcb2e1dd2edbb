"""Word2Vec hyper-parameters as a dataclass (the CLI turns each field into a flag)."""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Optional

from multissl.checks import shown
from multissl.presets import tracks_given

BACKENDS = ("numba", "torch")
PRIVATE_OUTPUTS = ("auto", "on", "off")


def default_workers() -> int:
    """CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@tracks_given
@dataclass
class Word2VecConfig:
    """word2vec hyper-parameters, defaults as in Mikolov et al. / gensim (skip-gram on)."""

    vector_size: int = field(default=100, metadata={"help": "dimension of the word vectors"})
    window: int = field(default=5, metadata={"help": "maximum distance between the centre and a context word"})
    min_count: int = field(default=5, metadata={"help": "ignore words seen fewer times (0 or 1: keep every word)"})
    sg: int = field(default=1, metadata={"help": "1: skip-gram, 0: CBOW", "choices": (0, 1)})
    negative: int = field(default=5, metadata={"help": "noise words per positive (0: no negative sampling)"})
    ns_exponent: float = field(default=0.75, metadata={"help": "noise distribution is count**ns_exponent"})
    hs: int = field(default=0, metadata={"help": "1: hierarchical softmax (Huffman tree)", "choices": (0, 1)})
    sample: float = field(default=1e-3, metadata={"help": "subsampling threshold of frequent words (0: off)"})
    alpha: float = field(default=0.025, metadata={"help": "initial learning rate"})
    min_alpha: float = field(default=1e-4, metadata={"help": "final learning rate (linear decay over all epochs)"})
    epochs: int = field(default=5, metadata={"help": "passes over the corpus"})
    workers: int = field(default_factory=default_workers, metadata={"help": "training threads (1 with a seed: bit-reproducible)"})
    seed: int = field(default=1, metadata={"help": "seed of the initial vectors and of every random draw"})
    max_vocab_size: Optional[int] = field(default=None, metadata={"help": "bound on the count table while counting (memory, as gensim): each time it "
                                                                         "overflows, words seen at most n times so far are dropped, n = 1, 2, ...; "
                                                                         "may keep far fewer words, use --max-final-vocab to size the vocabulary"})
    max_final_vocab: Optional[int] = field(default=None, metadata={"help": "raise min_count until at most this many words remain"})
    backend: str = field(default="numba", metadata={"help": "numba (CPU, Hogwild threads) or torch (GPU/CPU)", "choices": BACKENDS})
    shrink_windows: bool = field(default=True, metadata={"help": "draw each word's window size uniformly in 1..window "
                                                                 "(word2vec.c); False: always the full window"})
    sorted_vocab: int = field(default=1, metadata={"help": "1: vocabulary sorted by decreasing count; 0: in order of first "
                                                         "appearance", "choices": (0, 1)})
    cbow_mean: int = field(default=1, metadata={"help": "CBOW: 1 uses the mean of the context vectors, 0 their sum", "choices": (0, 1)})
    shared_negatives: bool = field(default=True, metadata={"help": "skip-gram: one set of negatives per window, updates as matrix products (pWord2Vec)"})
    private_outputs: str = field(default="auto", metadata={"help": "each training thread updates its own copy of the output vectors and adds its changes to the shared ones every 10,000 words (no cache-line contention between threads); auto: with several workers and a vocabulary of at most 10,000 words", "choices": PRIVATE_OUTPUTS})
    interleave: bool = field(default=True, metadata={"help": "threads train on `workers` distant parts of the corpus at once, as word2vec.c's threads do (the corpus is encoded to a temporary file first)"})
    compute_loss: bool = field(default=True, metadata={"help": "accumulate the exact training loss per epoch"})
    max_sentence_length: int = field(default=10_000, metadata={"help": "longer sentences are split (never truncated)"})
    chunk_words: int = field(default=50_000, metadata={"help": "tokens per job handed to a training thread"})
    errors: str = field(default="strict", metadata={"help": "non-UTF-8 bytes in corpus_file: strict (error), replace or ignore", "choices": ("strict", "replace", "ignore")})
    batch_size: int = field(default=4096, metadata={"help": "torch backend: training pairs per optimizer step"})
    device: Optional[str] = field(default=None, metadata={"help": "torch backend: cpu, cuda or cuda:N (default: CUDA if available)"})
    verbose: bool = field(default=True, metadata={"help": "progress bar (on a terminal) and messages"})

    def __post_init__(self):
        self.validate()

    def validate(self, relations: bool = True) -> None:
        """ValueError for a bad setting. ``relations=False`` leaves out the checks between fields
        (``min_alpha <= alpha``), which an attribute assignment may break until the next one restores them."""
        positive = ("vector_size", "window", "epochs", "workers", "max_sentence_length", "chunk_words", "batch_size")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, (int,)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(self.min_count, int) or isinstance(self.min_count, bool) or self.min_count < 0:
            raise ValueError(f"min_count must be a non-negative integer, got {shown(self.min_count)!r}")
        if self.negative < 0:
            raise ValueError(f"negative must be >= 0, got {self.negative}")
        if any(getattr(self, name) not in (0, 1) for name in ("sg", "hs", "cbow_mean", "sorted_vocab")):
            raise ValueError(f"sg, hs, cbow_mean and sorted_vocab must be 0 or 1, got sg={self.sg}, hs={self.hs}, "
                             f"cbow_mean={self.cbow_mean}, sorted_vocab={self.sorted_vocab}")
        if self.negative == 0 and not self.hs:
            raise ValueError("with negative=0 hierarchical softmax must be on (hs=1); nothing would be trained")
        if not (self.alpha > 0) or self.min_alpha < 0:
            raise ValueError(f"need alpha > 0 and min_alpha >= 0, got alpha={self.alpha}, min_alpha={self.min_alpha}")
        if relations and self.min_alpha > self.alpha:
            raise ValueError(f"need 0 <= min_alpha <= alpha and alpha > 0, got alpha={self.alpha}, min_alpha={self.min_alpha}")
        if self.sample < 0:
            raise ValueError(f"sample must be >= 0, got {self.sample}")
        if self.private_outputs not in PRIVATE_OUTPUTS:
            raise ValueError(f"private_outputs must be one of {PRIVATE_OUTPUTS}, got {self.private_outputs!r}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        for name in ("max_vocab_size", "max_final_vocab"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be > 0 or None, got {value}")

    def to_dict(self) -> dict:
        return asdict(self)


__all__ = ["BACKENDS", "Word2VecConfig", "default_workers"]
