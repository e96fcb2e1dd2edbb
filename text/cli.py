"""``multissl text ...`` commands: word2vec (skip-gram, CBOW) and n-gram language models."""
from multissl.cliutils import add_command_group


def register(subparsers) -> None:
    add_command_group(subparsers, "text", "word2vec (skip-gram, CBOW) and n-gram language models", __doc__)
