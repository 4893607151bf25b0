"""The k-sized steps of multiplicative updates outside the passes: products, sums, the update.

Each is one compiled loop or one BLAS call on one thread of the passes'
OpenBLAS: numpy's BLAS would run these small products on every core, and its
threads then spin for a while on the cores the next pass's threads need.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..base import EPS, FLOOR
from .blas import address, gemm, one_blas_thread

__all__ = ["cross_product", "gram", "inner", "multiplicative_step", "product", "sums"]

#: Columns of H per chunk of :func:`gram`, so that a chunk (k × 2048 float32,
#: 256 KiB at k = 32) is read from the core's L2 by every block of rows.
_GRAM_CHUNK = 2048


@njit(nogil=True, fastmath=True, error_model="numpy", cache=True)
def _multiplicative_step(X, numer, denom):
    floor, eps = np.float32(FLOOR), np.float32(EPS)
    for i in range(X.shape[0]):
        x, p, q = X[i], numer[i], denom[i]
        for j in range(x.size):
            x[j] = max(x[j] * (p[j] / max(q[j], eps)), floor)


def multiplicative_step(X: np.ndarray, numer: np.ndarray, denom: np.ndarray) -> None:
    """X ← max(X ∘ numer / max(denom, EPS), FLOOR) in place, in one pass.

    All three are float32 arrays of the same 2-D shape with contiguous rows.
    """
    _multiplicative_step(X, numer, denom)


@njit(nogil=True, fastmath=True, error_model="numpy", cache=True)
def _gram_block(H, a, b, start, stop, G):
    """G[a : a + 4, b : b + 4] += H[a : a + 4] H[b : b + 4]ᵀ over columns [start, stop).

    Sixteen scalar sums in one loop over the columns, which LLVM turns into
    sixteen vector accumulators: eight rows loaded for sixteen multiply-adds.
    """
    x0, x1 = H[a, start:stop], H[a + 1, start:stop]
    x2, x3 = H[a + 2, start:stop], H[a + 3, start:stop]
    y0, y1 = H[b, start:stop], H[b + 1, start:stop]
    y2, y3 = H[b + 2, start:stop], H[b + 3, start:stop]
    s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = np.float32(0.0)
    s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = np.float32(0.0)
    for j in range(stop - start):
        p0, p1, p2, p3 = x0[j], x1[j], x2[j], x3[j]
        q0, q1, q2, q3 = y0[j], y1[j], y2[j], y3[j]
        s00 += p0 * q0
        s01 += p0 * q1
        s02 += p0 * q2
        s03 += p0 * q3
        s10 += p1 * q0
        s11 += p1 * q1
        s12 += p1 * q2
        s13 += p1 * q3
        s20 += p2 * q0
        s21 += p2 * q1
        s22 += p2 * q2
        s23 += p2 * q3
        s30 += p3 * q0
        s31 += p3 * q1
        s32 += p3 * q2
        s33 += p3 * q3
    sums = ((s00, s01, s02, s03), (s10, s11, s12, s13), (s20, s21, s22, s23), (s30, s31, s32, s33))
    for i in range(4):
        for j in range(4):
            G[a + i, b + j] += sums[i][j]


@njit(nogil=True, fastmath=True, error_model="numpy", cache=True)
def gram_columns(H, start, stop, G):
    """The lower triangle of G += H Hᵀ over columns [start, stop) (and some of the upper)."""
    k = H.shape[0]
    whole = k - k % 4
    for a in range(0, whole, 4):
        for b in range(0, a + 1, 4):
            _gram_block(H, a, b, start, stop, G)
    for a in range(whole, k):  # the rows left over when 4 does not divide k
        x = H[a, start:stop]
        for b in range(a + 1):
            y = H[b, start:stop]
            total = np.float32(0.0)
            for j in range(stop - start):
                total += x[j] * y[j]
            G[a, b] += total


@njit(nogil=True, fastmath=True, error_model="numpy", cache=True)
def _gram(H, G):
    k, n = H.shape
    G[:, :] = 0.0
    for start in range(0, n, _GRAM_CHUNK):
        gram_columns(H, start, min(n, start + _GRAM_CHUNK), G)
    for a in range(k):
        for b in range(a + 1, k):
            G[a, b] = G[b, a]


def gram(H: np.ndarray) -> np.ndarray:
    """H Hᵀ of a float32 k × n matrix with contiguous rows, as float32 (k, k).

    For Euclidean MU's HHᵀ: k × k summed over every frame, a shape OpenBLAS
    is slow on; blocks of four rows by four, with sixteen running sums in
    registers, take about half its time. Each chunk's sums are added up in
    float64.
    """
    k = H.shape[0]
    G = np.empty((k, k), dtype=np.float64)
    _gram(H, G)
    return G.astype(np.float32)


@njit(nogil=True, cache=True)
def _product(A, B, C):
    m, k = A.shape
    n = B.shape[1]
    gemm("N", "N", n, m, k, address(B), n, address(A), k, 0.0, address(C), n)


@njit(nogil=True, cache=True)
def _cross_product(A, C):
    m, k = A.shape
    gemm("N", "T", k, k, m, address(A), k, address(A), k, 0.0, address(C), k)


def product(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """A B of C-contiguous float32 matrices, on one thread of the passes' OpenBLAS.

    For the m × k × k products of Euclidean MU's W step.
    """
    C = np.empty((A.shape[0], B.shape[1]), dtype=np.float32)
    one_blas_thread()
    _product(A, B, C)
    return C


def cross_product(A: np.ndarray, out: np.ndarray) -> None:
    """out = Aᵀ A for a C-contiguous float32 A, on one BLAS thread (see :func:`product`)."""
    one_blas_thread()
    _cross_product(A, out)


@njit(nogil=True, fastmath=True, error_model="numpy", cache=True)
def _inner(X, Y):
    total = 0.0
    for i in range(X.shape[0]):
        x, y = X[i], Y[i]
        for j in range(x.size):
            total += np.float64(x[j]) * np.float64(y[j])
    return total


def inner(X: np.ndarray, Y: np.ndarray) -> float:
    """Σ X ∘ Y of two float32 matrices of one shape with contiguous rows, summed in float64."""
    return float(_inner(X, Y))


@njit(nogil=True, fastmath=True, error_model="numpy", cache=True)
def _row_sums(X, out):
    for i in range(X.shape[0]):
        x = X[i]
        total = 0.0
        for j in range(x.size):
            total += np.float64(x[j])
        out[i] = total


@njit(nogil=True, fastmath=True, error_model="numpy", cache=True)
def _column_sums(X, out):
    out[:] = 0.0
    for i in range(X.shape[0]):
        x = X[i]
        for j in range(x.size):
            out[j] += np.float64(x[j])


def sums(X: np.ndarray, axis: int) -> np.ndarray:
    """Sums of a float32 matrix with contiguous rows along ``axis`` (0 or 1), in float64.

    For the k-sized sums every KL iteration takes (colsum W, rowsum H): a
    third of the time of ``X.sum(axis, dtype=np.float64)``, which converts in
    buffered steps.
    """
    out = np.empty(X.shape[1 - axis], dtype=np.float64)
    (_column_sums if axis == 0 else _row_sums)(X, out)
    return out
