"""Packaging for multissl.

The modality folders (text/, audio/, video/, vision/) sit at the top of the
repository but install inside the ``multissl`` namespace (``multissl.text`` ...),
see docs/design.md ("Layout").
"""
import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
MODALITIES = ("text", "audio", "video", "vision")


def _version() -> str:
    text = (HERE / "multissl" / "__init__.py").read_text(encoding="utf-8")
    return re.search(r'^__version__ = "([^"]+)"', text, re.M).group(1)


def _packages():
    packages = ["multissl", *find_packages(include=["multissl.*"])]
    for m in MODALITIES:
        packages += [f"multissl.{p}" for p in find_packages(where=".", include=[m, f"{m}.*"])]
    return packages


setup(
    name="multissl",
    version=_version(),
    description="Self-supervised pretext tasks across text, audio, video and images",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=_packages(),
    package_dir={"multissl": "multissl", **{f"multissl.{m}": m for m in MODALITIES}},
    include_package_data=True,
    package_data={"multissl": ["py.typed", "weights/*/config.json", "weights/*/checkpoints/last.pt"]},
    install_requires=[
        "torch>=2.2,<=2.14.1",
        "torchvision>=0.17,<=0.29.1",
        "torchaudio>=2.2,<=2.11.0",
        "numpy>=1.24",
        "numba>=0.58",
        "einops>=0.7",
        "gensim>=4.3",
        "librosa>=0.10",
        "soundfile>=0.12",
        "soxr>=0.3",
        "espeakng-loader>=0.2.4",
        "decord>=0.6; platform_machine == 'x86_64'",
        "av>=11",
        "scikit-learn>=1.3",
        "scikit-image>=0.21",
        "matplotlib>=3.7",
        "tqdm>=4.60",
        "tensorboard>=2.10",
    ],
    extras_require={
        # testfixtures: gensim's own test_word2vec.py (run against multissl.text in tests/text) imports it
        "dev": ["pytest>=7", "pytest-timeout>=2", "psutil>=5", "wheel>=0.38", "testfixtures>=6"],
    },
    entry_points={"console_scripts": ["multissl=multissl.cli:command"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
