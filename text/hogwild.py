"""The Hogwild training loop of the numba backend: worker threads, the chunk queue, epochs, interruption.

:func:`train_epochs` runs the epochs left in ``model.state``: ``workers`` Python threads take
chunks of word ids from a queue and run :func:`multissl.text.kernels.train_chunk` on them
without the GIL, updating the model's shared float32 matrices without locks (Hogwild). The
main thread hands out the chunks (in the interleaved order when ``interleave`` and several
workers), collects each chunk's statistics, advances the position that drives the learning
rate, and calls the callbacks; it cuts the epoch's last chunks into one part per worker. With
private output vectors (:mod:`multissl.text.private_outputs`) each thread trains a chunk in pieces
of about 10,000 words and merges its copy of the output vectors after each (the rows of the most frequent
words; after the chunk's last piece, every row). The corpus comes either already encoded (an
:class:`~multissl.text.encoded.EncodedCorpus`) or as a sentence stream that is encoded here,
into a temporary file for the later epochs (before the first one, for the interleaved order).
"""
from __future__ import annotations

import queue
import threading
import time
import warnings
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from multissl.progress import Progress

from .encoded import EncodedCorpus, interleaved_order, split_chunk
from .errors import LOG_PREFIX
from .private_outputs import HOT_ROWS, MERGE_WORDS, PrivateOutputs, use_private_outputs
from .vocab import RawCounts, encode_chunks


def train_epochs(model, encoded: Optional[EncodedCorpus], corpus: Optional["CountingCorpus"], totals: "PassTotals",
                 deadline: Optional[float] = None, keep_encoded: bool = False) -> bool:
    """Train ``model`` (a :class:`~multissl.text.Word2Vec`) through the epochs left in ``model.state``.

    ``encoded``: the corpus as vocabulary rows (then ``corpus`` is None), or None: ``corpus`` (a
    :class:`CountingCorpus`) is encoded here. ``totals``: the corpus's sentence and token counts, for
    gensim's count warning. ``deadline`` (``time.perf_counter()`` seconds): stop cleanly when passed.
    ``keep_encoded``: leave ``encoded`` open (its owner frees it). Returns whether the deadline stopped it.
    A ``KeyboardInterrupt`` (or a callback's) lets the chunks in flight finish and is raised again.
    """
    from .kernels import NUM_STATS, chunk_key, lock_factors, train_chunk

    cfg, st = model.config, model.state
    workers = int(cfg.workers)
    interleave = cfg.interleave and workers > 1
    if encoded is None:
        encoded = EncodedCorpus() if (st["epochs"] - st["epoch"] > 1 or interleave) else None
        if encoded is not None and interleave:
            model._say("encoding the corpus into word ids (once per train call, for the interleaved order) ...")
            for _ in encode(model, corpus, encoded):  # the whole corpus, so that every epoch can be interleaved
                pass
    jobs: "queue.Queue" = queue.Queue(maxsize=2 * workers)
    done: "queue.Queue" = queue.Queue()
    seed_key = np.uint64(cfg.seed % 2**64)
    syn1neg = model.syn1neg if cfg.negative else np.zeros((1, cfg.vector_size), np.float32)
    syn1 = model.syn1 if cfg.hs else np.zeros((1, cfg.vector_size), np.float32)
    syn0 = model.wv.vectors
    lockf = lock_factors(model.wv.vectors_lockf)  # None without locks: the kernels' fastest case
    private = use_private_outputs(cfg.private_outputs, workers, cfg.negative, len(model.wv))
    merge_lock = threading.Lock()
    alpha, min_alpha = float(st.get("alpha", cfg.alpha)), float(st.get("min_alpha", cfg.min_alpha))

    def train(ids, syn1neg_rows, position, key, stats):
        return train_chunk(ids, syn0, syn1neg_rows, syn1, lockf, model._keep_threshold, model._neg_table, model._codes,
                           model._points, model._code_lengths, cfg.sg, cfg.hs, cfg.negative, cfg.window,
                           cfg.shrink_windows, cfg.shared_negatives, cfg.cbow_mean, alpha, min_alpha,
                           float(position), st["total_words"], key, cfg.compute_loss, stats, private)

    def work():
        outputs = PrivateOutputs(syn1neg, merge_lock) if private else None
        while True:
            job = jobs.get()
            if job is None:
                return
            index, ids, position, key = job
            stats = np.zeros(NUM_STATS, np.float64)
            try:
                if outputs is None:
                    train(ids, syn1neg, position, key, stats)
                else:  # a merge after every piece of about MERGE_WORDS words; each piece continues the random stream
                    pieces = list(split_chunk(ids, MERGE_WORDS))
                    for k, (piece, words_before) in enumerate(pieces):
                        key = np.uint64(train(piece, outputs.rows, position + words_before, key, stats))
                        outputs.merge(None if k == len(pieces) - 1 else HOT_ROWS)
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
            for cb in model.callbacks:
                if hasattr(cb, "on_chunk_end"):
                    cb.on_chunk_end(model, result)
            if block:
                block = pending > 0

    try:
        while st["epoch"] < st["epochs"]:
            if st["chunk"] == 0:
                model._call("on_epoch_begin")
            started = time.perf_counter()
            split_from = None  # the epoch's last chunks are cut in parts, one per worker, that train at once
            if encoded is not None and encoded.complete:
                source = encoded.chunks(interleaved_order(len(encoded), workers) if interleave else None)
                split_from = len(encoded) - workers if workers > 1 else None
            else:
                source = encode(model, corpus, encoded)
            for index, (ids, n_words) in enumerate(source):
                if index < st["chunk"]:
                    continue
                if deadline is not None and time.perf_counter() > deadline:
                    out_of_time = True
                    break
                key = np.uint64(chunk_key(seed_key, np.uint64(model.epochs_trained), np.uint64(index)))
                for part, words_before, part_key in chunk_parts(ids, key, workers if split_from is not None
                                                                and index >= split_from else 1):
                    jobs.put((index, part, st["position"] + words_before, part_key))
                    pending += 1
                st["chunk"] = index + 1
                st["position"] += n_words
                collect(block=False)
            while pending:
                collect(block=True)
            st["epoch_seconds"] += time.perf_counter() - started
            if out_of_time:
                break
            model._check_counts(totals)
            end_epoch(model)
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
        if encoded is not None and not keep_encoded:
            encoded.close()
    if interrupted is not None:
        if isinstance(interrupted, KeyboardInterrupt):
            warnings.warn(
                f"training interrupted in epoch {st['epoch'] + 1}/{st['epochs']} after {st['position']} words; "
                "call train() again to continue", RuntimeWarning, stacklevel=4)
        raise interrupted
    return out_of_time



MIN_PART_WORDS = 1_000  # a smaller chunk is not cut: waiting for it costs less than a merge or a job


def chunk_parts(ids: np.ndarray, key: np.uint64, parts: int) -> List[Tuple[np.ndarray, int, np.uint64]]:
    """A chunk as up to ``parts`` jobs of whole sentences (at least ``MIN_PART_WORDS`` ids each):
    ``(ids, words before them, random key)``; a chunk in one part keeps its key. The epoch's last chunks go out
    so, one part per worker: whole, one thread would train the last chunk while the others wait for the next
    epoch."""
    parts = min(parts, len(ids) // MIN_PART_WORDS)
    if parts <= 1:
        return [(ids, 0, key)]
    from .kernels import chunk_key

    cut = split_chunk(ids, -(-len(ids) // parts))
    return [(part, before, np.uint64(chunk_key(key, np.uint64(0), np.uint64(k))))
            for k, (part, before) in enumerate(cut)]


def end_epoch(model) -> None:
    """Log the finished epoch (``model.training_log``), reset the epoch's counters, call ``on_epoch_end``."""
    st = model.state
    loss, pairs, trained, words = st["epoch_stats"]
    seconds = st["epoch_seconds"]
    entry = {"epoch": model.epochs_trained + 1, "loss": loss, "examples": pairs,
             "mean_loss": loss / pairs if pairs else float("nan"), "trained_words": trained, "words": words,
             "seconds": seconds, "words_per_s": words / seconds if seconds else float("nan")}
    if not model.config.compute_loss:
        entry["loss"] = entry["mean_loss"] = float("nan")
    model.training_log.append(entry)
    model.epochs_trained += 1
    st["epoch"] += 1
    st["chunk"] = 0
    st["epoch_stats"] = [0.0, 0.0, 0.0, 0.0]
    st["epoch_seconds"] = 0.0
    model._say(f"epoch {entry['epoch']}: mean loss {entry['mean_loss']:.4f} over {int(pairs)} examples, "
              f"{entry['words_per_s']:.0f} words/s")
    model._call("on_epoch_end")


def encode(model, corpus, cache: Optional[EncodedCorpus]) -> Iterator[Tuple[np.ndarray, int]]:
    """The chunks of a sentence stream as vocabulary rows, also written to ``cache`` (emptied first) if given."""
    if cache is not None:
        cache.reset()
    for ids, n in encode_chunks(corpus, model.vocab.key_to_index, model.config.chunk_words):
        if cache is not None:
            cache.append(ids, n)
        yield ids, n
    if cache is not None:
        cache.finish()


class PassTotals:
    """Sentences and tokens of one complete pass over a corpus (``passes`` = how many were counted)."""

    def __init__(self, passes: int = 0, sentences: int = 0, words: int = 0):
        self.passes, self.sentences, self.words = passes, sentences, words

    @classmethod
    def of(cls, counts: RawCounts) -> "PassTotals":
        return cls(1, counts.num_sentences, counts.total_words)


class CountingCorpus(PassTotals):
    """A restartable sentence stream that counts the sentences and tokens of each complete pass."""

    def __init__(self, corpus: Iterable[Sequence[str]]):
        super().__init__()
        self.corpus = corpus

    def __iter__(self) -> Iterator[Sequence[str]]:
        sentences = words = 0
        for sentence in self.corpus:
            sentences += 1
            words += len(sentence)
            yield sentence
        self.passes += 1
        self.sentences, self.words = sentences, words


__all__ = ["CountingCorpus", "PassTotals", "encode", "end_epoch", "train_epochs"]
