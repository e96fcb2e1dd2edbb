"""Checkpoint files of a run folder: ``checkpoints/last.pt`` and numbered ones, written so that none is ever lost.

- Every file is written atomically (:func:`atomic_writer`, :func:`atomic_write_bytes`): a temporary file in
  the same folder, flushed and fsync'd, renamed over the target, then the folder fsync'd. A
  crash or a second signal at any moment leaves either the old file or the new
  one, never a torn one.
- ``checkpoints/manifest.json`` (also written atomically) records each file's
  step, size and SHA-256; a file whose size or hash does not match, or that
  torch cannot read, is *unreadable*.
- :func:`load_newest_readable` takes the newest readable checkpoint and says
  which it skipped and why; ``load_checkpoint(run_dir)`` uses it.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import torch

from .. import distributed as dist_utils
from ..errors import MultisslError

CHECKPOINT_DIR = "checkpoints"
LAST_CHECKPOINT = "last.pt"
MANIFEST = "manifest.json"
_NUMBERED = re.compile(r"^step_(\d+)\.pt$")


class CheckpointError(MultisslError, RuntimeError):
    """No readable checkpoint where one was expected (the message names the files and why)."""


def checkpoint_dir(output_dir: Union[str, Path]) -> Path:
    return Path(output_dir) / CHECKPOINT_DIR


def find_last_checkpoint(output_dir: Union[str, Path]) -> Optional[Path]:
    """``output_dir/checkpoints/last.pt`` if it exists, else None."""
    path = checkpoint_dir(output_dir) / LAST_CHECKPOINT
    return path if path.is_file() else None


def fsync_dir(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (a no-op where folders cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


@contextmanager
def atomic_writer(path: Union[str, Path]) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` for a writer that takes a file name (``np.savez``, a vector file...);
    when the block ends the file is fsync'd, renamed over ``path`` and the folder fsync'd. A block that raises
    leaves ``path`` as it was and removes the temporary file."""
    path = Path(path)
    tmp = _tmp_name(path)
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    fsync_dir(path.parent)


def atomic_write_bytes(path: Union[str, Path], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically and durably (temporary file, fsync, rename, folder fsync)."""
    with atomic_writer(path) as tmp:
        tmp.write_bytes(data)


def serialize(obj: Any) -> bytes:
    """The bytes ``torch.save(obj)`` writes."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def atomic_save(obj: Any, path: Path) -> Dict[str, Any]:
    """``torch.save(obj)`` to ``path`` atomically; returns ``{"size", "sha256"}`` of the bytes written."""
    data = serialize(obj)
    atomic_write_bytes(path, data)
    return _fingerprint(data)


def _fingerprint(data: bytes) -> Dict[str, Any]:
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def read_manifest(folder: Path) -> Dict[str, List[Dict[str, Any]]]:
    """``{file name: [accepted versions {"step", "size", "sha256"}]}`` of a checkpoint folder ({} when absent).

    A file has two accepted versions only while it is being replaced (the old
    and the new bytes), so that a crash at any moment leaves it verifiable.
    """
    path = Path(folder) / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as err:
        return _unreadable_manifest(path, err)
    try:
        files = dict(json.loads(text).get("files", {}))
        return {name: versions if isinstance(versions, list) else [versions] for name, versions in files.items()}
    except (ValueError, AttributeError, TypeError) as err:
        return _unreadable_manifest(path, err)


def _unreadable_manifest(path: Path, err: BaseException) -> Dict[str, List[Dict[str, Any]]]:
    warnings.warn(f"{path} is unreadable ({type(err).__name__}: {err}); the checkpoints are loaded without its size "
                  "and hash checks (the next checkpoint writes a new one)", RuntimeWarning, stacklevel=3)
    return {}


def _write_manifest(folder: Path, files: Dict[str, List[Dict[str, Any]]]) -> None:
    atomic_write_bytes(folder / MANIFEST, json.dumps({"files": files}, indent=1, sort_keys=True).encode("utf-8"))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_file(path: Path, manifest: Dict[str, List[Dict[str, Any]]]) -> Optional[str]:
    """Why ``path`` fails its manifest check (size or hash), or None when it matches a listed version or is unlisted."""
    versions = manifest.get(path.name)
    if not versions:
        return None
    size = path.stat().st_size
    sized = [v for v in versions if v.get("size") == size]
    if not sized:
        return f"{size} bytes, the manifest says {' or '.join(str(v.get('size')) for v in versions)}"
    digest = _sha256(path)
    if not any(v.get("sha256") in (None, digest) for v in sized):
        return "its SHA-256 differs from the manifest's"
    return None


def _step_of(path: Path, manifest: Dict[str, List[Dict[str, Any]]]) -> int:
    if manifest.get(path.name):
        return int(manifest[path.name][-1].get("step", -1))
    match = _NUMBERED.match(path.name)
    return int(match.group(1)) if match else -1


def checkpoint_candidates(output_dir: Union[str, Path]) -> List[Path]:
    """The checkpoint files of a run folder, newest step first (``last.pt`` before a numbered file of the same step)."""
    folder = checkpoint_dir(output_dir)
    if not folder.is_dir():
        return []
    manifest = read_manifest(folder)
    files = [p for p in folder.iterdir() if p.is_file() and (p.name == LAST_CHECKPOINT or _NUMBERED.match(p.name))]
    return sorted(files, key=lambda p: (_step_of(p, manifest), p.name == LAST_CHECKPOINT), reverse=True)


_TEMPORARY = re.compile(r"^\.(last|step_\d+)\.pt\.\d+\.tmp$|^\.manifest\.json\.\d+\.tmp$")


def remove_checkpoints(output_dir: Union[str, Path]) -> List[Path]:
    """Delete the files the checkpointer writes in a run folder's ``checkpoints/`` (``last.pt``, ``step_N.pt``, the
    manifest and leftover temporary files), and the folder when nothing else is in it; returns the files kept
    (anything else a user put there)."""
    folder = checkpoint_dir(output_dir)
    if not folder.is_dir():
        return []
    kept = []
    for path in folder.iterdir():
        ours = path.is_file() and (path.name in (LAST_CHECKPOINT, MANIFEST) or _NUMBERED.match(path.name)
                                   or _TEMPORARY.match(path.name))
        if ours:
            path.unlink()
        else:
            kept.append(path)
    if not kept:
        folder.rmdir()
    return sorted(kept)


def _torch_load(path: Path, map_location) -> Dict[str, Any]:
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as err:  # torch raises many kinds for a damaged file
        raise CheckpointError(f"checkpoint {path} could not be read ({type(err).__name__}: {err}); it may be truncated") from None
    if not isinstance(ckpt, dict) or "model" not in ckpt:
        raise CheckpointError(f"checkpoint {path} is not a multissl checkpoint (no 'model' entry)")
    return ckpt


@dataclass
class LoadedCheckpoint:
    """What :func:`load_newest_readable` found: the checkpoint, its file, and the newer files it skipped."""

    checkpoint: Dict[str, Any]
    path: Path
    skipped: List[Tuple[Path, str]] = field(default_factory=list)

    def describe(self) -> str:
        text = f"{self.path} (step {self.checkpoint.get('step')})"
        if self.skipped:
            text += "; skipped " + "; ".join(f"{p.name}: {why}" for p, why in self.skipped)
        return text


def load_newest_readable(output_dir: Union[str, Path], map_location: Union[str, torch.device] = "cpu") -> LoadedCheckpoint:
    """The newest checkpoint of a run folder that passes its manifest check and that torch can read.

    Raises :class:`CheckpointError` naming every file and why it was
    unreadable when none is, and ``FileNotFoundError`` when there is none.
    """
    candidates = checkpoint_candidates(output_dir)
    if not candidates:
        raise FileNotFoundError(f"no checkpoint found in {output_dir} (expected {checkpoint_dir(output_dir) / LAST_CHECKPOINT})")
    manifest = read_manifest(checkpoint_dir(output_dir))
    skipped: List[Tuple[Path, str]] = []
    for path in candidates:
        why = check_file(path, manifest)
        if why is None:
            try:
                return LoadedCheckpoint(_torch_load(path, map_location), path, skipped)
            except CheckpointError as err:
                why = str(err).split(" could not be read ")[-1] if " could not be read " in str(err) else str(err)
        skipped.append((path, why))
    details = "; ".join(f"{p.name}: {why}" for p, why in skipped)
    raise CheckpointError(f"no readable checkpoint in {checkpoint_dir(output_dir)} ({details})")


def checked_map_location(map_location: Any) -> Any:
    """``map_location`` as ``torch.load`` takes it; a string that names no device is a ValueError saying so
    (``torch.load`` would fail on every checkpoint, which would read as damaged files)."""
    if isinstance(map_location, str):
        try:
            torch.device(map_location)
        except RuntimeError:
            raise ValueError(f"map_location {map_location!r} is not a device (e.g. 'cpu', 'cuda', 'cuda:1')") from None
    return map_location


def load_checkpoint(path: Union[str, Path], map_location: Union[str, torch.device] = "cpu") -> Dict[str, Any]:
    """Load a checkpoint written by :func:`fit` (keys: model, optimizer, step, ...).

    ``path`` is a checkpoint file, or a run folder: then the newest readable
    checkpoint (a warning names the newer ones skipped as unreadable).
    """
    path = Path(path)
    map_location = checked_map_location(map_location)
    if path.is_dir():
        found = load_newest_readable(path, map_location)
        if found.skipped:
            warnings.warn(f"using checkpoint {found.describe()}", RuntimeWarning, stacklevel=2)
        return found.checkpoint
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    why = check_file(path, read_manifest(path.parent))
    if why is not None:
        raise CheckpointError(f"checkpoint {path} is damaged: {why}")
    return _torch_load(path, map_location)


class Checkpointer:
    """Writes ``step_N.pt`` (keeping the newest ``keep``) and ``last.pt``, each atomically, with the manifest.

    Each file is replaced in four steps — temporary file fsync'd; manifest
    accepts the old and the new bytes; rename; manifest keeps the new only —
    so that SIGKILL at any point leaves every file either old or new and
    verifiable.
    """

    def __init__(self, output_dir: Optional[str], keep: int):
        self.dir = checkpoint_dir(output_dir) if output_dir else None
        self.keep = keep
        self.last: Optional[str] = None

    def _replace(self, path: Path, data: bytes, entry: Dict[str, Any], manifest: Dict[str, List[Dict[str, Any]]]) -> None:
        with atomic_writer(path) as tmp:
            tmp.write_bytes(data)
            _fsync_file(tmp)  # the bytes are durable before the manifest accepts them
            manifest[path.name] = manifest.get(path.name, [])[-1:] + [entry] if path.exists() else [entry]
            _write_manifest(self.dir, manifest)
        manifest[path.name] = [entry]

    def save(self, payload: Dict[str, Any]) -> Optional[str]:
        if self.dir is None or not dist_utils.is_main_process():
            return None
        self.dir.mkdir(parents=True, exist_ok=True)
        manifest = read_manifest(self.dir)
        data = serialize(payload)
        entry = {"step": int(payload["step"]), **_fingerprint(data)}
        if self.keep > 0:
            self._replace(self.dir / f"step_{entry['step']:09d}.pt", data, entry, manifest)
        self._replace(self.dir / LAST_CHECKPOINT, data, entry, manifest)
        for old in sorted(self.dir.glob("step_*.pt"))[: -self.keep] if self.keep > 0 else []:
            old.unlink()
        _write_manifest(self.dir, {k: v for k, v in manifest.items() if (self.dir / k).is_file()})
        self.last = str(self.dir / LAST_CHECKPOINT)
        return self.last


__all__ = ["CHECKPOINT_DIR", "CheckpointError", "Checkpointer", "LAST_CHECKPOINT", "LoadedCheckpoint", "MANIFEST", "atomic_save",
           "atomic_write_bytes", "atomic_writer", "checkpoint_candidates", "remove_checkpoints", "checkpoint_dir", "find_last_checkpoint", "load_checkpoint",
           "load_newest_readable", "read_manifest"]
