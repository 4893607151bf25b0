"""The command line: ``partwise separate``, ``partwise sweep``, or the window.

``main.py`` (and the ``partwise`` script) call :func:`main`. The commands never
import Qt, except ``sweep --plot``, which draws offscreen.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable

__all__ = ["Interrupted", "main"]

#: Signals that ask a command to stop: Ctrl+C, a kill, a closed terminal (no SIGHUP on Windows).
STOPPING = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)

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

        return _until_stopped(run_separate, argv[1:])
    if argv and argv[0] == "sweep":
        from .sweep import run_sweep

        return _until_stopped(run_sweep, argv[1:])
    from app.gui import run

    return run(argv)


class Interrupted(KeyboardInterrupt):
    """A command was asked to stop by the signal ``signum`` (one of :data:`STOPPING`)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _until_stopped(command: Callable[[list[str]], int], argv: list[str]) -> int:
    """Run ``command(argv)``; a stopping signal ends it with one line and exit 128 + its number.

    SIGTERM and SIGHUP raise in the command as Ctrl+C does, so the cleanup of
    staged stems and temporary files (context managers, ``finally``) runs for
    every one of them instead of the process dying in the middle.
    """
    for signum in STOPPING:
        signal.signal(signum, _raise_interrupted)
    try:
        return command(argv)
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        by = "" if signum == signal.SIGINT else f" by {signal.Signals(signum).name}"
        print(f"partwise: interrupted{by}", file=sys.stderr)
        return 128 + signum


def _raise_interrupted(signum: int, _frame) -> None:
    # A second signal must not cut short the cleanup the first one started.
    for other in STOPPING:
        signal.signal(other, signal.SIG_IGN)
    raise Interrupted(signum)
