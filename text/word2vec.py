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
"""
from __future__ import annotations

import json
import os
import queue
import tempfile
import threading
import time
import warnings
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from multissl.progress import Progress

from .config import Word2VecConfig
from .corpus import corpus_sentences
from .keyedvectors import KeyedVectors
from .vocab import Vocab, encode_chunks, huffman_tree

PathLike = Union[str, Path]
LOG_PREFIX = "[multissl.text]"
FORMAT_VERSION = 1


class Word2Vec:
    """word2vec model (see the module docstring).

    ``Word2Vec(sentences=None, corpus_file=None, vector_size=100, window=5,
    min_count=5, sg=1, negative=5, ns_exponent=0.75, hs=0, sample=1e-3,
    alpha=0.025, min_alpha=1e-4, epochs=5, workers=<cores>, seed=1,
    max_vocab_size=None, max_final_vocab=None, backend="numba", callbacks=(),
    verbose=True, **more)`` — ``more`` are the other fields of
    :class:`~multissl.text.config.Word2VecConfig` (``cbow_mean``,
    ``shared_negatives``, ``compute_loss``, ``batch_size``, ``device`` ...).
    Given ``sentences`` (a restartable iterable of token lists) or
    ``corpus_file`` (one sentence per line), the vocabulary is built and the
    model trained at once, as in gensim.

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
                 callbacks: Sequence[Any] = (), **params: Any):
        names = {f.name for f in fields(Word2VecConfig)}
        unknown = sorted(set(params) - names)
        if unknown:
            raise TypeError(f"unknown Word2Vec parameter(s) {unknown}; known: {sorted(names)}")
        self.config = Word2VecConfig(**params)
        self.callbacks = list(callbacks)
        self.vocab: Optional[Vocab] = None
        self.wv: Optional[KeyedVectors] = None
        self.syn1neg = np.zeros((0, self.config.vector_size), np.float32)
        self.syn1 = np.zeros((0, self.config.vector_size), np.float32)
        self.training_log: List[Dict[str, float]] = []
        self.state: Optional[Dict[str, Any]] = None  # position of an unfinished train() call
        self.epochs_trained = 0
        self._last_sentences = None
        if sentences is not None or corpus_file is not None:
            self.build_vocab(sentences, corpus_file)
            self.train(sentences, corpus_file)

    # ---------------------------------------------------------------- vocabulary
    def __getattr__(self, name: str):
        # cfg fields readable as attributes: model.window, model.sg, model.epochs ...
        if name != "config" and "config" in self.__dict__ and name in self.config.__dataclass_fields__:
            return getattr(self.config, name)
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        # and writable, as in gensim (model.epochs = 10, model.workers = 4)
        config = self.__dict__.get("config")
        if config is not None and name in config.__dataclass_fields__:
            old = getattr(config, name)
            setattr(config, name, value)
            try:
                config.validate()
            except ValueError:
                setattr(config, name, old)
                raise
            return
        object.__setattr__(self, name, value)

    @property
    def corpus_count(self) -> int:
        """Sentences in the corpus ``build_vocab`` read (gensim's name; long sentences count once per piece)."""
        return 0 if self.vocab is None else int(self.vocab.num_sentences)

    @property
    def corpus_total_words(self) -> int:
        """Tokens in the corpus ``build_vocab`` read, rare words included (gensim's name)."""
        return 0 if self.vocab is None else int(self.vocab.total_words)

    def build_vocab(self, corpus_iterable: Optional[Iterable[Sequence[str]]] = None, corpus_file: Optional[PathLike] = None,
                    update: bool = False, progress_per: int = 10000, keep_raw_vocab: bool = False, trim_rule=None, *,
                    sentences: Optional[Iterable[Sequence[str]]] = None) -> "Word2Vec":
        """Count the corpus, keep the frequent words and initialise the vectors.

        gensim 4's signature: ``corpus_iterable`` (a restartable iterable of
        token lists; ``sentences=`` is the same) or ``corpus_file`` (one
        sentence per line). ``progress_per`` and ``keep_raw_vocab`` are
        accepted and ignored; ``update=True`` (growing a trained vocabulary)
        and ``trim_rule`` are not supported.
        """
        cfg = self.config
        sentences = _one_corpus_iterable(corpus_iterable, sentences)
        if update:
            raise NotImplementedError("build_vocab(update=True) is not supported: build the vocabulary of the whole "
                                      "corpus once (or train a new model on the larger corpus)")
        if trim_rule is not None:
            raise NotImplementedError("trim_rule is not supported; use min_count, max_vocab_size or max_final_vocab")
        corpus = corpus_sentences(sentences, corpus_file, cfg.errors, cfg.max_sentence_length)
        path = corpus_file if corpus_file is not None else getattr(sentences, "path", None)  # a LineCorpus has one
        source = "the corpus" if path is None else f"corpus {path}"
        with Progress("counting words", "token", verbose=cfg.verbose, prefix=LOG_PREFIX) as counting:
            self.vocab = Vocab.build(corpus, cfg.min_count, cfg.max_vocab_size, cfg.max_final_vocab, progress=counting.update,
                                     source=source)
        self._init_weights()
        self._say(f"vocabulary: {len(self.vocab)} words kept of a corpus of {self.vocab.total_words} tokens "
                  f"in {self.vocab.num_sentences} sentences{_pruning_note(self.vocab, cfg.max_vocab_size)}")
        return self

    def _init_weights(self) -> None:
        cfg, v = self.config, len(self.vocab)
        rng = np.random.default_rng(cfg.seed)
        # U[-1, 1) / D as gensim 4 (word2vec.c uses half that range; the wider one trains CBOW better)
        syn0 = ((rng.random((v, cfg.vector_size), dtype=np.float32) * 2.0 - 1.0) / cfg.vector_size).astype(np.float32)
        self.wv = KeyedVectors(self.vocab.words, syn0, self.vocab.counts)
        self.syn1neg = np.zeros((v if cfg.negative else 0, cfg.vector_size), np.float32)
        self.syn1 = np.zeros((v if cfg.hs else 0, cfg.vector_size), np.float32)
        self.state = None
        self.training_log = []
        self.epochs_trained = 0
        self._prepare_tables()

    def _prepare_tables(self) -> None:
        from multissl.sampling import AliasSampler, subsample_keep_prob, unigram_weights

        cfg, counts = self.config, self.vocab.counts
        keep = subsample_keep_prob(counts, cfg.sample)
        self._keep_threshold = np.minimum(np.floor(keep * 2.0**32), 2.0**32).astype(np.uint64)
        self._neg_table = AliasSampler(unigram_weights(counts, cfg.ns_exponent), seed=0).table
        if cfg.hs:
            self._codes, self._points, self._code_lengths = huffman_tree(counts)
        else:
            self._codes = np.zeros((1, 1), np.uint8)
            self._points = np.zeros((1, 1), np.int32)
            self._code_lengths = np.zeros(1, np.int32)

    # ---------------------------------------------------------------- training
    def train(self, corpus_iterable: Optional[Iterable[Sequence[str]]] = None, corpus_file: Optional[PathLike] = None,
              total_examples: Optional[int] = None, total_words: Optional[int] = None, epochs: Optional[int] = None,
              start_alpha: Optional[float] = None, end_alpha: Optional[float] = None, word_count: int = 0,
              queue_factor: int = 2, report_delay: float = 1.0, compute_loss: Optional[bool] = None,
              callbacks: Sequence[Any] = (), *, sentences: Optional[Iterable[Sequence[str]]] = None,
              max_minutes: Optional[float] = None) -> "Word2Vec":
        """Train for ``epochs`` (default: ``model.epochs``) passes over the corpus.

        gensim 4's signature: ``corpus_iterable`` (``sentences=`` is the same)
        or ``corpus_file``. ``total_examples`` (sentences per epoch) or
        ``total_words`` (raw tokens per epoch, rare words included) size the
        learning-rate decay as in gensim; both are optional here (default: the
        corpus ``build_vocab`` read, i.e. ``corpus_count`` and
        ``corpus_total_words``). When the corpus turns out to hold another
        count, a warning says so, as gensim's does. ``start_alpha`` /
        ``end_alpha`` replace ``alpha`` / ``min_alpha`` for this call (numba
        backend). ``callbacks`` are added for this call. ``word_count``,
        ``queue_factor`` and ``report_delay`` are accepted and ignored;
        ``compute_loss`` (default: the model's) switches the loss on or off.

        Without a corpus, continues an interrupted ``train`` call (the corpus is
        remembered when it was a file or an in-memory iterable). ``max_minutes``
        is a wall-clock budget: training stops cleanly when it is spent, even
        mid-epoch (the state is kept, so a later ``train()`` continues;
        ``self.stopped_early`` says so).
        """
        sentences = _one_corpus_iterable(corpus_iterable, sentences)
        if self.vocab is None:
            raise ValueError("call build_vocab() before train() (or pass the corpus to Word2Vec(...))")
        for name, value in (("total_examples", total_examples), ("total_words", total_words)):
            if value is not None and (isinstance(value, bool) or int(value) <= 0):
                raise ValueError(f"{name} must be a positive count, got {value!r}")
        if (start_alpha is not None or end_alpha is not None) and self.config.backend == "torch":
            raise ValueError("start_alpha / end_alpha are only supported by the numba backend")
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
        elif epochs is not None and int(epochs) != self.state["epochs"]:
            self._retarget_epochs(int(epochs))
        self._last_sentences = sentences
        corpus = _CountingCorpus(corpus_sentences(sentences, corpus_file, self.config.errors,
                                                  self.config.max_sentence_length))
        saved_callbacks = self.callbacks
        self.callbacks = list(saved_callbacks) + list(callbacks)
        try:
            self._call("on_train_begin")
            self.stopped_early = False
            if self.config.backend == "torch":
                from .torch_backend import train_torch

                result = train_torch(self, corpus, max_minutes=max_minutes)
                self._check_counts(corpus)
                self.stopped_early = result.stop_reason == "time"
                self.state = None  # the torch backend resumes through the engine's checkpoints, not mid-epoch here
            else:
                deadline = None if max_minutes is None else time.perf_counter() + 60.0 * max_minutes
                self.stopped_early = self._train_numba(corpus, deadline)
                self._check_counts(corpus)
            self.wv._normed = None
            if self.stopped_early:
                self._say("stopped by the time budget; call train() again to continue")
                return self
            self.state = None
            self._last_sentences = None
            self.wv._normed = None
            self._call("on_train_end")
        finally:
            self.callbacks = saved_callbacks
        return self

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

    def _check_counts(self, corpus: "_CountingCorpus") -> None:
        """Warn, as gensim does, when the given total_examples / total_words are not the corpus's."""
        expected = (self.state or {}).get("expected") or {}
        if corpus.passes == 0 or expected.get("checked"):
            return
        for name, actual, what in (("total_examples", corpus.sentences, "example"), ("total_words", corpus.words, "raw word")):
            given = expected.get(name)
            if given is not None and int(given) != actual:
                warnings.warn(f"supplied {what} count {name}={int(given)} did not equal the corpus's count ({actual}); "
                              "the learning rate decays as if the corpus had the supplied count", UserWarning, stacklevel=3)
        expected["checked"] = True

    def _same_corpus(self, sentences, corpus_file) -> bool:
        """Whether an unfinished training may continue on this corpus (not known to be another one)."""
        if corpus_file is not None:
            return self.state.get("corpus_file") == str(corpus_file)
        if self.state.get("corpus_file") is not None:
            return False
        return self._last_sentences is None or sentences is self._last_sentences

    def _train_numba(self, corpus, deadline: Optional[float] = None) -> bool:
        from .kernels import NUM_STATS, chunk_key, train_chunk

        cfg, st = self.config, self.state
        workers = int(cfg.workers)
        jobs: "queue.Queue" = queue.Queue(maxsize=2 * workers)
        done: "queue.Queue" = queue.Queue()
        seed_key = np.uint64(cfg.seed % 2**64)
        syn1neg = self.syn1neg if cfg.negative else np.zeros((1, cfg.vector_size), np.float32)
        syn1 = self.syn1 if cfg.hs else np.zeros((1, cfg.vector_size), np.float32)
        syn0 = self.wv.vectors
        alpha, min_alpha = float(st.get("alpha", cfg.alpha)), float(st.get("min_alpha", cfg.min_alpha))

        def work():
            while True:
                job = jobs.get()
                if job is None:
                    return
                index, ids, position, key = job
                stats = np.zeros(NUM_STATS, np.float64)
                try:
                    train_chunk(ids, syn0, syn1neg, syn1, self._keep_threshold, self._neg_table, self._codes,
                                self._points, self._code_lengths, cfg.sg, cfg.hs, cfg.negative, cfg.window,
                                cfg.shared_negatives, cfg.cbow_mean, alpha, min_alpha, float(position),
                                st["total_words"], key, cfg.compute_loss, stats)
                except BaseException as err:  # reported to the main thread
                    done.put((index, err))
                    continue
                done.put((index, stats))

        threads = [threading.Thread(target=work, name=f"word2vec-{i}", daemon=True) for i in range(workers)]
        for t in threads:
            t.start()
        total = int(st["total_words"])
        bar = Progress("word2vec", "word", total=total, initial=min(st["position"], total), verbose=cfg.verbose,
                       prefix=LOG_PREFIX)
        interleave = cfg.interleave and workers > 1
        cache = _ChunkCache() if (st["epochs"] - st["epoch"] > 1 or interleave) else None
        if cache is not None and interleave:
            self._say("encoding the corpus into word ids (once per train call, for the interleaved order) ...")
            # encode the whole corpus once, so that every epoch can be read in interleaved order
            for _ in self._encoded(corpus, cache):
                pass
            cache.complete = True
        pending = 0
        interrupted: Optional[BaseException] = None
        out_of_time = False

        def collect(block: bool) -> None:
            nonlocal pending
            while pending:
                try:
                    index, result = done.get(block=block, timeout=None if block else 0)
                except queue.Empty:
                    return
                pending -= 1
                if isinstance(result, BaseException):
                    raise result
                for k in range(len(result)):
                    st["epoch_stats"][k] += float(result[k])
                bar.update(int(result[3]))
                if cfg.compute_loss and result[1]:
                    bar.set_postfix(loss=f"{result[0] / result[1]:.3f}")
                for cb in self.callbacks:
                    if hasattr(cb, "on_chunk_end"):
                        cb.on_chunk_end(self, result)
                if block:
                    block = pending > 0

        try:
            while st["epoch"] < st["epochs"]:
                if st["chunk"] == 0:
                    self._call("on_epoch_begin")
                started = time.perf_counter()
                if cache is not None and cache.complete:
                    source = cache.replay(_interleaved(len(cache.sizes), workers if interleave else 1))
                else:
                    source = self._encoded(corpus, cache)
                for index, (ids, n_words) in enumerate(source):
                    if index < st["chunk"]:
                        continue
                    if deadline is not None and time.perf_counter() > deadline:
                        out_of_time = True
                        break
                    key = np.uint64(chunk_key(seed_key, np.uint64(self.epochs_trained), np.uint64(index)))
                    jobs.put((index, ids, st["position"], key))
                    pending += 1
                    st["chunk"] = index + 1
                    st["position"] += n_words
                    collect(block=False)
                while pending:
                    collect(block=True)
                st["epoch_seconds"] += time.perf_counter() - started
                if out_of_time:
                    break
                if cache is not None:
                    cache.complete = True
                self._end_epoch()
        except BaseException as err:
            interrupted = err
        finally:
            try:
                while pending:
                    collect(block=True)
            except BaseException as err:
                interrupted = interrupted or err
            for _ in threads:
                jobs.put(None)
            for t in threads:
                t.join()
            bar.close()
            if cache is not None:
                cache.close()
        if interrupted is not None:
            if isinstance(interrupted, KeyboardInterrupt):
                warnings.warn(
                    f"training interrupted in epoch {st['epoch'] + 1}/{st['epochs']} after {st['position']} words; "
                    "call train() again to continue", RuntimeWarning, stacklevel=3)
            raise interrupted
        return out_of_time

    def _end_epoch(self) -> None:
        st = self.state
        loss, pairs, trained, words = st["epoch_stats"]
        seconds = st["epoch_seconds"]
        entry = {"epoch": self.epochs_trained + 1, "loss": loss, "examples": pairs,
                 "mean_loss": loss / pairs if pairs else float("nan"), "trained_words": trained, "words": words,
                 "seconds": seconds, "words_per_s": words / seconds if seconds else float("nan")}
        if not self.config.compute_loss:
            entry["loss"] = entry["mean_loss"] = float("nan")
        self.training_log.append(entry)
        self.epochs_trained += 1
        st["epoch"] += 1
        st["chunk"] = 0
        st["epoch_stats"] = [0.0, 0.0, 0.0, 0.0]
        st["epoch_seconds"] = 0.0
        self._say(f"epoch {entry['epoch']}: mean loss {entry['mean_loss']:.4f} over {int(pairs)} examples, "
                  f"{entry['words_per_s']:.0f} words/s")
        self._call("on_epoch_end")

    def _encoded(self, corpus, cache: Optional["_ChunkCache"]) -> Iterator[Tuple[np.ndarray, int]]:
        if cache is not None:
            cache.reset()
        for ids, n in encode_chunks(corpus, self.vocab.key_to_index, self.config.chunk_words):
            if cache is not None:
                cache.append(ids, n)
            yield ids, n

    def get_latest_training_loss(self) -> float:
        """Summed loss of the last finished epoch (gensim's name; see ``training_log``)."""
        return self.training_log[-1]["loss"] if self.training_log else 0.0

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
    def save(self, path: PathLike) -> Path:
        """Save everything (config, vocabulary and counts, all matrices, training
        state and log) to one ``.npz`` file; :meth:`load` restores it exactly."""
        if self.vocab is None:
            raise ValueError("nothing to save: the model has no vocabulary yet")
        path = Path(path)
        meta = {"format": "multissl.text.Word2Vec", "version": FORMAT_VERSION, "config": asdict(self.config),
                "words": self.vocab.words, "total_words": self.vocab.total_words,
                "num_sentences": self.vocab.num_sentences, "training_log": self.training_log,
                "state": self.state, "epochs_trained": self.epochs_trained}
        with open(path, "wb") as f:
            np.savez(f, meta=np.array(json.dumps(meta)), counts=self.vocab.counts, syn0=self.wv.vectors,
                     syn1neg=self.syn1neg, syn1=self.syn1)
        return path

    @classmethod
    def load(cls, path: PathLike, **overrides: Any) -> "Word2Vec":
        """Load a model written by :meth:`save`; ``overrides`` change config
        fields that do not affect the shapes (``workers``, ``verbose``...)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"model file {path} does not exist")
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                arrays = {k: data[k] for k in ("counts", "syn0", "syn1neg", "syn1")}
        except (ValueError, KeyError, OSError) as err:
            raise ValueError(f"{path} is not a multissl Word2Vec model file ({err})") from None
        if meta.get("format") != "multissl.text.Word2Vec":
            raise ValueError(f"{path} is not a multissl Word2Vec model file")
        config = {**meta["config"], **overrides}
        model = cls(**config)
        model.vocab = Vocab(meta["words"], arrays["counts"], meta["total_words"], meta["num_sentences"])
        model.wv = KeyedVectors(model.vocab.words, arrays["syn0"], model.vocab.counts)
        model.syn1neg, model.syn1 = arrays["syn1neg"], arrays["syn1"]
        model.training_log = meta["training_log"]
        model.state = meta["state"]
        model.epochs_trained = meta["epochs_trained"]
        model._last_sentences = None
        model._prepare_tables()
        return model

    def __repr__(self) -> str:
        v = len(self.vocab) if self.vocab is not None else 0
        kind = "skip-gram" if self.config.sg else "CBOW"
        return f"Word2Vec({kind}, {v} words, {self.config.vector_size} dims, backend={self.config.backend})"


def _one_corpus_iterable(corpus_iterable, sentences):
    """gensim 4's ``corpus_iterable`` or this library's older ``sentences`` (the same thing; not both)."""
    if corpus_iterable is not None and sentences is not None:
        raise ValueError("pass the corpus once: corpus_iterable= or sentences= (the same argument), not both")
    return corpus_iterable if corpus_iterable is not None else sentences


class _CountingCorpus:
    """A restartable sentence stream that counts the sentences and tokens of each complete pass."""

    def __init__(self, corpus: Iterable[Sequence[str]]):
        self.corpus = corpus
        self.passes = 0
        self.sentences = 0
        self.words = 0

    def __iter__(self) -> Iterator[Sequence[str]]:
        sentences = words = 0
        for sentence in self.corpus:
            sentences += 1
            words += len(sentence)
            yield sentence
        self.passes += 1
        self.sentences, self.words = sentences, words


def _pruning_note(vocab: Vocab, max_vocab_size: Optional[int]) -> str:
    """What ``max_vocab_size`` did while counting ("" when it never pruned)."""
    if not vocab.prunings:
        return ""
    return (f"; max_vocab_size={max_vocab_size} pruned the count table {vocab.prunings} times (the last time dropping words "
            f"seen at most {vocab.prunings} times so far): it bounds memory while counting, as in gensim; "
            "max_final_vocab sets the vocabulary's size")


class _ChunkCache:
    """Encoded chunks of the first epoch, kept in a temporary file for the next ones."""

    def __init__(self):
        fd, name = tempfile.mkstemp(prefix="multissl-w2v-", suffix=".int32")
        self.file = os.fdopen(fd, "w+b")
        self.path = name
        self.sizes: List[Tuple[int, int]] = []
        self.complete = False

    def reset(self) -> None:
        self.file.seek(0)
        self.file.truncate()
        self.sizes = []
        self.complete = False

    def append(self, ids: np.ndarray, n_words: int) -> None:
        ids.astype(np.int32, copy=False).tofile(self.file)
        self.sizes.append((len(ids), n_words))

    def replay(self, order: Optional[Sequence[int]] = None) -> Iterator[Tuple[np.ndarray, int]]:
        """The cached chunks, in ``order`` (default: as written)."""
        self.file.flush()
        offsets = np.concatenate([[0], np.cumsum([length for length, _ in self.sizes])]) * 4
        for i in (range(len(self.sizes)) if order is None else order):
            length, n_words = self.sizes[i]
            self.file.seek(int(offsets[i]))
            yield np.fromfile(self.file, np.int32, length), n_words

    def close(self) -> None:
        self.file.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


def _interleaved(num_chunks: int, parts: int) -> List[int]:
    """Chunk order that alternates between ``parts`` contiguous parts of the corpus.

    With ``parts`` = workers, the threads train on distant parts of the corpus
    at the same time, as word2vec.c's threads (each reads its own slice of the
    file) and gensim's ``corpus_file`` mode do; on a sorted corpus (a
    dictionary, a Wikipedia dump by title) this matters for quality.
    """
    bounds = np.linspace(0, num_chunks, parts + 1).astype(int)
    order: List[int] = []
    for k in range(int(np.max(np.diff(bounds))) if num_chunks else 0):
        for p in range(parts):
            if bounds[p] + k < bounds[p + 1]:
                order.append(int(bounds[p] + k))
    return order


__all__ = ["Word2Vec"]
