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
    return Word2Vec(lee, vector_size=50, min_count=2, epochs=10, sg=1, workers=2, seed=3, verbose=False)


@pytest.fixture(scope="session")
def lee_cbow(lee):
    return Word2Vec(lee, vector_size=50, min_count=2, epochs=20, sg=0, alpha=0.05, workers=2, seed=3, verbose=False)


@pytest.fixture
def toy_corpus():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(30)]
    return [[words[j] for j in rng.integers(0, 30, 12)] for _ in range(60)]
