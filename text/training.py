"""Train word2vec into a run folder, and load the run back.

:func:`train` builds the vocabulary of a corpus file, trains skip-gram or
CBOW and writes the core's run folder (:mod:`multissl.run`):

- ``config.json``: ``kind`` ``"text"``, ``method`` (``"skipgram"`` or
  ``"cbow"``), ``init_seed``, the ``recipe`` (sections ``model``:
  :class:`~multissl.text.config.Word2VecConfig`, and ``train``:
  :class:`TextTrainConfig`) and the corpus (``data``);
- ``vectors.bin``: the word vectors in word2vec's binary format (gensim's
  ``KeyedVectors.load_word2vec_format(path, binary=True)`` reads it);
- ``checkpoints/last.npz``: the whole model (:meth:`Word2Vec.save`: vocabulary,
  all matrices, the training position), written after every epoch and when
  training stops (time budget, Ctrl-C); ``checkpoints/last.json``: epochs
  done, elapsed seconds, why it stopped. These and ``vectors.bin`` are written
  atomically by the engine's :func:`~multissl.engine.checkpoints.atomic_writer`;
- ``metrics.jsonl``: one line per epoch (``loss``, ``mean_loss``, ``examples``,
  ``words``, ``words_per_s``, ``seconds``, ``elapsed_s``).

:func:`load_run` returns a :class:`multissl.run.Run` whose ``model`` is the
trained :class:`~multissl.text.Word2Vec` and ``initial`` the same model at its
initial (seeded) weights, rebuilt from the vocabulary and the seed.

Settings are a :class:`~multissl.presets.Recipe`; :func:`recipe` merges what
the caller gives field by field. The training-loop names are the engine's:
``epochs`` and ``seed`` (fields of the model section, as in gensim),
``max_minutes``, ``resume`` and ``verbose``. There is no ``steps``: word2vec
makes no optimizer steps (it updates the vectors word by word, with a learning
rate that decays over all the words of all epochs), so a run is bounded by
``epochs`` and/or ``max_minutes``.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import signal
import sys
import time
import zipfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Tuple, Union

from multissl import distributed as dist_utils
from multissl.engine import METRICS_FILE
from multissl.engine.checkpoints import CHECKPOINT_DIR, CheckpointError, atomic_write_bytes, atomic_writer, checked_map_location
from multissl.presets import Recipe, given_fields, preset_recipe, tracks_given

from .config import Word2VecConfig
from .corpus import LineCorpus, check_corpus_path
from .word2vec import Word2Vec

if TYPE_CHECKING:  # multissl.run imports torch; loaded only when a run is written or read
    from multissl.run import Run

PathLike = Union[str, Path]
METHODS = ("skipgram", "cbow")
METHOD_SG = {"skipgram": 1, "cbow": 0}
VECTORS_FILE = "vectors.bin"
LAST_CHECKPOINT = "last.npz"
PREVIOUS_CHECKPOINT = "previous.npz"  # the checkpoint before last.npz: resume falls back to it if last.npz is damaged
PROGRESS_FILE = "last.json"
NO_STEPS = ("word2vec has no optimizer steps (it updates the vectors word by word, the learning rate decaying over "
            "all the words of all epochs); bound the run with epochs and/or max_minutes")
# model fields a resumed run may change (the others fix the vocabulary, shapes or schedule)
FINGERPRINT_BYTES = 1 << 20  # a corpus is recognised by its size and the SHA-256 of its first and last MiB
RESUMABLE = ("epochs", "workers", "verbose", "compute_loss", "errors", "batch_size", "device")


@tracks_given
@dataclass
class TextTrainConfig:
    """Training-loop settings of a text run, besides the model section's ``epochs``, ``seed`` and ``verbose``.

    No ``steps``: word2vec makes no optimizer steps; ``epochs`` and ``max_minutes`` bound the run.
    """

    max_minutes: Optional[float] = field(default=None, metadata={
        "help": "wall-clock budget of the whole run (vocabulary and resumes included); training stops when it is "
                "spent, mid-epoch (numba backend), checkpoints, and --resume continues from there"})
    resume: Optional[str] = field(default=None, metadata={
        "help": "continue the run in the output folder from checkpoints/last.npz (or from this .npz checkpoint) "
                "after its completed epochs, up to --epochs; bare --resume: the run folder's last checkpoint",
        "nargs": "?", "const": "auto"})
    lowercase: bool = field(default=False, metadata={"help": "lower-case the corpus while reading"})
    overwrite: bool = field(default=False, metadata={"help": "replace the run already in the output folder (without it, "
                                                             "training into a run folder needs --resume)"})

    def __post_init__(self):
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise ValueError(f"max_minutes must be > 0, got {self.max_minutes}")
        if self.resume is True:
            self.resume = "auto"
        elif self.resume is False or self.resume == "":
            self.resume = None


SECTIONS = {"model": Word2VecConfig, "train": TextTrainConfig}
DEFAULT_PRESET = "cpu"
PRESETS: Dict[str, Dict[str, Dict[str, Any]]] = {"cpu": {}}  # gensim's defaults: minutes on a CPU for a 10^7-word corpus


# ------------------------------------------------------------------ settings
def _sg_given(model: Any, overrides: Mapping[str, Any]) -> bool:
    if "sg" in overrides:
        return True
    if isinstance(model, Mapping):
        return "sg" in model
    if isinstance(model, Word2VecConfig):
        return "sg" in given_fields(model)
    return False


def _with_method(settings: Recipe, method: Optional[str], sg_given: bool) -> Recipe:
    if method is None:
        return settings
    if method not in METHODS:
        raise ValueError(f"unknown text method {method!r}; choose from {METHODS}")
    want = METHOD_SG[method]
    if sg_given and settings.model.sg != want:
        raise ValueError(f"method {method!r} means sg={want}, but sg={settings.model.sg} was given; "
                         f"drop sg (--sg) or choose the method {method_of(settings)!r}")
    return settings.apply({"model": {"sg": want}})


def method_of(settings: Recipe) -> str:
    """``"skipgram"`` or ``"cbow"``: the method a recipe trains (its ``model.sg``)."""
    return "skipgram" if settings.model.sg else "cbow"


def recipe(method: Optional[str] = None, *, preset: Optional[str] = None, model: Any = None, train: Any = None,
           **overrides: Any) -> Recipe:
    """The settings of a text run: preset ``preset`` (``"cpu"``, the default: gensim's defaults, which train on a
    CPU in minutes) with the given sections (partial dataclasses or dicts) and flat ``overrides`` (any field of
    any section, e.g. ``epochs=3, max_minutes=5``) merged in field by field.

    ``method`` (``"skipgram"`` or ``"cbow"``) sets ``sg``; default: from ``sg`` (1, skip-gram).
    A method that contradicts a given ``sg`` is an error. ``lr`` (the learning rate's name in the other
    modalities) is an alias of ``alpha``, gensim's name, which the recipe keeps.
    """
    if "steps" in overrides:
        raise ValueError(f"steps is not a text setting: {NO_STEPS}")
    overrides = _lr_as_alpha(overrides)
    preset = DEFAULT_PRESET if preset is None else preset
    base = preset_recipe(PRESETS, preset, Recipe(**{name: cls() for name, cls in SECTIONS.items()}), "text")
    given = {k: v for k, v in {"model": model, "train": train}.items() if v is not None}
    return _with_method(base.apply(given, overrides), method, _sg_given(model, overrides))


def _lr_as_alpha(overrides: Mapping[str, Any]) -> Dict[str, Any]:
    out = dict(overrides)
    if "lr" in out:
        if "alpha" in out and out["alpha"] != out["lr"]:
            raise ValueError(f"lr is text's alpha: give one of them, not lr={out['lr']!r} and alpha={out['alpha']!r}")
        out["alpha"] = out.pop("lr")
    return out


def run_recipe(record: Mapping[str, Any]) -> Recipe:
    """The recipe stored in a text run's ``config.json``."""
    return Recipe.from_dict(SECTIONS, record.get("recipe", {}))


# ------------------------------------------------------------------ files
def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def save_checkpoint(model: Word2Vec, run_dir: PathLike, progress: Dict[str, Any]) -> Path:
    """Write ``checkpoints/last.npz`` (the whole model) and ``checkpoints/last.json`` atomically; the
    checkpoint it replaces becomes ``previous.npz``, so that a damaged ``last.npz`` never loses the run."""
    folder = Path(run_dir) / CHECKPOINT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path, previous = folder / LAST_CHECKPOINT, folder / PREVIOUS_CHECKPOINT
    with atomic_writer(path) as tmp:
        model.save(tmp)
        if path.exists() and _intact(path):  # a damaged last.npz is replaced, never kept as the fallback
            os.replace(path, previous)
    if not previous.exists():  # the first checkpoint: a second copy, so that one damaged file loses nothing
        with atomic_writer(previous) as tmp:
            shutil.copyfile(path, tmp)
    atomic_write_bytes(folder / PROGRESS_FILE, json.dumps(progress, indent=2).encode("utf-8"))
    return path


def _intact(path: Path) -> bool:
    """Whether an .npz checkpoint passes zip's CRC check of every member."""
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return False


def newest_readable_checkpoint(run_dir: PathLike) -> Optional[Tuple[Path, Word2Vec]]:
    """(path, model) of the newest checkpoint of a text run that loads (last.npz, else previous.npz);
    None when there is none; :class:`~multissl.engine.CheckpointError` when none loads."""
    folder = Path(run_dir) / CHECKPOINT_DIR
    candidates = [p for p in (folder / LAST_CHECKPOINT, folder / PREVIOUS_CHECKPOINT) if p.is_file()]
    skipped = []
    for path in candidates:
        try:
            return path, Word2Vec.load(path)
        except Exception as err:  # numpy/zipfile raise many kinds for a damaged file
            why = f"{type(err).__name__}: {err}"
            skipped.append(f"{path.name}: {why}")
            print(f"[multissl.text] skipped checkpoint {path}: {why}", file=sys.stderr)
    if skipped:
        raise CheckpointError(f"no readable checkpoint in {folder} ({'; '.join(skipped)})")
    return None


def read_progress(run_dir: PathLike) -> Dict[str, Any]:
    """``checkpoints/last.json`` of a run folder (empty when there is none)."""
    path = Path(run_dir) / CHECKPOINT_DIR / PROGRESS_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _write_run_files(model: Word2Vec, run_dir: Path, progress: Dict[str, Any]) -> Path:
    """The checkpoint (returned) and the vectors file of a run."""
    checkpoint = save_checkpoint(model, run_dir, progress)
    _write_vectors(model, run_dir)
    return checkpoint


def _write_vectors(model: Word2Vec, run_dir: Path) -> Path:
    path = run_dir / VECTORS_FILE
    with atomic_writer(path) as tmp:
        model.wv.save_word2vec_format(tmp, binary=True)
    return path


class _RunRecorder:
    """Word2Vec callback: a metrics line and a checkpoint after every epoch."""

    def __init__(self, run_dir: Path, progress):
        self.run_dir, self.progress = run_dir, progress

    def on_epoch_end(self, model: Word2Vec) -> None:
        """Under torchrun every rank ends the epoch together; rank 0 alone writes (the others wait for it)."""
        dist_utils.main_process_first(self._record, model)

    def _record(self, model: Word2Vec) -> None:
        entry = dict(model.training_log[-1])
        entry["elapsed_s"] = self.progress()["elapsed_s"]
        with open(self.run_dir / METRICS_FILE, "a", encoding="utf-8") as f:
            f.write(json.dumps({k: _finite(v) for k, v in entry.items()}) + "\n")
        st = model.state
        # the last epoch's checkpoint is written once training returns; the torch backend's vectors
        # live in its nn.Module until then
        if model.config.backend == "numba" and st is not None and st["epoch"] < st["epochs"]:
            save_checkpoint(model, self.run_dir, self.progress())


def _resume_checkpoint(resume: Optional[str], out: Path) -> Optional[Path]:
    if not resume:
        return None
    if resume == "auto":
        found = newest_readable_checkpoint(out)
        return found[0] if found else None
    path = Path(resume)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} to resume from does not exist")
    return path


def _resumed_settings(ckpt: Path, out: Path, method, model, train, overrides) -> tuple:
    """The resumed model and the run's recipe with what the caller typed merged in."""
    from multissl.run import CONFIG_FILE, read_run_config

    saved = Word2Vec.load(ckpt)
    stored_train = TextTrainConfig()
    if (out / CONFIG_FILE).is_file():
        stored_train = run_recipe(read_run_config(out, kind="text")).train
    base = Recipe(model=saved.config, train=stored_train)
    given = {k: v for k, v in {"model": model, "train": train}.items() if v is not None}
    settings = _with_method(base.apply(given, overrides), method, _sg_given(model, overrides))
    changed = [f"{f.name} (run: {getattr(saved.config, f.name)!r}, given: {getattr(settings.model, f.name)!r})"
               for f in fields(Word2VecConfig)
               if f.name not in RESUMABLE and getattr(saved.config, f.name) != getattr(settings.model, f.name)]
    if changed:
        raise ValueError(f"cannot change {', '.join(changed)} when resuming {ckpt}; only {', '.join(RESUMABLE)} may change")
    st = saved.state
    cfg = settings.model
    if st is not None and st["chunk"] and cfg.interleave and cfg.workers != saved.config.workers:
        raise ValueError(f"the checkpoint stopped mid-epoch with workers={saved.config.workers} (the interleaved chunk "
                         f"order depends on it); resume with workers={saved.config.workers}")
    for name in RESUMABLE:
        setattr(saved.config, name, getattr(cfg, name))
    saved.config.validate()
    return saved, settings


def corpus_fingerprint(path: Path) -> Dict[str, Any]:
    """``{"bytes", "sha256_ends"}``: the file's size and the SHA-256 of its first and last MiB, which tell
    the corpus a run was trained on from another one (wherever it lies now) without reading it all."""
    size = path.stat().st_size
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        digest.update(f.read(FINGERPRINT_BYTES))
        if size > FINGERPRINT_BYTES:
            f.seek(max(FINGERPRINT_BYTES, size - FINGERPRINT_BYTES))
            digest.update(f.read())
    return {"bytes": size, "sha256_ends": digest.hexdigest()}


def check_resumed_corpus(out: Path, corpus: Path, lowercase: bool, fingerprint: Dict[str, Any]) -> None:
    """ValueError when run folder ``out`` was trained on another corpus than ``corpus`` (other content, or
    another ``lowercase``): its vocabulary and learning-rate schedule were fixed by the first one, so resuming
    on another would silently drop the new words. Runs written before fingerprints are not checked."""
    from multissl.run import CONFIG_FILE, read_run_config

    if not (out / CONFIG_FILE).is_file():
        return
    data = read_run_config(out, kind="text").get("data") or {}
    if "lowercase" in data and bool(data["lowercase"]) != bool(lowercase):
        raise ValueError(f"{out} was trained with lowercase={data['lowercase']}; resuming with lowercase={lowercase} would "
                         "change its words: resume with the run's setting or train a new run")
    stored = data.get("fingerprint")
    if stored and stored != fingerprint:
        raise ValueError(f"{corpus} is not the corpus {out} was trained on ({data.get('corpus')}, {stored['bytes']} bytes; "
                         f"this one has {fingerprint['bytes']} bytes and other content): the run's vocabulary and schedule "
                         "come from that corpus. Resume with it, train a new run (-o NEW) on this one, or continue on it in "
                         f"Python with the run's vocabulary: Word2Vec.load('{out / CHECKPOINT_DIR / LAST_CHECKPOINT}')"
                         ".train(corpus_file=...)")


# ------------------------------------------------------------------ train / load
def train(data: PathLike, output: PathLike, method: Optional[str] = None, *, preset: Optional[str] = None, model: Any = None,
          train: Any = None, **overrides: Any) -> "Run":
    """Train word2vec on the corpus file ``data`` and write the run folder ``output``.

    Args:
        data: a text file, one sentence per line, whitespace-separated tokens (``.gz``/``.bz2`` ok).
        output: the run folder to write (``config.json``, ``vectors.bin``, ``checkpoints/``, ``metrics.jsonl``).
        method: ``"skipgram"`` or ``"cbow"`` (default: from ``sg``, which defaults to skip-gram).
        preset: ``"cpu"`` (the default; text's one preset).
        model, train: partial :class:`~multissl.text.config.Word2VecConfig` and
            :class:`TextTrainConfig` (or dicts); only the fields you set replace the defaults.
        **overrides: any field of those sections by name (``epochs=3``, ``vector_size=50``,
            ``max_minutes=5``, ``resume="auto"``, ``lowercase=True``).
    Returns:
        the :class:`~multissl.run.Run`: ``.model`` the trained :class:`Word2Vec`, ``.initial`` the same model at
        its seeded initial vectors, ``.result`` a :class:`~multissl.engine.FitResult` (``step`` is 0:
        word2vec makes no optimizer steps; ``epoch`` the epochs done; ``stop_reason`` ``"epochs"`` or ``"time"``).

    ``resume="auto"`` (``--resume``) continues from ``output/checkpoints/last.npz`` after its completed epochs
    (or from the middle of the epoch a time budget stopped), up to ``epochs``; only the settings you give
    replace the run's (those that fix the vocabulary, shapes or learning-rate schedule may not change).
    Resuming a finished run with more epochs continues the learning-rate decay as if the run had been
    planned with that many epochs.
    """
    from multissl.engine import FitResult
    from multissl.engine.signals import StopSignals, TrainingInterrupted
    from multissl.run import Run, prepare_run_folder, read_run_config, write_run_config

    started = time.perf_counter()
    corpus = Path(data)
    check_corpus_path(corpus)
    if output is None:
        raise ValueError("output is None: text.train writes a run folder; give its path (e.g. 'runs/w2v')")
    out = Path(output)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"run folder {out} exists and is not a folder")
    settings = recipe(method, preset=preset, model=model, train=train, **overrides)
    prepare_run_folder(out, "text", method_of(settings), settings.to_dict(), settings.train.resume, settings.train.overwrite,
                       files=(VECTORS_FILE, "vectors.txt"), check_settings=False)  # text checks its own resumable fields
    ckpt = _resume_checkpoint(settings.train.resume, out)
    elapsed_before = 0.0
    fingerprint = corpus_fingerprint(corpus)
    if ckpt is not None:
        w2v, settings = _resumed_settings(ckpt, out, method, model, train, overrides)
        check_resumed_corpus(out, corpus, settings.train.lowercase, fingerprint)
        elapsed_before = float(read_progress(out).get("elapsed_s", 0.0)) if ckpt.parent == out / CHECKPOINT_DIR else 0.0
    cfg, loop = settings.model, settings.train
    method = method_of(settings)
    corpus_key = str(corpus.resolve())
    sentences = LineCorpus(corpus, cfg.max_sentence_length, cfg.errors, lowercase=True) if loop.lowercase else None
    source = {"sentences": sentences} if loop.lowercase else {"corpus_file": corpus_key}
    if ckpt is None:
        w2v = Word2Vec(**cfg.to_dict())
        if settings.train.resume:
            w2v._say(f"no checkpoint in {out / CHECKPOINT_DIR}; starting from scratch")
        w2v.build_vocab(**source)
        out.mkdir(parents=True, exist_ok=True)
        (out / METRICS_FILE).write_text("", encoding="utf-8")
    else:
        w2v._say(f"resuming {ckpt} after {w2v.epochs_trained} epoch(s)"
                 + (" and part of the next" if w2v.state and w2v.state["chunk"] else ""))
    target = cfg.epochs
    data_record = {"corpus": corpus_key, "lowercase": loop.lowercase, "sentences": w2v.corpus_count,
                   "tokens": w2v.corpus_total_words, "vocabulary": len(w2v.vocab), "fingerprint": fingerprint}
    write_run_config(out, "text", method, cfg.seed, settings.to_dict(), data=data_record,
                     files={"vectors": VECTORS_FILE, "checkpoint": f"{CHECKPOINT_DIR}/{LAST_CHECKPOINT}"})

    def elapsed() -> float:
        return elapsed_before + time.perf_counter() - started

    stop_reason = "epochs"

    def progress() -> Dict[str, Any]:
        st = w2v.state
        return {"epochs_done": w2v.epochs_trained, "epochs": target, "mid_epoch": bool(st and st["chunk"]),
                "words_done_in_epoch": int(st["position"] - st["epoch"] * st["total_words"] / st["epochs"]) if st else 0,
                "elapsed_s": elapsed(), "stop_reason": stop_reason, "checkpoint": LAST_CHECKPOINT}

    if ckpt is not None:
        st = w2v.state
        if st is None and w2v.epochs_trained < target:
            per_epoch = float(w2v.vocab.retained_words)
            done = w2v.epochs_trained
            w2v.state = {"epochs": target, "epoch": done, "chunk": 0, "position": per_epoch * done,
                         "total_words": per_epoch * target, "corpus_file": None if loop.lowercase else corpus_key,
                         "epoch_stats": [0.0, 0.0, 0.0, 0.0], "epoch_seconds": 0.0,
                         "alpha": cfg.alpha, "min_alpha": cfg.min_alpha}
        elif st is not None:
            st["corpus_file"] = None if loop.lowercase else corpus_key  # the same corpus, wherever it is now
            if st["epochs"] != target:
                w2v._retarget_epochs(target)
    to_train = ckpt is None or (w2v.state is not None and w2v.state["epoch"] < w2v.state["epochs"])
    if not to_train:
        w2v.state = None  # a finished run asked for no more epochs than it has
    remaining = None if loop.max_minutes is None else loop.max_minutes - elapsed() / 60.0
    if to_train and remaining is not None and remaining <= 0:
        stop_reason = "time"
    elif to_train:
        with StopSignals(verbose=cfg.verbose, raise_first=True) as signals:
            try:
                w2v.train(**source, epochs=target, callbacks=[_RunRecorder(out, progress)], max_minutes=remaining)
            except KeyboardInterrupt:
                stop_reason = "interrupted"
                checkpoint = out / CHECKPOINT_DIR / LAST_CHECKPOINT
                if dist_utils.is_main_process():  # no collective: the other ranks may not be here
                    checkpoint = _write_run_files(w2v, out, progress())
                raise TrainingInterrupted(signals.signum or signal.SIGINT, 0, str(checkpoint),
                                          f"{w2v.epochs_trained} complete epoch(s)") from None
        if w2v.stopped_early:
            stop_reason = "time"
        _require_training_pairs(w2v, corpus)
    checkpoint = dist_utils.main_process_first(_write_run_files, w2v, out, progress())
    w2v._say(f"{w2v.epochs_trained}/{target} epochs ({stop_reason}); run folder {out}")
    result = FitResult(step=0, epoch=w2v.epochs_trained, stop_reason=stop_reason, elapsed_s=elapsed(),
                       history=list(w2v.training_log), last_checkpoint=str(checkpoint))
    return Run(out, "text", method, w2v, initial_model(w2v), read_run_config(out, kind="text"), result,
               {"vectors": out / VECTORS_FILE, "progress": read_progress(out)})


def _require_training_pairs(model: Word2Vec, corpus: Path) -> None:
    """A ValueError when the epochs trained saw no (centre, context) pair: vectors that learnt nothing are not written."""
    log = model.training_log
    if log and not any(entry["examples"] for entry in log):
        raise ValueError(f"{corpus} gave no training pairs in {len(log)} epoch(s): no sentence holds two words of the "
                         f"{len(model.vocab)}-word vocabulary (min_count={model.config.min_count}); nothing was learnt, so "
                         "no vectors were written")


def initial_model(model: Word2Vec) -> Word2Vec:
    """A copy of ``model``'s vocabulary and settings at its initial vectors (what ``build_vocab`` drew from
    ``seed``: uniform in [-1/D, 1/D), output vectors zero), untrained."""
    initial = Word2Vec(**asdict(model.config))
    initial.vocab = model.vocab
    initial.init_weights()
    return initial


def load_run(path: PathLike, map_location: Any = None) -> "Run":
    """The trained Word2Vec of a text run folder, and the same model at its initial vectors, as a
    :class:`~multissl.run.Run`. ``map_location`` is accepted for the common signature: word vectors are
    NumPy arrays on the CPU."""
    from multissl.run import Run, read_run_config

    checked_map_location(map_location)
    record = read_run_config(path, kind="text")
    folder = Path(path)
    found = newest_readable_checkpoint(folder)
    if found is None:
        raise FileNotFoundError(f"{folder} has no model checkpoint ({folder / CHECKPOINT_DIR / LAST_CHECKPOINT} is missing)")
    model = found[1]
    method = record.get("method") or ("skipgram" if model.config.sg else "cbow")
    return Run(folder, "text", method, model, initial_model(model), record, None,
               {"vectors": folder / VECTORS_FILE, "progress": read_progress(folder)})


__all__ = ["METHODS", "SECTIONS", "TextTrainConfig", "initial_model", "load_run", "method_of", "read_progress",
           "recipe", "run_recipe", "save_checkpoint", "train", "DEFAULT_PRESET", "PRESETS"]
