import numpy as np
import pytest

from multissl.text import Word2Vec
from multissl.text.demo import lee_sentences


@pytest.fixture(scope="session")
def lee():
    """gensim's Lee background corpus (about 60k tokens), tokenised."""
    return lee_sentences()


@pytest.fixture(scope="session")
def lee_sg(lee):
    return Word2Vec(lee, vector_size=64, min_count=3, epochs=20, sg=1, workers=1, seed=3, verbose=False)


@pytest.fixture(scope="session")
def lee_cbow(lee):
    return Word2Vec(lee, vector_size=64, min_count=3, epochs=20, sg=0, alpha=0.05, workers=1, seed=3, verbose=False)


@pytest.fixture
def toy_corpus():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(30)]
    return [[words[j] for j in rng.integers(0, 30, 12)] for _ in range(60)]


@pytest.fixture
def topic_corpus():
    """Two topics whose words co-occur only within their topic."""
    rng = np.random.default_rng(0)
    a, b = [f"a{i}" for i in range(10)], [f"b{i}" for i in range(10)]
    return [[t[j] for j in rng.integers(0, 10, 8)] for t in (a, b) * 40]
