"""What ``partwise separate --jobs/--scheduler`` shows on stderr while a batch runs.

A rich progress bar over the files (drawn only on a terminal), one line per
finished file with its time (and whether it was run again after a worker
holding it died), failures with their one-line reason, and a summary at the end: done,
failed, skipped, total time, files per minute. ``--quiet`` keeps the failures
and warnings only.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from app.batch.engine import DONE, FAILED, Outcome
from app.batch.tally import Tally

__all__ = ["outcome_line", "report_batch"]


def outcome_line(outcome: Outcome) -> str:
    """One line for a finished file: ``a/song.wav: done in 12.3 s``, a failure's reason,
    and whether the file was run again.

    Dask runs a file again when the worker holding it dies: running it, or
    with it queued next.
    """
    label = outcome.task.label
    if outcome.status == DONE:
        line = f"{label}: done in {outcome.seconds:.1f} s"
    elif outcome.status == FAILED:
        line = outcome.reason
    else:
        return f"{label}: skipped, its stems in {outcome.task.folder} were made with these settings"
    if outcome.retried:
        died = "worker" if outcome.retried == 1 else "workers"
        line += f" (run again: {outcome.retried} {died} died holding it)"
    return line


def report_batch(outcomes: Iterable[Outcome], total: int, *, quiet: bool = False) -> int:
    """Show ``outcomes`` as they come; returns the exit status (1 if any file failed)."""
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    tally = Tally(total)
    columns = (TextColumn("separating"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    # Off a terminal (a log, a pipe) the bar would only add blank lines: the lines say it all.
    with Progress(*columns, console=console, disable=quiet or not console.is_terminal,
                  transient=True) as bar:
        files = bar.add_task("files", total=total)
        for outcome in outcomes:
            tally.add(outcome)
            bar.advance(files)
            for warning in outcome.report.warnings:
                console.print(f"partwise: warning: {warning}", markup=False)
            if outcome.status == FAILED:
                console.print(f"partwise: error: {outcome_line(outcome)}", markup=False)
            elif not quiet:
                console.print(outcome_line(outcome), markup=False)
    if not quiet:
        console.print(tally.summary(), markup=False)
    return 1 if tally.failed else 0
