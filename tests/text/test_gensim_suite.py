"""gensim's own word2vec tests, run against multissl.text.Word2Vec.

The test file is the installed gensim wheel's ``gensim/test/test_word2vec.py``, loaded here at
test time (not copied), with its ``word2vec`` module swapped for one whose ``Word2Vec`` is
``multissl.text.Word2Vec`` (everything else, ``LineSentence``, ``KeyedVectors``, the test data,
stays gensim's), so every test runs as it would for a user who changed the import. gensim's
own module is left alone: other tests in this process still see gensim's class.

The tests that cannot pass by design are marked ``xfail`` below, each with its reason; the
module is skipped only when the wheel lacks its test file or test data.
"""
import functools
import importlib.util
import types
from pathlib import Path

import pytest

import gensim
import gensim.models.word2vec as gensim_word2vec
from multissl.text import Word2Vec

GENSIM_TESTS = Path(gensim.__file__).parent / "test"
TEST_FILE = GENSIM_TESTS / "test_word2vec.py"

OUT_OF_SCOPE = {
    "test_train_with_explicit_param":
        "train() defaults epochs to model.epochs and total_examples/total_words to the corpus build_vocab read "
        "(documented); gensim requires them and raises ValueError without",
}

if not TEST_FILE.is_file() or not (GENSIM_TESTS / "test_data" / "lee_background.cor").is_file():
    pytest.skip(f"the installed gensim has no test file or test data under {GENSIM_TESTS}", allow_module_level=True)


def _gensim_test_module() -> types.ModuleType:
    """gensim's test_word2vec.py, executed as a fresh module whose ``word2vec`` has our Word2Vec."""
    spec = importlib.util.spec_from_file_location("gensim_test_word2vec_on_multissl", TEST_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    swapped = types.ModuleType(gensim_word2vec.__name__)
    swapped.__dict__.update(gensim_word2vec.__dict__)
    swapped.Word2Vec = Word2Vec
    module.word2vec = swapped
    return module


def _xfail(test, reason: str):
    @functools.wraps(test)
    def marked(self, *args, **kwargs):
        return test(self, *args, **kwargs)

    return pytest.mark.xfail(reason=reason, strict=True)(marked)


def _on_multissl(case: type) -> type:
    """A subclass of gensim's TestCase (collected here) with the out-of-scope tests marked."""
    marked = {name: _xfail(getattr(case, name), reason) for name, reason in OUT_OF_SCOPE.items() if hasattr(case, name)}
    return type(case.__name__, (case,), {"__module__": __name__, **marked})


@pytest.fixture(autouse=True)
def _in_a_temporary_folder(tmp_path, monkeypatch):
    """gensim's script test writes vec.txt into the working folder."""
    monkeypatch.chdir(tmp_path)


_module = _gensim_test_module()
TestWord2VecModel = _on_multissl(_module.TestWord2VecModel)
TestWMD = _on_multissl(_module.TestWMD)
TestWord2VecSentenceIterators = _on_multissl(_module.TestWord2VecSentenceIterators)
TestWord2VecScripts = _on_multissl(_module.TestWord2VecScripts)


def test_the_suite_runs_our_class():
    """The swap reaches gensim's tests, and gensim's own module keeps its class."""
    assert _module.word2vec.Word2Vec is Word2Vec
    assert gensim_word2vec.Word2Vec is not Word2Vec
    assert all(name in dir(_module.TestWord2VecModel) for name in OUT_OF_SCOPE)
