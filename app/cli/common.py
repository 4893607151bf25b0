"""What both commands share: errors, option checks and progress on stderr."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = [
    "bad_shared_option",
    "decoder_silenced",
    "fail",
    "memory_problem",
    "progress_printer",
    "warm_up",
]

def fail(message: str) -> None:
    """One line on stderr: ``partwise: error: message``."""
    print(f"partwise: error: {message}", file=sys.stderr)


def bad_shared_option(args: argparse.Namespace) -> str | None:
    """The line refusing ``--seed``, ``--n-fft`` or ``--hop`` out of range; None when all are good.

    Both commands take these options.
    """
    from dsp import pipeline

    if not 0 <= args.seed <= pipeline.MAX_COUNT:
        return f"--seed must be from 0 to {pipeline.MAX_COUNT}, got {args.seed}"
    n_fft, hop = args.n_fft, args.hop
    if not 16 <= n_fft <= pipeline.MAX_N_FFT or n_fft & (n_fft - 1):
        return f"--n-fft must be a power of two from 16 to {pipeline.MAX_N_FFT}, got {n_fft}"
    shortest, longest = pipeline.hop_range(n_fft)
    if not shortest <= hop <= longest:
        return (f"--hop must be between {shortest} and {longest} (n_fft/16 to n_fft/2 "
                f"for --n-fft {n_fft}), got {hop}")
    return None


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


def warm_up(quiet: bool) -> None:
    """Compile the NMF kernels now (or load them from numba's cache), saying so when they compile.

    Called before the first factorization, after the arguments and the input
    are known to be good, so that a mistake is reported at once.
    """
    from dsp.nmf import kernels

    kernels.warm_up(
        report=None if quiet else lambda message: print(message, file=sys.stderr, flush=True)
    )


@contextmanager
def decoder_silenced() -> Iterator[None]:
    """Keep what C decoders print straight to file descriptor 2 off stderr while a file is read.

    mpg123 writes warnings such as "Xing stream size off by more than 1%" past
    Python; what matters of them reaches the user as the loader's one line.
    """
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def memory_problem(channels: int, length: int, settings) -> str | None:
    """The line refusing a separation too large for the memory there is; None when it fits.

    Checked before the solve (:func:`dsp.memory.refusal`), so a run that cannot
    finish says so at once instead of dying with a MemoryError (or being
    killed) after it.
    """
    from dsp.memory import refusal

    return refusal(channels, length, settings,
                   hint="use a larger --hop or --n-fft, or a shorter file")
