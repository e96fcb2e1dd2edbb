"""``multissl audio ...`` commands: Contrastive Predictive Coding on speech and speaker clustering."""
from multissl.cliutils import add_command_group


def register(subparsers) -> None:
    add_command_group(subparsers, "audio", "Contrastive Predictive Coding on speech and speaker clustering", __doc__)
