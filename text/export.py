"""The export of a text run for :mod:`multissl.export`: its word vectors in word2vec's binary format."""
from __future__ import annotations

import shutil
from pathlib import Path

from multissl.checks import shown
from multissl.export import Exported
from multissl.run import Run


def encoder_of(run: Run) -> Exported:
    vectors = Path(run.extras["vectors"]) if run.extras.get("vectors") else None
    if vectors is None or not vectors.is_file():
        raise FileNotFoundError(f"the run has no word vectors file ({shown(vectors)}); train it to its end first")
    facts = {"input": "words", "output": "vectors in word2vec's binary format (KeyedVectors.load_word2vec_format(path, "
                                         "binary=True))"}
    return Exported(None, facts, write=lambda output: shutil.copyfile(vectors, output))


def encoder_from(description):
    raise ValueError("text runs export word vectors, not a network")


__all__ = ["encoder_from", "encoder_of"]
