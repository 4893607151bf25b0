"""β-divergences and the few m × n reductions the solvers need, done in row chunks."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .base import EPS

__all__ = [
    "BETAS",
    "beta_divergence",
    "chunk_scratch",
    "is_floor",
    "row_chunks",
    "sum_squares",
    "sum_v_log",
]

#: Loss names and their β.
BETAS = {"euclidean": 2.0, "kl": 1.0, "is": 0.0}

#: Entries per chunk of a row-chunked reduction: small enough for the chunk's
#: temporaries to stay in cache and add nothing measurable to peak memory.
_CHUNK = 1 << 16


def row_chunks(V: np.ndarray) -> Iterator[slice]:
    """Slices of whole rows of V, each about ``_CHUNK`` entries."""
    m, n = V.shape
    rows = max(1, _CHUNK // max(n, 1))
    for start in range(0, m, rows):
        yield slice(start, min(start + rows, m))


def chunk_scratch(V: np.ndarray) -> np.ndarray:
    """A float32 buffer big enough for one chunk of :func:`row_chunks` over V."""
    return np.empty(min(V.size, max(_CHUNK, V.shape[1])), dtype=np.float32)


def sum_squares(V: np.ndarray) -> float:
    """Σ V², accumulated in float64 without an m × n float64 temporary."""
    total = 0.0
    for rows in row_chunks(V):
        block = V[rows].astype(np.float64)
        total += float(np.dot(block.ravel(), block.ravel()))
    return total


def sum_v_log(V: np.ndarray, X: np.ndarray, *, floor: float | None = None) -> float:
    """Σ V · log X, one row chunk at a time.

    Parameters
    ----------
    V, X : np.ndarray, float32, shape (m, n)
        X must be positive wherever V is; give ``floor`` when X can be 0
        (X is then read as max(X, floor), so 0 · log 0 counts as 0).
    floor : float, optional

    Returns
    -------
    float
        Each chunk is a BLAS dot product in float32 (one pass, no product
        array; OpenBLAS keeps many partial sums, so the relative error stays
        near 1e-7 for chunks of 65536) and the chunks are summed in float64.
    """
    scratch = chunk_scratch(V)
    total = 0.0
    for rows in row_chunks(V):
        v = V[rows].ravel()
        logs = scratch[: v.size]
        if floor is None:
            np.log(X[rows].ravel(), out=logs)
        else:
            np.maximum(X[rows].ravel(), np.float32(floor), out=logs)
            np.log(logs, out=logs)
        total += float(np.dot(v, logs))
    return total


def is_floor(V: np.ndarray) -> np.float32:
    """The offset ε of the Itakura–Saito model: 120 dB below the loudest bin.

    IS is infinite where V is 0 and divides by the model and its square, so
    IS solvers fit V + ε with WH + ε. 120 dB is below the noise floor of
    16-bit audio, so ε changes no audible part of the fit, and it keeps
    V / (WH + ε)² inside float32. The offset is a constant part of the model,
    so the updates keep their guarantee that the loss never increases.
    """
    return np.float32(max(float(EPS), 1e-6 * float(V.max())))


def beta_divergence(V: np.ndarray, WH: np.ndarray, beta: float) -> float:
    """β-divergence D(V | WH) summed over all entries, computed in float64.

    Parameters
    ----------
    V, WH : np.ndarray, shape (m, n)
        Data and model, nonnegative.
    beta : {2.0, 1.0, 0.0}
        2 gives ½‖V − WH‖², 1 the generalised Kullback–Leibler divergence,
        0 the Itakura–Saito divergence.

    Returns
    -------
    float

    Notes
    -----
    Zeros in V contribute their limit (0 · log 0 = 0). WH is floored at EPS;
    for Itakura–Saito, V is floored at EPS too (the divergence is infinite
    where V is 0).
    """
    V = V.astype(np.float64, copy=False)
    WH = np.maximum(WH, EPS).astype(np.float64, copy=False)
    if beta == 2.0:
        return 0.5 * float(np.sum((V - WH) ** 2))
    if beta == 1.0:
        with np.errstate(divide="ignore", invalid="ignore"):
            term = np.where(V > 0, V * np.log(V / WH), 0.0)
        return float(np.sum(term - V + WH))
    if beta == 0.0:
        ratio = np.maximum(V, EPS) / WH
        return float(np.sum(ratio - np.log(ratio) - 1.0))
    raise ValueError(f"unsupported beta {beta}; choose one of {sorted(BETAS.values())}")
