"""Print the README's set-up command named NAME (``demo`` or ``tests``).

README.md marks each command with ``<!-- command: NAME -->`` on the line
before its fenced block; the block holds exactly one line. CI runs the
``tests`` command from here so that README and CI cannot drift apart.
"""
import re
import sys
from pathlib import Path

name = sys.argv[1]
readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
match = re.search(rf"<!-- command: {re.escape(name)} -->\s*```(?:bash|sh)?\n(.+?)\n```", readme, re.S)
if not match or "\n" in match.group(1).strip():
    sys.exit(f"README.md has no one-line command block marked '<!-- command: {name} -->'")
print(match.group(1).strip())
