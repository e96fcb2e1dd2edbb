"""The modality folders install inside the multissl namespace (docs/design.md, "Layout")."""
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import multissl

ROOT = Path(__file__).resolve().parents[1]


def test_modalities_import_under_multissl_namespace():
    import multissl.audio
    import multissl.text
    import multissl.video
    import multissl.vision

    for module in (multissl.text, multissl.audio, multissl.video, multissl.vision):
        name = module.__name__.split(".")[-1]
        assert Path(module.__file__).parent.name == name


@pytest.mark.slow
def test_wheel_contains_modalities_as_multissl_subpackages(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True,
    )
    wheel = next(tmp_path.glob("multissl-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for modality in multissl.MODALITIES:
        assert f"multissl/{modality}/__init__.py" in names
        assert f"multissl/{modality}/cli.py" in names
    assert "multissl/losses.py" in names
    from multissl.pretrained import REGISTRY

    for name in REGISTRY:  # the shipped models travel in the wheel
        assert f"multissl/weights/{name}/config.json" in names and f"multissl/weights/{name}/checkpoints/last.pt" in names
    assert not any(n.startswith(("text/", "audio/", "video/", "vision/", "tests/")) for n in names)
