"""The Euclidean pass: one pass over V per Euclidean multiplicative-update iteration.

The same blocks, copy of V and parts as the KL pass: per block ``N = Wᵀ V_b``
and ``D = (WᵀW) H_b``, the H update of the block's columns (which needs
nothing from other columns), then ``G += H_b H_bᵀ`` and ``M += V_b H_bᵀ`` of
the new H_b, all while the block is in cache, the products with V in chunks
of rows. What is left for the W half-step is m × k.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from ..base import EPS, FLOOR
from . import blas
from .blas import add_times, add_wt_times, address, advance, gemm, transposed
from .plan import chunk_rows
from .schedule import Pass, register_part
from .small import gram_columns

__all__ = ["EuclideanPass"]


class EuclideanWork(NamedTuple):
    """What every part of a Euclidean pass reads and writes; ``M`` … ``T`` per part."""

    V_blocks: np.ndarray
    W: np.ndarray
    WtW: np.ndarray
    H: np.ndarray
    width: int
    chunk: int
    sparsity: np.float32
    positive: np.ndarray
    negative: np.ndarray
    alpha: np.float32
    locked: np.ndarray
    M: np.ndarray
    N: np.ndarray
    D: np.ndarray
    G: np.ndarray
    T: np.ndarray
    rows_of_h: np.ndarray


@njit(nogil=True, fastmath=True, error_model="numpy", cache=True)
def _euclidean_part(work, p, start, stop):
    """Columns [start, stop) of a Euclidean pass: the H half-step, then M and G.

    Per block of ``width`` columns: ``N = Wᵀ V_b`` (BLAS, V_b in chunks of
    ``chunk`` rows), ``D = (WᵀW) H_b`` (BLAS), the update
    ``H_b ← max(H_b ∘ (N + α·negative) / max(D + λ + α·positive, EPS), FLOOR)``
    (locked rows kept), then for the new H_b ``G += H_b H_bᵀ`` (lower triangle,
    float64), ``T = H_bᵀ`` (``rows_of_h`` is 0 … k − 1) and ``M += V_b T``
    (BLAS, in chunks of rows).
    """
    W, H, width, chunk = work.W, work.H, work.width, work.chunk
    sparsity, alpha, locked = work.sparsity, work.alpha, work.locked
    M, N, D, G, T = work.M[p], work.N[p], work.D[p], work.G[p], work.T[p]
    m, k = W.shape
    n = H.shape[1]
    floor, eps = np.float32(FLOOR), np.float32(EPS)
    G[:, :] = 0.0
    for s in range(start, stop, width):
        w = min(width, stop - s)
        V = work.V_blocks[m * s : m * (s + w)].reshape((m, w))
        for r in range(0, m, chunk):
            add_wt_times(W, r, min(chunk, m - r), V[r : r + chunk], w, N, 1.0 if r else 0.0)
        h = advance(address(H), 4 * s)
        gemm("N", "N", w, k, k, h, n, address(work.WtW), k, 0.0, address(D), D.shape[1])
        for row in range(k):
            if locked[row]:
                continue
            x, numer, d = H[row, s : s + w], N[row, :w], D[row, :w]
            if alpha > 0:
                up, down = work.negative[row, s : s + w], work.positive[row, s : s + w]
                for c in range(w):
                    den = max(d[c] + sparsity + alpha * down[c], eps)
                    x[c] = max(x[c] * ((numer[c] + alpha * up[c]) / den), floor)
            else:
                for c in range(w):
                    x[c] = max(x[c] * (numer[c] / max(d[c] + sparsity, eps)), floor)
        gram_columns(H, s, s + w, G)
        transposed(H, work.rows_of_h, s, w, T)
        for r in range(0, m, chunk):
            add_times(V[r:], min(chunk, m - r), T, w, M, r, 1.0 if s > start else 0.0)


register_part(EuclideanWork, _euclidean_part)


class EuclideanPass(Pass):
    """One pass over V per Euclidean MU iteration: the H half-step, VHᵀ and HHᵀ.

    The same blocks, parts and threads as :class:`.KLPass` (see the module's
    description).
    """

    def __init__(self, V: np.ndarray, n_components: int, *, threads: int | None = None) -> None:
        super().__init__(V, n_components, threads=threads)
        m, k, width, parts = V.shape[0], n_components, self._width, self._ran_on.size
        self._chunk = chunk_rows(m, width, k, small_kernels=blas.SMALL_KERNELS, products_only=True)
        self._D = np.empty((parts, k, width), dtype=np.float32)
        self._G = np.empty((parts, k, k), dtype=np.float64)
        self._T = np.empty((parts, width, k), dtype=np.float32)
        self._rows_of_h = np.arange(k)

    def run(
        self,
        W: np.ndarray,
        H: np.ndarray,
        WtW: np.ndarray,
        *,
        sparsity: float = 0.0,
        continuity: tuple[np.ndarray, np.ndarray] | None = None,
        alpha: float = 0.0,
        locked: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """One pass: the H half-step, then VHᵀ and HHᵀ of the new H.

        Parameters
        ----------
        W : np.ndarray, float32, C-contiguous (m, k)
        H : np.ndarray, float32, C-contiguous (k, n)
            Updated in place.
        WtW : np.ndarray, float32, C-contiguous (k, k)
            Wᵀ W.
        sparsity : float
            L1 weight λ on H.
        continuity : (positive, negative), optional
            Virtanen's continuity terms (k, n), weighted by ``alpha``.
        locked : np.ndarray of bool (k,), optional
            Rows of H that stay bit-identical.

        Returns
        -------
        VHt : np.ndarray, float32 (m, k)
        HHt : np.ndarray, float32 (k, k)
        """
        positive, negative, locked = self._h_step_terms(W.shape[1], continuity, locked)
        self._run(
            EuclideanWork(
                self._V_blocks, W, WtW, H, self._width, self._chunk, np.float32(sparsity),
                positive, negative, np.float32(alpha), locked, self._M, self._N, self._D,
                self._G, self._T, self._rows_of_h,
            )
        )  # fmt: skip
        G = self._G.sum(axis=0)
        HHt = np.tril(G) + np.tril(G, -1).T
        return self._M.sum(axis=0), HHt.astype(np.float32)
