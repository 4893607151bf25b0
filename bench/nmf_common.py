"""Helpers for bench/nmf_speed.py: test data, timing, BLAS description, the doc section."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_info

SECTION = "## NMF engine speed"


def spectrogram_like(m: int, n: int, *, rank: int = 40, seed: int = 0) -> np.ndarray:
    """A float32 nonnegative m × n matrix with a decaying spectrum, like |STFT|.

    A sum of ``rank`` nonnegative rank-one parts with power-law weights plus a
    little noise, and a few silent frames (exact zeros), as in real audio.
    """
    rng = np.random.default_rng(seed)
    W = rng.gamma(0.5, size=(m, rank)).astype(np.float32)
    W *= (1.0 / np.arange(1, m + 1, dtype=np.float32) ** 0.7)[:, None]
    H = rng.gamma(0.5, size=(rank, n)).astype(np.float32)
    H *= (1.0 / np.arange(1, rank + 1, dtype=np.float32))[:, None]
    V = W @ H
    V += 0.01 * V.mean() * rng.random((m, n), dtype=np.float32)
    V[:, rng.choice(n, size=n // 50, replace=False)] = 0.0
    return V


def best_time(fn: Callable[[], object], *, repeats: int = 3) -> float:
    """Seconds of the fastest of ``repeats`` calls (the machine is shared and noisy)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def blas_description() -> str:
    """Which BLAS numpy uses, with its kernel and thread count (threadpoolctl)."""
    parts = []
    for lib in threadpool_info():
        if lib.get("user_api") == "blas" and "numpy" in lib.get("filepath", ""):
            parts.append(
                f"{lib.get('internal_api')} {lib.get('version')} "
                f"({lib.get('architecture')} kernel, {lib.get('num_threads')} threads)"
            )
    from dsp.nmf import kernels  # here: the other benchmarks using this module need no kernels

    coretype = os.environ.get("OPENBLAS_CORETYPE")
    env = f"OPENBLAS_CORETYPE={coretype}" if coretype else "OPENBLAS_CORETYPE unset"
    return (
        f"numpy: {', '.join(parts) or 'unknown BLAS'}; NMF passes: {kernels.blas_description()};"
        f" {env}; {os.cpu_count()} CPUs"
    )


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
