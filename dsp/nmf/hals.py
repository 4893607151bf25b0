"""Hierarchical alternating least squares (HALS) for the Euclidean loss.

Each half-step costs one product with V (WᵀV, then HVᵀ) and then updates one
row of H (or column of W) at a time exactly: each is a nonnegative least
squares problem in one variable per entry, solved in closed form. The sweeps
cost k²n (or k²m), far less than the product, so each half-step repeats them
until they stop moving the factor much (Gillis & Glineur 2012, "accelerated
HALS"). Every row update is an exact block minimisation, so the loss never
increases.

With ``sparsity`` (λ‖H‖₁) or ``sparsity_W`` (μ‖W‖₁) the columns of W are held
at unit norm: the column update then maximises wᵀq over nonnegative unit
vectors, whose solution max(q, 0) / ‖max(q, 0)‖ is again exact.
"""

from __future__ import annotations

import numpy as np

from .base import EPS, FLOOR, Solver, component_mask
from .divergence import sum_squares
from .penalties import normalize_columns

__all__ = ["HALSSolver"]


class HALSSolver(Solver):
    """HALS for ½‖V − WH‖² + λ‖H‖₁ + μ‖W‖₁.

    Parameters
    ----------
    V : np.ndarray, float32, (m, n)
    W : np.ndarray, (m, k)
    H : np.ndarray, (k, n)
    sparsity, sparsity_W : float
        L1 weights λ on H and μ on W (>= 0).
    lock_W, lock_H : sequence of int or boolean mask, optional
        Components whose template or activation stays fixed.
    max_sweeps : int, optional
        Most sweeps over the rows per half-step (>= 1). By default 64 // k,
        between 1 and 8: a sweep costs about k row operations in Python while
        the products cost about the same for every k up to 32 (they are
        memory-bound), and this count was fastest to a given loss measured
        on 1025 × 5168 spectrograms at k = 8 and 32.
    """

    #: A half-step stops sweeping once a sweep moves the factor by less than
    #: this fraction of what the first sweep moved it (Gillis & Glineur use 0.1).
    sweep_tolerance = 0.1

    def __init__(
        self,
        V: np.ndarray,
        W: np.ndarray,
        H: np.ndarray,
        *,
        sparsity: float = 0.0,
        sparsity_W: float = 0.0,
        lock_W=None,
        lock_H=None,
        max_sweeps: int | None = None,
    ) -> None:
        if max_sweeps is None:
            max_sweeps = min(8, max(1, 64 // np.shape(W)[1]))
        if isinstance(max_sweeps, bool) or not isinstance(max_sweeps, (int, np.integer)):
            raise ValueError(f"max_sweeps must be an integer, got {max_sweeps!r}")
        if max_sweeps < 1:
            raise ValueError(f"max_sweeps must be >= 1, got {max_sweeps}")
        self.sparsity = float(sparsity)
        self.sparsity_W = float(sparsity_W)
        self.max_sweeps = int(max_sweeps)
        self._normalize = self.sparsity > 0 or self.sparsity_W > 0
        m, n = V.shape
        k = np.shape(W)[1]
        if self._normalize:
            W = np.array(W, dtype=np.float32)
            H = np.array(H, dtype=np.float32)
            H *= normalize_columns(W, ~component_mask(lock_W, k, "lock_W"))[:, None]
        self._half_V_sq = 0.5 * sum_squares(V)
        self._WtV = np.empty((k, n), dtype=np.float32)
        self._VHt = np.empty((m, k), dtype=np.float32)
        self._HVt = np.empty((k, m), dtype=np.float32)
        super().__init__(V, W, H, lock_W=lock_W, lock_H=lock_H)

    def _iterate(self) -> float:
        W, H = self._W, self._H
        np.matmul(W.T, self.V, out=self._WtV)
        self._sweep_rows(H, self._WtV, W.T @ W, self.sparsity, ~self._lock_H, False)
        # The columns of W need the rows of HVᵀ = (VHᵀ)ᵀ; BLAS is faster at
        # VHᵀ than at H Vᵀ, and the transpose is only m × k.
        np.matmul(self.V, H.T, out=self._VHt)
        np.copyto(self._HVt, self._VHt.T)
        HHt = H @ H.T
        Wt = np.ascontiguousarray(W.T)
        self._sweep_rows(Wt, self._HVt, HHt, self.sparsity_W, ~self._lock_W, self._normalize)
        W[:] = Wt.T
        return self._loss_from(self._HVt, HHt)

    def _sweep_rows(
        self,
        X: np.ndarray,
        A: np.ndarray,
        B: np.ndarray,
        penalty: float,
        free: np.ndarray,
        unit_norm: bool,
    ) -> None:
        """Minimise ½‖V − FX‖² + penalty·ΣX over each free row of X in turn, in place.

        ``A`` is FᵀV (k × ·) and ``B`` is FᵀF (k × k) for the fixed factor F.
        """
        rows = np.flatnonzero(free)
        if rows.size == 0:
            return
        diag = np.maximum(np.diag(B), EPS)
        change = np.empty(X.shape[1], dtype=np.float32)
        first = None
        for _ in range(self.max_sweeps):
            moved = 0.0
            for r in rows:
                # q: the correlation of row r with the residual that leaves it out.
                q = B[r] @ X
                np.subtract(A[r], q, out=q)
                if penalty:
                    q -= np.float32(penalty)
                if unit_norm:
                    q += diag[r] * X[r]
                    new = self._unit_row(q)
                else:
                    q /= diag[r]
                    q += X[r]
                    new = np.maximum(q, FLOOR, out=q)
                np.subtract(new, X[r], out=change)
                moved += float(np.dot(change, change))
                X[r] = new
            if first is None:
                first = moved
            if moved <= self.sweep_tolerance**2 * first:
                break

    @staticmethod
    def _unit_row(q: np.ndarray) -> np.ndarray:
        """argmax of wᵀq over nonnegative unit vectors w, floored at FLOOR."""
        positive = np.maximum(q, 0.0)
        norm = float(np.linalg.norm(positive))
        if norm == 0.0:
            positive = np.zeros_like(q)
            positive[int(np.argmax(q))] = 1.0
            norm = 1.0
        return np.maximum(positive / np.float32(norm), FLOOR)

    def _loss_from(self, HVt: np.ndarray, HHt: np.ndarray) -> float:
        """½‖V − WH‖² by the trace identity, plus the penalties."""
        W = self._W.astype(np.float64)
        cross = float(np.sum(W.T * HVt))
        quad = float(np.sum((W.T @ W) * HHt))
        total = max(self._half_V_sq - cross + 0.5 * quad, 0.0)
        if self.sparsity:
            total += self.sparsity * float(self._H.sum(dtype=np.float64))
        if self.sparsity_W:
            total += self.sparsity_W * float(self._W.sum(dtype=np.float64))
        return total

    def _loss(self) -> float:
        H = self._H
        return self._loss_from(H @ self.V.T, H @ H.T)
