"""``Word2Vec``: skip-gram and CBOW with negative sampling or hierarchical softmax.

The API follows gensim's (``Word2Vec(sentences, vector_size=..., ...)``,
``model.wv.most_similar(...)``); training follows word2vec.c: unigram^0.75
noise words from the core's alias sampler, subsampling with word2vec.c's keep
probability, reduced windows, a learning rate decayed linearly over all the
words of all epochs.

Two backends:

- ``"numba"`` (default): ``workers`` Python threads each run the
  ``njit(nogil=True)`` kernel of :mod:`multissl.text.kernels` on chunks of the
  encoded corpus, updating the shared float32 matrices without locks
  (Hogwild). The corpus is read and encoded (int32 ids) chunk by chunk in the
  main thread; during the first epoch of a ``train`` call the encoded chunks
  are also written to a temporary file that the later epochs read back, so
  the text is tokenised once and memory does not grow with the corpus.
- ``"torch"``: :mod:`multissl.text.torch_backend`, an ``nn.Module`` trained by
  the core engine (GPU, or CPU; ``torchrun`` works too).

Loss: ``model.training_log`` has one entry per epoch with ``loss`` (the sum
over the epoch's training examples of the exact negative-sampling /
hierarchical-softmax objective, each example evaluated just before its
update), ``examples`` (skip-gram: (context, centre) pairs; CBOW: centre words)
and ``mean_loss = loss / examples``. Unlike gensim's running loss it is reset
every epoch, summed in float64 and not clipped.

Determinism: with ``workers=1`` and a seed, training is bit-reproducible
(chunk boundaries and every random draw depend only on the seed, the epoch
and the corpus). With more workers Hogwild updates race, as in word2vec.c.

Interrupting: a ``KeyboardInterrupt`` during ``train`` (or raised by a
callback) lets the chunks in flight finish, records the position (epoch,
chunk, words) and re-raises; calling ``train()`` again (also after
``save``/``load``) continues from there with the same learning-rate schedule.

gensim's API beyond the three usual calls: ``scan_vocab`` / ``prepare_vocab`` /
``prepare_weights`` (what ``build_vocab`` does, step by step, with gensim's
report), ``build_vocab(update=True)`` and ``build_vocab_from_freq`` (online
vocabulary growth), ``trim_rule``, ``predict_output_word``, ``score``,
``reset_from``, vector locks (``wv.vectors_lockf``), ``save``/``load`` with
``mmap``, and gensim's errors and log warnings for misuse
(:mod:`multissl.text.errors`).
"""
from __future__ import annotations

import time
import warnings
from dataclasses import fields
from pathlib import Path
from types import GeneratorType
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from multissl.progress import Progress

from .config import Word2VecConfig
from .corpus import LineCorpus, corpus_sentences
from .encoded import EncodedCorpus
from .errors import LOG_PREFIX, CorpusTypeError, NoVocabularyError, log_warning
from .file_scan import FileScan, file_identity, scan_file
from .hogwild import CountingCorpus as _CountingCorpus, PassTotals as _PassTotals
from .keyedvectors import KeyedVectors
from .vocab import RawCounts, Vocab, count_words, empty_vocabulary_message, huffman_tree, select_words, update_vocab

PathLike = Union[str, Path]


def _call_on_class_only(*args, **kwargs):
    raise AttributeError("load() is called on the class, not on a model: model = Word2Vec.load(path) (it returns a "
                         "new model), as in gensim")


class Word2Vec:
    """word2vec model (see the module docstring).

    ``Word2Vec(sentences=None, corpus_file=None, vector_size=100, window=5,
    min_count=5, sg=1, negative=5, ns_exponent=0.75, hs=0, sample=1e-3,
    alpha=0.025, min_alpha=1e-4, epochs=5, workers=<cores>, seed=1,
    max_vocab_size=None, max_final_vocab=None, shrink_windows=True, sorted_vocab=1,
    backend="numba", callbacks=(), trim_rule=None, batch_words=None, verbose=True, **more)``
    — ``more`` are the other fields of
    :class:`~multissl.text.config.Word2VecConfig` (``cbow_mean``,
    ``shared_negatives``, ``compute_loss``, ``batch_size``, ``device`` ...).
    Given ``sentences`` (a restartable iterable of token lists) or
    ``corpus_file`` (one sentence per line), the vocabulary is built and the
    model trained at once, as in gensim.

    gensim's constructor arguments that are not settings: ``trim_rule`` (for
    this build_vocab only), ``batch_words`` (gensim's name for ``chunk_words``),
    ``comment`` (kept as an attribute); ``hashfxn`` is accepted and unused
    (initial vectors come from ``seed``), ``null_word`` must stay 0. Defaults
    that differ from gensim's: ``sg=1`` (gensim: 0, CBOW), ``workers`` = the
    cores (gensim: 3), ``compute_loss=True`` (gensim: False).

    gensim 4's three-call form works as well: ``Word2Vec(vector_size=...,
    ...)`` without a corpus, ``build_vocab(corpus_iterable=...)`` (or
    ``corpus_file=``), then ``train(corpus_iterable=..., total_examples=
    model.corpus_count, epochs=model.epochs)`` or ``train(corpus_file=...,
    total_words=model.corpus_total_words, epochs=model.epochs)``. Config fields
    are readable and writable as attributes (``model.epochs = 10``).

    Callbacks are objects with any of ``on_train_begin(model)``,
    ``on_epoch_begin(model)``, ``on_epoch_end(model)``, ``on_train_end(model)``
    and ``on_chunk_end(model, stats)``; they run in the calling thread.
    """

    def __init__(self, sentences: Optional[Iterable[Sequence[str]]] = None, corpus_file: Optional[PathLike] = None,
                 callbacks: Sequence[Any] = (), trim_rule: Optional[Callable] = None, batch_words: Optional[int] = None,
                 hashfxn: Any = hash, null_word: int = 0, comment: Optional[str] = None, **params: Any):
        names = {f.name for f in fields(Word2VecConfig)}
        unknown = sorted(set(params) - names)
        if unknown:
            raise TypeError(f"unknown Word2Vec parameter(s) {unknown}; known: {sorted(names)}")
        if null_word:
            raise NotImplementedError("null_word (a padding word for Doc2Vec's concatenated contexts) is not supported")
        if batch_words is not None:
            params.setdefault("chunk_words", int(batch_words))
        self.config = Word2VecConfig(**params)
        self.callbacks = list(callbacks)
        self.comment = comment
        self.vocab: Optional[Vocab] = None
        self.wv: Optional[KeyedVectors] = None
        self.syn1neg = np.zeros((0, self.config.vector_size), np.float32)
        self.syn1 = np.zeros((0, self.config.vector_size), np.float32)
        self.training_log: List[Dict[str, float]] = []
        self.state: Optional[Dict[str, Any]] = None  # position of an unfinished train() call
        self.epochs_trained = 0
        self.effective_min_count = self.config.min_count
        self.min_alpha_yet_reached = float(self.config.alpha)
        self.train_count = 0
        self.total_train_time = 0.0
        self.stopped_early = False
        self.load = _call_on_class_only  # gensim's guard: model.load(path) would discard the model
        self._raw: Optional[RawCounts] = None  # counts of the last scan_vocab, until prepare_vocab uses them
        self._scan: Optional[FileScan] = None  # the last scanned file's ids, for the train() call that follows
        self._empty_reason: Optional[str] = None  # why build_vocab kept no word
        self._source = "the corpus"
        self._last_sentences = None
        if sentences is not None or corpus_file is not None:
            if isinstance(sentences, GeneratorType):
                raise CorpusTypeError("sentences is a one-shot iterator (a generator; gensim: \"You can't pass a generator "
                                      "as the sentences argument\"): training reads the corpus once per epoch, so pass a "
                                      "restartable iterable such as a list or multissl.text.LineCorpus")
            self.build_vocab(sentences, corpus_file, trim_rule=trim_rule)
            self.train(sentences, corpus_file, total_examples=self.corpus_count, total_words=self.corpus_total_words)
        elif trim_rule is not None:
            log_warning("The rule, if given, is only used to prune vocabulary during build_vocab() and is not stored as "
                        "part of the model. Model initialized without sentences. trim_rule provided, if any, will be "
                        "ignored.")

    # ---------------------------------------------------------------- settings as attributes
    def __getattr__(self, name: str):
        # cfg fields readable as attributes: model.window, model.sg, model.epochs ...
        if name != "config" and "config" in self.__dict__ and name in self.config.__dataclass_fields__:
            return getattr(self.config, name)
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        # and writable, as in gensim (model.epochs = 10, model.alpha -= 0.002)
        config = self.__dict__.get("config")
        if config is not None and name in config.__dataclass_fields__:
            old = getattr(config, name)
            setattr(config, name, value)
            try:
                config.validate(relations=False)  # alpha and min_alpha are often set one after the other
            except ValueError:
                setattr(config, name, old)
                raise
            return
        object.__setattr__(self, name, value)

    @property
    def corpus_count(self) -> Optional[int]:
        """Sentences in the corpus ``build_vocab`` last read (gensim's name; long sentences count once per piece)."""
        return 0 if self.vocab is None else self.vocab.num_sentences

    @corpus_count.setter
    def corpus_count(self, value: Optional[int]) -> None:
        self._vocab_or_error().num_sentences = value

    @property
    def corpus_total_words(self) -> Optional[int]:
        """Tokens in the corpus ``build_vocab`` last read, rare words included (gensim's name)."""
        return 0 if self.vocab is None else self.vocab.total_words

    @corpus_total_words.setter
    def corpus_total_words(self, value: Optional[int]) -> None:
        self._vocab_or_error().total_words = value

    @property
    def layer1_size(self) -> int:
        """gensim's name for the size of the output layer's vectors (= ``vector_size``)."""
        return self.config.vector_size

    @property
    def raw_vocab(self) -> Optional[Dict[str, int]]:
        """``{word: count}`` of the last ``scan_vocab``, until ``prepare_vocab`` uses it (gensim's)."""
        return None if self._raw is None else self._raw.as_dict()

    @property
    def running_training_loss(self) -> float:
        """gensim's name for the last epoch's summed loss (see :meth:`get_latest_training_loss`)."""
        return self.get_latest_training_loss()

    @property
    def cum_table(self) -> Optional[np.ndarray]:
        """gensim's cumulative noise table (V,) uint32 (``count ** ns_exponent`` summed, scaled to 2**31 - 1), for
        code that reads it; training draws noise words from an alias table of the same distribution."""
        if self.vocab is None or not self.config.negative:
            return None
        from multissl.sampling import unigram_weights

        weights = unigram_weights(self.vocab.counts, float(self.config.ns_exponent))
        return np.round(np.cumsum(weights) / weights.sum() * (2**31 - 1)).astype(np.uint32)

    def _vocab_or_error(self) -> Vocab:
        if self.vocab is None:
            raise NoVocabularyError("the model has no vocabulary yet: call build_vocab() first")
        return self.vocab

    # ---------------------------------------------------------------- vocabulary
    def build_vocab(self, corpus_iterable: Optional[Iterable[Sequence[str]]] = None, corpus_file: Optional[PathLike] = None,
                    update: bool = False, progress_per: int = 10000, keep_raw_vocab: bool = False, trim_rule=None, *,
                    sentences: Optional[Iterable[Sequence[str]]] = None, **prepare: Any) -> "Word2Vec":
        """Count the corpus, keep the frequent words and initialise the vectors (gensim's ``build_vocab``).

        ``corpus_iterable`` (token lists; ``sentences=`` is the same; a one-shot generator is fine here) or
        ``corpus_file`` (one sentence per line). ``update=True`` grows a trained model's vocabulary with the
        new words of this corpus, keeping the vectors learned so far (new words get fresh vectors, counts add
        up). ``trim_rule(word, count, min_count)`` may return ``RULE_KEEP``/``RULE_DISCARD``/``RULE_DEFAULT``
        (:mod:`multissl.text.vocab`, gensim's values). ``prepare`` (``min_count``, ``sample``, ``dry_run``) goes
        to :meth:`prepare_vocab`. When no word is kept, training will raise an error saying why.
        """
        sentences = _one_corpus_iterable(corpus_iterable, sentences)
        self.scan_vocab(sentences, corpus_file, progress_per=progress_per, trim_rule=trim_rule)
        self.prepare_vocab(update=update, keep_raw_vocab=keep_raw_vocab, trim_rule=trim_rule, **prepare)
        self.prepare_weights(update=update)
        return self

    def build_vocab_from_freq(self, word_freq: Dict[str, int], keep_raw_vocab: bool = False,
                              corpus_count: Optional[int] = None, trim_rule=None, update: bool = False) -> "Word2Vec":
        """The vocabulary of a ``{word: count}`` table instead of a corpus (gensim's); ``corpus_count`` sets the
        sentence count that ``train(total_examples=...)`` is measured against."""
        self._close_scan()
        self._raw = RawCounts.from_freq(word_freq, corpus_count or 0)
        self._source = "the frequency table"
        self.prepare_vocab(update=update, keep_raw_vocab=keep_raw_vocab, trim_rule=trim_rule)
        self.prepare_weights(update=update)
        return self

    def scan_vocab(self, corpus_iterable: Optional[Iterable[Sequence[str]]] = None, corpus_file: Optional[PathLike] = None,
                   progress_per: int = 10000, workers: Optional[int] = None, trim_rule=None, *,
                   sentences: Optional[Iterable[Sequence[str]]] = None) -> Tuple[int, int]:
        """Count the corpus (gensim's first step of ``build_vocab``); returns ``(total_words, corpus_count)``.

        A file (``corpus_file``, or a :class:`~multissl.text.LineCorpus`) is counted by a compiled scan that
        also keeps the corpus as word ids for the ``train`` call on the same file that follows
        (:mod:`multissl.text.file_scan`).
        """
        cfg = self.config
        sentences = _one_corpus_iterable(corpus_iterable, sentences)
        if (sentences is None) == (corpus_file is None):
            raise ValueError("pass exactly one of sentences= (an iterable of token lists) or corpus_file= (a path)")
        self._close_scan()
        path = corpus_file if corpus_file is not None else getattr(sentences, "path", None)  # a LineCorpus has one
        self._source = "the corpus" if path is None else f"corpus {path}"
        with Progress("counting words", "token", verbose=cfg.verbose, prefix=LOG_PREFIX) as counting:
            file_args = self._file_reading(sentences, corpus_file)
            if file_args is not None and not (trim_rule is not None and cfg.max_vocab_size):
                self._scan = scan_file(**file_args, max_vocab_size=cfg.max_vocab_size, progress=counting.update)
            if self._scan is not None:
                self._raw = self._scan.counts
            else:
                stream = corpus_sentences(sentences, corpus_file, cfg.errors, cfg.max_sentence_length, one_pass=True)
                self._raw = count_words(_warn_plain_strings(stream), cfg.max_vocab_size, trim_rule, counting.update)
        return self._raw.total_words, self._raw.num_sentences

    def _file_reading(self, sentences, corpus_file) -> Optional[Dict[str, Any]]:
        """How :func:`scan_file` reads the corpus, or None when it is not a plain file read as such."""
        cfg = self.config
        if corpus_file is not None:
            return {"path": corpus_file, "errors": cfg.errors, "max_sentence_length": cfg.max_sentence_length,
                    "chunk_words": cfg.chunk_words}
        if isinstance(sentences, LineCorpus) and not sentences.lowercase:
            return {"path": sentences.path, "errors": sentences.errors,
                    "max_sentence_length": min(sentences.max_sentence_length, cfg.max_sentence_length),
                    "chunk_words": cfg.chunk_words}
        return None

    def prepare_vocab(self, update: bool = False, keep_raw_vocab: bool = False, trim_rule=None,
                      min_count: Optional[int] = None, sample: Optional[float] = None,
                      dry_run: bool = False) -> Dict[str, int]:
        """Choose the words from the counts of :meth:`scan_vocab` (gensim's second step); returns gensim's report:
        ``drop_unique``, ``retain_total``, ``downsample_unique``, ``downsample_total``, ``num_retained_words``.

        ``min_count`` is raised for ``max_final_vocab`` as in gensim (``effective_min_count``); ``min_count`` /
        ``sample`` given here replace the model's. ``dry_run`` only reports.
        """
        if self._raw is None:
            raise NoVocabularyError("prepare_vocab() needs the counts of scan_vocab() (or use build_vocab())")
        cfg = self.config
        min_count = cfg.min_count if min_count is None else int(min_count)
        sample = cfg.sample if sample is None else float(sample)
        if update:
            if self.vocab is None or not len(self.vocab):
                raise NoVocabularyError("You cannot do an online vocabulary-update of a model which has no prior "
                                        "vocabulary. First build the vocabulary of your model with a corpus before "
                                        "doing an online update.")
            vocab, report = update_vocab(self.vocab, self._raw, min_count, cfg.max_final_vocab, trim_rule, sample)
        else:
            vocab, report = select_words(self._raw, min_count, cfg.max_final_vocab, trim_rule, sample,
                                         bool(cfg.sorted_vocab))
        if dry_run:
            return report
        self.effective_min_count = report.pop("effective_min_count")
        if not update:
            self.config.min_count, self.config.sample = min_count, sample
        self._empty_reason = None if len(vocab) else empty_vocabulary_message(self._raw, min_count, self._source)
        if self._empty_reason:
            log_warning(self._empty_reason)
        self._grown_from = len(self.vocab) if update else None
        self.vocab = vocab
        self._say(f"vocabulary: {len(vocab)} words kept of a corpus of {self._raw.total_words} tokens "
                  f"in {self._raw.num_sentences} sentences{_pruning_note(self._raw, cfg.max_vocab_size)}")
        if not keep_raw_vocab:
            self._raw = None
        return report

    def prepare_weights(self, update: bool = False) -> None:
        """Initialise the vectors of a new vocabulary (gensim's last step of ``build_vocab``), or with
        ``update=True`` give the words a vocabulary update added fresh vectors, keeping the others."""
        if update:
            self.update_weights()
        else:
            self.init_weights()

    def init_weights(self) -> None:
        """Input vectors uniform in [-1/D, 1/D) from ``seed`` (as gensim 4), output vectors zero, training reset."""
        cfg, v = self.config, len(self.vocab)
        syn0 = _uniform_vectors(np.random.default_rng(cfg.seed), v, cfg.vector_size)
        lockf = self.wv.vectors_lockf if self.wv is not None and hasattr(self.wv, "vectors_lockf") else None
        self.wv = KeyedVectors(self.vocab.words, syn0, self.vocab.counts)
        if lockf is not None and len(lockf) == 1:
            self.wv.vectors_lockf = lockf
        self.syn1neg = np.zeros((v if cfg.negative else 0, cfg.vector_size), np.float32)
        self.syn1 = np.zeros((v if cfg.hs else 0, cfg.vector_size), np.float32)
        self.state = None
        self.training_log = []
        self.epochs_trained = 0
        self._prepare_tables()

    def update_weights(self) -> None:
        """Rows for the words a vocabulary update added: input vectors drawn as :meth:`init_weights` does (from
        ``seed`` and the old vocabulary size), output rows zero; trained rows are kept. A per-word
        ``vectors_lockf`` grows with ones (the new words train)."""
        cfg = self.config
        old = getattr(self, "_grown_from", None)
        old = len(self.wv) if old is None else old
        added = len(self.vocab) - old
        rng = np.random.default_rng([cfg.seed, old])
        syn0 = np.concatenate([self.wv.vectors, _uniform_vectors(rng, added, cfg.vector_size)])
        lockf = np.asarray(self.wv.vectors_lockf, np.float32)
        self.wv = KeyedVectors(self.vocab.words, syn0, self.vocab.counts)
        self.wv.vectors_lockf = lockf if len(lockf) == 1 else np.concatenate([lockf, np.ones(added, np.float32)])
        pad = np.zeros((added, cfg.vector_size), np.float32)
        if cfg.negative:
            self.syn1neg = np.concatenate([self.syn1neg, pad]) if len(self.syn1neg) else np.zeros_like(syn0)
        if cfg.hs:
            self.syn1 = np.concatenate([self.syn1, pad]) if len(self.syn1) else np.zeros_like(syn0)
        self.state = None
        self._grown_from = None
        self._prepare_tables()

    def _prepare_tables(self) -> None:
        from multissl.sampling import AliasSampler, subsample_keep_prob, unigram_weights

        cfg, counts = self.config, self.vocab.counts
        if not len(counts):
            return
        keep = subsample_keep_prob(counts, cfg.sample)
        self._keep_threshold = np.minimum(np.floor(keep * 2.0**32), 2.0**32).astype(np.uint64)
        self._neg_table = AliasSampler(unigram_weights(counts, cfg.ns_exponent), seed=0).table
        if cfg.hs and len(counts) > 1:
            self._codes, self._points, self._code_lengths = huffman_tree(counts)
            self.wv.expandos["code"] = _rows(self._codes, self._code_lengths)
            self.wv.expandos["point"] = _rows(self._points, self._code_lengths)
        else:
            self._codes = np.zeros((1, 1), np.uint8)
            self._points = np.zeros((1, 1), np.int32)
            self._code_lengths = np.zeros(1, np.int32)

    def reset_from(self, other_model: "Word2Vec") -> None:
        """Take ``other_model``'s vocabulary (shared, not copied) and corpus counts, with fresh vectors (gensim's)."""
        self.vocab = other_model.vocab
        self.effective_min_count = other_model.effective_min_count
        self._close_scan()
        self.init_weights()

    # ---------------------------------------------------------------- training
    def train(self, corpus_iterable: Optional[Iterable[Sequence[str]]] = None, corpus_file: Optional[PathLike] = None,
              total_examples: Optional[int] = None, total_words: Optional[int] = None, epochs: Optional[int] = None,
              start_alpha: Optional[float] = None, end_alpha: Optional[float] = None, word_count: int = 0,
              queue_factor: int = 2, report_delay: float = 1.0, compute_loss: Optional[bool] = None,
              callbacks: Sequence[Any] = (), *, sentences: Optional[Iterable[Sequence[str]]] = None,
              max_minutes: Optional[float] = None, **unused: Any) -> Tuple[int, int]:
        """Train for ``epochs`` (default: ``model.epochs``) passes over the corpus; returns gensim's
        ``(trained_word_count, raw_word_count)``: the words trained on after subsampling, and the tokens read.

        gensim 4's signature: ``corpus_iterable`` (``sentences=`` is the same)
        or ``corpus_file``. ``total_examples`` (sentences per epoch) or
        ``total_words`` (raw tokens per epoch, rare words included) size the
        learning-rate decay as in gensim; both are optional here (default: the
        corpus ``build_vocab`` read, i.e. ``corpus_count`` and
        ``corpus_total_words``), as is ``epochs`` (gensim requires them). When the
        corpus turns out to hold another count, a warning says so, as gensim's does.
        ``start_alpha`` / ``end_alpha`` replace ``alpha`` / ``min_alpha`` for this call
        (numba backend); ``epochs`` too (gensim keeps all three as the model's).
        ``callbacks`` are added for this call. ``word_count``, ``queue_factor`` and
        ``report_delay`` are accepted and ignored; ``compute_loss`` (default: the
        model's) switches the loss on or off.

        Without a corpus, continues an interrupted ``train`` call (the corpus is
        remembered when it was a file or an in-memory iterable). ``max_minutes``
        is a wall-clock budget: training stops cleanly when it is spent, even
        mid-epoch (the state is kept, so a later ``train()`` continues;
        ``self.stopped_early`` says so).
        """
        sentences = _one_corpus_iterable(corpus_iterable, sentences)
        self._check_training_sanity(sentences, total_examples, total_words, start_alpha, end_alpha)
        if compute_loss is not None:
            self.config.compute_loss = bool(compute_loss)
        if sentences is None and corpus_file is None:
            if self.state is None:
                raise ValueError("train() needs sentences= or corpus_file= (no interrupted training to continue)")
            corpus_file = self.state.get("corpus_file")
            sentences = self._last_sentences if corpus_file is None else None
            if sentences is None and corpus_file is None:
                raise ValueError("the interrupted training read an in-memory corpus that is gone; pass it again")
        elif self.state is not None and not self._same_corpus(sentences, corpus_file):
            self.state = None
        if self.state is None:
            self._start_state(corpus_file, total_examples, total_words, epochs, start_alpha, end_alpha)
        elif epochs is not None and int(epochs) != self.state["epochs"]:
            self._retarget_epochs(int(epochs))
        self._last_sentences = sentences
        saved_callbacks = self.callbacks
        self.callbacks = list(saved_callbacks) + list(callbacks)
        started, before = time.perf_counter(), self._trained_so_far()
        try:
            self._call("on_train_begin")
            self.stopped_early = False
            if self.config.backend == "torch":
                self._train_torch(sentences, corpus_file, max_minutes)
            else:
                deadline = None if max_minutes is None else time.perf_counter() + 60.0 * max_minutes
                self._train_numba(sentences, corpus_file, deadline)
            self.wv._normed = None
            self.total_train_time += time.perf_counter() - started
            self.min_alpha_yet_reached = self._alpha_reached()
            counts = self._call_counts(before)
            if self.stopped_early:
                self._say("stopped by the time budget; call train() again to continue")
                return counts
            self.state = None
            self._last_sentences = None
            self._close_scan()
            self.train_count += 1
            self._call("on_train_end")
        finally:
            self.callbacks = saved_callbacks
        return counts

    def _check_training_sanity(self, sentences, total_examples, total_words, start_alpha, end_alpha) -> None:
        """gensim's checks before training, with its error types and log warnings."""
        cfg = self.config
        if not cfg.hs and not cfg.negative:
            raise ValueError("You must set either 'hs' or 'negative' to be positive for proper training. When both "
                             "'hs=0' and 'negative=0', there will be no training.")
        if cfg.hs and cfg.negative:
            log_warning("Both hierarchical softmax and negative sampling are activated. This is probably a mistake. "
                        "You should set either 'hs=0' or 'negative=0' to disable one of them. ")
        if (cfg.alpha if start_alpha is None else start_alpha) > self.min_alpha_yet_reached:
            log_warning("Effective 'alpha' higher than previous training cycles")
        if self.vocab is None or not len(self.vocab) or self.wv is None or not len(self.wv.vectors):
            reason = self._empty_reason or "call build_vocab() before train(), or pass the corpus to Word2Vec(...)"
            raise NoVocabularyError(f"you must first build vocabulary before training the model: {reason}")
        if isinstance(sentences, GeneratorType):
            raise CorpusTypeError("Using a generator as corpus_iterable can't support several passes (one per epoch). "
                                  "Try a re-iterable sequence.")
        for name, value in (("total_examples", total_examples), ("total_words", total_words)):
            if value is not None and (isinstance(value, bool) or int(value) <= 0):
                raise ValueError(f"{name} must be a positive count, got {value!r}")
        if (start_alpha is not None or end_alpha is not None) and cfg.backend == "torch":
            raise ValueError("start_alpha / end_alpha are only supported by the numba backend")
        if not self.wv.vectors.flags.writeable:
            raise ValueError("the vectors are read-only (a model loaded with mmap='r'); load it with mmap='c' or "
                             "without mmap to train it")
        lockf = np.asarray(self.wv.vectors_lockf)
        if lockf.ndim != 1 or len(lockf) not in (1, len(self.wv)):
            raise ValueError(f"wv.vectors_lockf must have 1 or {len(self.wv)} entries (one per word), got shape "
                             f"{lockf.shape}")

    def _start_state(self, corpus_file, total_examples, total_words, epochs, start_alpha, end_alpha) -> None:
        n_epochs = int(epochs or self.config.epochs)
        if n_epochs <= 0:
            raise ValueError(f"epochs must be > 0, got {n_epochs}")
        per_epoch = self._epoch_words(total_examples, total_words)
        alpha = self.config.alpha if start_alpha is None else float(start_alpha)
        min_alpha = self.config.min_alpha if end_alpha is None else float(end_alpha)
        if not (alpha > 0) or min_alpha < 0 or min_alpha > alpha:
            raise ValueError(f"need 0 <= end_alpha <= start_alpha and start_alpha > 0, got {alpha}, {min_alpha}")
        self.state = {"epochs": n_epochs, "epoch": 0, "chunk": 0, "position": 0,
                      "total_words": float(per_epoch * n_epochs),
                      "corpus_file": None if corpus_file is None else str(corpus_file),
                      "epoch_stats": [0.0, 0.0, 0.0, 0.0], "epoch_seconds": 0.0,
                      "alpha": alpha, "min_alpha": min_alpha,
                      "expected": {"total_examples": total_examples, "total_words": total_words}}

    def _alpha_reached(self) -> float:
        """The learning rate at the position training stopped (gensim's ``min_alpha_yet_reached``)."""
        st = self.state
        if st is None:
            return self.min_alpha_yet_reached
        alpha, min_alpha = float(st.get("alpha", self.config.alpha)), float(st.get("min_alpha", self.config.min_alpha))
        progress = min(st["position"] / max(st["total_words"], 1.0), 1.0)
        return alpha - (alpha - min_alpha) * progress

    def _trained_so_far(self) -> Tuple[float, float]:
        stats = (self.state or {}).get("epoch_stats", [0.0, 0.0, 0.0, 0.0])
        done = sum(e.get("trained_words", 0.0) for e in self.training_log), sum(e.get("words", 0.0) for e in self.training_log)
        return done[0] + stats[2], done[1] + stats[3]

    def _call_counts(self, before: Tuple[float, float]) -> Tuple[int, int]:
        """gensim's return value of train(): words trained on (after subsampling) and tokens read in this call."""
        trained, words = (now - then for now, then in zip(self._trained_so_far(), before))
        in_vocab = self.vocab.retained_words
        tokens = words * (self.vocab.total_words or in_vocab) / in_vocab if in_vocab else words
        return int(round(trained)), int(round(tokens))

    def _epoch_words(self, total_examples: Optional[int], total_words: Optional[int]) -> float:
        """In-vocabulary words per epoch for the learning-rate schedule.

        gensim's ``total_examples`` (sentences) or ``total_words`` (raw tokens)
        are turned into the in-vocabulary words the kernels count, in the
        proportion of the corpus ``build_vocab`` read (the same corpus: exactly
        ``vocab.retained_words``). As in gensim, ``total_examples`` wins.
        """
        retained = float(self.vocab.retained_words)
        if total_examples is not None and self.vocab.num_sentences:
            return retained * int(total_examples) / self.vocab.num_sentences
        if total_words is not None and self.vocab.total_words:
            return retained * int(total_words) / self.vocab.total_words
        return retained

    def _retarget_epochs(self, n_epochs: int) -> None:
        """Change the epoch count of an unfinished training (same words per epoch, schedule stretched)."""
        st = self.state
        if n_epochs <= 0:
            raise ValueError(f"epochs must be > 0, got {n_epochs}")
        per_epoch = st["total_words"] / st["epochs"]
        st["epochs"] = n_epochs
        st["total_words"] = float(per_epoch * n_epochs)

    def _check_counts(self, totals: "_PassTotals") -> None:
        """Warn, as gensim does, when the given total_examples / total_words are not the corpus's."""
        expected = (self.state or {}).get("expected") or {}
        if totals.passes == 0 or expected.get("checked"):
            return
        for name, actual, what in (("total_examples", totals.sentences, "example"), ("total_words", totals.words, "raw word")):
            given = expected.get(name)
            if given is not None and int(given) != actual:
                warnings.warn(f"supplied {what} count {name}={int(given)} did not equal the corpus's count ({actual}); "
                              "the learning rate decays as if the corpus had the supplied count", UserWarning, stacklevel=5)
        expected["checked"] = True

    def _same_corpus(self, sentences, corpus_file) -> bool:
        """Whether an unfinished training may continue on this corpus (not known to be another one)."""
        if corpus_file is not None:
            return self.state.get("corpus_file") == str(corpus_file)
        if self.state.get("corpus_file") is not None:
            return False
        return self._last_sentences is None or sentences is self._last_sentences

    def _train_torch(self, sentences, corpus_file, max_minutes: Optional[float]) -> None:
        from .torch_backend import train_torch

        lockf = np.asarray(self.wv.vectors_lockf)
        if not (len(lockf) == 1 and lockf[0] == 1.0):
            raise NotImplementedError("wv.vectors_lockf (vector locks) is supported by the numba backend only")
        corpus = _CountingCorpus(corpus_sentences(sentences, corpus_file, self.config.errors,
                                                  self.config.max_sentence_length))
        result = train_torch(self, corpus, max_minutes=max_minutes)
        self._check_counts(corpus)
        self.stopped_early = result.stop_reason == "time"
        self.state = None  # the torch backend resumes through the engine's checkpoints, not mid-epoch here

    def _encoded_file(self, sentences, corpus_file) -> Tuple[Optional[EncodedCorpus], Optional["_PassTotals"]]:
        """The corpus as vocabulary rows when it is a file: the ids ``build_vocab`` kept of it (same file, same
        settings), else a compiled scan of it now; (None, None) for other corpora."""
        reading = self._file_reading(sentences, corpus_file)
        if reading is None:
            return None, None
        if self._scan is not None and self._scan.source == file_identity(**reading):
            encoded = self._scan.encoded(self.vocab.key_to_index)
            if encoded is not None:
                return encoded, _PassTotals.of(self._scan.counts)
        scan = scan_file(**reading, vocabulary=self.wv.index_to_key)
        if scan is None:
            return None, None
        self._close_scan()
        self._scan = scan
        return scan.ids, _PassTotals.of(scan.counts)

    def _close_scan(self) -> None:
        scan = self.__dict__.get("_scan")
        if scan is not None:
            scan.close()
            self._scan = None

    def _train_numba(self, sentences, corpus_file, deadline: Optional[float] = None) -> None:
        from .hogwild import train_epochs

        encoded, totals = self._encoded_file(sentences, corpus_file)
        corpus = None
        if encoded is None:
            cfg = self.config
            corpus = _CountingCorpus(corpus_sentences(sentences, corpus_file, cfg.errors, cfg.max_sentence_length))
            totals = corpus
        kept = self._scan is not None and encoded is self._scan.ids  # freed when this train() call finishes
        self.stopped_early = train_epochs(self, encoded, corpus, totals, deadline, keep_encoded=kept)

    def get_latest_training_loss(self) -> float:
        """Summed loss of the last finished epoch (gensim's name; see ``training_log``)."""
        return self.training_log[-1]["loss"] if self.training_log else 0.0

    # ---------------------------------------------------------------- using the output layer
    def predict_output_word(self, context_words_list: Sequence, topn: int = 10):
        """The ``topn`` most probable centre words given context words, with probabilities (gensim's); see
        :func:`multissl.text.scoring.predict_output_word`."""
        from .scoring import predict_output_word

        return predict_output_word(self, context_words_list, topn)

    def score(self, sentences: Iterable[Sequence[str]], total_sentences: int = int(1e6), chunksize: int = 100,
              queue_factor: int = 2, report_delay: float = 1) -> np.ndarray:
        """(S,) float32 log-probability of each sentence under a hierarchical-softmax model (gensim's);
        see :func:`multissl.text.scoring.score_sentences`. ``chunksize``, ``queue_factor`` and ``report_delay``
        are accepted and ignored."""
        from .scoring import score_sentences

        return score_sentences(self, sentences, total_sentences)

    def _call(self, hook: str) -> None:
        for cb in self.callbacks:
            fn = getattr(cb, hook, None)
            if fn is not None:
                fn(self)

    def _say(self, message: str) -> None:
        if self.config.verbose:
            from tqdm.auto import tqdm

            tqdm.write(f"{LOG_PREFIX} {message}")

    # ---------------------------------------------------------------- save / load
    def save(self, fname_or_handle: PathLike, *args: Any, **kwargs: Any) -> Path:
        """Save everything (config, vocabulary and counts, all matrices, vector locks, training state and log)
        to one uncompressed ``.npz`` file (:mod:`multissl.text.model_file`); :meth:`load` restores it exactly.
        gensim's ``separately``, ``sep_limit``, ``ignore`` and ``pickle_protocol`` are accepted and unused."""
        from .model_file import save_model

        if self.vocab is None:
            raise ValueError("nothing to save: the model has no vocabulary yet")
        return save_model(self, fname_or_handle)

    @classmethod
    def load(cls, fname: PathLike, mmap: Optional[str] = None, **overrides: Any) -> "Word2Vec":
        """Load a model written by :meth:`save`, or gensim's model file (``gensim.models.Word2Vec.save``, older
        gensim versions included: it is unpickled, open only trusted files). ``mmap="r"`` (read-only) or ``"c"``
        (copy-on-write) maps the matrices instead of reading them. ``overrides`` change config fields that do
        not affect the shapes (``workers``, ``verbose``...)."""
        from .model_file import from_gensim_model, is_pickle, read_model_file

        path = Path(fname)
        if not path.is_file():
            raise FileNotFoundError(f"model file {path} does not exist")
        if is_pickle(path):
            return from_gensim_model(cls, path, mmap, **overrides)
        data = read_model_file(path, mmap)
        meta = data["meta"]
        model = cls(**{**meta["config"], **overrides}, comment=meta.get("comment"))
        model.vocab = Vocab(meta["words"], data["counts"], meta["total_words"], meta["num_sentences"],
                            meta.get("prunings", 0), meta.get("corpus_in_vocab"))
        model.wv = KeyedVectors(model.vocab.words, data["syn0"], model.vocab.counts)
        if "lockf" in data:
            model.wv.vectors_lockf = np.asarray(data["lockf"], np.float32)
        model.syn1neg, model.syn1 = data["syn1neg"], data["syn1"]
        model.training_log = meta["training_log"]
        model.state = meta["state"]
        model.epochs_trained = meta["epochs_trained"]
        model.effective_min_count = meta.get("effective_min_count", model.config.min_count)
        model.min_alpha_yet_reached = meta.get("min_alpha_yet_reached", model._alpha_reached_by_log())
        model.train_count = meta.get("train_count", 0)
        model.total_train_time = meta.get("total_train_time", 0.0)
        model._prepare_tables()
        return model

    def _alpha_reached_by_log(self) -> float:
        return self.config.min_alpha if self.training_log else self.config.alpha

    def __repr__(self) -> str:
        v = len(self.vocab) if self.vocab is not None else 0
        kind = "skip-gram" if self.config.sg else "CBOW"
        return f"Word2Vec({kind}, {v} words, {self.config.vector_size} dims, backend={self.config.backend})"

    def __str__(self) -> str:
        v = len(self.wv) if self.wv is not None else 0
        return f"Word2Vec<vocab={v}, vector_size={self.config.vector_size}, alpha={self.config.alpha}>"


def _uniform_vectors(rng: np.random.Generator, rows: int, dim: int) -> np.ndarray:
    """(rows, dim) float32 uniform in [-1/dim, 1/dim) (gensim 4's initial vectors; word2vec.c uses half that range,
    the wider one trains CBOW better)."""
    return ((rng.random((rows, dim), dtype=np.float32) * 2.0 - 1.0) / dim).astype(np.float32)


def _rows(matrix: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """(V,) object array of the rows of ``matrix`` cut to ``lengths`` (gensim's per-word Huffman attributes)."""
    out = np.empty(len(lengths), object)
    for i, n in enumerate(lengths.tolist()):
        out[i] = matrix[i, :n]
    return out


def _warn_plain_strings(sentences: Iterable, check_first: int = 1000) -> Iterator:
    """The sentences, with gensim's warning (once) when one of the first is a plain string: its characters are
    read as words."""
    warned = False
    for index, sentence in enumerate(sentences):
        if not warned and index < check_first and isinstance(sentence, str):
            log_warning("Each 'sentences' item should be a list of words (usually unicode strings). Sentence "
                        f"{index} ({sentence[:40]!r}) is instead a plain {type(sentence)}: its characters are read as "
                        "words", also_warn=True)
            warned = True
        yield sentence


def _one_corpus_iterable(corpus_iterable, sentences):
    """gensim 4's ``corpus_iterable`` or this library's older ``sentences`` (the same thing; not both)."""
    if corpus_iterable is not None and sentences is not None:
        raise ValueError("pass the corpus once: corpus_iterable= or sentences= (the same argument), not both")
    return corpus_iterable if corpus_iterable is not None else sentences


def _pruning_note(counts: RawCounts, max_vocab_size: Optional[int]) -> str:
    """What ``max_vocab_size`` did while counting ("" when it never pruned)."""
    if not counts.prunings:
        return ""
    return (f"; max_vocab_size={max_vocab_size} pruned the count table {counts.prunings} times (the last time dropping "
            f"words seen fewer than {counts.prunings} times so far): it bounds memory while counting, as in gensim; "
            "max_final_vocab sets the vocabulary's size")


__all__ = ["Word2Vec"]
