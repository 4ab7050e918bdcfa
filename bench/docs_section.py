"""A benchmark's own section of docs/benchmarks.md, rewritten in place by each run."""

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def write_section(heading: str, text: str) -> None:
    """Replace the section that starts at `heading` (up to the next `## `) with `text`, or append it."""
    DOCS.parent.mkdir(exist_ok=True)
    current = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(heading) + r".*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(current):
        current = pattern.sub(lambda _m: text, current)
    else:
        current = current.rstrip("\n") + "\n\n" + text
    DOCS.write_text(current.rstrip("\n") + "\n")
