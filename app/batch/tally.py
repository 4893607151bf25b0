"""Counting a batch as it goes: files done, failed and skipped, time, files per minute."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .engine import DONE, FAILED, SKIPPED, Outcome

__all__ = ["Tally"]


@dataclass
class Tally:
    """The running count of a batch of ``total`` files, started now."""

    total: int
    done: int = 0
    failed: int = 0
    skipped: int = 0
    #: Time each separated (done or failed) file took, in seconds.
    seconds: list[float] = field(default_factory=list)
    #: Largest peak memory of a process that ran a file, in bytes.
    peak_memory: int = 0
    started: float = field(default_factory=time.perf_counter)

    def add(self, outcome: Outcome) -> None:
        """Count one file's outcome."""
        if outcome.status == DONE:
            self.done += 1
        elif outcome.status == FAILED:
            self.failed += 1
        elif outcome.status == SKIPPED:
            self.skipped += 1
            return
        self.seconds.append(outcome.seconds)
        self.peak_memory = max(self.peak_memory, outcome.peak_memory)

    @property
    def finished(self) -> int:
        """Files that have ended one way or another."""
        return self.done + self.failed + self.skipped

    @property
    def elapsed(self) -> float:
        """Seconds since the batch started."""
        return time.perf_counter() - self.started

    @property
    def files_per_minute(self) -> float:
        """Files separated (done or failed, not skipped) per minute of the batch so far."""
        elapsed = self.elapsed
        return 60.0 * (self.done + self.failed) / elapsed if elapsed > 0 else 0.0

    def summary(self) -> str:
        """One line: ``12 done, 1 failed, 3 skipped of 16 in 84.2 s (9.3 files/min)``."""
        return (f"{self.done} done, {self.failed} failed, {self.skipped} skipped of {self.total} "
                f"in {self.elapsed:.1f} s ({self.files_per_minute:.1f} files/min)")
