"""``multissl vision ...`` commands: image pretext tasks: reconstruction, proxy and contrastive methods."""
from multissl.cliutils import add_command_group


def register(subparsers) -> None:
    add_command_group(subparsers, "vision", "image pretext tasks: reconstruction, proxy and contrastive methods", __doc__)
