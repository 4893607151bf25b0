"""What both commands share: errors and progress on stderr."""

from __future__ import annotations

import sys
import time

__all__ = ["fail", "progress_printer"]


def fail(message: str) -> None:
    """One line on stderr: ``partwise: error: message``."""
    print(f"partwise: error: {message}", file=sys.stderr)


def progress_printer(label: str, total: int, quiet: bool):
    """A ``progress(iteration, loss)`` callback printing every tenth of ``total``, or None."""
    if quiet:
        return None
    every = max(1, total // 10)
    started = time.perf_counter()

    def report(iteration: int, loss: float) -> None:
        if iteration % every == 0 or iteration == total:
            elapsed = time.perf_counter() - started
            print(
                f"{label}: iteration {iteration}/{total}  loss {loss:.6g}  ({elapsed:.1f} s)",
                file=sys.stderr,
            )

    return report
