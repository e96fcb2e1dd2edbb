import numpy as np
import pytest

from multissl.text.ngram import NGramLM


@pytest.fixture(scope="module")
def split(lee):
    cut = int(len(lee) * 0.9)
    return lee[:cut], lee[cut:]


@pytest.mark.parametrize("order, smoothing", [(1, "add-k"), (2, "add-k"), (2, "kneser-ney")])
def test_distributions_sum_to_one(split, order, smoothing):
    lm = NGramLM(order, smoothing, k=0.5, min_count=2).fit(split[0])
    for history in ("<s>", "the", "police", "never-seen-word"):
        p = lm.distribution(history)
        assert p.sum() == pytest.approx(1.0, abs=1e-9)
        assert np.all(p[np.arange(len(p)) != lm.index["<s>"]] > 0)


def test_perplexities_rank_as_expected(split):
    train, test = split
    uni = NGramLM(1, "add-k", min_count=2).fit(train).perplexity(test)
    bi_add = NGramLM(2, "add-k", k=0.01, min_count=2).fit(train).perplexity(test)
    kn = NGramLM(2, "kneser-ney", min_count=2).fit(train).perplexity(test)
    assert kn < uni and kn < bi_add
    assert 50 < kn < 1000
    assert NGramLM(2, "kneser-ney", min_count=2).fit(train).perplexity(train) < kn  # training data is easier


def test_unigram_mle_matches_counts():
    lm = NGramLM(1, "add-k", k=1e-9, min_count=1).fit([["a", "a", "b"]])
    # predicted tokens: a a b </s>
    assert np.exp(lm.logprob(["a"])) == pytest.approx(0.5 * 0.25, rel=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="order=2"):
        NGramLM(1, "kneser-ney")
    with pytest.raises(ValueError, match="order"):
        NGramLM(3)
    with pytest.raises(ValueError, match="not fitted"):
        NGramLM().perplexity([["a"]])
    with pytest.raises(ValueError, match="empty"):
        NGramLM().fit([[]])
