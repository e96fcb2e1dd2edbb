"""The torch backend: skip-gram and CBOW as ``nn.Module``s trained by the core engine.

- :class:`SkipGramNS` / :class:`CBOWNS` hold the input and output embeddings
  (V, D) and return word2vec's negative-sampling loss
  (:func:`multissl.losses.negative_sampling_loss`) of a batch of examples.
- :class:`ExampleStream` turns the encoded corpus into batches: the numba
  kernel :func:`~multissl.text.kernels.generate_pairs` applies subsampling and
  reduced windows chunk by chunk (memory bounded), the examples of a chunk are
  shuffled, and noise words are drawn from the core's :class:`AliasSampler`.
  Every example carries ``scale = alpha_t / alpha``, word2vec's linearly
  decayed learning rate at its position, so plain SGD with ``lr = alpha`` on
  the summed loss reproduces word2vec's schedule.
- :func:`train_torch` trains a :class:`~multissl.text.Word2Vec` with
  :func:`multissl.engine.fit` (CUDA when present; under ``torchrun`` each
  rank takes every world-size-th batch, and the ranks exchange the embedding rows
  their batches touched, not the (V, D) tables).

A noise word equal to the target is kept (word2vec.c skips it); with a real
vocabulary this is rare and does not change the result measurably.
"""
from __future__ import annotations

from typing import Dict, Iterator, Optional

import numpy as np
import torch
from einops import rearrange
from torch import nn

from multissl import distributed as dist_utils
from multissl.losses import negative_sampling_loss
from multissl.sampling import AliasSampler, unigram_weights

from .kernels import chunk_key, generate_pairs
from .vocab import encode_chunks


class _Embeddings(nn.Module):
    def __init__(self, num_words: int, dim: int, init: Optional[np.ndarray] = None, sparse: bool = True):
        super().__init__()
        self.inputs = nn.Embedding(num_words, dim, sparse=sparse)
        self.outputs = nn.Embedding(num_words, dim, sparse=sparse)
        with torch.no_grad():
            if init is not None:
                self.inputs.weight.copy_(torch.from_numpy(init))
            else:
                self.inputs.weight.uniform_(-1.0 / dim, 1.0 / dim)
            self.outputs.weight.zero_()
        self.register_buffer("loss_sum", torch.zeros((), dtype=torch.float64), persistent=False)
        self.register_buffer("examples", torch.zeros((), dtype=torch.float64), persistent=False)

    def _finish(self, per_example: torch.Tensor, scale: torch.Tensor):
        with torch.no_grad():
            self.loss_sum += per_example.detach().double().sum()
            self.examples += per_example.shape[0]
        return (per_example * scale).sum(), {"example_loss": per_example.detach().mean()}


class SkipGramNS(_Embeddings):
    """Skip-gram with negative sampling.

    ``forward(batch)`` with ``batch = {"input": (B,) context words,
    "target": (B,) centre words, "negatives": (B, K), "scale": (B,)}`` returns
    ``(sum_b scale_b * loss_b, {"example_loss": mean_b loss_b})``.
    """

    def forward(self, batch: Dict[str, torch.Tensor]):
        center = self.inputs(batch["input"])  # (B, D)
        target = self.outputs(batch["target"])  # (B, D)
        noise = self.outputs(batch["negatives"])  # (B, K, D)
        return self._finish(negative_sampling_loss(center, target, noise, reduction="none"), batch["scale"])


class CBOWNS(_Embeddings):
    """CBOW with negative sampling: the mean of the context predicts the centre.

    ``batch = {"context": (B, C) words padded with -1, "target": (B,),
    "negatives": (B, K), "scale": (B,)}``.
    """

    def forward(self, batch: Dict[str, torch.Tensor]):
        context = batch["context"]
        mask = (context >= 0).to(self.inputs.weight.dtype)  # (B, C)
        vectors = self.inputs(context.clamp(min=0)) * rearrange(mask, "b c -> b c 1")  # (B, C, D)
        total = vectors.sum(1)
        mean = total / mask.sum(1, keepdim=True).clamp(min=1)
        # word2vec.c (cbow_mean=1): the hidden layer is the context mean, but every
        # context vector receives the full error, not the error divided by the count.
        hidden = total + (mean - total).detach()
        target = self.outputs(batch["target"])
        noise = self.outputs(batch["negatives"])
        return self._finish(negative_sampling_loss(hidden, target, noise, reduction="none"), batch["scale"])


class _EpochSetter:
    def __init__(self, stream: "ExampleStream"):
        self.stream = stream

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        self.stream.epoch = epoch
        self.stream.skip_examples = start


class ExampleStream:
    """Iterable of training batches for one epoch of a Word2Vec model (see module docstring)."""

    def __init__(self, model, corpus, batch_size: int, epoch_words: float, total_words: float):
        cfg = model.config
        self.corpus = corpus
        self.key_to_index = model.vocab.key_to_index
        self.keep_threshold = model._keep_threshold
        self.window = cfg.window
        self.shrink_windows = bool(cfg.shrink_windows)
        self.sg = cfg.sg
        self.negative = cfg.negative
        self.batch_size = batch_size
        self.chunk_words = cfg.chunk_words
        self.seed = cfg.seed
        self.alpha, self.min_alpha = cfg.alpha, cfg.min_alpha
        self.epoch_words = epoch_words
        self.total_words = total_words
        self.epoch_offset = model.epochs_trained
        self.noise = AliasSampler(unigram_weights(model.vocab.counts, cfg.ns_exponent), seed=cfg.seed)
        self.epoch = 0
        self.skip_examples = 0
        self.words_done = 0  # in-vocabulary words whose examples were handed out
        self.sampler = _EpochSetter(self)

    def __iter__(self) -> Iterator[Dict[str, torch.Tensor]]:
        """This process's batches of the epoch. Every process makes the same stream of examples; under ``torchrun``
        global batch b goes to rank ``b % world``, and only whole rounds of ``world`` batches are handed out, so that
        every rank takes the same number of steps (the last incomplete round, fewer than ``world`` batches, is left
        out, as ``drop_last`` does; one process also gets the last partial batch)."""
        rank, world = dist_utils.rank(), dist_utils.world_size()
        seed_key = np.uint64(self.seed % 2**64)
        epoch = self.epoch_offset + self.epoch
        rng = np.random.default_rng([self.seed, epoch])
        position = self.epoch * self.epoch_words
        carry: Optional[Dict[str, np.ndarray]] = None
        to_skip, held, global_batch = self.skip_examples, None, 0
        for index, (ids, n_words) in enumerate(encode_chunks(self.corpus, self.key_to_index, self.chunk_words)):
            examples = self._examples(ids, np.uint64(chunk_key(seed_key, np.uint64(epoch), np.uint64(index))), position, rng)
            position += n_words
            self.words_done += n_words
            if carry is not None:
                examples = {k: np.concatenate([carry[k], examples[k]]) for k in examples}
            n_full = len(examples["target"]) // self.batch_size * self.batch_size
            for start in range(0, n_full, self.batch_size):
                if global_batch % world == rank:
                    held = {k: v[start : start + self.batch_size] for k, v in examples.items()}
                round_complete = global_batch % world == world - 1
                global_batch += 1
                if not round_complete:
                    continue
                if to_skip >= self.batch_size:
                    to_skip -= self.batch_size
                    continue
                yield self._batch(held)
            carry = {k: v[n_full:] for k, v in examples.items()}
        if world == 1 and carry is not None and len(carry["target"]):
            yield self._batch(carry)

    def _examples(self, ids: np.ndarray, key: np.uint64, position: float, rng) -> Dict[str, np.ndarray]:
        n_max = len(ids) * 2 * self.window if self.sg else len(ids)
        inputs = np.empty(n_max, np.int64)
        context = np.empty((n_max, 1 if self.sg else 2 * self.window), np.int64)
        word_pos = np.empty(n_max, np.int64)
        rows = generate_pairs(ids, self.keep_threshold, self.window, self.sg, key, inputs, context, word_pos,
                              self.shrink_windows)
        order = rng.permutation(rows)
        progress = np.minimum((position + word_pos[order]) / max(self.total_words, 1.0), 1.0)
        scale = ((self.alpha - (self.alpha - self.min_alpha) * progress) / self.alpha).astype(np.float32)
        negatives = self.noise.draw(rows * self.negative).reshape(rows, self.negative)
        if self.sg:
            return {"input": inputs[order], "target": context[order, 0], "negatives": negatives, "scale": scale}
        return {"context": context[order], "target": inputs[order], "negatives": negatives, "scale": scale}

    @staticmethod
    def _batch(arrays: Dict[str, np.ndarray]) -> Dict[str, torch.Tensor]:
        return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}


class _EpochLoss:
    """Engine callback: moves the task's summed loss into the model's training log."""

    def __init__(self, model, task):
        self.model, self.task = model, task
        self.started = None

    def on_epoch_end(self, state):
        import time

        loss, examples = float(self.task.loss_sum), float(self.task.examples)
        if dist_utils.is_distributed():
            totals = torch.tensor([loss, examples], dtype=torch.float64, device=self.task.loss_sum.device)
            torch.distributed.all_reduce(totals)
            loss, examples = totals.tolist()
        now = time.perf_counter()
        seconds = now - (self.started or now)
        self.started = now
        words = self.model.vocab.retained_words
        self.model.training_log.append({"epoch": self.model.epochs_trained + 1, "loss": loss, "examples": examples,
                                        "mean_loss": loss / examples if examples else float("nan"),
                                        "words": words, "seconds": seconds,
                                        "words_per_s": words / seconds if seconds else float("nan")})
        self.model.epochs_trained += 1
        self.task.loss_sum.zero_()
        self.task.examples.zero_()
        self.model._call("on_epoch_end")
        return {"epoch_mean_loss": loss / examples if examples else float("nan")}


def train_torch(model, corpus, output_dir: Optional[str] = None, max_minutes: Optional[float] = None):
    """Train ``model`` (a :class:`~multissl.text.Word2Vec` with ``backend="torch"``) with the core engine.

    The trained input vectors replace ``model.wv.vectors``; the output vectors
    ``model.syn1neg``. ``output_dir`` gives the engine's checkpoints and
    metrics log (resume with ``resume="auto"`` through :func:`build_task`).
    """
    import time

    from multissl.engine import TrainConfig, fit

    cfg, st = model.config, model.state
    if cfg.hs:
        raise ValueError("hs=1 (hierarchical softmax) is only implemented by the numba backend")
    if cfg.negative <= 0:
        raise ValueError("the torch backend needs negative >= 1")
    epochs = st["epochs"] - st["epoch"]
    epoch_words = st["total_words"] / st["epochs"]
    stream = ExampleStream(model, corpus, cfg.batch_size, epoch_words, st["total_words"])
    stream.epoch_offset = model.epochs_trained - st["epoch"]
    task_cls = SkipGramNS if cfg.sg else CBOWNS
    task = task_cls(len(model.vocab), cfg.vector_size, init=model.wv.vectors)
    with torch.no_grad():
        if len(model.syn1neg):
            task.outputs.weight.copy_(torch.from_numpy(model.syn1neg))
    optimizer = torch.optim.SGD(task.parameters(), lr=cfg.alpha)
    recorder = _EpochLoss(model, task)
    recorder.started = time.perf_counter()
    train_config = TrainConfig(epochs=epochs, batch_size=cfg.batch_size, seed=cfg.seed, device=cfg.device,
                               verbose=cfg.verbose, output_dir=output_dir, checkpoint_every=0, log_every=50,
                               max_minutes=max_minutes, amp=False)
    from multissl import checks

    finite_checks = checks._CHECK_FINITE
    checks.set_finite_checks(False)  # one NaN scan per lookup would cost more than the step itself
    try:
        result = fit(task, stream, optimizer, train_config, callbacks=[recorder], metadata={"word2vec": cfg.to_dict()})
    finally:
        checks.set_finite_checks(finite_checks)
    with torch.no_grad():
        model.wv.vectors[...] = task.inputs.weight.detach().float().cpu().numpy()
        model.syn1neg = task.outputs.weight.detach().float().cpu().numpy()
    model.wv.fill_norms()
    model.torch_words_done = stream.words_done
    return result


__all__ = ["CBOWNS", "ExampleStream", "SkipGramNS", "train_torch"]
