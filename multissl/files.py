"""How the library meets a user's folders: entries that are not data, and the order of numbered files.

Hidden files and folders (names starting with ``.``: ``.DS_Store``, macOS's
``._name`` resource forks, ``.ipynb_checkpoints``, ``.git``) and the
``__MACOSX`` folder of a zip made on a Mac are never data; every modality
leaves them out the same way. Numbered files (frames ``0.jpg ... 10.jpg``)
sort with their numbers compared as numbers.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Optional, Union

PathLike = Union[str, Path]


def is_hidden_name(name: str) -> bool:
    """True for a hidden file or folder name (leading ``.``) and for macOS's ``__MACOSX``."""
    return name.startswith(".") or name == "__MACOSX"


def is_hidden(path: PathLike, root: Optional[PathLike] = None) -> bool:
    """True when ``path``'s name, or with ``root`` any part of it below ``root``, is hidden (:func:`is_hidden_name`)."""
    path = Path(path)
    parts = path.relative_to(root).parts if root is not None else (path.name,)
    return any(is_hidden_name(part) for part in parts)


def natural_key(path: PathLike) -> tuple:
    """Sort key of a file name with its digit runs compared as numbers: ``2.jpg`` before ``10.jpg``."""
    parts = re.split(r"(\d+)", Path(path).name)
    return tuple((0, int(part), part) if part.isdigit() else (1, 0, part) for part in parts)


__all__ = ["is_hidden", "is_hidden_name", "natural_key"]
