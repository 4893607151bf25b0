"""The fused KL pass: one pass over V per KL multiplicative-update iteration.

A KL iteration needs four products with m × n results or operands (WH,
Wᵀ(V/WH), WH again, (V/WH)Hᵀ), two ratios V / WH and, for the loss,
Σ V log WH. Done as whole-matrix numpy calls, each streams an m × n array
through memory, and the elementwise steps cost as much as the products. Here
each column block of V (see :mod:`.plan`) is carried through the whole
iteration before the next is touched, in chunks of rows that stay in the
core's cache while they are divided and multiplied on:

1. per chunk: ``A = W_c H_b`` (BLAS), ``A = V_cb / A``, ``N += W_cᵀ A``
   (BLAS); then the H half-step for the block's columns, which needs nothing
   from other columns: ``H_b ← H_b ∘ N / (colsum W)`` with penalties and locks;
2. per chunk: ``A = W_c H_b`` with the new H_b, ``Σ V_cb log A`` for the loss
   of the new factors, ``A = V_cb / A``, ``M_c += A H_bᵀ`` (BLAS).

``M`` is then the numerator of the next W half-step, so an iteration is one
W update (m × k) and one pass over V, with no m × n work buffer. Only the
templates the W step will change need their columns of ``M``: locked ones are
left out (and with every template locked, so are step 2's ratio and product),
which makes supervised separation and the comb start cheaper.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from ..base import EPS, FLOOR
from . import blas
from .blas import add_times, add_wt_times, transposed, w_times_h
from .log import log_positive
from .plan import chunk_rows
from .schedule import Pass, register_part

__all__ = ["KLPass"]


class KLWork(NamedTuple):
    """What every part of a KL pass reads and writes; ``M``, ``A``, ``N``, ``F`` per part."""

    V_blocks: np.ndarray
    W: np.ndarray
    H: np.ndarray
    width: int
    update_h: bool
    denom: np.ndarray
    positive: np.ndarray
    negative: np.ndarray
    alpha: np.float32
    locked: np.ndarray
    free: np.ndarray
    M: np.ndarray
    A: np.ndarray
    N: np.ndarray
    F: np.ndarray
    v_logs: np.ndarray


@njit(nogil=True, fastmath=True, error_model="numpy", cache=True)
def _update_h(H, N, start, width, denom, positive, negative, alpha, locked):
    """H_b ← max(H_b ∘ (N + α·negative) / (denom + α·positive), FLOOR); locked rows untouched."""
    floor, eps = np.float32(FLOOR), np.float32(EPS)
    for row in range(H.shape[0]):
        if locked[row]:
            continue
        d = denom[row]
        if alpha > 0:
            for c in range(width):
                num = N[row, c] + alpha * negative[row, start + c]
                den = max(d + alpha * positive[row, start + c], eps)
                H[row, start + c] = max(H[row, start + c] * (num / den), floor)
        else:
            scale = np.float32(1.0) / max(d, eps)
            for c in range(width):
                H[row, start + c] = max(H[row, start + c] * (N[row, c] * scale), floor)


@njit(nogil=True, fastmath=True, error_model="numpy", cache=True)
def _ratio(V, A, row0, rows, width):
    """A[:rows, :width] = V[row0 : row0 + rows, :width] / A."""
    for i in range(rows):
        v, a = V[row0 + i, :width], A[i, :width]
        for c in range(width):
            a[c] = v[c] / a[c]


@njit(nogil=True, fastmath=True, error_model="numpy", cache=True)
def _v_log_and_ratio(V, A, row0, rows, width, ratio):
    """Σ V log A over the chunk, then A = V / A if ``ratio``."""
    total = 0.0
    for i in range(rows):
        # Row slices and two simple loops: this is the form LLVM vectorises.
        v, a = V[row0 + i, :width], A[i, :width]
        row = np.float32(0.0)
        for c in range(width):
            row += v[c] * log_positive(a[c])
        if ratio:
            for c in range(width):
                a[c] = v[c] / a[c]
        total += row
    return total


@njit(nogil=True, fastmath=True, error_model="numpy", cache=True)
def _kl_part(work, p, start, stop):
    """Columns [start, stop) of a KL pass: leaves Σ V log WH over them in ``v_logs[p]``.

    Each block of ``width`` columns is done in chunks of ``A.shape[0]`` rows, so
    the chunk of WH (the buffer ``A``) is still in cache when it is divided and
    multiplied on; ``N`` (k × width) gathers Wᵀ(V / WH) for the block. ``M``
    (m × len(free)) gathers (V / WH)Hᵀ for the templates in ``free`` only, the
    ones a W step will change: their rows of the block of H, transposed, are
    ``F`` (width × len(free)), and with no free template the second ratio and
    product are not made at all.
    """
    W, H, width, free = work.W, work.H, work.width, work.free
    M, A, N, F = work.M[p], work.A[p], work.N[p], work.F[p]
    m = W.shape[0]
    chunk = A.shape[0]
    n_free = free.size
    v_log = 0.0
    for s in range(start, stop, width):
        w = min(width, stop - s)
        V = work.V_blocks[m * s : m * (s + w)].reshape((m, w))
        if work.update_h:
            for r in range(0, m, chunk):
                rows = min(chunk, m - r)
                w_times_h(W, r, rows, H, s, w, A)
                _ratio(V, A, r, rows, w)
                add_wt_times(W, r, rows, A, w, N, 1.0 if r else 0.0)
            _update_h(H, N, s, w, work.denom, work.positive, work.negative, work.alpha, work.locked)
        transposed(H, free, s, w, F)
        for r in range(0, m, chunk):
            rows = min(chunk, m - r)
            w_times_h(W, r, rows, H, s, w, A)
            v_log += _v_log_and_ratio(V, A, r, rows, w, n_free > 0)
            if n_free > 0:
                add_times(A, rows, F, w, M, r, 1.0 if s > start else 0.0)
    work.v_logs[p] = v_log


register_part(KLWork, _kl_part)


class KLPass(Pass):
    """The fused KL pass over one V (see the module's description)."""

    def __init__(self, V: np.ndarray, n_components: int, *, threads: int | None = None) -> None:
        super().__init__(V, n_components, threads=threads)
        m, k, width, parts = V.shape[0], n_components, self._width, self._ran_on.size
        rows = chunk_rows(m, width, k, small_kernels=blas.SMALL_KERNELS)
        self._A = np.empty((parts, rows, width), dtype=np.float32)
        self._F = np.empty((parts, width, k), dtype=np.float32)

    def run(
        self,
        W: np.ndarray,
        H: np.ndarray,
        *,
        update_h: bool,
        denom: np.ndarray | None = None,
        continuity: tuple[np.ndarray, np.ndarray] | None = None,
        alpha: float = 0.0,
        locked: np.ndarray | None = None,
        free: np.ndarray | None = None,
    ) -> tuple[float, np.ndarray]:
        """One pass: optionally the H half-step, then Σ V log WH and (V / WH) Hᵀ.

        Parameters
        ----------
        W : np.ndarray, float32, C-contiguous (m, k)
        H : np.ndarray, float32, C-contiguous (k, n)
            Updated in place when ``update_h``.
        update_h : bool
        denom : np.ndarray (k,), optional
            Denominator of the H update: by default the column sums of W, to
            which a caller adds any L1 weight.
        continuity : (positive, negative), optional
            Virtanen's continuity terms (k, n), weighted by ``alpha``.
        locked : np.ndarray of bool (k,), optional
            Rows of H that stay bit-identical.
        free : np.ndarray of int, optional
            The templates (columns of W) the next W update will change, in
            increasing order; by default all of them. Locked templates need no
            numerator, so their columns of (V / WH) Hᵀ are not computed.

        Returns
        -------
        v_log : float
            Σ V log WH for the factors after the pass.
        VHt : np.ndarray, float32 (m, k)
            (V / WH) Hᵀ for the same factors: the numerator of the next W
            update, in the ``free`` columns (zero in the others).
        """
        m, k = W.shape
        denom = W.sum(axis=0) if denom is None else np.asarray(denom, np.float32)
        positive, negative, locked = self._h_step_terms(k, continuity, locked)
        free = np.arange(k) if free is None else np.asarray(free, dtype=np.intp)
        parts = self._ran_on.size
        # Each part's numerator, m × len(free), and block of Hᵀ, width × len(free),
        # contiguous at the start of its buffer.
        M = self._M.reshape(parts, -1)[:, : m * free.size].reshape(parts, m, free.size)
        F = self._F.reshape(parts, -1)[:, : self._width * free.size]
        F = F.reshape(parts, self._width, free.size)
        v_logs = np.empty(parts, dtype=np.float64)
        self._run(
            KLWork(
                self._V_blocks, W, H, self._width, update_h, denom, positive, negative,
                np.float32(alpha), locked, free, M, self._A, self._N, F, v_logs,
            )
        )  # fmt: skip
        v_log = float(v_logs.sum())
        if free.size == k:
            return v_log, M.sum(axis=0)
        VHt = np.zeros((m, k), dtype=np.float32)
        VHt[:, free] = M.sum(axis=0)
        return v_log, VHt
