"""``multissl video ...`` commands: tracking emerging from video colorization."""
from multissl.cliutils import add_command_group


def register(subparsers) -> None:
    add_command_group(subparsers, "video", "tracking emerging from video colorization", __doc__)
