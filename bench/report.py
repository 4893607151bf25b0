"""Writing a benchmark's results into its own section of a Markdown page."""

from __future__ import annotations

import re
from pathlib import Path


def write_section(path: Path, heading: str, body: str) -> None:
    """Replace (or append) the section that starts with ``heading`` in ``path``.

    The section runs to the next ``## `` heading or the end of the file, so each
    benchmark rewrites only its own part of docs/performance.md.
    """
    text = path.read_text() if path.exists() else "# Performance\n"
    section = f"{heading}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
