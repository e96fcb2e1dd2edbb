"""A whole Word2Vec model in one ``.npz`` file, and gensim's model files read into one.

The file is NumPy's uncompressed zip (``np.savez``): ``meta`` (JSON: config, words, corpus
totals, training log and position), ``counts`` (V,), ``syn0`` (V, D), ``syn1neg``, ``syn1``
and, when it is not all ones, ``lockf`` (the vector locks). Because the members are stored
uncompressed, ``mmap`` maps the matrices in place (:func:`mapped_members`), as gensim's
``load(mmap=...)`` maps its ``.npy`` files: ``"r"`` read-only, ``"c"`` copy-on-write,
``"r+"`` writes through to the file.

A gensim model file (a pickle, older gensim versions upconverted by gensim itself) is read
with gensim and copied into a model of this library (:func:`from_gensim_model`).
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any, Dict, Optional, Union

import numpy as np

PathLike = Union[str, Path]
FORMAT = "multissl.text.Word2Vec"
FORMAT_VERSION = 1
ARRAYS = ("counts", "syn0", "syn1neg", "syn1")
MMAP_MODES = (None, "r", "r+", "c")


def save_model(model, path: PathLike) -> Path:
    """Write ``model`` (a :class:`~multissl.text.Word2Vec` with a vocabulary) to ``path``; returns the path."""
    path = Path(path)
    vocab = model.vocab
    meta = {"format": FORMAT, "version": FORMAT_VERSION, "config": model.config.to_dict(),
            "words": vocab.words, "total_words": vocab.total_words, "num_sentences": vocab.num_sentences,
            "prunings": vocab.prunings, "corpus_in_vocab": vocab.corpus_in_vocab,
            "training_log": model.training_log, "state": model.state, "epochs_trained": model.epochs_trained,
            "effective_min_count": model.effective_min_count, "min_alpha_yet_reached": model.min_alpha_yet_reached,
            "train_count": model.train_count, "total_train_time": model.total_train_time, "comment": model.comment}
    arrays = {"counts": vocab.counts, "syn0": model.wv.vectors, "syn1neg": model.syn1neg, "syn1": model.syn1}
    lockf = np.asarray(model.wv.vectors_lockf, np.float32)
    if not (lockf.shape == (1,) and lockf[0] == 1.0):
        arrays["lockf"] = lockf
    with open(path, "wb") as f:
        np.savez(f, meta=np.array(json.dumps(meta)), **arrays)
    return path


def read_model_file(path: PathLike, mmap: Optional[str] = None) -> Dict[str, Any]:
    """``{"meta": dict, "counts", "syn0", "syn1neg", "syn1", "lockf"?: arrays}`` of a file written by
    :func:`save_model`; ValueError when it is not one. ``mmap`` maps the arrays instead of reading them."""
    if mmap not in MMAP_MODES:
        raise ValueError(f"mmap must be one of {MMAP_MODES}, got {mmap!r}")
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            names = [k for k in (*ARRAYS, "lockf") if k in data.files]
            arrays = mapped_members(path, names, mmap) if mmap else {k: data[k] for k in names}
    except (ValueError, KeyError, OSError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path} is not a multissl Word2Vec model file ({err})") from None
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path} is not a multissl Word2Vec model file")
    return {"meta": meta, **arrays}


def mapped_members(path: PathLike, names, mode: str) -> Dict[str, np.ndarray]:
    """Members ``names`` of an uncompressed ``.npz`` as ``np.memmap`` views of the file (a compressed member
    is read instead)."""
    out: Dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as archive, open(path, "rb") as raw:
        for name in names:
            info = archive.getinfo(name + ".npy")
            if info.compress_type != zipfile.ZIP_STORED:
                with archive.open(info) as member:
                    out[name] = np.lib.format.read_array(member)
                continue
            raw.seek(info.header_offset)
            local = raw.read(30)  # the local file header: its name and extra field lengths are at 26 and 28
            start = info.header_offset + 30 + int.from_bytes(local[26:28], "little") + int.from_bytes(local[28:30], "little")
            raw.seek(start)
            version = np.lib.format.read_magic(raw)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read_header(raw)
            if dtype.hasobject:
                raise ValueError(f"{path}: member {name} holds Python objects")
            if int(np.prod(shape)) == 0:
                out[name] = np.zeros(shape, dtype)
                continue
            out[name] = np.memmap(path, dtype=dtype, mode=mode, offset=raw.tell(), shape=shape,
                                  order="F" if fortran else "C")
    return out


def is_pickle(path: PathLike) -> bool:
    """Whether ``path`` starts like a Python pickle (gensim's ``save``) rather than a zip."""
    with open(path, "rb") as f:
        return f.read(1) == b"\x80"


def from_gensim_model(cls, path: PathLike, mmap: Optional[str] = None, **overrides: Any):
    """A ``cls`` (:class:`~multissl.text.Word2Vec`) with the vocabulary, counts, vectors and settings of the
    gensim model saved at ``path``. AttributeError when the file holds no Word2Vec model (as gensim's
    ``Word2Vec.load``); the file is unpickled: only open trusted files."""
    from gensim.utils import SaveLoad

    from .keyedvectors import KeyedVectors
    from .vocab import Vocab

    theirs = SaveLoad.load(str(path), mmap=mmap)
    if not hasattr(theirs, "wv") or not hasattr(theirs, "sg") or not hasattr(theirs, "hs"):
        raise AttributeError(f"{path} holds a {type(theirs).__module__}.{type(theirs).__name__}, not a Word2Vec model; "
                             "load word vectors with KeyedVectors.load")
    model = cls(**{**_gensim_config(theirs), **overrides})
    wv = KeyedVectors.from_gensim(theirs.wv)
    counts = wv.counts if wv.counts is not None else np.zeros(len(wv), np.int64)
    total = getattr(theirs, "corpus_total_words", None)
    sentences = getattr(theirs, "corpus_count", None)
    model.vocab = Vocab(list(wv.index_to_key), counts, total, sentences)
    wv.counts = model.vocab.counts
    model.wv = wv
    dim = wv.vector_size
    model.syn1neg = np.asarray(getattr(theirs, "syn1neg", np.zeros((0, dim))), np.float32) if model.config.negative \
        else np.zeros((0, dim), np.float32)
    model.syn1 = np.asarray(getattr(theirs, "syn1", np.zeros((0, dim))), np.float32) if model.config.hs \
        else np.zeros((0, dim), np.float32)
    model.comment = getattr(theirs, "comment", None)
    model.min_alpha_yet_reached = float(getattr(theirs, "min_alpha_yet_reached", model.config.alpha))
    model.train_count = int(getattr(theirs, "train_count", 0) or 0)
    model._prepare_tables()
    return model


def _gensim_config(theirs) -> Dict[str, Any]:
    """Our settings from a gensim model's attributes (older models lack some: the defaults then)."""
    def get(name, default=None):
        value = getattr(theirs, name, None)
        return default if value is None else value

    config = {"vector_size": int(theirs.wv.vector_size), "window": int(get("window", 5)),
              "min_count": int(get("min_count", 5)), "sg": int(get("sg", 0)), "negative": int(get("negative", 5)),
              "ns_exponent": float(get("ns_exponent", 0.75)), "hs": int(get("hs", 0)),
              "sample": float(get("sample", 1e-3)), "alpha": float(get("alpha", 0.025)),
              "min_alpha": float(get("min_alpha", 1e-4)), "epochs": int(get("epochs", get("iter", 5))),
              "workers": int(get("workers", 3)), "seed": int(get("seed", 1)), "cbow_mean": int(get("cbow_mean", 1)),
              "max_vocab_size": get("max_vocab_size"), "max_final_vocab": get("max_final_vocab"),
              "shrink_windows": bool(get("shrink_windows", True)), "sorted_vocab": int(get("sorted_vocab", 1)),
              "compute_loss": bool(get("compute_loss", False)), "verbose": False}
    config["min_alpha"] = min(config["min_alpha"], config["alpha"])
    return config


__all__ = ["FORMAT", "FORMAT_VERSION", "from_gensim_model", "is_pickle", "mapped_members", "read_model_file", "save_model"]
