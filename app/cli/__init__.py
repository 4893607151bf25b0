"""The command line: ``partwise separate``, ``partwise sweep``, or the window.

``main.py`` (and the ``partwise`` script) call :func:`main`. The commands never
import Qt, except ``sweep --plot``, which draws offscreen.
"""

from __future__ import annotations

import sys

__all__ = ["main"]

USAGE = """usage: partwise [FILE]                 open the window (with FILE: audio or .partwise)
       partwise separate [options] ...  separate audio files without a window
       partwise sweep FILE [options]    loss against the number of components

'partwise separate --help' and 'partwise sweep --help' list their options."""


def main(argv: list[str] | None = None) -> int:
    """Console entry point for ``partwise`` and ``python main.py``."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    if argv and argv[0] == "separate":
        from .separate import run_separate

        return run_separate(argv[1:])
    if argv and argv[0] == "sweep":
        from .sweep import run_sweep

        return run_sweep(argv[1:])
    from app.gui import run

    return run(argv)
