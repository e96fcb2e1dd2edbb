"""multissl.text: word2vec (skip-gram, CBOW) and n-gram language models."""
